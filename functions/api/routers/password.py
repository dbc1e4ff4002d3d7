"""Forgotten passwords: a reset link by mail, then a new password (the tutorial's
`reset_password_request` and `reset_password`)."""

import time

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import Field
from starlette.exceptions import HTTPException

from ... import auth, urls
from ...domain import PASSWORD_MAX
from ...i18n import DEFAULT_LANGUAGE, N_, translate
from ...mail import compose, send_quietly
from ..deps import App, client_address
from ..edge import site_url
from ..errors import WRITE, documented
from ..language import request_language
from ..schemas import Strict

router = APIRouter(tags=["password"])


class ResetRequest(Strict):
    email: str = Field(max_length=320)


class NewPassword(Strict):
    token: str = Field(max_length=2048)
    password: str = Field(max_length=PASSWORD_MAX)


@router.post(
    "/reset_password_request",
    status_code=202,
    response_class=Response,  # 202 with no body (the schema says so)
    responses=documented(*WRITE, 429),
)
def reset_password_request(
    body: ResetRequest, request: Request, app: App, background: BackgroundTasks
) -> Response:
    """Mail a reset link when the account exists. Always 202, so the answer
    does not tell who has an account; the account is looked up and the mail
    sent after the response, so its timing does not tell either. Throttled
    per e-mail address and per client address (429)."""
    app.request_password_reset(body.email, client_address(request))
    # On Lambda, Mangum answers only once the background tasks are done, so
    # there the task takes LAMBDA_RESET_FLOOR seconds whether or not it mails.
    not_before = time.monotonic() + LAMBDA_RESET_FLOOR if "aws.event" in request.scope else 0
    lang = request_language(request)  # the mail is in the language of the page that asked
    background.add_task(
        mail_reset_link, request.app.state, body.email, site_url(request), not_before, lang
    )
    return Response(status_code=202)


LAMBDA_RESET_FLOOR = 1.0  # seconds: a lookup, the templates and an SES call take far less


def mail_reset_link(
    state, email: str, site: str, not_before: float = 0, lang: str = DEFAULT_LANGUAGE
) -> None:
    """The reset mail to the account with `email`, if there is one; then
    waits until `not_before` (time.monotonic), so that a known and an
    unknown address take the same time. The token goes in the link's
    fragment (`#token=`), which browsers never send to a server: it stays
    out of access logs, CDN logs and Referer headers."""
    try:
        _mail_reset_link(state, email, site, lang)
    finally:
        time.sleep(max(0.0, not_before - time.monotonic()))


def _mail_reset_link(state, email: str, site: str, lang: str) -> None:
    app = state.microblog
    user = app.store.get_user_by_email(email.strip())
    if user is None:
        return
    link = f"{site}{urls.localized(urls.RESET_PASSWORD, lang)}#token={app.reset_token(user)}"
    env = state.renderer.env
    message = compose(
        state.mail_sender,
        user.email,
        "[Microblog] " + translate(N_("Reset Your Password"), lang),
        env.get_template("email/reset_password.txt").render(user=user, link=link, lang=lang),
        env.get_template("email/reset_password.html").render(user=user, link=link, lang=lang),
    )
    send_quietly(state.mailer, message)


@router.post("/reset_password", status_code=204, responses=documented(*WRITE))
def reset_password(body: NewPassword, request: Request, app: App) -> Response:
    """Set a new password with the token from the mail (once, within 10
    minutes); lifts the account's login throttle."""
    try:
        app.reset_password(body.token, body.password, client_address(request))
    except auth.InvalidToken:
        raise HTTPException(400, N_("Invalid or expired reset link.")) from None
    return Response(status_code=204)
