"""Forgotten passwords: a reset link by mail, then a new password (the tutorial's
`reset_password_request` and `reset_password`)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import Field
from starlette.exceptions import HTTPException

from ... import auth, urls
from ...mail import compose, send_quietly
from ..deps import App
from ..edge import site_url
from ..errors import WRITE, documented
from ..schemas import Strict

router = APIRouter(tags=["password"])


class ResetRequest(Strict):
    email: str = Field(max_length=320)


class NewPassword(Strict):
    token: str
    password: str


@router.post("/reset_password_request", status_code=202, responses=documented(*WRITE))
def reset_password_request(
    body: ResetRequest, request: Request, app: App, background: BackgroundTasks
) -> Response:
    """Mail a reset link when the account exists. Always 202, so the answer
    does not tell who has an account; the mail goes out after the response."""
    user = app.store.get_user_by_email(body.email.strip())
    if user is not None:
        state = request.app.state
        link = f"{site_url(request)}{urls.RESET_PASSWORD}?token={app.reset_token(user)}"
        env = state.renderer.env
        message = compose(
            state.mail_sender,
            user.email,
            "[Microblog] Reset Your Password",
            env.get_template("email/reset_password.txt").render(user=user, link=link),
            env.get_template("email/reset_password.html").render(user=user, link=link),
        )
        background.add_task(send_quietly, state.mailer, message)
    return Response(status_code=202)


@router.post("/reset_password", status_code=204, responses=documented(*WRITE))
def reset_password(body: NewPassword, app: App) -> Response:
    """Set a new password with the token from the mail (once, within 10 minutes)."""
    try:
        app.reset_password(body.token, body.password)
    except auth.InvalidToken:
        raise HTTPException(400, "Invalid or expired reset link.") from None
    return Response(status_code=204)
