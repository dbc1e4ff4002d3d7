"""Races on both stores, through the use cases as the local stack wires them
(store and home-feed upkeep): parallel sign-ups of one name or e-mail,
follow/unfollow flips, posts by many authors, wrong-password bursts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from functions import auth, services
from functions.domain import Conflict, TooManyAttempts
from functions.services import Microblog
from functions.timelines import Fanout


@pytest.fixture
def app(store) -> Microblog:
    """The use cases over a fresh store of each kind, with the home-feed
    upkeep the local stack runs after each write (the site build is left out:
    it reads the store, it does not write it)."""
    return Microblog(store, auth.Tokens("k" * 32), on_change=Fanout(store).start)


def race(n: int, act: Callable[[int], object]) -> list:
    """`act(0..n-1)` in n threads released together; each result or exception."""
    barrier = threading.Barrier(n)

    def run(k: int):
        barrier.wait()
        try:
            return act(k)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def walk(fetch) -> list:
    items, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=100)
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


@pytest.mark.parametrize("same", ["username", "email"])
def test_20_parallel_sign_ups_of_one_name_or_email_make_one_user(app, cheap_hash, same):
    def sign_up(n: int):
        name = "popular" if same == "username" else f"user{n}"
        email = "popular@example.com" if same == "email" else f"user{n}@example.com"
        return app.register(name, email, "pass-word")

    results = race(20, sign_up)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) and r.field == same for r in results if r not in winners)
    assert [u.id for u in walk(app.store.list_users)] == [winners[0].id]


def test_50_parallel_follow_unfollow_flips_keep_counters_equal_to_edges(app, cheap_hash):
    fans = [app.register(f"fan{n}", f"fan{n}@example.com", "pass-word") for n in range(5)]
    star = app.register("star", "star@example.com", "pass-word")

    def flip(n: int):
        fan = fans[n % len(fans)]
        return app.follow(fan, star.id) if n % 2 else app.unfollow(fan, star.id)

    results = race(50, flip)
    assert not [r for r in results if isinstance(r, Exception)]
    followers = walk(partial(app.store.followers, star.id))
    assert app.store.get_user(star.id).follower_count == len(followers)
    for fan in fans:
        edge = app.store.is_following(fan.id, star.id)
        assert (fan.id in {u.id for u in followers}) == edge
        assert app.store.get_user(fan.id).followed_count == int(edge)


def test_200_parallel_posts_by_20_users_are_each_once_everywhere(app, cheap_hash):
    users = [app.register(f"author{n}", f"author{n}@example.com", "pass-word") for n in range(20)]
    reader = app.register("reader", "reader@example.com", "pass-word")
    followed = users[::2]  # the reader follows every other author
    for user in followed:
        app.follow(reader, user.id)

    results = race(200, lambda n: app.create_post(users[n % 20], f"post {n} by {n % 20}"))
    assert not [r for r in results if isinstance(r, Exception)], results[:3]
    posted = {post.id for post in results}
    assert len(posted) == 200

    explore = [post.id for post in walk(app.store.explore)]
    assert sorted(explore) == sorted(posted)  # each once
    for user in users:
        own = [post.id for post in walk(partial(app.store.posts_by, user.id))]
        assert sorted(own) == sorted(p.id for p in results if p.author_id == user.id)
        assert app.store.get_user(user.id).post_count == 10
    feed = [post.id for post in walk(partial(app.store.home_feed, reader.id))]
    wanted = {user.id for user in followed}
    assert sorted(feed) == sorted(p.id for p in results if p.author_id in wanted)
    assert feed == sorted(feed, reverse=True)  # newest first


def test_150_parallel_wrong_logins_check_at_most_the_limit_of_passwords(app, monkeypatch):
    app.register("victim", "victim@example.com", "the-right-one")
    checks = []
    real_check = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda *args: checks.append(1) or real_check(*args))

    results = race(150, lambda n: app.log_in("victim", f"guess-{n:03}", "203.0.113.9"))
    limit = services.LOGIN_PAIR.attempts
    assert len(checks) <= limit
    assert sum(r is None for r in results) == len(checks)
    assert all(isinstance(r, TooManyAttempts) for r in results if r is not None)
    # the owner, elsewhere, still gets in
    assert app.log_in("victim", "the-right-one", "198.51.100.7") is not None


def test_a_burst_ending_with_the_right_password_is_still_refused(app, monkeypatch):
    app.register("victim", "victim@example.com", "the-right-one")
    checks = []
    real_check = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda *args: checks.append(1) or real_check(*args))
    for n in range(29):  # the first 5 are checked, the rest refused unchecked
        with contextlib.suppress(TooManyAttempts):
            app.log_in("victim", f"guess-{n:03}", "203.0.113.9")
    with pytest.raises(TooManyAttempts):
        app.log_in("victim", "the-right-one", "203.0.113.9")
    assert len(checks) == services.LOGIN_PAIR.attempts
