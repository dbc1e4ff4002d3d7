"""Request and response bodies: Pydantic models at the edge of the API."""

from __future__ import annotations

from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from .. import urls
from ..domain import ABOUT_ME_MAX, BODY_MAX, PASSWORD_MAX, Post, User, format_time
from ..markup import sanitize
from ..services import USERNAME_INPUT_MAX


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# ------------------------------------------------------------ requests
# Every string has a maximum length, checked before anything is hashed or
# stored (the domain's own rules, with their messages, are tighter). A
# bounded string is also copied into a Rust string by pydantic, which refuses
# a lone surrogate ("\ud800") with a 422 instead of letting it reach the store.

USERNAME_FIELD = USERNAME_INPUT_MAX  # the domain allows 32: room for its message
EMAIL_FIELD = 320  # RFC 5321's longest address
BODY_FIELD = 4 * BODY_MAX  # the body is stripped, then checked against BODY_MAX
ABOUT_ME_FIELD = 4 * ABOUT_ME_MAX


class NewUser(Strict):
    username: str = Field(max_length=USERNAME_FIELD, examples=["susan"])
    email: str = Field(max_length=EMAIL_FIELD, examples=["susan@example.com"])
    password: str = Field(max_length=PASSWORD_MAX, examples=["correct horse battery staple"])


class Login(Strict):
    username: str = Field(max_length=USERNAME_FIELD)
    password: str = Field(max_length=PASSWORD_MAX)
    remember_me: bool = False


class NewPost(Strict):
    body: str = Field(max_length=BODY_FIELD, examples=["Hello, *world*!"])


# ------------------------------------------------------------ responses


class UserLinks(BaseModel):
    self: str
    followers: str
    followed: str
    avatar: str
    profile: str


class UserOut(BaseModel):
    id: str
    username: str
    about_me: str
    last_seen: str
    post_count: int
    follower_count: int
    followed_count: int
    email: str | None = Field(None, description="Only in one's own user.")
    is_following: bool | None = Field(
        None, description="Whether the caller follows this user; only for another logged-in user."
    )
    can_translate: bool | None = Field(
        None,
        description="Only in GET /api/me: whether POST /api/translate is configured"
        " (the UI shows its Translate links only then).",
    )
    links: UserLinks = Field(alias="_links")


class Author(BaseModel):
    id: str
    username: str
    avatar: str


class PostOut(BaseModel):
    id: str
    body: str
    body_html: str
    language: str
    timestamp: str
    author: Author
    html: str = Field(description="The post rendered by the same partial as the static pages.")


def user_out(user: User, include_email: bool = False) -> dict:
    """The tutorial's `User.to_dict`."""
    data = {
        "id": user.id,
        "username": user.username,
        "about_me": user.about_me,
        "last_seen": format_time(user.last_seen),
        "post_count": user.post_count,
        "follower_count": user.follower_count,
        "followed_count": user.followed_count,
        "_links": {
            "self": urls.api_user(user.id),
            "followers": urls.api_followers(user.id),
            "followed": urls.api_followed(user.id),
            "avatar": user.avatar(128),
            "profile": urls.user_page(user.username),
        },
    }
    if include_email:
        data["email"] = user.email
    return data


def author_out(user: User) -> dict:
    """A user where something of theirs is shown (`Author`): a post's author,
    a message's sender and recipient."""
    return {"id": user.id, "username": user.username, "avatar": user.avatar(48)}


def post_out(post: Post, author: User, html: str) -> dict:
    return {
        "id": post.id,
        "body": post.body,
        "body_html": sanitize(post.body_html),  # today's rules, as on the pages
        "language": post.language,
        "timestamp": format_time(post.timestamp),
        "author": author_out(author),
        "html": html,
    }


# ------------------------------------------------------------ collections


class UpdateUser(Strict):
    username: str | None = Field(None, max_length=USERNAME_FIELD)
    email: str | None = Field(None, max_length=EMAIL_FIELD)
    about_me: str | None = Field(None, max_length=ABOUT_ME_FIELD)
    password: str | None = Field(None, max_length=PASSWORD_MAX, description="A new password.")
    current_password: str | None = Field(
        None,
        max_length=PASSWORD_MAX,
        description="Needed to change `email` or `password` (checked under the login throttle).",
    )


class Meta(BaseModel):
    per_page: int
    next_cursor: str | None
    total_items: int | None = Field(None, description="When it is known cheaply.")


class CollectionLinks(BaseModel):
    self: str
    next: str | None = Field(description="The next page; null on the last one.")
    prev: str | None = Field(
        description="Cursors go one way: the first page, when this is not it; else null."
    )


class UserCollection(BaseModel):
    items: list[UserOut]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


class PostCollection(BaseModel):
    items: list[PostOut]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


def collection(
    items: list[dict],
    next_cursor: str | None,
    path: str,
    per_page: int,
    cursor: str | None,
    total_items: int | None = None,
) -> dict:
    """The tutorial's `to_collection_dict`, with cursors instead of page numbers."""

    def link(at: str | None) -> str:
        query = {"per_page": per_page} | ({"cursor": at} if at else {})
        return f"{path}?{urlencode(query)}"

    meta = {"per_page": per_page, "next_cursor": next_cursor}
    if total_items is not None:
        meta["total_items"] = total_items
    return {
        "items": items,
        "_meta": meta,
        "_links": {
            "self": link(cursor),
            "next": link(next_cursor) if next_cursor else None,
            "prev": link(None) if cursor else None,
        },
    }
