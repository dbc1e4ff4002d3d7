"""Users: register, read, list, followers and followed, edit (the tutorial's `api/users.py`)."""

from fastapi import APIRouter, Request, Response

from ... import urls
from ...domain import Forbidden
from ...i18n import N_
from ..deps import (
    SESSION_COOKIE,
    App,
    CurrentUser,
    CurrentUserOrNone,
    Cursor,
    PerPage,
    client_address,
)
from ..errors import COLLECTION, WRITE, documented
from ..schemas import NewUser, UpdateUser, UserCollection, UserOut, collection, user_out
from .session import set_session_cookie

router = APIRouter(tags=["users"])


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    response_model_exclude_unset=True,
    responses=documented(*WRITE, 409, 429),
)
def register(new: NewUser, request: Request, response: Response, app: App):
    """Register a new user; answers with the user and its `Location`. A taken
    username or e-mail is a 409 that says so (as in the tutorial): sign-ups
    are throttled per client address, which bounds that enumeration."""
    user = app.register(new.username, new.email, new.password, client_address(request))
    response.headers["Location"] = urls.api_user(user.id)
    return user_out(user, include_email=True)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    response_model_exclude_unset=True,
    responses=documented(404),
)
def get_user(user_id: str, app: App, me: CurrentUserOrNone):
    """One user; `email` only when it is oneself, `is_following` for another logged-in user
    (so a profile page's Follow button knows its state in one call)."""
    user = app.require_user(user_id)
    data = user_out(user, include_email=me is not None and me.id == user.id)
    if me is not None and me.id != user.id:
        data["is_following"] = app.store.is_following(me.id, user.id)
    return data


def _users(page, path: str, per_page: int, cursor: str | None, me, total=None) -> dict:
    items = [user_out(u, include_email=me is not None and me.id == u.id) for u in page.items]
    return collection(items, page.next_cursor, path, per_page, cursor, total)


@router.get(
    "/users",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION),
)
def list_users(app: App, me: CurrentUserOrNone, per_page: PerPage = 10, cursor: Cursor = None):
    """Every user, newest first; follow `_links.next` until it is null."""
    page = app.store.list_users(cursor=cursor, limit=per_page)
    return _users(page, urls.API + "/users", per_page, cursor, me)


@router.get(
    "/users/{user_id}/followers",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION, 404),
)
def followers(
    user_id: str, app: App, me: CurrentUserOrNone, per_page: PerPage = 10, cursor: Cursor = None
):
    """Who follows this user, most recent first."""
    user = app.require_user(user_id)
    page = app.store.followers(user.id, cursor=cursor, limit=per_page)
    return _users(page, urls.api_followers(user.id), per_page, cursor, me, user.follower_count)


@router.get(
    "/users/{user_id}/followed",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION, 404),
)
def followed(
    user_id: str, app: App, me: CurrentUserOrNone, per_page: PerPage = 10, cursor: Cursor = None
):
    """Whom this user follows, most recent first."""
    user = app.require_user(user_id)
    page = app.store.followed(user.id, cursor=cursor, limit=per_page)
    return _users(page, urls.api_followed(user.id), per_page, cursor, me, user.followed_count)


@router.put(
    "/users/{user_id}",
    response_model=UserOut,
    response_model_exclude_unset=True,
    responses=documented(*WRITE, 404, 409, 429),
)
def update_user(
    user_id: str,
    changes: UpdateUser,
    request: Request,
    response: Response,
    app: App,
    me: CurrentUser,
):
    """Edit one's own profile: username, email, about_me, password (each
    optional). A new username moves the static pages and leaves redirects
    behind. A new email or password needs `current_password`; it spends
    outstanding reset links and ends every other session (a browser caller
    gets a fresh session cookie; API tokens must be asked for again)."""
    if user_id != me.id:
        raise Forbidden(N_("You can only edit your own profile."))
    user = app.update_profile(
        me,
        changes.username,
        changes.email,
        changes.about_me,
        password=changes.password,
        current_password=changes.current_password,
        address=client_address(request),
    )
    if user.token_version != me.token_version and SESSION_COOKIE in request.cookies:
        set_session_cookie(request, response, app, user, remember_me=False)
    return user_out(user, include_email=True)
