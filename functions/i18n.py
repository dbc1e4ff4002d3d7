"""The interface's languages: which there are, which a reader gets, and the
catalogs (Babel's `.po` files under `translations/`, compiled to `.mo`).

Standard library only, and nothing read at import: the API function imports
this at a cold start, and most requests are in English (no catalog loaded).
Messages are marked for extraction with `N_` (Babel's default keywords) and
translated where they reach a reader: the pages at render time, the API's
error messages in its error handlers (`api.errors`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gettext

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
# The names of the languages in themselves, for the switch in every page's footer.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
# Set by the switch; read by the edge (CloudFront Function), the local
# server and the API. Not HttpOnly: the switch is the pages' script.
LANG_COOKIE = "lang"
DOMAIN = "messages"
# The subset of the catalog that app.js shows, as JSON (published as a hashed asset).
SCRIPT_CATALOG = "script.json"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:
    """Marks `message` for extraction; translated later, where it is shown."""
    return message


class Text(str):
    """A message in English (the str itself) that remembers its msgid and
    parameters, so that it can be translated after it was formatted:
    `Text(N_("At most %(n)d characters."), n=140)`."""

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Text:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text


@functools.cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (read once per process); English, and
    any language without one, translate to themselves."""
    import gettext  # here: an English reader never needs it

    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, TRANSLATIONS_DIR, [lang], fallback=True)


def script_catalog(lang: str) -> bytes:
    """The browser script's messages in `lang` as JSON ({msgid: translation}),
    written by `build.py translate compile` beside the `.mo`; `{}` if none."""
    path = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / SCRIPT_CATALOG
    return path.read_bytes() if path.is_file() else b"{}"


def translate(message: str, lang: str) -> str:
    """`message` in `lang`: a `Text` by its msgid and parameters, any other
    string as its own msgid (unknown ones stay as they are)."""
    if lang == DEFAULT_LANGUAGE or not message:
        return message
    translated = catalog(lang).gettext(getattr(message, "msgid", message))
    params = getattr(message, "params", None)
    return translated % params if params else translated


def supported(lang: str | None) -> str | None:
    """`lang` when it is one of LANGUAGES (its primary subtag: `es-MX` is `es`)."""
    primary = (lang or "").strip().split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The language of LANGUAGES the reader prefers most by an Accept-Language
    header (`es-ES,es;q=0.9,en;q=0.8`); DEFAULT_LANGUAGE when none is named."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((header or "").split(",")):
        tag, _, rest = item.strip().partition(";")
        lang = supported(tag)
        if lang is None:
            continue
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # equal weights: the first named wins
        if q > best_q:
            best, best_q = lang, q
    return best


def reader_language(cookie: str | None, accept_language: str | None) -> str:
    """The reader's language: the switch's cookie, else the browser's choice."""
    return supported(cookie) or from_accept_language(accept_language)


def redirect_for(path: str, cookie: str | None, accept_language: str | None) -> str | None:
    """Where a request for page `path` goes instead, if anywhere: to the same
    page in the reader's language. The `lang` cookie (the switch) decides
    both ways; without it, the browser's Accept-Language sends an English
    address to another language's (a first visit), while an address in
    another language is kept (someone linked to it; crawlers index both).
    Never for feeds, assets or the API (`urls.is_page`). The same rule as
    the CloudFront Function's in template.yaml."""
    from . import urls

    if not urls.is_page(path) or path == urls.NOT_FOUND:
        return None
    current, english = urls.split_language(path, LANGUAGES)
    chosen = supported(cookie)
    if chosen is None:
        if current != DEFAULT_LANGUAGE:
            return None
        chosen = from_accept_language(accept_language)
    return None if chosen == current else urls.localized(english, chosen)


# A year: the switch's choice is remembered, as the tutorial's would be in a profile.
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def switch_for(path: str, chosen: str | None) -> str | None:
    """Where the footer's switch (`?lang=es` on a page's address, for a browser
    without JavaScript) goes: the same page in the `chosen` language, where
    the caller also sets the `lang` cookie. None when `chosen` names no
    language or `path` is not a page. The CloudFront Function does the same."""
    from . import urls

    chosen = supported(chosen)
    if chosen is None or not urls.is_page(path) or path == urls.NOT_FOUND:
        return None
    _, english = urls.split_language(path, LANGUAGES)
    return urls.localized(english, chosen)
