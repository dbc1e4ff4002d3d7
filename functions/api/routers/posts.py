"""Posts: write and read one."""

from typing import Annotated

from fastapi import APIRouter, Header, Response

from ... import urls
from ..deps import App, CurrentUser, Render
from ..errors import WRITE, documented
from ..language import Lang
from ..schemas import NewPost, PostOut, post_out

router = APIRouter(tags=["posts"])


# A client's key for one submission (RFC draft "The Idempotency-Key HTTP
# Header Field"): printable ASCII, at most 255 characters.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="One per submission (a UUID): a retry with the same key answers with "
        "the post the first request made (for a day), never a second post; the same "
        "key with another body is a 422.",
    ),
]


@router.post("/posts", status_code=201, response_model=PostOut, responses=documented(*WRITE))
def create_post(
    new: NewPost,
    response: Response,
    app: App,
    user: CurrentUser,
    render: Render,
    lang: Lang,
    idempotency_key: IdempotencyKey = None,
):
    """Publish a post (Markdown, 1-500 characters). The author's static
    profile is regenerated before this answers."""
    post = app.create_post(user, new.body, idempotency_key)
    response.headers["Location"] = urls.api_post(post.id)
    return post_out(post, user, render.post_html(post, user, lang))


@router.get("/posts/{post_id}", response_model=PostOut, responses=documented(404))
def get_post(post_id: str, app: App, render: Render, lang: Lang):
    post = app.require_post(post_id)
    author = app.require_user(post.author_id)
    return post_out(post, author, render.post_html(post, author, lang))


@router.delete("/posts/{post_id}", status_code=204, responses=documented(403, 404))
def delete_post(post_id: str, app: App, user: CurrentUser) -> Response:
    """Delete one's own post; its permalink disappears and the pages that
    listed it are re-rendered."""
    app.delete_post(user, post_id)
    return Response(status_code=204)
