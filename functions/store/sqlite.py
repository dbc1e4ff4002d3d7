"""The embedded default store: one SQLite file (WAL mode), standard library only.

Each use case is one transaction (`BEGIN IMMEDIATE`, so two writers queue up
instead of failing on a lock upgrade). Uniqueness is held by unique indexes on
the case-folded username and e-mail. No read grows with the corpus: a
user's counters are kept on the user's row, updated in the same transaction
as the post or follow that changes them, and every list is read from an
index in its own order (a home feed merges one index range per author
followed). Each thread gets its own connection.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..domain import (
    IDEMPOTENCY_TTL,
    REUSED_KEY,
    TASK_STALE,
    UNREAD_MESSAGE_COUNT,
    Conflict,
    Counts,
    FormerName,
    Idempotency,
    Message,
    NotFound,
    Notification,
    Post,
    StaleUser,
    Task,
    Throttle,
    TimelineJob,
    User,
    ValidationError,
    email_key,
    format_time,
    new_id,
    parse_time,
    username_key,
    utcnow,
)
from ..i18n import N_
from . import DEFAULT_LIMIT, InvalidCursor, Page, check_changes, clamp_limit

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    about_me      TEXT NOT NULL DEFAULT '',
    created       TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0,
    post_seq      INTEGER NOT NULL DEFAULT 0,  -- the last Post.seq handed out
    post_count     INTEGER NOT NULL DEFAULT 0,
    follower_count INTEGER NOT NULL DEFAULT 0,
    followed_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS posts (
    id        TEXT PRIMARY KEY,
    author_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body      TEXT NOT NULL,
    body_html TEXT NOT NULL,
    language  TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    explore_seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS posts_by_author_seq ON posts (author_id, seq);
DROP TABLE IF EXISTS login_failures;  -- replaced by throttles (never pruned)
CREATE TABLE IF NOT EXISTS throttles (
    key   TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    until TEXT NOT NULL  -- the end of the current window
);
CREATE INDEX IF NOT EXISTS throttles_by_end ON throttles (until);
CREATE TABLE IF NOT EXISTS former_names (
    username_key TEXT PRIMARY KEY,  -- a name left by a rename, case-folded
    username     TEXT NOT NULL,     -- as it was spelt
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE  -- who left it last
);
CREATE TABLE IF NOT EXISTS idempotency (
    scope       TEXT NOT NULL,  -- whose key (the author)
    key         TEXT NOT NULL,  -- the client's Idempotency-Key
    fingerprint TEXT NOT NULL,  -- what was asked with it
    post_id     TEXT NOT NULL,  -- what the first request made
    created     TEXT NOT NULL,  -- kept IDEMPOTENCY_TTL, then swept
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS follows (
    follower_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,  -- a ULID: orders edges by when they were made
    PRIMARY KEY (follower_id, followed_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS follows_by_follower ON follows (follower_id, id);
CREATE INDEX IF NOT EXISTS follows_by_followed ON follows (followed_id, id);
-- Home feeds filled on write (briefly on main): a row per post and follower
-- came to 18 million at 50,000 posts with the demo's follows. Merged instead.
DROP TABLE IF EXISTS timeline;
-- export: each user's latest background task of each name (Store.start_task)
CREATE TABLE IF NOT EXISTS tasks (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    id          TEXT NOT NULL,
    description TEXT NOT NULL,
    progress    INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    started     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
-- messages: a recipient's inbox in id (time) order, and live notifications
-- (the unread count), one row per user and name, changed in the send's transaction.
CREATE TABLE IF NOT EXISTS messages (
    id           TEXT PRIMARY KEY,
    sender_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    timestamp    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient_id, id);
CREATE TABLE IF NOT EXISTS notifications (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    data      TEXT NOT NULL,  -- JSON
    timestamp REAL NOT NULL,  -- seconds since the epoch: what `since` compares
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
"""
# A home feed page is first looked for among this many pages of everyone's
# newest posts (see `SQLiteStore.home_feed`).
FEED_SCAN = 8
# A database made before counters were kept: add them, counted.
COUNTERS = ("post_count", "follower_count", "followed_count")
MIGRATE_COUNTERS = """
UPDATE users SET
    post_count = (SELECT COUNT(*) FROM posts p WHERE p.author_id = users.id),
    follower_count = (SELECT COUNT(*) FROM follows f WHERE f.followed_id = users.id),
    followed_count = (SELECT COUNT(*) FROM follows f WHERE f.follower_id = users.id)
"""


