"""Content pages: Markdown files in `content/` with front matter.

    ---
    title: About
    slug: about
    order: 1
    date: 2026-11-25
    ---
    Text in Markdown...

`slug` defaults to the file name; `order` places the link in the footer.
A translation is the same file name under a language's folder
(`content/es/about.md`), with the same slug.
These files are written by the site's maintainers, so their HTML is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import markdown
from markdown.extensions.meta import MetaExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.smarty import SmartyExtension
from markdown.extensions.toc import TocExtension

from .. import urls
from ..domain import USERNAME_RE
from ..i18n import LANGUAGES


@dataclass(frozen=True)
class Document:
    slug: str
    title: str
    html: str
    date: str | None = None
    order: int = 100


# Addresses the site already uses for something else (languages' prefixes too).
RESERVED = {"u", "p", "static", "api", "explore", *LANGUAGES} | {
    url.strip("/") for url in urls.APP_SHELLS.values()
}


def read_document(path: Path) -> Document:
    # Extensions as objects, not names: a name is looked up among every
    # installed package's entry points, which costs more than the page.
    extensions = [MetaExtension(), SaneListExtension(), SmartyExtension(), TocExtension()]
    md = markdown.Markdown(extensions=extensions)
    html = md.convert(path.read_text(encoding="utf-8"))
    meta = {key: " ".join(values) for key, values in md.Meta.items()}
    slug = meta.get("slug", path.stem)
    if not USERNAME_RE.match(slug) or slug in RESERVED:
        raise ValueError(f"{path}: slug {slug!r} is not a usable page address")
    if "title" not in meta:
        raise ValueError(f"{path}: front matter needs a title")
    return Document(slug, meta["title"], html, meta.get("date"), int(meta.get("order", 100)))


def read_documents(folder: Path) -> dict[str, Document]:
    """Every page in `folder`, by slug, in footer order."""
    docs = sorted(
        (read_document(path) for path in sorted(folder.glob("*.md"))),
        key=lambda doc: (doc.order, doc.title),
    )
    by_slug: dict[str, Document] = {}
    for doc in docs:
        if doc.slug in by_slug:
            raise ValueError(f"two content pages use the slug {doc.slug!r}")
        by_slug[doc.slug] = doc
    return by_slug
