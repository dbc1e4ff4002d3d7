"""The one place that knows the address of every page and API resource."""

from __future__ import annotations

from urllib.parse import quote

API = "/api"


def user_page(username: str) -> str:
    """The static profile page: `/u/<username>/`."""
    return f"/u/{quote(username)}/"


def api_user(user_id: str) -> str:
    return f"{API}/users/{user_id}"


def api_post(post_id: str) -> str:
    return f"{API}/posts/{post_id}"


def output_path(url: str) -> str:
    """The file a page URL is served from: `/u/ann/` -> `u/ann/index.html`."""
    path = url.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path
