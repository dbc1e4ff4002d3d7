"""What pages exist, and which of them a change touches.

A page is named by what it shows (a user's profile by the user's immutable
id), not by its URL: the URL comes from `functions.urls` when it is rendered.

Archive pages are cut from the store's post numbers (`Post.seq` for a user,
`Post.explore_seq` for explore), counted from the oldest post: page k always
holds the numbers (k-1)*25+1 .. k*25, so a new post changes only the newest
archive page, never the long tail. Fast-changing numbers (counts, last seen)
appear on a profile's index page and the user's card only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .. import urls
from ..domain import (
    Event,
    Followed,
    PostCreated,
    PostDeleted,
    Unfollowed,
    UserCreated,
    UserSeen,
    UserUpdated,
)
from .data import SiteData

POSTS_PER_PAGE = 25
SITEMAP_CHUNK = 1000  # posts per sitemap file (the format allows 50,000 URLs)


def page_number(seq: int) -> int:
    """The archive page that holds post number `seq`."""
    return (seq - 1) // POSTS_PER_PAGE + 1


def page_count(last_seq: int) -> int:
    return page_number(last_seq) if last_seq > 0 else 0


def page_range(number: int) -> tuple[int, int]:
    """The post numbers on archive page `number`."""
    return (number - 1) * POSTS_PER_PAGE + 1, number * POSTS_PER_PAGE


def index_first_page(last_seq: int) -> int:
    """The oldest archive page an index (`/u/<name>/`, `/explore/`) shows
    whole: the newest page, and the one before it while the newest is not
    full. An index so shows at least a full page's worth, and its "Older
    posts" link leads to the page just before what it shows: paging back
    shows every post once, while archive pages keep their fixed numbers."""
    pages = page_count(last_seq)
    if pages > 1 and last_seq % POSTS_PER_PAGE:
        return pages - 1
    return max(pages, 1)


def sitemap_chunk(explore_seq: int) -> int:
    return (explore_seq - 1) // SITEMAP_CHUNK


def sitemap_chunk_count(last_explore_seq: int) -> int:
    return sitemap_chunk(last_explore_seq) + 1 if last_explore_seq > 0 else 0


# ------------------------------------------------------------ the pages


@dataclass(frozen=True)
class Shell:
    """A page the browser UI fills in (`/`, `/login/`, ...): see urls.APP_SHELLS."""

    name: str


@dataclass(frozen=True)
class NotFoundPage:
    """`/404.html`."""


@dataclass(frozen=True)
class Robots:
    """`/robots.txt`."""


@dataclass(frozen=True)
class SitemapIndex:
    """`/sitemap.xml`: lists the fixed pages' sitemap and one per chunk of posts."""


@dataclass(frozen=True)
class SitemapPages:
    """`/sitemap-pages.xml`: explore and the content pages."""


@dataclass(frozen=True)
class SitemapPosts:
    """`/sitemap-posts-<chunk>.xml`: the permalinks (and their authors' profiles)
    of SITEMAP_CHUNK consecutive explore numbers."""

    chunk: int


@dataclass(frozen=True)
class Profile:
    """`/u/<username>/`: the user, their counts and newest posts."""

    user_id: str


@dataclass(frozen=True)
class ProfileArchive:
    """`/u/<username>/page/<k>/`."""

    user_id: str
    number: int


@dataclass(frozen=True)
class UserFeed:
    """`/u/<username>/feed.xml` (Atom)."""

    user_id: str


@dataclass(frozen=True)
class Explore:
    """`/explore/`: everyone's newest posts."""


@dataclass(frozen=True)
class ExploreArchive:
    """`/explore/page/<k>/`."""

    number: int


@dataclass(frozen=True)
class ExploreFeed:
    """`/explore/feed.xml` (Atom)."""


@dataclass(frozen=True)
class Permalink:
    """`/p/<id>/`: one post. Rendered as a removal once the post is gone."""

    post_id: str


@dataclass(frozen=True)
class Content:
    """`/<slug>/`: a Markdown page from `content/`."""

    slug: str


@dataclass(frozen=True)
class Redirect:
    """A page at a name a user left by renaming (`/u/<old>/` for number 0,
    else its archive page `number`) that sends to the same page under the
    user's current name. Made from the store's former names, so every full
    build keeps it; never written while someone holds the old name (the
    address is theirs then)."""

    username: str  # the former name
    user_id: str
    number: int = 0


@dataclass(frozen=True)
class FormerFeed:
    """`/u/<old>/feed.xml` after a rename: removed (feed readers do not
    follow an HTML redirect), unless someone holds the old name now."""

    username: str
    user_id: str


@dataclass(frozen=True)
class UserCard:
    """`/u/<username>/card.json`: what the popup on hover shows of the user
    (avatar, about me, last-seen day, counts), fetched by the browser; a
    profile's companion, rendered with it and on every change of its counts."""

    user_id: str


@dataclass(frozen=True)
class FormerCard:
    """`/u/<old>/card.json` after a rename: removed, as the old feed (a script
    does not follow an HTML redirect, and no page links to the old name any
    more), unless someone holds the old name now."""

    username: str
    user_id: str


PageRef = (
    Shell
    | NotFoundPage
    | Robots
    | SitemapIndex
    | SitemapPages
    | SitemapPosts
    | Profile
    | ProfileArchive
    | UserFeed
    | Explore
    | ExploreArchive
    | ExploreFeed
    | Permalink
    | Content
    | Redirect
    | FormerFeed
    | UserCard
    | FormerCard
)


# ------------------------------------------------------------ the full site


