"""The home feed and explore, as API collections (the browser's Home page uses the feed)."""

from fastapi import APIRouter

from ... import urls
from ...domain import Post
from ...store import Page
from ..deps import App, CurrentUser, Cursor, PerPage, PostRenderer, Render
from ..errors import COLLECTION, documented
from ..language import Lang
from ..schemas import PostCollection, collection, post_out

router = APIRouter(tags=["feeds"])


def posts_collection(
    page: Page[Post],
    app,
    render: PostRenderer,
    path: str,
    per_page: int,
    cursor: str | None,
    lang: str,
) -> dict:
    authors = app.store.get_users({post.author_id for post in page.items})
    items = [
        post_out(post, author, render.post_html(post, author, lang))
        for post in page.items
        if (author := authors.get(post.author_id)) is not None
    ]
    return collection(items, page.next_cursor, path, per_page, cursor)


@router.get(
    "/feed",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION),
)
def feed(
    app: App,
    me: CurrentUser,
    render: Render,
    lang: Lang,
    per_page: PerPage = 25,
    cursor: Cursor = None,
):
    """Posts of the users one follows, and one's own, newest first."""
    page = app.store.home_feed(me.id, cursor=cursor, limit=per_page)
    return posts_collection(page, app, render, urls.API + "/feed", per_page, cursor, lang)


@router.get(
    "/explore",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION),
)
def explore(app: App, render: Render, lang: Lang, per_page: PerPage = 25, cursor: Cursor = None):
    """Everyone's posts, newest first."""
    page = app.store.explore(cursor=cursor, limit=per_page)
    return posts_collection(page, app, render, urls.API + "/explore", per_page, cursor, lang)
