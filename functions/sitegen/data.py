"""What the pages are rendered from: the store itself, or a snapshot of it.

An incremental rebuild renders a handful of pages and asks the store
(`StoreData`). A full build renders every page, part by part (`shards`):
it reads each part's share of the corpus once into memory (`Snapshot`) and
renders from there, without a query per page. Both answer the same
questions, so the renderer cannot tell them apart.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Protocol

from ..domain import FormerName, Post, User, username_key
from ..store import MAX_LIMIT, Store


class SiteData(Protocol):
    def user(self, user_id: str) -> User | None: ...

    def users(self, user_ids: Iterable[str]) -> dict[str, User]: ...

    def all_users(self) -> Iterator[User]: ...

    def post(self, post_id: str) -> Post | None: ...

    def all_posts(self) -> Iterator[Post]: ...

    def newest_posts_by(self, user_id: str, count: int) -> list[Post]: ...

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        """Newest first, like everything here."""
        ...

    def newest_posts(self, count: int) -> list[Post]: ...

    def explore_by_seq(self, first: int, last: int) -> list[Post]: ...

    def explore_seq(self) -> int: ...

    def former_names(self) -> list[FormerName]: ...

    def user_by_name(self, username: str) -> User | None:
        """Who holds `username` now (case-insensitively), if anyone."""
        ...


def _walk(fetch) -> Iterator:
    cursor = None
    while True:
        page = fetch(cursor=cursor, limit=MAX_LIMIT)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _in_slices(fetch, first: int, last: int) -> list[Post]:
    """Ask for a long range of numbers MAX_LIMIT at a time, newest first."""
    posts: list[Post] = []
    top = last
    while top >= first:
        bottom = max(first, top - MAX_LIMIT + 1)
        posts.extend(fetch(bottom, top))
        top = bottom - 1
    return posts


class StoreData:
    """Straight from the store: for rebuilding a few pages."""

    def __init__(self, store: Store):
        self.store = store

    def user(self, user_id: str) -> User | None:
        return self.store.get_user(user_id)

    def users(self, user_ids: Iterable[str]) -> dict[str, User]:
        return self.store.get_users(user_ids)

    def all_users(self) -> Iterator[User]:
        return _walk(self.store.list_users)

    def post(self, post_id: str) -> Post | None:
        return self.store.get_post(post_id)

    def all_posts(self) -> Iterator[Post]:
        return _walk(self.store.explore)

    def newest_posts_by(self, user_id: str, count: int) -> list[Post]:
        return self.store.posts_by(user_id, limit=count).items

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        return _in_slices(lambda a, b: self.store.posts_by_seq(user_id, a, b), first, last)

    def newest_posts(self, count: int) -> list[Post]:
        return self.store.explore(limit=count).items

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        return _in_slices(self.store.explore_by_seq, first, last)

    def explore_seq(self) -> int:
        return self.store.explore_seq()

    def former_names(self) -> list[FormerName]:
        return self.store.former_names()

    def user_by_name(self, username: str) -> User | None:
        return self.store.get_user_by_username(username)


class Snapshot:
    """Users and posts in memory, read once: a part of a full build
    (`shards.load_part`), or the whole corpus (`load`, for tools and tests)."""

    def __init__(
        self,
        users: Iterable[User],
        posts: Iterable[Post],
        explore_seq: int,
        former_names: Iterable[FormerName] = (),
    ):
        self._users = {user.id: user for user in users}
        self._by_name = {username_key(user.username): user for user in self._users.values()}
        self._former_names = list(former_names)
        self._posts = sorted(posts, key=lambda p: p.explore_seq)  # oldest first
        self._explore_seqs = [post.explore_seq for post in self._posts]
        self._by_id = {post.id: post for post in self._posts}
        self._by_author: dict[str, list[Post]] = defaultdict(list)
        for post in self._posts:
            self._by_author[post.author_id].append(post)
        for posts in self._by_author.values():
            posts.sort(key=lambda p: p.seq)
        self._author_seqs = {a: [p.seq for p in posts] for a, posts in self._by_author.items()}
        self._explore_seq = explore_seq

    @classmethod
    def load(cls, store: Store) -> Snapshot:
        # The counter first: a post written during the load may then be
        # missing from the snapshot, but never numbered past its pages.
        last = store.explore_seq()
        data = StoreData(store)
        return cls(data.all_users(), data.all_posts(), last, store.former_names())

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def users(self, user_ids: Iterable[str]) -> dict[str, User]:
        return {uid: self._users[uid] for uid in user_ids if uid in self._users}

    def all_users(self) -> Iterator[User]:
        return iter(self._users.values())

    def post(self, post_id: str) -> Post | None:
        return self._by_id.get(post_id)

    def all_posts(self) -> Iterator[Post]:
        return iter(self._posts)

    def newest_posts_by(self, user_id: str, count: int) -> list[Post]:
        return self._by_author.get(user_id, [])[-count:][::-1]

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        posts, seqs = self._by_author.get(user_id, []), self._author_seqs.get(user_id, [])
        return posts[bisect.bisect_left(seqs, first) : bisect.bisect_right(seqs, last)][::-1]

    def newest_posts(self, count: int) -> list[Post]:
        return self._posts[-count:][::-1]

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        seqs = self._explore_seqs
        return self._posts[bisect.bisect_left(seqs, first) : bisect.bisect_right(seqs, last)][::-1]

    def explore_seq(self) -> int:
        return self._explore_seq

    def former_names(self) -> list[FormerName]:
        return self._former_names

    def user_by_name(self, username: str) -> User | None:
        return self._by_name.get(username_key(username))


class Overlay:
    """The store's answers with a batch of stream images laid over them.

    The render function re-renders the pages of a batch of stream records
    moments after the writes. Strongly consistent reads (a user, a post by
    id) are taken as they are; the lists that come from indexes or eventually
    consistent queries may not show those writes yet, so the batch's new
    posts are merged into them and its deleted posts taken out: index lag
    cannot drop a post from the pages its own record re-renders.
    """

    def __init__(
        self,
        base: SiteData,
        posts: dict[str, Post] | None = None,
        removed_posts: Iterable[str] = (),
        users: dict[str, User] | None = None,
    ):
        self.base = base
        self.removed = set(removed_posts)
        self.posts = {i: p for i, p in (posts or {}).items() if i not in self.removed}
        self.images = users or {}

    def _merge(self, found: list[Post], extra: Iterable[Post], key, count: int | None = None):
        """`found` plus `extra`, minus the removed posts, newest first by `key`."""
        merged = {p.id: p for p in found if p.id not in self.removed}
        merged.update((p.id, p) for p in extra)
        posts = sorted(merged.values(), key=key, reverse=True)
        return posts if count is None else posts[:count]

    def user(self, user_id: str) -> User | None:
        return self.base.user(user_id)

    def users(self, user_ids: Iterable[str]) -> dict[str, User]:
        user_ids = list(user_ids)
        found = self.base.users(user_ids)
        missing = (i for i in user_ids if i not in found and i in self.images)
        return {**found, **{i: self.images[i] for i in missing}}

    def all_users(self) -> Iterator[User]:
        return self.base.all_users()

    def post(self, post_id: str) -> Post | None:
        return self.base.post(post_id)

    def all_posts(self) -> Iterator[Post]:
        return self.base.all_posts()

    def newest_posts_by(self, user_id: str, count: int) -> list[Post]:
        mine = (p for p in self.posts.values() if p.author_id == user_id)
        found = self.base.newest_posts_by(user_id, count)
        return self._merge(found, mine, lambda p: p.seq, count)

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        mine = (p for p in self.posts.values() if p.author_id == user_id and first <= p.seq <= last)
        return self._merge(self.base.posts_by_seq(user_id, first, last), mine, lambda p: p.seq)

    def newest_posts(self, count: int) -> list[Post]:
        found = self.base.newest_posts(count)
        return self._merge(found, self.posts.values(), lambda p: p.explore_seq, count)

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        extra = (p for p in self.posts.values() if first <= p.explore_seq <= last)
        found = self.base.explore_by_seq(first, last)
        return self._merge(found, extra, lambda p: p.explore_seq)

    def explore_seq(self) -> int:
        return max([self.base.explore_seq(), *(p.explore_seq for p in self.posts.values())])

    def former_names(self) -> list[FormerName]:
        return self.base.former_names()

    def user_by_name(self, username: str) -> User | None:
        return self.base.user_by_name(username)
