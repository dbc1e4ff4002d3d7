"""Throttles in the Store: fixed windows, an atomic conditional count, refunds, expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from functions.domain import Throttle, utcnow

WINDOW = timedelta(minutes=15)


def test_attempts_count_within_a_window_up_to_the_limit(store):
    now = utcnow()
    assert store.take_attempt("user:ann", 3, WINDOW, now) == Throttle(1, now + WINDOW)
    later = now + timedelta(minutes=5)
    assert store.take_attempt("user:ann", 3, WINDOW, later) == Throttle(2, now + WINDOW)
    assert store.take_attempt("user:ann", 3, WINDOW, later) == Throttle(3, now + WINDOW)
    refused = store.take_attempt("user:ann", 3, WINDOW, later)
    assert refused == Throttle(3, now + WINDOW, allowed=False)  # refused, not counted
    assert store.take_attempt("user:bob", 3, WINDOW, later) == Throttle(1, later + WINDOW)


def test_a_window_ends_and_a_new_one_starts(store):
    now = utcnow()
    for _ in range(3):
        store.take_attempt("ip:1.2.3.4", 3, WINDOW, now)
    assert not store.take_attempt("ip:1.2.3.4", 3, WINDOW, now).allowed
    after = now + WINDOW
    assert store.take_attempt("ip:1.2.3.4", 3, WINDOW, after) == Throttle(1, after + WINDOW)


def test_a_refund_gives_one_attempt_back_in_the_current_window_only(store):
    now = utcnow()
    store.take_attempt("ip:1.2.3.4", 2, WINDOW, now)
    store.take_attempt("ip:1.2.3.4", 2, WINDOW, now)
    store.refund_attempt("ip:1.2.3.4", now)
    assert store.take_attempt("ip:1.2.3.4", 2, WINDOW, now) == Throttle(2, now + WINDOW)
    store.refund_attempt("ip:nobody", now)  # no row: nothing happens
    store.refund_attempt("ip:1.2.3.4", now + WINDOW)  # the window ended: nothing to refund
    assert not store.take_attempt("ip:1.2.3.4", 2, WINDOW, now).allowed


def test_clearing_forgets_the_attempts(store):
    now = utcnow()
    store.take_attempt("user:ann", 1, WINDOW, now)
    store.clear_attempts("user:ann")
    store.clear_attempts("user:nobody")
    assert store.take_attempt("user:ann", 1, WINDOW, now) == Throttle(1, now + WINDOW)


def test_of_concurrent_attempts_exactly_the_limit_is_allowed(store):
    """The count is a conditional increment: 30 racing callers, limit 5."""
    now = utcnow()
    barrier = threading.Barrier(30)

    def attempt(_):
        barrier.wait()
        return store.take_attempt("user:ann", 5, WINDOW, now)

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(attempt, range(30)))
    assert sorted(r.count for r in results if r.allowed) == [1, 2, 3, 4, 5]
    assert sum(not r.allowed for r in results) == 25


def test_long_keys_are_stored(store):
    """Keys are bounded by the callers (hashed account names); 300 characters fit both stores."""
    now = utcnow()
    assert store.take_attempt("k" * 300, 1, WINDOW, now).allowed


def test_sqlite_sweeps_the_rows_of_ended_windows(tmp_path):
    from functions.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "db.sqlite3")
    now = utcnow()
    for n in range(50):
        store.take_attempt(f"ip:{n}", 5, WINDOW, now)
    store.take_attempt("ip:later", 5, WINDOW, now + WINDOW)  # any new window sweeps
    rows = store._db().execute("SELECT key FROM throttles").fetchall()
    assert [row["key"] for row in rows] == ["ip:later"]
    store.close()


def test_dynamodb_throttle_items_expire_by_ttl(request, tmp_path):
    from functions.store.dynamodb_schema import TTL_ATTRIBUTE
    from tests.conftest import make_store

    store = make_store("dynamodb", request, tmp_path)
    now = utcnow()
    store.take_attempt("ip:1.2.3.4", 5, WINDOW, now)
    item = store._get(store._throttle_key("ip:1.2.3.4"))
    assert int(item[TTL_ATTRIBUTE]) == int((now + WINDOW).timestamp()) + (
        (now + WINDOW).microsecond > 0
    )
