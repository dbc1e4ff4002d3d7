"""The one place that knows the address of every page and API resource."""

from __future__ import annotations

from urllib.parse import quote

API = "/api"

HOME = "/"
EXPLORE = "/explore/"
EXPLORE_FEED = "/explore/feed.xml"
LOGIN = "/login/"
REGISTER = "/register/"
RESET_PASSWORD = "/reset-password/"
EDIT_PROFILE = "/edit-profile/"
SEND_MESSAGE = "/send-message/"  # ?to=<username>
MESSAGES = "/messages/"
NOT_FOUND = "/404.html"
ROBOTS = "/robots.txt"
SITEMAP = "/sitemap.xml"
SITEMAP_PAGES = "/sitemap-pages.xml"
SEARCH = "/search/"
SEARCH_LEXICON = f"{SEARCH}w/"
SEARCH_POSTINGS = f"{SEARCH}t/"
EXPLORE_PAGES = f"{EXPLORE}page/"

# The pages the browser UI fills in; each is a static shell.
APP_SHELLS = {
    "home": HOME,
    "login": LOGIN,
    "register": REGISTER,
    "reset_password": RESET_PASSWORD,
    "edit_profile": EDIT_PROFILE,
    "send_message": SEND_MESSAGE,
    "messages": MESSAGES,
    "search": SEARCH,
}


def user_page(username: str) -> str:
    """The static profile page: `/u/<username>/`."""
    return f"/u/{quote(username)}/"


def user_archive(username: str, number: int) -> str:
    """Archive page `number` of a user's posts, counted from the oldest."""
    return f"{user_page(username)}page/{number}/"


def user_feed(username: str) -> str:
    return f"{user_page(username)}feed.xml"


# The user's card, beside the profile: what the popup on hover shows. The
# browser finds it from a profile link, relative to it (base.html's
# `user-popup` template carries this name).
USER_CARD = "card.json"


def user_card(username: str) -> str:
    """The user's card (JSON, for the popup on hover): `/u/<username>/card.json`."""
    return f"{user_page(username)}{USER_CARD}"


def explore_archive(number: int) -> str:
    return f"{EXPLORE_PAGES}{number}/"


def post_page(post_id: str) -> str:
    """A post's permalink: `/p/<id>/`."""
    return f"/p/{post_id}/"


def content_page(slug: str) -> str:
    return f"/{quote(slug)}/"


def sitemap_posts(chunk: int) -> str:
    return f"/sitemap-posts-{chunk}.xml"


def search_lexicon(shard: int) -> str:
    """A shard of the search index's lexicon (folded word -> keys)."""
    return f"{SEARCH_LEXICON}{shard}.json"


def search_postings(shard: int) -> str:
    """A shard of the search index's postings (key -> explore numbers)."""
    return f"{SEARCH_POSTINGS}{shard}.json"


def api_user(user_id: str) -> str:
    return f"{API}/users/{user_id}"


def api_followers(user_id: str) -> str:
    return f"{api_user(user_id)}/followers"


def api_followed(user_id: str) -> str:
    return f"{api_user(user_id)}/followed"


def api_post(post_id: str) -> str:
    return f"{API}/posts/{post_id}"


def output_path(url: str) -> str:
    """The file a page URL is served from: `/u/ann/` -> `u/ann/index.html`."""
    path = url.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path
