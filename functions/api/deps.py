"""Dependencies shared by the routers: the use cases and the current user."""

from typing import Annotated, Protocol

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from .. import auth
from ..domain import Post, User
from ..i18n import N_
from ..services import Microblog
from .edge import viewer_address

SESSION_COOKIE = "session"
# A hint for the pages' script, not a credential: readable by JavaScript (not
# HttpOnly), it says only that this browser was given a session cookie, so
# the static pages of a visitor who never signed in make no API call
# (`GET /api/me`) at all. Set and cleared with the session cookie.
SIGNED_IN_COOKIE = "signed_in"

bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/tokens.")


# Dependencies that only read the request are `async def`: FastAPI runs a
# plain `def` one in its thread pool, a hand-off per dependency per request
# that costs more than what they do (a feed request made four).
async def get_app(request: Request) -> Microblog:
    return request.app.state.microblog


App = Annotated[Microblog, Depends(get_app)]


def current_user_or_none(
    request: Request,
    app: App,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """The user of a Bearer API token, else of the session cookie, else None.

    A token that is present but bad is an error (401), not an anonymous call.
    """
    if credentials is not None:
        return app.touch(app.user_for_token(credentials.credentials, auth.API))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            return app.touch(app.user_for_token(cookie, auth.SESSION))
        except auth.InvalidToken:
            return None  # a stale cookie: the visitor is simply logged out
    return None


def client_address(request: Request) -> str:
    """The caller's address, for the per-address login throttle."""
    return viewer_address(request)


async def current_user(user: Annotated[User | None, Depends(current_user_or_none)]) -> User:
    if user is None:
        raise HTTPException(401, N_("Please log in to access this page."))
    return user


CurrentUser = Annotated[User, Depends(current_user)]


class PostRenderer(Protocol):
    """What the routes use of `sitegen.render.Renderer`; declared here so that
    importing the API does not load the template engine (the Lambda app makes
    its renderer on first use)."""

    site_url: str

    def post_html(self, post: Post, author: User, lang: str = "en") -> str: ...


async def get_renderer(request: Request) -> PostRenderer:
    return request.app.state.renderer


Render = Annotated[PostRenderer, Depends(get_renderer)]


CurrentUserOrNone = Annotated[User | None, Depends(current_user_or_none)]


PerPage = Annotated[int, Query(ge=1, le=100, description="Items per page (1-100).")]
Cursor = Annotated[
    str | None, Query(description="Where to continue: `_meta.next_cursor` of the previous page.")
]