def fixed_pages(content_slugs: Iterable[str]) -> Iterator[PageRef]:
    """The pages that exist whatever the data."""
    yield from (Shell(name) for name in urls.APP_SHELLS)
    yield from (NotFoundPage(), Robots(), SitemapIndex(), SitemapPages())
    yield from (Explore(), ExploreFeed())
    yield from (Content(slug) for slug in content_slugs)


def user_index_pages(user_id: str) -> tuple[PageRef, ...]:
    """A user's pages that show the newest state: the profile, the feed, the card."""
    return Profile(user_id), UserFeed(user_id), UserCard(user_id)


def user_pages(user_id: str, post_seq: int) -> Iterator[PageRef]:
    """A user's profile, feed, card and archive pages (posts numbered 1..post_seq)."""
    yield from user_index_pages(user_id)
    yield from (ProfileArchive(user_id, k) for k in range(1, page_count(post_seq) + 1))


def former_pages(username: str, user_id: str, post_seq: int) -> Iterator[PageRef]:
    """The redirects at a name the user left (its posts numbered 1..post_seq)."""
    yield Redirect(username, user_id)
    yield from (Redirect(username, user_id, k) for k in range(1, page_count(post_seq) + 1))


def all_pages(data: SiteData, content_slugs: Iterable[str]) -> Iterator[PageRef]:
    """Every page of the site."""
    yield from fixed_pages(content_slugs)
    last = data.explore_seq()
    yield from (ExploreArchive(k) for k in range(1, page_count(last) + 1))
    yield from (SitemapPosts(c) for c in range(sitemap_chunk_count(last)))
    for user in data.all_users():
        yield from user_pages(user.id, user.post_seq)
    for former in data.former_names():
        if (user := data.user(former.user_id)) is not None:
            yield from former_pages(former.username, user.id, user.post_seq)
    yield from (Permalink(post.id) for post in data.all_posts())


# ------------------------------------------------------------ what a change touches


def pages_for(event: Event, data: SiteData) -> set[PageRef]:
    """The pages one change touches. Every frequent change touches a bounded
    set (a new post: at most 12 pages; 19 files, each page people read being
    written in both languages: `render.LOCALIZED_PAGES`), whatever the size of
    the corpus; only a username or e-mail change, which is rare, reaches all of
    a user's pages. The card shows the counts and the last-seen day: follows,
    posts and a new last-seen day (`UserSeen`, the card alone) re-render it.
    The search index's shards are not pages (they are changed in place, not
    rendered from the store): `search.update` maps the same events to them,
    beside these pages, in `SiteBuilder.apply`."""
    match event:
        case PostCreated(explore_seq=0):
            return set()  # not numbered yet: its pages come with its numbering
        case PostDeleted(explore_seq=0):  # deleted before it was numbered
            return _author_pages(event)
        case PostCreated() | PostDeleted():
            pages = _author_pages(event) | {
                Explore(),
                ExploreArchive(page_number(event.explore_seq)),
                ExploreFeed(),
                SitemapPosts(sitemap_chunk(event.explore_seq)),
            }
            if isinstance(event, PostCreated):
                if event.explore_seq % SITEMAP_CHUNK == 1:
                    pages.add(SitemapIndex())  # the first post of a new sitemap chunk
                # The first post of a new archive page: the page before it is no
                # longer the newest (its "newer" link, and it becomes stable).
                if event.seq % POSTS_PER_PAGE == 1 and event.seq > 1:
                    pages.add(ProfileArchive(event.author_id, page_number(event.seq) - 1))
                if event.explore_seq % POSTS_PER_PAGE == 1 and event.explore_seq > 1:
                    pages.add(ExploreArchive(page_number(event.explore_seq) - 1))
            return pages
        case UserCreated(user_id=user_id):
            return set(user_index_pages(user_id))
        case UserUpdated(shown_everywhere=False):
            return {Profile(event.user_id), UserCard(event.user_id)}  # about me
        case UserUpdated():
            return _everywhere_shown(event, data)
        case UserSeen(user_id=user_id):
            return {UserCard(user_id)}  # the day only: at most once a user a day
        case Followed(follower_id=a, followed_id=b) | Unfollowed(follower_id=a, followed_id=b):
            return {Profile(a), Profile(b), UserCard(a), UserCard(b)}
    raise TypeError(f"not a change event: {event!r}")


def _author_pages(event: PostCreated | PostDeleted) -> set[PageRef]:
    """The pages of a post that are its author's: the permalink, the profile,
    the archive page it is on, the feed, the card (its post count)."""
    return {
        Permalink(event.post_id),
        *user_index_pages(event.author_id),
        ProfileArchive(event.author_id, page_number(event.seq)),
    }


def _everywhere_shown(event: UserUpdated, data: SiteData) -> set[PageRef]:
    """Every page that shows the user's name or avatar; after a rename, the
    old addresses redirect to the new ones."""
    user_id = event.user_id
    pages: set[PageRef] = {Explore(), ExploreFeed(), *user_pages(user_id, event.post_seq)}
    for post in data.posts_by_seq(user_id, 1, event.post_seq):
        pages.add(Permalink(post.id))
        if post.explore_seq:  # else not in explore yet: its numbering renders it
            pages.add(ExploreArchive(page_number(post.explore_seq)))
            pages.add(SitemapPosts(sitemap_chunk(post.explore_seq)))
    if event.username != event.previous_username:
        pages.update(former_pages(event.previous_username, user_id, event.post_seq))
        pages.add(FormerFeed(event.previous_username, user_id))
        pages.add(FormerCard(event.previous_username, user_id))
    return pages


def pages_for_all(events: Iterable[Event], data: SiteData) -> set[PageRef]:
    """The union of the pages of many changes: each page rendered once."""
    return set().union(*(pages_for(event, data) for event in events))
