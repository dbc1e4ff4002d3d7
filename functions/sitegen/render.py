"""Pages to bytes, with the Jinja2 templates of `templates/`.

The same `_post.html` partial renders a post on every static page and in the
API's `html` field, so a post looks the same wherever it appears. Within a
build each post's fragment is rendered once and reused by every page that
lists it (`reusing_fragments`): a post appears on 3 to 5 pages, and the
partial is most of the rendering work.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from .. import i18n, urls
from ..domain import Post, User, clean_text, format_time, seen_day
from ..markup import sanitize
from .content import Document, read_documents
from .data import SiteData
from .pages import (
    POSTS_PER_PAGE,
    SITEMAP_CHUNK,
    Content,
    Explore,
    ExploreArchive,
    ExploreFeed,
    FormerCard,
    FormerFeed,
    NotFoundPage,
    PageRef,
    Permalink,
    Profile,
    ProfileArchive,
    Redirect,
    Robots,
    Shell,
    SitemapIndex,
    SitemapPages,
    SitemapPosts,
    UserCard,
    UserFeed,
    index_first_page,
    page_count,
    page_range,
    sitemap_chunk_count,
)
from .terms import LEXICON_SHARDS, POSTINGS_SHARDS

FEED_ENTRIES = 20
CARD_AVATAR = 64  # the avatar's size on the user's card (the tutorial's popup)
# `updated` of a feed with no entries yet (Atom requires one; it must not
# change between builds, or the feed would be rewritten every time).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# A post's time is shown 2 to 5 times per part of a build (fragment, feeds,
# sitemap): formatted once. Bounded by about a part's posts (a build's memory
# is bounded by a part; a long-running server does not grow it either).
iso = lru_cache(maxsize=4096)(format_time)


# Fragments the API renders (`post_html`), kept across requests: the first
# pages of explore and of the feeds show the same posts to everyone.
POST_HTML_CACHE = 4096


@lru_cache(maxsize=4096)
def shown(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


# Pages whose bytes change only on rare events (see `Output.stable`); archive
# pages join them once a newer page exists.
STABLE_PAGES = (Permalink, Content, Shell, NotFoundPage, Robots, Redirect)
# Pages with a version per language (`/u/ann/`, `/es/u/ann/`); the others
# (feeds, sitemaps, robots.txt) are one file each, whatever the language.
LOCALIZED_PAGES = (
    Shell,
    NotFoundPage,
    Content,
    Profile,
    ProfileArchive,
    Explore,
    ExploreArchive,
    Permalink,
    Redirect,
)


@dataclass(frozen=True)
class Output:
    """A file of the site: its URL and its bytes; `body` None means "remove it"."""

    url: str
    body: bytes | None
    # True for a page whose bytes change only on rare events (a deleted post,
    # a rename, a release): the CDN keeps it long and is told when it changes.
    # Every other page changes with ordinary writes and lives at the edge for
    # seconds (see `sitegen.s3`).
    stable: bool = False

    @property
    def path(self) -> str:
        return urls.output_path(self.url)


def _hashed_name(rel: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem, dot, ext = rel.rpartition(".")
    return f"static/{stem}.{digest}.{ext}" if dot else f"static/{rel}.{digest}"


class Renderer:
    def __init__(
        self,
        templates_dir: Path,
        content_dir: Path | None = None,
        site_url: str = "",
        languages: tuple[str, ...] = i18n.LANGUAGES,
    ):
        self.static_dir = templates_dir / "static"
        self.languages = languages
        # The language `render` is rendering in (one render at a time: the
        # builder holds its lock; the API renders posts by `post_html`).
        self._lang = i18n.DEFAULT_LANGUAGE
        self.site_url = site_url.rstrip("/")
        self.documents: dict[str, Document] = (
            read_documents(content_dir) if content_dir and content_dir.is_dir() else {}
        )
        # Their translations: `content/<lang>/<file>.md`, same slug; a page
        # with none shows the English text in that language's frame.
        self.translations: dict[str, dict[str, Document]] = {
            lang: read_documents(content_dir / lang)
            for lang in languages
            if lang != i18n.DEFAULT_LANGUAGE and content_dir and (content_dir / lang).is_dir()
        }
        # `style.css` -> `static/style.<hash>.css`: new bytes get a new name, so
        # assets can be cached for a year and HTML only briefly.
        self.assets = {
            path.relative_to(self.static_dir).as_posix(): _hashed_name(
                path.relative_to(self.static_dir).as_posix(), path.read_bytes()
            )
            for path in sorted(self.static_dir.rglob("*"))
            if path.is_file()
        }
        # The script's strings in each other language: a hashed asset per language.
        self.script_catalogs = {
            lang: i18n.script_catalog(lang) for lang in languages if lang != i18n.DEFAULT_LANGUAGE
        }
        for lang, body in self.script_catalogs.items():
            self.assets[f"i18n/{lang}.json"] = _hashed_name(f"i18n/{lang}.json", body)
        self.env = Environment(
            extensions=["jinja2.ext.i18n"],
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are read once: no stat() of the file at each use.
            auto_reload=False,
        )
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
        self._urls = {lang: urls.Localized(lang) for lang in languages}
        self.env.globals.update(
            asset=self.asset_url,
            urls=self._urls[i18n.DEFAULT_LANGUAGE],
            lang=i18n.DEFAULT_LANGUAGE,
            languages=languages,
            language_names=i18n.LANGUAGE_NAMES,
            localized=urls.localized,
            absolute=self.absolute,
            footer_pages=self._footer_pages(i18n.DEFAULT_LANGUAGE),
            post_html=self.post_fragment,
            posts_per_page=POSTS_PER_PAGE,
            search_shards={"lexicon": LEXICON_SHARDS, "postings": POSTINGS_SHARDS},
        )
        self.env.filters["iso"] = iso
        self.env.filters["localize_links"] = localize_links
        self.env.filters["shown"] = shown
        # A stored post's HTML is cleaned again wherever it is put on a page or
        # in a feed: it then obeys today's allow-list, not that of the day it
        # was written (`markup.sanitize`).
        self.env.filters["sanitize"] = sanitize
        self._post_template = self.env.get_template("_post.html")
        self._kept_post_html = lru_cache(maxsize=POST_HTML_CACHE)(self._render_post)
        # Post id -> rendered fragment, while a build reuses them (else None).
        self._fragments: dict[str, Markup] | None = None

    # ------------------------------------------------------------ helpers

    def document(self, slug: str, lang: str) -> Document:
        """Content page `slug` in `lang`, or in English when not translated."""
        return self.translations.get(lang, {}).get(slug) or self.documents[slug]

    def _footer_pages(self, lang: str) -> list[tuple[str, str]]:
        """The footer's content links: (title in `lang`, English address)."""
        return [
            (self.document(slug, lang).title, urls.content_page(slug)) for slug in self.documents
        ]

    @cached_property
    def _footers(self) -> dict[str, list[tuple[str, str]]]:
        return {lang: self._footer_pages(lang) for lang in self.languages}

    def asset_url(self, name: str) -> str:
        return "/" + self.assets[name]

    def asset_outputs(self) -> Iterable[Output]:
        for name, hashed in self.assets.items():
            if name.startswith("i18n/"):
                body = self.script_catalogs[name.removeprefix("i18n/").removesuffix(".json")]
            else:
                body = (self.static_dir / name).read_bytes()
            yield Output("/" + hashed, body)

    def absolute(self, url: str) -> str:
        """A full address, for feeds and sitemaps (which need them)."""
        return self.site_url + url

    def post_html(self, post: Post, author: User, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
        """One post, by the `_post.html` partial, in `lang`, for the API: kept
        across requests, keyed by the whole post and author (whatever changes
        in them renders anew; the rules it is rendered by change with the code)."""
        return self._kept_post_html(post, author, lang if lang in self.languages else "en")

    def _render_post(self, post: Post, author: User, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
        return self._post_template.render(
            post=post, author=author, lang=lang, urls=self._urls[lang]
        )

    @pass_context
    def post_fragment(self, context: Context, post: Post, author: User) -> Markup:
        """A post on a page (`post_html(post, author)` in the templates), in
        the page's language: rendered once per language per build while
        `reusing_fragments` is on."""
        lang = context.get("lang", i18n.DEFAULT_LANGUAGE)
        fragments = self._fragments
        if fragments is None:
            return Markup(self._render_post(post, author, lang))
        key = post.id if lang == i18n.DEFAULT_LANGUAGE else f"{lang}:{post.id}"
        html = fragments.get(key)
        if html is None:
            html = fragments[key] = Markup(self._render_post(post, author, lang))
        return html

    @contextmanager
    def reusing_fragments(self, fragments: dict[str, Markup] | None = None) -> Iterator[dict]:
        """Within: each post's fragment is rendered at most once (or taken
        from `fragments`, rendered beforehand) and reused by every page that
        lists it. For one build or one rebuild only: a post's fragment also
        shows its author's name and avatar, which may change between builds."""
        self._fragments = {} if fragments is None else fragments
        try:
            yield self._fragments
        finally:
            self._fragments = None

    @staticmethod
    def _with_authors(posts: list[Post], data: SiteData) -> list[tuple[Post, User]]:
        authors = data.users({post.author_id for post in posts})
        return [(post, authors[post.author_id]) for post in posts if post.author_id in authors]

    def _render(self, url: str, template: str, **context) -> Output:
        """The page `url` (its English address) in the language `_lang` is
        rendering: at its address in that language, with `lang`, `urls` in it
        and `page_url` the English address (for the alternates and the switch)."""
        lang = self._lang
        if lang != i18n.DEFAULT_LANGUAGE:
            context.update(lang=lang, urls=self._urls[lang], footer_pages=self._footers[lang])
        text = self.env.get_template(template).render(page_url=url, **context)
        url = urls.localized(url, lang)
        if template.endswith(".xml"):
            # Feeds and sitemaps are XML whatever the data: no character XML
            # cannot hold gets through (escaping already covers the markup).
            text = clean_text(text)
        return Output(url, text.encode("utf-8"))

    # ------------------------------------------------------------ pages

    def render(
        self, page: PageRef, data: SiteData, lang: str = i18n.DEFAULT_LANGUAGE
    ) -> Output | None:
        """The page's file in `lang`; an Output with no body when the page
        should be removed; None when there is nothing to write or remove."""
        self._lang = lang
        try:
            output = self._page(page, data)
        finally:
            self._lang = i18n.DEFAULT_LANGUAGE
        if output is not None and output.body is None and lang != i18n.DEFAULT_LANGUAGE:
            output = replace(output, url=urls.localized(output.url, lang))
        if output is not None and isinstance(page, STABLE_PAGES):
            output = replace(output, stable=True)
        return output

    def render_languages(self, page: PageRef, data: SiteData) -> Iterator[Output]:
        """The page's files: one per language for pages people read, one for
        feeds, sitemaps and robots.txt."""
        languages = self.languages if isinstance(page, LOCALIZED_PAGES) else ("en",)
        for lang in languages:
            if (output := self.render(page, data, lang)) is not None:
                yield output

    def _page(self, page: PageRef, data: SiteData) -> Output | None:
        match page:
            case Shell(name=name):
                return self._render(urls.APP_SHELLS[name], f"shells/{name}.html")
            case NotFoundPage():
                return self._render(urls.NOT_FOUND, "404.html")
            case Robots():
                return self._render(urls.ROBOTS, "robots.txt")
            case Content(slug=slug):
                doc = self.document(slug, self._lang)
                doc_lang = self._lang if doc is not self.documents[slug] else "en"
                return self._render(
                    urls.content_page(slug), "content.html", doc=doc, doc_lang=doc_lang
                )
            case Profile(user_id=user_id):
                return self._profile(user_id, data)
            case ProfileArchive(user_id=user_id, number=number):
                return self._profile_archive(user_id, number, data)
            case UserFeed(user_id=user_id):
                user = data.user(user_id)
                if user is None:
                    return None
                posts = data.newest_posts_by(user.id, FEED_ENTRIES)
                return self._feed(
                    urls.user_feed(user.username),
                    f"Posts by {user.username}",
                    urls.user_page(user.username),
                    [(post, user) for post in posts],
                    user.created,
                )
            case Explore():
                return self._explore_index(data)
            case ExploreArchive(number=number):
                return self._explore_archive(number, data)
            case ExploreFeed():
                posts = self._with_authors(data.newest_posts(FEED_ENTRIES), data)
                return self._feed(urls.EXPLORE_FEED, "Explore", urls.EXPLORE, posts, EPOCH)
            case Permalink(post_id=post_id):
                return self._permalink(post_id, data)
            case Redirect(username=old, user_id=user_id, number=number):
                return self._redirect(old, user_id, number, data)
            case FormerFeed(username=old, user_id=user_id):
                if _held(old, user_id, data):
                    return None
                return Output(urls.user_feed(old), None)
            case UserCard(user_id=user_id):
                return self._card(user_id, data)
            case FormerCard(username=old, user_id=user_id):
                if _held(old, user_id, data):
                    return None
                return Output(urls.user_card(old), None)
            case SitemapIndex():
                chunks = range(sitemap_chunk_count(data.explore_seq()))
                maps = [urls.SITEMAP_PAGES] + [urls.sitemap_posts(c) for c in chunks]
                return self._render(urls.SITEMAP, "sitemap_index.xml", maps=maps)
            case SitemapPages():
                pages = [urls.EXPLORE] + [urls.content_page(slug) for slug in self.documents]
                entries = [
                    (urls.localized(url, lang), None) for url in pages for lang in self.languages
                ]
                return self._render(urls.SITEMAP_PAGES, "sitemap.xml", entries=entries)
            case SitemapPosts(chunk=chunk):
                return self._sitemap_posts(chunk, data)
        raise TypeError(f"not a page: {page!r}")

    def _profile(self, user_id: str, data: SiteData) -> Output | None:
        user = data.user(user_id)
        if user is None:
            return None
        first = index_first_page(user.post_seq)
        posts = data.posts_by_seq(user.id, page_range(first)[0], user.post_seq)
        older = urls.user_archive(user.username, first - 1) if first > 1 else None
        return self._render(
            urls.user_page(user.username),
            "user.html",
            user=user,
            posts=[(post, user) for post in posts],
            newer=None,
            older=older,
        )

    def _card(self, user_id: str, data: SiteData) -> Output | None:
        """The user's card: data only, no words (the popup's labels are in
        base.html's template), keys sorted so that equal cards are equal bytes.
        Last seen is the day (UTC), not the time: see `domain.UserSeen`."""
        user = data.user(user_id)
        if user is None:
            return None
        card = {
            "id": user.id,
            "username": user.username,
            "url": urls.user_page(user.username),
            "avatar": user.avatar(CARD_AVATAR),
            "about_me": user.about_me,
            "last_seen": seen_day(user.last_seen).isoformat(),
            "post_count": user.post_count,
            "follower_count": user.follower_count,
            "followed_count": user.followed_count,
        }
        # ASCII with \u escapes: any text the store holds encodes.
        body = json.dumps(card, sort_keys=True, separators=(",", ":"))
        return Output(urls.user_card(user.username), body.encode("utf-8"))

    def _profile_archive(self, user_id: str, number: int, data: SiteData) -> Output | None:
        user = data.user(user_id)
        if user is None:
            return None
        pages = page_count(user.post_seq)
        if not 1 <= number <= pages:
            return None
        first, last = page_range(number)
        posts = data.posts_by_seq(user.id, first, last)
        output = self._render(
            urls.user_archive(user.username, number),
            "user_archive.html",
            user=user,
            number=number,
            posts=[(post, user) for post in posts],
            # The newest page links back to the index; when a later page
            # starts, it is rendered again (`pages.pages_for`): stable from then on.
            newer=urls.user_archive(user.username, number + 1)
            if number < pages
            else urls.user_page(user.username),
            older=urls.user_archive(user.username, number - 1) if number > 1 else None,
        )
        return replace(output, stable=number < pages)

    def _explore_index(self, data: SiteData) -> Output:
        last = data.explore_seq()
        first = index_first_page(last)
        posts = self._with_authors(data.explore_by_seq(page_range(first)[0], last), data)
        older = urls.explore_archive(first - 1) if first > 1 else None
        return self._render(
            urls.EXPLORE, "explore.html", posts=posts, number=None, newer=None, older=older
        )

    def _explore_archive(self, number: int, data: SiteData) -> Output | None:
        pages = page_count(data.explore_seq())
        if not 1 <= number <= pages:
            return None
        posts = self._with_authors(data.explore_by_seq(*page_range(number)), data)
        output = self._render(
            urls.explore_archive(number),
            "explore.html",
            posts=posts,
            number=number,
            newer=urls.explore_archive(number + 1) if number < pages else urls.EXPLORE,
            older=urls.explore_archive(number - 1) if number > 1 else None,
        )
        return replace(output, stable=number < pages)

    def _redirect(self, old: str, user_id: str, number: int, data: SiteData) -> Output | None:
        user = data.user(user_id)
        if user is None or _held(old, user_id, data):
            return None
        if number == 0:
            url, to = urls.user_page(old), urls.user_page(user.username)
        elif number <= page_count(user.post_seq):
            url, to = urls.user_archive(old, number), urls.user_archive(user.username, number)
        else:
            return None
        return self._render(url, "redirect.html", to=to)

    def _permalink(self, post_id: str, data: SiteData) -> Output:
        url = urls.post_page(post_id)
        post = data.post(post_id)
        author = data.user(post.author_id) if post else None
        if post is None or author is None:
            return Output(url, None)
        return self._render(url, "post.html", post=post, author=author)

    def _feed(
        self, url: str, title: str, page: str, posts: list, fallback_updated: datetime
    ) -> Output:
        updated = posts[0][0].timestamp if posts else fallback_updated
        return self._render(url, "feed.xml", title=title, page=page, posts=posts, updated=updated)

    def _sitemap_posts(self, chunk: int, data: SiteData) -> Output:
        first = chunk * SITEMAP_CHUNK + 1
        posts = self._with_authors(data.explore_by_seq(first, first + SITEMAP_CHUNK - 1), data)
        entries: dict[str, object] = {}
        for post, author in reversed(posts):  # oldest first reads naturally
            for lang in self.languages:  # every language's page is listed
                entries[urls.localized(urls.post_page(post.id), lang)] = post.timestamp
                entries.setdefault(urls.localized(urls.user_page(author.username), lang), None)
        return self._render(urls.sitemap_posts(chunk), "sitemap.xml", entries=list(entries.items()))


_SITE_LINK = re.compile(r'href="(/[^"/][^"]*|/)"')


def localize_links(html: str, lang: str) -> Markup:
    """The site's own page links (`href="/register/"`) of a content page's
    HTML, as addresses in `lang`: a Spanish page links to Spanish pages."""
    if lang == i18n.DEFAULT_LANGUAGE:
        return Markup(html)
    return Markup(_SITE_LINK.sub(lambda m: f'href="{urls.localized(m[1], lang)}"', html))


@pass_context
def _gettext(context: Context, message: str) -> str:
    """The templates' `_()` and `{% trans %}`: in the page's `lang`."""
    return i18n.catalog(context.get("lang", i18n.DEFAULT_LANGUAGE)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.catalog(context.get("lang", i18n.DEFAULT_LANGUAGE)).ngettext(singular, plural, n)


def _held(username: str, user_id: str, data: SiteData) -> bool:
    """Whether the addresses of `username`, which `user_id` left, belong to a
    user now: someone else who took the name, or the same user back under
    that very spelling. A redirect must never replace their pages."""
    holder = data.user_by_name(username)
    return holder is not None and (holder.id != user_id or holder.username == username)
