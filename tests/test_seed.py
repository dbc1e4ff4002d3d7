"""Demo data: counts, order, follow graph, logins, languages, determinism, re-runs.

Runs on both adapters through the `store` fixture (kept small: DynamoDB Local
is slow), except the checks that need more data or several fresh stores
(skew, languages, determinism), which use temporary SQLite stores.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from functions import auth
from functions.domain import username_key, validate_username
from functions.markup import detect_language
from functions.seed import DEMO_PASSWORD, LOCALES, POST_WINDOW, seed
from functions.store.sqlite import SQLiteStore
from functions.timelines import Fanout  # numbers the posts on DynamoDB, as the stream does

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
USERS, POSTS = 20, 200


def walk(fetch) -> list:
    """Every item of a paged collection, following `next_cursor`."""
    items, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=100)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def follow_graph(store, users) -> set[tuple[str, str]]:
    return {
        (u.id, v.id)
        for u in users
        for v in walk(lambda cursor, limit, u=u: store.followed(u.id, cursor, limit))
    }


def test_seeding_writes_a_consistent_demo_world(store):
    """One small seeding per adapter (DynamoDB Local takes ~20 ms a post), several checks."""
    stats = seed(store, 10, 40, seed=7, progress=False, now=NOW, fanout=Fanout(store))
    users, posts = walk(store.list_users), walk(store.explore)
    assert (stats.users, stats.posts) == (10, 40) == (len(users), len(posts))
    check_time_order(users, posts)
    check_follow_graph(store, users, stats.follows)
    check_logins(store, users)


def check_time_order(users, posts) -> None:
    # Created oldest first: explore (newest first) counts down and so do the times.
    assert [p.explore_seq for p in posts] == list(range(len(posts), 0, -1))
    times = [p.timestamp for p in posts]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(posts)
    assert times[-1] >= NOW - POST_WINDOW and times[0] < NOW
    by_author = Counter(p.author_id for p in posts)
    first_post = {p.author_id: p.timestamp for p in posts}  # the last one seen is the oldest
    for user in users:
        assert validate_username(user.username) == user.username
        assert user.email.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}
        assert user.post_count == by_author[user.id]
        if user.id in first_post:
            assert user.created < first_post[user.id]


def check_follow_graph(store, users, follows: int) -> None:
    edges = follow_graph(store, users)
    assert len(edges) == follows > 0
    assert all(a != b for a, b in edges)
    for user in users:
        assert user.followed_count == sum(a == user.id for a, _ in edges)
        assert user.follower_count == sum(b == user.id for _, b in edges)


def check_logins(store, users) -> None:
    # One hash is shared by design (scrypt costs ~90 ms): checking it once
    # checks every user; each one is also found by name, as login does.
    hashes = {u.password_hash: u for u in users}
    assert len(hashes) == 1
    for user in hashes.values():
        assert auth.check_password(user, DEMO_PASSWORD)
        assert not auth.check_password(user, DEMO_PASSWORD + "!")
    for user in users:
        assert store.get_user_by_username(user.username.upper()).id == user.id


def test_activity_is_skewed_and_some_posts_are_in_other_languages(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite3")
    seed(store, USERS, POSTS, seed=7, progress=False, now=NOW)
    posts = walk(store.explore)
    store.close()

    by_author = sorted(Counter(p.author_id for p in posts).values(), reverse=True)
    assert sum(by_author[: USERS // 4]) > 0.4 * POSTS  # the busiest quarter (uniform: 25%)

    languages = Counter(p.language for p in posts)
    assert set(languages) <= {code for code, _ in LOCALES.values()}
    assert 0.7 * POSTS < languages["en"] < POSTS
    foreign = [p for p in posts if p.language != "en"]
    agree = sum(detect_language(p.body) == p.language for p in foreign)
    assert agree >= 0.8 * len(foreign)  # the code given is the language written


def test_posts_span_the_past_weeks_in_order_like_a_real_site(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite3")
    stats = seed(store, USERS, POSTS, seed=7, progress=False, now=NOW)
    posts, users = walk(store.explore), walk(store.list_users)
    store.close()

    times = [p.timestamp for p in reversed(posts)]  # in the order they were written
    assert times == sorted(times) and times[-1] < NOW
    assert times[-1] - times[0] > timedelta(weeks=12)  # not all from the same minute
    weeks_ago = Counter((NOW - t) // timedelta(weeks=1) for t in times)
    assert set(weeks_ago) == set(range(13))  # every one of the last 13 weeks has posts
    assert max(weeks_ago.values()) < 3 * POSTS / 13  # spread, not bunched
    assert len({u.last_seen.date() for u in users}) > USERS // 2  # seen on different days

    # The demo user to log in as follows the most others: a full home feed.
    demo = next(u for u in users if u.username == stats.demo_user)
    assert demo.followed_count == max(u.followed_count for u in users) > 0


def snapshot(path, seed_value: int) -> tuple:
    store = SQLiteStore(path)
    seed(store, USERS, POSTS, seed=seed_value, progress=False, now=NOW)
    users = walk(store.list_users)
    names = {u.id: u.username for u in users}
    result = (
        sorted((u.username, u.email, u.about_me, u.created) for u in users),
        [(names[p.author_id], p.body, p.language, p.timestamp) for p in walk(store.explore)],
        sorted((names[a], names[b]) for a, b in follow_graph(store, users)),
    )
    store.close()
    return result


def test_the_same_seed_gives_the_same_data(tmp_path):
    first = snapshot(tmp_path / "a.sqlite3", 3)
    assert snapshot(tmp_path / "b.sqlite3", 3) == first
    assert snapshot(tmp_path / "c.sqlite3", 4)[0] != first[0]


def test_seeding_twice_adds_a_second_batch(store):
    seed(store, 4, 10, progress=False, now=NOW, fanout=Fanout(store))
    seed(store, 4, 10, progress=False, now=NOW, fanout=Fanout(store))  # all names collide
    users, posts = walk(store.list_users), walk(store.explore)

    assert len(users) == 8 and len(posts) == 20
    assert len({username_key(u.username) for u in users}) == 8
    assert len({u.email.casefold() for u in users}) == 8
    times = [p.timestamp for p in posts]
    assert [p.explore_seq for p in posts] == list(range(20, 0, -1))
    assert times == sorted(times, reverse=True) and len(set(times)) == 20


def test_seeding_dynamodb_fills_the_followers_home_feeds(dynamo_store):
    """On DynamoDB a home feed is a timeline the fan-out fills; the seed runs
    it after each post, as the local stack does after each write."""
    from functions.timelines import Fanout

    seed(dynamo_store, 6, 60, progress=False, now=NOW, fanout=Fanout(dynamo_store))
    users = dynamo_store.list_users(limit=10).items
    reader = max(users, key=lambda user: user.followed_count)
    followed = {u.id for u in dynamo_store.followed(reader.id, limit=100).items}
    assert followed
    feed = dynamo_store.home_feed(reader.id, limit=100).items
    assert {post.author_id for post in feed} - {reader.id} <= followed
    assert any(post.author_id in followed for post in feed)
