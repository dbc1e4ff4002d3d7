"""A full build cut into shards: deterministic shares of the site, each
rendered from only the data its own pages show.

Shard i of n (1 <= i <= n) owns:

- the fixed pages (app shells, 404, robots, the sitemap index, explore's
  index and feed, the content pages): shard 1;
- every page of a user (profile, archive pages, feed, card, the redirects at
  their former names): the shard `user_shard(user_id, n)`, a hash of the id;
- every page of an explore chunk (SITEMAP_CHUNK consecutive explore numbers:
  its explore archive pages, its sitemap and its posts' permalinks): shard
  `chunk % n + 1`.

A shard renders its pages part by part (the fixed pages, one chunk, a group
of users' archive pages holding about PART_POSTS posts: a prolific user's
archive is cut into several slices), each from a small `Snapshot` of just
what the part shows, released before the next: its memory is bounded by a
part, whatever the size of the corpus, of the biggest user, or the number
of shards. The cost: a post's fragment is rendered twice per build, once
for its author's pages and once for its chunk's.

The shards' pages together are exactly the site's (`pages.all_pages`);
`tests/sitegen/test_shards.py` checks it. The same shards run in the local
build's worker processes, in `build.py build --shard I/N`, and on AWS in
the release's Step Functions Map.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..domain import FormerName, Post, User
from ..store import Store
from .data import Snapshot, StoreData
from .pages import (
    POSTS_PER_PAGE,
    SITEMAP_CHUNK,
    ExploreArchive,
    PageRef,
    Permalink,
    ProfileArchive,
    SitemapPosts,
    fixed_pages,
    former_pages,
    index_first_page,
    page_count,
    page_number,
    page_range,
    sitemap_chunk_count,
    user_index_pages,
)

# Posts a user part holds, about (a slice of a user's archive is cut at page
# boundaries): as many as an explore chunk, a few megabytes in memory.
PART_POSTS = 1000


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, counted from 1 (`build.py build --shard 2/4`)."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"a shard is I/N with 1 <= I <= N, not {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"I/N"`, e.g. `"2/4"`; ValueError with a one-line reason otherwise."""
        index, slash, count = text.partition("/")
        if not (slash and index.strip().isdigit() and count.strip().isdigit()):
            raise ValueError(f"a shard is I/N, e.g. 2/4, not {text!r}")
        return cls(int(index), int(count))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns_user(self, user_id: str) -> bool:
        return user_shard(user_id, self.count) == self.index

    def owns_chunk(self, chunk: int) -> bool:
        return chunk % self.count + 1 == self.index


def user_shard(user_id: str, count: int) -> int:
    """The shard of a user's pages: stable across processes and runs (not
    Python's salted `hash`)."""
    return zlib.crc32(user_id.encode()) % count + 1


# ------------------------------------------------------------ parts


@dataclass(frozen=True)
class FixedPart:
    """The pages that exist whatever the data, and explore's newest posts."""


@dataclass(frozen=True)
class ChunkPart:
    """Explore chunk `chunk`: the explore numbers chunk*SITEMAP_CHUNK+1 ..
    (chunk+1)*SITEMAP_CHUNK."""

    chunk: int


@dataclass(frozen=True)
class UserSlice:
    """Archive pages `first`..`last` of a user; the newest slice (the one
    with the last page) also has the profile, the feed, the card and the
    redirects at the user's former names. A user with no posts is one slice
    of no archive page."""

    user: User
    first: int
    last: int

    @property
    def newest(self) -> bool:
        return self.last == page_count(self.user.post_seq)

    def posts(self) -> tuple[int, int]:
        """The post numbers the slice's pages show (the profile shows from
        `index_first_page`, which may be the page before the last)."""
        first = self.first
        if self.newest:
            first = min(first, index_first_page(self.user.post_seq))
        return page_range(first)[0], min(page_range(self.last)[1], self.user.post_seq)


def user_slices(user: User) -> Iterator[UserSlice]:
    """A user's archive in slices of about PART_POSTS posts, oldest first."""
    pages, step = page_count(user.post_seq), max(1, PART_POSTS // POSTS_PER_PAGE)
    for first in range(1, pages + 1, step):
        yield UserSlice(user, first, min(first + step - 1, pages))
    if not pages:
        yield UserSlice(user, 1, 0)


@dataclass(frozen=True)
class UsersPart:
    """Slices of users' archives, about PART_POSTS posts in all."""

    slices: tuple[UserSlice, ...]


Part = FixedPart | ChunkPart | UsersPart


def shard_parts(shard: Shard, store: Store, last: int) -> Iterator[Part]:
    """The shard's parts, given the explore counter `last` read at the build's
    start. Users are read as they come (a page of the store at a time) and
    grouped; nothing here holds more than one group."""
    if shard.index == 1:
        yield FixedPart()
    yield from (ChunkPart(c) for c in range(sitemap_chunk_count(last)) if shard.owns_chunk(c))
    group: list[UserSlice] = []
    posts = 0
    for user in StoreData(store).all_users():
        if not shard.owns_user(user.id):
            continue
        for piece in user_slices(user):
            first, last = piece.posts()
            if group and posts + (last - first + 1) > PART_POSTS:
                yield UsersPart(tuple(group))
                group, posts = [], 0
            group.append(piece)
            posts += last - first + 1
    if group:
        yield UsersPart(tuple(group))


def load_part(
    part: Part,
    store: Store,
    last: int,
    former_names: Iterable[FormerName],
    content_slugs: Iterable[str],
) -> tuple[Snapshot, list[PageRef]]:
    """What a part shows, read from the store, and its pages."""
    source = StoreData(store)
    match part:
        case FixedPart():
            first = page_range(index_first_page(last))[0] if last else 1
            posts = source.explore_by_seq(first, last)  # the index's and the feed's
            return _snapshot(store, posts, last), list(fixed_pages(content_slugs))
        case ChunkPart(chunk=chunk):
            first, end = chunk * SITEMAP_CHUNK + 1, min((chunk + 1) * SITEMAP_CHUNK, last)
            posts = source.explore_by_seq(first, end)
            pages: list[PageRef] = [
                ExploreArchive(k) for k in range(page_number(first), page_number(end) + 1)
            ]
            pages.append(SitemapPosts(chunk))
            pages.extend(Permalink(post.id) for post in posts)
            return _snapshot(store, posts, last), pages
        case UsersPart(slices=slices):
            users = {piece.user.id: piece.user for piece in slices}
            posts = [
                post
                for piece in slices
                for post in source.posts_by_seq(piece.user.id, *piece.posts())
            ]
            newest = {piece.user.id for piece in slices if piece.newest}
            formers = [f for f in former_names if f.user_id in newest]
            # Whoever holds a former name now: its redirects must not replace their pages.
            holders = [h for f in formers if (h := store.get_user_by_username(f.username))]
            data = Snapshot([*holders, *users.values()], posts, last, formers)
            pages: list[PageRef] = []
            for piece in slices:
                user_id = piece.user.id
                if piece.newest:
                    pages += user_index_pages(user_id)
                pages += [ProfileArchive(user_id, k) for k in range(piece.first, piece.last + 1)]
            for former in formers:
                user = users[former.user_id]
                pages.extend(former_pages(former.username, user.id, user.post_seq))
            return data, pages
    raise TypeError(f"not a part: {part!r}")


def _snapshot(store: Store, posts: list[Post], last: int) -> Snapshot:
    """Posts and their authors."""
    authors = store.get_users({post.author_id for post in posts})
    return Snapshot(authors.values(), posts, last)
