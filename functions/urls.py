"""The one place that knows the address of every page and API resource.

Pages exist in every language of `i18n.LANGUAGES`: English at the addresses
below, another language under its own prefix (`/es/u/ann/`): `localized`
and `Localized` give a page's address in a language. Feeds, sitemaps,
robots.txt, assets and the API have one address whatever the language.
"""

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


# ------------------------------------------------------------------ languages

DEFAULT_LANGUAGE = "en"


def language_prefix(lang: str) -> str:
    """`""` for English, `/es` for Spanish."""
    return "" if lang == DEFAULT_LANGUAGE else f"/{lang}"


# Folders of data, one whatever the language (the search index's shards).
NOT_PAGES = (API + "/", "/static/", SEARCH_LEXICON, SEARCH_POSTINGS)


def is_page(url: str) -> bool:
    """Whether `url` is a page with a version per language: HTML (`/x/`,
    `/404.html`), not a feed, sitemap, asset, search index or API address."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return not path.startswith(NOT_PAGES) and (path.endswith("/") or path == NOT_FOUND)


def localized(url: str, lang: str) -> str:
    """The address of page `url` (an English address) in `lang`."""
    return language_prefix(lang) + url if is_page(url) else url


def split_language(url: str, languages: tuple[str, ...]) -> tuple[str, str]:
    """`(lang, English address)` of a page address: `/es/u/ann/` is
    `("es", "/u/ann/")`; an address with no prefix is English."""
    for lang in languages:
        prefix = language_prefix(lang)
        if prefix and (url == prefix or url.startswith(prefix + "/")):
            return lang, url[len(prefix) :] or "/"
    return DEFAULT_LANGUAGE, url


class Localized:
    """This module as seen from a page in `lang` (the templates' `urls`):
    the same names, page addresses in that language."""

    def __init__(self, lang: str):
        self.lang = lang

    def __getattr__(self, name: str):
        try:
            value = globals()[name]
        except KeyError:
            raise AttributeError(name) from None
        if isinstance(value, str):
            value = localized(value, self.lang)
        elif callable(value) and not isinstance(value, type) and self.lang != DEFAULT_LANGUAGE:
            value = _localizing(value, self.lang)
        setattr(self, name, value)  # looked up once per name: templates ask often
        return value


def _localizing(function, lang: str):
    def call(*args):
        result = function(*args)
        return localized(result, lang) if isinstance(result, str) else result

    return call
