"""Browser sessions: log in, log out, who am I (the tutorial's `auth` blueprint)."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from ... import auth
from ...domain import User
from ...i18n import N_
from ...services import Microblog
from ..deps import SESSION_COOKIE, SIGNED_IN_COOKIE, App, CurrentUser, client_address
from ..errors import WRITE, documented
from ..schemas import Login, UserOut, user_out

router = APIRouter(tags=["session"])

REMEMBER_ME = timedelta(days=30)
# Without "remember me" the cookie ends with the browser session; the token
# inside still expires, so a browser left open does not stay logged in forever.
BROWSER_SESSION = timedelta(hours=24)


@router.post(
    "/session",
    response_model=UserOut,
    response_model_exclude_unset=True,
    responses=documented(*WRITE, 429),
)
def log_in(login: Login, request: Request, response: Response, app: App):
    """Sign in with username and password; sets the HttpOnly session cookie."""
    user = app.log_in(login.username, login.password, client_address(request))
    if user is None:
        raise HTTPException(401, N_("Invalid username or password"))
    set_session_cookie(request, response, app, user, login.remember_me)
    return user_out(user, include_email=True)


def set_session_cookie(
    request: Request, response: Response, app: Microblog, user: User, remember_me: bool
) -> None:
    """The HttpOnly session cookie for `user` (also re-issued after a change
    of credentials, which voids the old one), and its hint for the pages'
    script (`SIGNED_IN_COOKIE`), with the same lifetime."""
    lifetime = REMEMBER_ME if remember_me else BROWSER_SESSION
    for name, value, httponly in (
        (SESSION_COOKIE, app.tokens.issue(user, auth.SESSION, lifetime), True),
        (SIGNED_IN_COOKIE, "1", False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=int(lifetime.total_seconds()) if remember_me else None,
            path="/",
            httponly=httponly,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


@router.delete("/session", status_code=204, responses=documented(403))
def log_out(request: Request, response: Response, app: App, user: CurrentUser):
    """Sign out: revokes this user's tokens and clears the cookie."""
    app.revoke_tokens(user)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    response.delete_cookie(SIGNED_IN_COOKIE, path="/", samesite="lax")
    response.status_code = 204
    return None


@router.get(
    "/me", response_model=UserOut, response_model_exclude_unset=True, responses=documented()
)
def me(user: CurrentUser, request: Request):
    """The logged-in user (with e-mail, and whether translation is configured), or 401."""
    data = user_out(user, include_email=True)
    data["can_translate"] = request.app.state.translator.configured
    return data