def _statements(script: str) -> Iterator[str]:
    """The statements of `script`, one at a time (executescript would commit
    the transaction they must run in)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


USER_COLUMNS = """
    u.id, u.username, u.email, u.password_hash, u.about_me, u.created, u.last_seen,
    u.token_version, u.post_seq, u.post_count, u.follower_count, u.followed_count
"""
POST_COLUMNS = (
    "p.id, p.author_id, p.body, p.body_html, p.language, p.timestamp, p.seq, p.explore_seq"
)

# Cursors are ULIDs (the last item's post, user or edge id).
CURSOR_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        about_me=row["about_me"],
        created=parse_time(row["created"]),
        last_seen=parse_time(row["last_seen"]),
        token_version=row["token_version"],
        post_count=row["post_count"],
        follower_count=row["follower_count"],
        followed_count=row["followed_count"],
        post_seq=row["post_seq"],
    )


def _post(row: sqlite3.Row) -> Post:
    return Post(
        id=row["id"],
        author_id=row["author_id"],
        body=row["body"],
        body_html=row["body_html"],
        language=row["language"],
        timestamp=parse_time(row["timestamp"]),
        seq=row["seq"],
        explore_seq=row["explore_seq"],
    )


def _conflict(exc: sqlite3.IntegrityError) -> Conflict:
    if "email_key" in str(exc):
        return Conflict(N_("Please use a different email address."), "email")
    return Conflict(N_("Please use a different username."), "username")


class SQLiteStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Owner-only (0600), made before SQLite opens it: its -wal and -shm
            # files copy the database's mode, so no other local user reads them.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        """Create the tables, or bring an older database's up to date."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            columns = {row[1] for row in db.execute("PRAGMA table_info(users)")}
            for statement in _statements(SCHEMA):  # idempotent
                db.execute(statement)
            if "users" in tables and "post_count" not in columns:
                for name in COUNTERS:
                    db.execute(f"ALTER TABLE users ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")
                db.execute(MIGRATE_COUNTERS)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # ------------------------------------------------------------ plumbing

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken up front so concurrent writers queue."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _page(self, rows: list[sqlite3.Row], limit: int, make, key: str = "id") -> Page:
        """Rows were fetched with limit+1: the extra row says a next page exists."""
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([make(r) for r in rows], rows[-1][key] if more else None)

    @staticmethod
    def _cursor(cursor: str | None) -> str:
        """The exclusive upper bound for a newest-first walk."""
        if cursor is None:
            return "~"  # sorts after every ULID
        if not CURSOR_RE.match(cursor):
            raise InvalidCursor("Invalid cursor.")
        return cursor

    @property
    def reopenable(self) -> bool:
        return self.path != ":memory:"

    def reopen(self) -> SQLiteStore:
        return SQLiteStore(self.path)

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # ------------------------------------------------------------ users

    def create_user(self, user: User) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO users (id, username, username_key, email, email_key,"
                    " password_hash, about_me, created, last_seen, token_version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.username,
                        username_key(user.username),
                        user.email,
                        email_key(user.email),
                        user.password_hash,
                        user.about_me,
                        format_time(user.created),
                        format_time(user.last_seen),
                        user.token_version,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise _conflict(exc) from None

    def _one_user(self, where: str, value: str) -> User | None:
        row = self._db().execute(f"SELECT {USER_COLUMNS} FROM users u WHERE {where}", (value,))
        row = row.fetchone()
        return _user(row) if row else None

    def get_user(self, user_id: str) -> User | None:
        return self._one_user("u.id = ?", user_id)

    def get_user_by_username(self, username: str) -> User | None:
        return self._one_user("u.username_key = ?", username_key(username))

    def get_user_by_email(self, email: str) -> User | None:
        return self._one_user("u.email_key = ?", email_key(email))

    def get_users(self, user_ids: Iterable[str]) -> dict[str, User]:
        ids = list(dict.fromkeys(user_ids))
        users: dict[str, User] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db().execute(
                f"SELECT {USER_COLUMNS} FROM users u WHERE u.id IN ({marks})", chunk
            )
            users.update((row["id"], _user(row)) for row in rows)
        return users

    def update_user(
        self, user_id: str, changes: Mapping[str, Any], if_token_version: int | None = None
    ) -> User:
        check_changes(changes)
        columns = {
            name: format_time(value) if name == "last_seen" else value
            for name, value in changes.items()
        }
        if "username" in changes:
            columns["username_key"] = username_key(changes["username"])
        if "email" in changes:
            columns["email_key"] = email_key(changes["email"])
        where, params = "id = ?", [user_id]
        if if_token_version is not None:
            where, params = where + " AND token_version = ?", [*params, if_token_version]
        if columns:
            assignments = ", ".join(f"{name} = ?" for name in columns)
            try:
                with self._tx() as db:
                    old = db.execute("SELECT username FROM users WHERE id = ?", (user_id,))
                    old = old.fetchone()
                    changed = db.execute(
                        f"UPDATE users SET {assignments} WHERE {where}",
                        [*columns.values(), *params],
                    ).rowcount
                    if changed and changes.get("username", old[0]) != old[0]:
                        self._leave_name(db, old[0], user_id)
            except sqlite3.IntegrityError as exc:
                raise _conflict(exc) from None
        else:
            changed = self._db().execute(f"SELECT 1 FROM users WHERE {where}", params).fetchone()
        if not changed:
            if self.get_user(user_id) is None:
                raise NotFound("User not found.")
            raise StaleUser(N_("The account changed meanwhile."))
        return self.get_user(user_id)

    @staticmethod
    def _leave_name(db: sqlite3.Connection, username: str, user_id: str) -> None:
        db.execute(
            "INSERT INTO former_names (username_key, username, user_id) VALUES (?, ?, ?)"
            " ON CONFLICT (username_key) DO UPDATE"
            " SET username = excluded.username, user_id = excluded.user_id",
            (username_key(username), username, user_id),
        )

    def former_names(self) -> list[FormerName]:
        rows = self._db().execute("SELECT username, user_id FROM former_names")
        return [FormerName(row["username"], row["user_id"]) for row in rows]

    def list_users(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[User]:
        limit = clamp_limit(limit)
        rows = self._db().execute(
            f"SELECT {USER_COLUMNS} FROM users u WHERE u.id < ? ORDER BY u.id DESC LIMIT ?",
            (self._cursor(cursor), limit + 1),
        )
        return self._page(rows.fetchall(), limit, _user)

    # ------------------------------------------------------------ posts

    def create_post(self, post: Post, idempotency: Idempotency | None = None) -> Post:
        with self._tx() as db:
            if idempotency is not None:
                first = self._replayed(db, idempotency)
                if first is not None:
                    return first
            row = db.execute(
                "UPDATE users SET post_seq = post_seq + 1, post_count = post_count + 1"
                " WHERE id = ? RETURNING post_seq",
                (post.author_id,),
            ).fetchone()
            if row is None:
                raise NotFound("User not found.")
            explore_seq = db.execute(
                "INSERT INTO counters (name, value) VALUES ('explore_seq', 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
            ).fetchone()[0]
            post = post.replace(seq=row[0], explore_seq=explore_seq)
            db.execute(
                "INSERT INTO posts (id, author_id, body, body_html, language, timestamp,"
                " seq, explore_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    post.id,
                    post.author_id,
                    post.body,
                    post.body_html,
                    post.language,
                    format_time(post.timestamp),
                    post.seq,
                    post.explore_seq,
                ),
            )
            if idempotency is not None:
                db.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, post_id, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        idempotency.scope,
                        idempotency.key,
                        idempotency.fingerprint,
                        post.id,
                        format_time(utcnow()),
                    ),
                )
        return post

    def _replayed(self, db: sqlite3.Connection, idempotency: Idempotency) -> Post | None:
        """The post a live key already made (expired keys are swept first)."""
        expired = format_time(utcnow() - IDEMPOTENCY_TTL)
        db.execute("DELETE FROM idempotency WHERE created < ?", (expired,))
        row = db.execute(
            "SELECT fingerprint, post_id FROM idempotency WHERE scope = ? AND key = ?",
            (idempotency.scope, idempotency.key),
        ).fetchone()
        if row is None:
            return None
        fingerprint, post_id = row
        if fingerprint != idempotency.fingerprint:
            raise ValidationError(REUSED_KEY, "Idempotency-Key")
        first = db.execute(f"SELECT {POST_COLUMNS} FROM posts p WHERE p.id = ?", (post_id,))
        first = first.fetchone()
        if first is None:
            raise NotFound("Post not found.")  # made, then deleted
        return _post(first)

    def get_post(self, post_id: str) -> Post | None:
        row = self._db().execute(f"SELECT {POST_COLUMNS} FROM posts p WHERE p.id = ?", (post_id,))
        row = row.fetchone()
        return _post(row) if row else None

    def unnumbered_posts(self) -> Iterator[Post]:
        """None: `create_post` numbers each post in its transaction."""
        return iter(())

    def number_posts(self, post_ids: Iterable[str]) -> list[Post]:
        """Nothing to do: `create_post` numbers each post in its transaction."""
        posts = (self.get_post(post_id) for post_id in sorted(set(post_ids)))
        return [post for post in posts if post is not None]

    def delete_post(self, post_id: str) -> Post | None:
        with self._tx() as db:
            row = db.execute(
                f"SELECT {POST_COLUMNS} FROM posts p WHERE p.id = ?", (post_id,)
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM posts WHERE id = ?", (post_id,))
            db.execute(
                "UPDATE users SET post_count = post_count - 1 WHERE id = ?", (row["author_id"],)
            )
        return _post(row)

    def _posts(self, where: str, args: tuple, cursor: str | None, limit: int) -> Page[Post]:
        limit = clamp_limit(limit)
        rows = self._db().execute(
            f"SELECT {POST_COLUMNS} FROM posts p WHERE ({where}) AND p.id < ?"
            " ORDER BY p.id DESC LIMIT ?",
            (*args, self._cursor(cursor), limit + 1),
        )
        return self._page(rows.fetchall(), limit, _post)

    def posts_by(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]:
        return self._posts("p.author_id = ?", (user_id,), cursor, limit)

    def explore(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[Post]:
        return self._posts("1", (), cursor, limit)

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        rows = self._db().execute(
            f"SELECT {POST_COLUMNS} FROM posts p"
            " WHERE p.author_id = ? AND p.seq BETWEEN ? AND ? ORDER BY p.seq DESC",
            (user_id, first, last),
        )
        return [_post(row) for row in rows]

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        rows = self._db().execute(
            f"SELECT {POST_COLUMNS} FROM posts p"
            " WHERE p.explore_seq BETWEEN ? AND ? ORDER BY p.explore_seq DESC",
            (first, last),
        )
        return [_post(row) for row in rows]

    def explore_seq(self) -> int:
        row = self._db().execute("SELECT value FROM counters WHERE name = 'explore_seq'")
        row = row.fetchone()
        return row[0] if row else 0

    def home_feed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]:
        """The newest `limit` posts of the user and of everyone they follow,
        read from indexes in their own order, never by sorting the feed: first
        among everyone's newest posts (FEED_SCAN pages of them), where a
        follower of active authors finds the page at once; else each
        author's newest ids, from the (author, id) index, merged. Either way
        a bounded number of index entries, whatever the number of posts."""
        limit = clamp_limit(limit)
        before = self._cursor(cursor)
        db = self._db()
        db.execute("BEGIN")  # one snapshot for the statements of one page
        try:
            authors = {user_id}
            authors.update(
                row[0]
                for row in db.execute(
                    "SELECT followed_id FROM follows WHERE follower_id = ?", (user_id,)
                )
            )
            budget = (limit + 1) * FEED_SCAN
            newest = db.execute(
                "SELECT id, author_id FROM posts WHERE id < ? ORDER BY id DESC LIMIT ?",
                (before, budget),
            )
            ids, seen = [], 0
            for post_id, author_id in newest:  # read lazily: stops once the page is full
                seen += 1
                if author_id in authors:
                    ids.append(post_id)
                    if len(ids) > limit:
                        break
            newest.close()
            if len(ids) <= limit and seen == budget:  # more posts lie further back
                ids = self._newest_of(db, authors, before, limit + 1)
            marks = ",".join("?" * len(ids))
            rows = db.execute(
                f"SELECT {POST_COLUMNS} FROM posts p WHERE p.id IN ({marks})", ids
            ).fetchall()
        finally:
            db.execute("COMMIT")
        rows.sort(key=lambda row: row["id"], reverse=True)
        return self._page(rows, limit, _post)

    @staticmethod
    def _newest_of(db: sqlite3.Connection, authors: set[str], before: str, count: int) -> list:
        """The `count` newest post ids before `before` by any of `authors`:
        each author's newest from the (author, id) index, merged."""
        newest = (
            db.execute(
                "SELECT id FROM posts WHERE author_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (author, before, count),
            ).fetchall()
            for author in authors
        )
        return heapq.nlargest(count, (row[0] for rows in newest for row in rows))

    # ------------------------------------------------------------ follows

    def follow(self, follower_id: str, followed_id: str) -> bool:
        try:
            with self._tx() as db:
                added = db.execute(
                    "INSERT OR IGNORE INTO follows (follower_id, followed_id, id) VALUES (?, ?, ?)",
                    (follower_id, followed_id, new_id()),
                ).rowcount
                if added:
                    self._count_edge(db, follower_id, followed_id, +1)
        except sqlite3.IntegrityError:
            raise NotFound("User not found.") from None
        return bool(added)

    def unfollow(self, follower_id: str, followed_id: str) -> bool:
        with self._tx() as db:
            removed = db.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followed_id = ?",
                (follower_id, followed_id),
            ).rowcount
            if removed:
                self._count_edge(db, follower_id, followed_id, -1)
        return bool(removed)

    @staticmethod
    def _count_edge(db: sqlite3.Connection, follower_id: str, followed_id: str, step: int) -> None:
        db.execute(
            "UPDATE users SET followed_count = followed_count + ? WHERE id = ?", (step, follower_id)
        )
        db.execute(
            "UPDATE users SET follower_count = follower_count + ? WHERE id = ?", (step, followed_id)
        )

    def is_following(self, follower_id: str, followed_id: str) -> bool:
        row = self._db().execute(
            "SELECT 1 FROM follows WHERE follower_id = ? AND followed_id = ?",
            (follower_id, followed_id),
        )
        return row.fetchone() is not None

    def timeline_work(self, job: TimelineJob) -> TimelineJob | None:
        """Nothing to keep: the home feed is read from the posts and follows
        themselves (each author's newest posts, merged; see `home_feed`)."""
        return None

    def _edges(self, mine: str, other: str, user_id: str, cursor: str | None, limit: int):
        limit = clamp_limit(limit)
        rows = self._db().execute(
            f"SELECT {USER_COLUMNS}, f.id AS edge_id FROM follows f"
            f" JOIN users u ON u.id = f.{other}"
            f" WHERE f.{mine} = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?",
            (user_id, self._cursor(cursor), limit + 1),
        )
        return self._page(rows.fetchall(), limit, _user, key="edge_id")

    def followers(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        return self._edges("followed_id", "follower_id", user_id, cursor, limit)

    def followed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        return self._edges("follower_id", "followed_id", user_id, cursor, limit)

    def counts(self, user_id: str) -> Counts:
        user = self.get_user(user_id)
        if user is None:
            raise NotFound("User not found.")
        return Counts(user.post_count, user.follower_count, user.followed_count)

    # ------------------------------------------------------------ throttles

    def take_attempt(self, key: str, limit: int, window: timedelta, now: datetime) -> Throttle:
        with self._tx() as db:  # BEGIN IMMEDIATE: read and write under one lock
            row = db.execute("SELECT count, until FROM throttles WHERE key = ?", (key,)).fetchone()
            if row is None or parse_time(row["until"]) <= now:
                # A new window; sweep the rows whose window has ended (indexed
                # on `until`, so each row is deleted once, by some later call).
                db.execute("DELETE FROM throttles WHERE until <= ?", (format_time(now),))
                throttle = Throttle(1, now + window)
            elif row["count"] >= limit:
                return Throttle(row["count"], parse_time(row["until"]), allowed=False)
            else:
                throttle = Throttle(row["count"] + 1, parse_time(row["until"]))
            db.execute(
                "INSERT OR REPLACE INTO throttles (key, count, until) VALUES (?, ?, ?)",
                (key, throttle.count, format_time(throttle.until)),
            )
        return throttle

    def refund_attempt(self, key: str, now: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE throttles SET count = count - 1 WHERE key = ? AND count > 0 AND until > ?",
                (key, format_time(now)),
            )

    def clear_attempts(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM throttles WHERE key = ?", (key,))

    # ------------------------------------------------------------ export (background tasks)

    def start_task(self, task: Task) -> bool:
        """One upsert whose update is conditioned on the current task being
        over or dead: the row is written, or left alone (rowcount 0)."""
        stale = format_time(task.started - TASK_STALE)
        with self._tx() as db:
            written = db.execute(
                "INSERT INTO tasks (user_id, name, id, description, progress, complete, error,"
                " started, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, name) DO UPDATE SET id = excluded.id,"
                " description = excluded.description, progress = excluded.progress,"
                " complete = excluded.complete, error = excluded.error,"
                " started = excluded.started, updated = excluded.updated"
                " WHERE tasks.complete OR tasks.updated < ?",
                (*_task_row(task), stale),
            ).rowcount
        return bool(written)

    def get_task(self, user_id: str, name: str) -> Task | None:
        row = (
            self._db()
            .execute("SELECT * FROM tasks WHERE user_id = ? AND name = ?", (user_id, name))
            .fetchone()
        )
        return _task(row) if row else None

    def update_task(self, task: Task) -> bool:
        with self._tx() as db:
            written = db.execute(
                "UPDATE tasks SET progress = ?, complete = ?, error = ?, updated = ?"
                " WHERE user_id = ? AND name = ? AND id = ? AND NOT complete",
                (
                    task.progress,
                    int(task.complete),
                    task.error,
                    format_time(task.updated),
                    task.user_id,
                    task.name,
                    task.id,
                ),
            ).rowcount
        return bool(written)

    # messages

    def send_message(self, message: Message) -> Message:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO messages (id, sender_id, recipient_id, body, timestamp)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        message.id,
                        message.sender_id,
                        message.recipient_id,
                        message.body,
                        format_time(message.timestamp),
                    ),
                )
                db.execute(
                    "INSERT INTO notifications (user_id, name, data, timestamp)"
                    " VALUES (?, ?, '1', ?)"
                    " ON CONFLICT (user_id, name) DO UPDATE"
                    " SET data = CAST(data AS INTEGER) + 1, timestamp = excluded.timestamp",
                    (message.recipient_id, UNREAD_MESSAGE_COUNT, time.time()),
                )
        except sqlite3.IntegrityError:
            raise NotFound("User not found.") from None
        return message

    def messages_received(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Message]:
        limit = clamp_limit(limit)
        rows = self._db().execute(
            "SELECT id, sender_id, recipient_id, body, timestamp FROM messages"
            " WHERE recipient_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (user_id, self._cursor(cursor), limit + 1),
        )
        return self._page(rows.fetchall(), limit, _message)

    def unread_message_count(self, user_id: str) -> int:
        row = (
            self._db()
            .execute(
                "SELECT data FROM notifications WHERE user_id = ? AND name = ?",
                (user_id, UNREAD_MESSAGE_COUNT),
            )
            .fetchone()
        )
        return int(json.loads(row[0])) if row else 0

    def mark_messages_read(self, user_id: str) -> int:
        with self._tx() as db:  # read and reset under one lock: no send slips between
            row = db.execute(
                "SELECT data FROM notifications WHERE user_id = ? AND name = ?",
                (user_id, UNREAD_MESSAGE_COUNT),
            ).fetchone()
            cleared = int(json.loads(row[0])) if row else 0
            if cleared:
                db.execute(
                    "UPDATE notifications SET data = '0', timestamp = ?"
                    " WHERE user_id = ? AND name = ?",
                    (time.time(), user_id, UNREAD_MESSAGE_COUNT),
                )
        return cleared

    def notifications(self, user_id: str, since: float = 0) -> list[Notification]:
        rows = self._db().execute(
            "SELECT name, data, timestamp FROM notifications WHERE user_id = ? AND timestamp > ?",
            (user_id, since),
        )
        found = [Notification(row[0], json.loads(row[1]), row[2]) for row in rows]
        return sorted(found, key=lambda notification: notification.timestamp)  # a handful

    def set_notification(self, user_id: str, name: str, data: Any) -> Notification:
        notification = Notification(name, data, time.time())
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT OR REPLACE INTO notifications (user_id, name, data, timestamp)"
                    " VALUES (?, ?, ?, ?)",
                    (user_id, name, json.dumps(data), notification.timestamp),
                )
        except sqlite3.IntegrityError:
            raise NotFound("User not found.") from None
        return notification


def _task_row(task: Task) -> tuple:
    return (
        task.user_id,
        task.name,
        task.id,
        task.description,
        task.progress,
        int(task.complete),
        task.error,
        format_time(task.started),
        format_time(task.updated),
    )


def _task(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        description=row["description"],
        started=parse_time(row["started"]),
        updated=parse_time(row["updated"]),
        progress=row["progress"],
        complete=bool(row["complete"]),
        error=row["error"],
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        sender_id=row["sender_id"],
        recipient_id=row["recipient_id"],
        body=row["body"],
        timestamp=parse_time(row["timestamp"]),
    )
