"""Login throttling in the Store: fixed windows, concurrent failures, expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from functions.domain import Throttle, utcnow

WINDOW = timedelta(minutes=15)


def test_failures_count_within_a_window(store):
    now = utcnow()
    assert store.login_throttle("user:ann", now) == Throttle()
    assert store.record_login_failure("user:ann", WINDOW, now) == Throttle(1, now + WINDOW)
    later = now + timedelta(minutes=5)
    assert store.record_login_failure("user:ann", WINDOW, later) == Throttle(2, now + WINDOW)
    assert store.login_throttle("user:ann", later) == Throttle(2, now + WINDOW)
    assert store.login_throttle("user:bob", later) == Throttle()


def test_a_window_ends_and_a_new_one_starts(store):
    now = utcnow()
    for _ in range(3):
        store.record_login_failure("ip:1.2.3.4", WINDOW, now)
    after = now + WINDOW
    assert store.login_throttle("ip:1.2.3.4", after) == Throttle()
    assert store.record_login_failure("ip:1.2.3.4", WINDOW, after) == Throttle(1, after + WINDOW)


def test_clearing_forgets_the_failures(store):
    now = utcnow()
    store.record_login_failure("user:ann", WINDOW, now)
    store.clear_login_failures("user:ann")
    store.clear_login_failures("user:nobody")
    assert store.login_throttle("user:ann", now) == Throttle()


def test_concurrent_failures_all_count(store):
    now = utcnow()
    barrier = threading.Barrier(10)

    def fail(_):
        barrier.wait()
        return store.record_login_failure("user:ann", WINDOW, now).count

    with ThreadPoolExecutor(10) as pool:
        counts = sorted(pool.map(fail, range(10)))
    assert counts == list(range(1, 11))
    assert store.login_throttle("user:ann", now).count == 10
