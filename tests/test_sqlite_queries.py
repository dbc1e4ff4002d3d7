"""SQLite reads stay flat as the corpus grows: each statement is an index
range (no table scan, no sort of a whole feed, no COUNT(*) of a user's rows),
checked on the statements the store really runs, with EXPLAIN QUERY PLAN;
and a database made before counters were kept is brought up to date."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from functions.domain import Counts, User, new_id, utcnow
from functions.seed import seed
from functions.services import new_post
from functions.store import sqlite as sqlite_store
from functions.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> SQLiteStore:
    store = SQLiteStore(tmp_path_factory.mktemp("plans") / "microblog.sqlite3")
    seed(store, 12, 120, progress=False)
    yield store
    store.close()


def statements(store: SQLiteStore, read: Callable[[], object]) -> list[str]:
    """The SQL `read` runs, with its values bound (SQLite's trace)."""
    seen: list[str] = []
    db = store._db()
    db.set_trace_callback(seen.append)
    try:
        read()
    finally:
        db.set_trace_callback(None)
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]


def second(read: Callable, *args: str) -> str:
    """The cursor of a collection's second page."""
    return read(*args, limit=3).next_cursor


READS: dict[str, Callable[[SQLiteStore, User, User], object]] = {
    "home feed": lambda s, a, b: s.home_feed(a.id),
    "home feed, next page": lambda s, a, b: s.home_feed(a.id, second(s.home_feed, a.id)),
    "explore": lambda s, a, b: s.explore(),
    "explore, next page": lambda s, a, b: s.explore(second(s.explore)),
    "a user": lambda s, a, b: s.get_user(a.id),
    "a user by name": lambda s, a, b: s.get_user_by_username(a.username),
    "post authors": lambda s, a, b: s.get_users([a.id, b.id]),
    "users": lambda s, a, b: s.list_users(),
    "counts": lambda s, a, b: s.counts(a.id),
    "posts by": lambda s, a, b: s.posts_by(a.id),
    "archive page": lambda s, a, b: s.posts_by_seq(a.id, 1, 25),
    "explore archive page": lambda s, a, b: s.explore_by_seq(1, 25),
    "followers": lambda s, a, b: s.followers(a.id),
    "followed": lambda s, a, b: s.followed(a.id),
}


@pytest.mark.parametrize("scan", [sqlite_store.FEED_SCAN, 1])  # 1: home feeds merged
@pytest.mark.parametrize("name", READS)
def test_each_read_is_an_index_range_without_a_sort_or_count(corpus, name, scan, monkeypatch):
    monkeypatch.setattr(sqlite_store, "FEED_SCAN", scan)
    ann, bob = corpus.list_users(limit=2).items
    sqls = statements(corpus, lambda: READS[name](corpus, ann, bob))
    assert sqls
    db = corpus._db()
    for sql in sqls:
        assert "COUNT(" not in sql.upper(), sql
        plan = [row["detail"] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
        assert plan, sql
        for step in plan:
            assert "TEMP B-TREE" not in step, (sql, plan)
            assert step.startswith("SEARCH "), (sql, plan)
            assert "INDEX" in step or "PRIMARY KEY" in step, (sql, plan)


def walk(read: Callable) -> list[str]:
    """The ids of a whole collection, page after page; `read(cursor)`."""
    ids, cursor = [], None
    while True:
        page = read(cursor)
        ids += [item.id for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def test_a_feed_is_the_same_found_among_the_newest_posts_or_merged(corpus, monkeypatch):
    posts = {post.id: post for post in map(corpus.get_post, walk(corpus.explore))}
    for user in corpus.list_users(limit=100).items:
        authors = {user.id, *walk(lambda c, u=user.id: corpus.followed(u, c))}
        expected = sorted((i for i, p in posts.items() if p.author_id in authors), reverse=True)
        for scan in (1000, 1):  # every post in one walk; mostly merged
            monkeypatch.setattr(sqlite_store, "FEED_SCAN", scan)
            assert walk(lambda c, u=user.id: corpus.home_feed(u, c, limit=4)) == expected


def test_a_sparse_feed_merges_one_index_range_per_author(corpus, monkeypatch):
    """When everyone's newest posts do not hold the page, each author's
    newest 6 ids are read (a page of 5, and one to know there is more)."""
    monkeypatch.setattr(sqlite_store, "FEED_SCAN", 1)
    ann = min(
        corpus.list_users(limit=100).items, key=lambda user: (user.followed_count, user.post_count)
    )
    sqls = statements(corpus, lambda: corpus.home_feed(ann.id, limit=5))
    per_author = [sql for sql in sqls if "WHERE author_id =" in sql]
    assert len(per_author) == ann.followed_count + 1
    assert all(sql.endswith("LIMIT 6") for sql in per_author)


def test_a_dense_feed_is_one_short_walk_of_the_newest_posts(corpus):
    ann = max(corpus.list_users(limit=100).items, key=lambda user: user.followed_count)
    sqls = statements(corpus, lambda: corpus.home_feed(ann.id, limit=5))
    assert not [sql for sql in sqls if "WHERE author_id =" in sql]
    assert any(sql.endswith(f"LIMIT {6 * sqlite_store.FEED_SCAN}") for sql in sqls)


# The schema before counters were kept (what older var/ holds).
OLD_SCHEMA = """
CREATE TABLE users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL, email_key TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    about_me TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, last_seen TEXT NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0, post_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE posts (
    id TEXT PRIMARY KEY, author_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL, body_html TEXT NOT NULL, language TEXT NOT NULL,
    timestamp TEXT NOT NULL, seq INTEGER NOT NULL, explore_seq INTEGER NOT NULL UNIQUE
);
CREATE TABLE follows (
    follower_id TEXT NOT NULL, followed_id TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (follower_id, followed_id)
) WITHOUT ROWID;
"""


def test_an_older_database_gets_its_counters(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    now = utcnow().isoformat()
    names = ("ann", "bob", "cy")
    ids = {name: new_id() for name in names}
    for name in names:
        db.execute(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
            " created, last_seen, post_seq) VALUES (?, ?, ?, ?, ?, 'h', ?, ?, 2)",
            (ids[name], name, name, f"{name}@x.org", f"{name}@x.org", now, now),
        )
    posts = {}
    for n, name in enumerate(names * 2):
        post = new_post(ids[name], f"{name} {n}", "en")
        posts.setdefault(name, []).append(post.id)
        db.execute(
            "INSERT INTO posts VALUES (?, ?, ?, ?, 'en', ?, ?, ?)",
            (post.id, ids[name], post.body, post.body_html, now, n // 3 + 1, n + 1),
        )
    for a, b in (("ann", "bob"), ("cy", "bob"), ("bob", "ann")):
        db.execute("INSERT INTO follows VALUES (?, ?, ?)", (ids[a], ids[b], new_id()))
    db.commit()
    db.close()

    store = SQLiteStore(path)
    assert store.counts(ids["bob"]) == Counts(posts=2, followers=2, followed=1)
    assert store.counts(ids["ann"]) == Counts(posts=2, followers=1, followed=1)
    assert store.counts(ids["cy"]) == Counts(posts=2, followers=0, followed=1)
    feed = {post.id for post in store.home_feed(ids["ann"]).items}
    assert feed == {*posts["ann"], *posts["bob"]}
    # and it keeps them from then on
    store.unfollow(ids["ann"], ids["bob"])
    assert {post.id for post in store.home_feed(ids["ann"]).items} == set(posts["ann"])
    assert store.counts(ids["bob"]).followers == 1
    store.close()
    assert SQLiteStore(path).counts(ids["bob"]).followers == 1  # migrated once
