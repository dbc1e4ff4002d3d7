"""Post bodies: Markdown rendered once, at write time, then sanitized; language detection.

The allow-list is deliberately small (inline formatting, links, lists,
quotes, code): a post is a short message, not a page. Links get
`rel="nofollow noopener"` so a post cannot pass on ranking or the opener.
"""

from __future__ import annotations

import threading

import markdown
import nh3
from langdetect import DetectorFactory, LangDetectException, detect

DetectorFactory.seed = 0  # langdetect is random by default; make it repeatable

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


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language, or "" when unsure
    (as the tutorial does with langdetect)."""
    try:
        return detect(text)
    except LangDetectException:
        return UNKNOWN_LANGUAGE
