"""Post bodies: Markdown rendered once, at write time, then sanitized; language detection.

Languages are told by py3langid (kept, its model ships inside the package,
about 0.02 ms a post), restricted to what Amazon Translate can translate.

The allow-list is deliberately small (inline formatting, links, lists,
quotes, code): a post is a short message, not a page. Links get
`rel="nofollow noopener"` so a post cannot pass on ranking or the opener.
"""

from __future__ import annotations

import functools
import html
import threading

import markdown
import nh3
from py3langid.langid import MODEL_FILE, LanguageIdentifier

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
UNKNOWN_LANGUAGE = ""

# The ISO 639-1 languages Amazon Translate handles (and py3langid knows): a
# detected language can always be translated from.
_TRANSLATABLE = """
    af am ar az bg bn bs ca cs cy da de el en es et fa fi fr ga gu ht he hi hr hu
    hy id is it ja ka kk kn ko lt lv mk ml mn mr ms mt nl no pa pl ps pt ro ru
    si sk sl so sq sr sv sw ta te th tl tr uk ur uz vi zh
"""
LANGUAGES = frozenset(_TRANSLATABLE.split())
# Below this probability the text is too short or mixed to say ("ok", "12345").
MIN_CONFIDENCE = 0.1


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """One parser per thread: building one costs as much as converting a post."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    return md


def render_markdown(body: str) -> str:
    """Safe HTML for a post body written in Markdown."""
    html = _markdown().reset().convert(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )


def plain_text(safe_html: str) -> str:
    """The words of rendered HTML, without tags or entities: what language
    detection should read (Markdown marks and URLs only confuse it)."""
    return html.unescape(nh3.clean(safe_html, tags=set()))


@functools.cache
def _language_identifier() -> LanguageIdentifier:
    """Loaded on first use (about half a second), not at import: a Lambda
    that never sees a new post never pays for it."""
    identifier = LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=MIN_CONFIDENCE
    )
    identifier.set_languages(LANGUAGES)
    return identifier


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language, or "" when unsure (the
    tutorial stores "" when langdetect gives up)."""
    language, _confidence = _language_identifier().classify(text)
    return language if language in LANGUAGES else UNKNOWN_LANGUAGE
