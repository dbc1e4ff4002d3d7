"""Pages to HTML, with the Jinja2 templates of `templates/`.

The same `_post.html` partial renders a post on every static page and in the
API's `html` field, so a post looks the same wherever it appears.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import urls
from ..domain import Post, User, format_time
from ..store import Store
from .pages import Home, NotFoundPage, PageRef, Profile

POSTS_PER_PAGE = 25


@dataclass(frozen=True)
class Output:
    """A file of the site: its URL path and its bytes."""

    url: str
    body: bytes

    @property
    def path(self) -> str:
        return urls.output_path(self.url)


class Renderer:
    def __init__(self, templates_dir: Path, store: Store):
        self.store = store
        self.static_dir = templates_dir / "static"
        self.assets = self._hash_assets()
        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(asset=self.asset_url, user_page=urls.user_page)
        self.env.filters["iso"] = format_time

    # ------------------------------------------------------------ assets

    def _hash_assets(self) -> dict[str, str]:
        """`style.css` -> `static/style.<hash>.css`: a new name for new bytes,
        so assets can be cached for a year and HTML only briefly."""
        names = {}
        for path in sorted(self.static_dir.rglob("*")):
            if path.is_file():
                rel = path.relative_to(self.static_dir).as_posix()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
                stem, dot, ext = rel.rpartition(".")
                names[rel] = f"static/{stem}.{digest}.{ext}" if dot else f"static/{rel}.{digest}"
        return names

    def asset_url(self, name: str) -> str:
        return "/" + self.assets[name]

    def asset_outputs(self) -> Iterable[Output]:
        for name, hashed in self.assets.items():
            yield Output("/" + hashed, (self.static_dir / name).read_bytes())

    # ------------------------------------------------------------ posts

    def post_html(self, post: Post, author: User) -> str:
        """One post, by the `_post.html` partial (also used by the API)."""
        return self.env.get_template("_post.html").render(post=post, author=author)

    def _with_authors(self, posts: list[Post]) -> list[tuple[Post, User]]:
        authors = self.store.get_users({post.author_id for post in posts})
        return [(post, authors[post.author_id]) for post in posts if post.author_id in authors]

    # ------------------------------------------------------------ pages

    def render(self, page: PageRef) -> Output | None:
        """The page's file, or None when what it shows no longer exists."""
        match page:
            case Home():
                posts = self.store.explore(limit=POSTS_PER_PAGE).items
                return self._html("/", "index.html", posts=self._with_authors(posts))
            case NotFoundPage():
                return self._html("/404.html", "404.html")
            case Profile(user_id=user_id):
                user = self.store.get_user(user_id)
                if user is None:
                    return None
                posts = self.store.posts_by(user.id, limit=POSTS_PER_PAGE).items
                return self._html(
                    urls.user_page(user.username),
                    "user.html",
                    user=user,
                    posts=[(post, user) for post in posts],
                )
        raise TypeError(f"not a page: {page!r}")

    def _html(self, url: str, template: str, **context) -> Output:
        html = self.env.get_template(template).render(page_url=url, **context)
        return Output(url, html.encode("utf-8"))
