"""The Store contract: run unchanged against every adapter (see conftest.store).

Includes the Flask Mega-Tutorial's own model tests, ported.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.auth import check_password, hash_password
from functions.domain import (
    Conflict,
    Counts,
    NotFound,
    Post,
    PostCreated,
    PostDeleted,
    StaleUser,
    Unfollowed,
    User,
    new_id,
    utcnow,
)
from functions.store import MAX_LIMIT, InvalidCursor
from functions.timelines import Fanout

# A cheap hash keeps the suite fast; the real one is exercised in test_password_hashing.
CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


class Settled:
    """A store whose home feeds are brought up to date, and whose new posts
    are numbered for explore, after each write, as the fan-out does off the
    request (`functions.timelines`): the contract is what every adapter shows
    once that work is done."""

    def __init__(self, store):
        self._store = store
        self._fanout = Fanout(store)

    def __getattr__(self, name):
        return getattr(self._store, name)

    def create_post(self, post):
        post = self._store.create_post(post)
        [numbered] = self._fanout.start([PostCreated.of(post)])
        return post.replace(explore_seq=numbered.explore_seq)

    def delete_post(self, post_id):
        post = self._store.delete_post(post_id)
        if post is not None:
            self._fanout.start([PostDeleted.of(post)])
        return post

    def unfollow(self, follower_id, followed_id):
        done = self._store.unfollow(follower_id, followed_id)
        if done:
            self._fanout.start([Unfollowed(follower_id, followed_id)])
        return done


@pytest.fixture
def store(store):
    return Settled(store)


def make_user(store, username: str, email: str | None = None, **fields) -> User:
    user = User.new(username, email or f"{username}@example.com", CHEAP_HASH)
    user = user.replace(**fields)
    store.create_user(user)
    return user


def make_post(store, author: User, body: str = "hello", seconds: float | None = None) -> Post:
    """A post; `seconds` places it at now + seconds (as the tutorial's test does)."""
    if seconds is None:
        post = Post.new(author.id, body, f"<p>{body}</p>", "en")
    else:
        at = utcnow() + timedelta(seconds=seconds)
        post = Post(new_id(at), author.id, body, f"<p>{body}</p>", "en", at)
    return store.create_post(post)


def walk(fetch, limit: int) -> list:
    """Every item of a collection, following next_cursor to the end."""
    items, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=limit)
        assert len(page.items) <= limit
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def ids(items) -> list[str]:
    return [item.id for item in items]


# ------------------------------------------------------------ the tutorial's tests


def test_password_hashing(store):
    user = User.new("susan", "susan@example.com", hash_password("cat-and-dog"))
    store.create_user(user)
    stored = store.get_user(user.id)
    assert not check_password(stored, "dog-and-cat")
    assert check_password(stored, "cat-and-dog")


def test_avatar(store):
    make_user(store, "john", "john@example.com")
    john = store.get_user_by_username("john")
    assert john.avatar(128) == (
        "https://www.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?d=identicon&s=128"
    )


def test_follow(store):
    u1 = make_user(store, "john")
    u2 = make_user(store, "susan")
    assert ids(store.followed(u1.id).items) == []
    assert ids(store.followers(u1.id).items) == []

    assert store.follow(u1.id, u2.id) is True
    assert store.is_following(u1.id, u2.id)
    assert not store.is_following(u2.id, u1.id)
    assert store.counts(u1.id).followed == 1
    assert store.get_user(u1.id).followed_count == 1
    assert ids(store.followed(u1.id).items) == [u2.id]
    assert store.counts(u2.id).followers == 1
    assert ids(store.followers(u2.id).items) == [u1.id]

    assert store.unfollow(u1.id, u2.id) is True
    assert not store.is_following(u1.id, u2.id)
    assert store.counts(u1.id).followed == 0
    assert store.counts(u2.id).followers == 0


def test_follow_posts(store):
    u1, u2, u3, u4 = (make_user(store, name) for name in ("john", "susan", "mary", "david"))
    p1 = make_post(store, u1, "post from john", seconds=1)
    p2 = make_post(store, u2, "post from susan", seconds=4)
    p3 = make_post(store, u3, "post from mary", seconds=3)
    p4 = make_post(store, u4, "post from david", seconds=2)

    store.follow(u1.id, u2.id)  # john follows susan
    store.follow(u1.id, u4.id)  # john follows david
    store.follow(u2.id, u3.id)  # susan follows mary
    store.follow(u3.id, u4.id)  # mary follows david

    assert ids(store.home_feed(u1.id).items) == [p2.id, p4.id, p1.id]
    assert ids(store.home_feed(u2.id).items) == [p2.id, p3.id]
    assert ids(store.home_feed(u3.id).items) == [p3.id, p4.id]
    assert ids(store.home_feed(u4.id).items) == [p4.id]


# ------------------------------------------------------------ users


def test_user_round_trips_with_all_fields(store):
    user = make_user(store, "Ana.Maria", "Ana@Example.com", about_me="hi", token_version=3)
    stored = store.get_user(user.id)
    assert stored == user.replace(post_count=0, follower_count=0, followed_count=0)
    assert stored.created == user.created


def test_lookups_ignore_case(store):
    user = make_user(store, "Alice", "Alice@Example.com")
    assert store.get_user_by_username("aLiCe").id == user.id
    assert store.get_user_by_email("ALICE@example.COM").id == user.id
    assert store.get_user_by_username("bob") is None
    assert store.get_user_by_email("bob@example.com") is None
    assert store.get_user("01ARZ3NDEKTSV4RRFFQ69G5FAV") is None


def test_username_is_unique_ignoring_case(store):
    make_user(store, "alice", "alice@example.com")
    with pytest.raises(Conflict) as err:
        make_user(store, "ALICE", "other@example.com")
    assert err.value.field == "username"
    assert store.get_user_by_email("other@example.com") is None


def test_email_is_unique_ignoring_case(store):
    make_user(store, "alice", "alice@example.com")
    with pytest.raises(Conflict) as err:
        make_user(store, "bob", "ALICE@EXAMPLE.COM")
    assert err.value.field == "email"
    assert store.get_user_by_username("bob") is None


def test_concurrent_registrations_of_one_username_make_one_user(store):
    barrier = threading.Barrier(20)

    def register(n: int) -> bool:
        barrier.wait()
        try:
            make_user(store, "popular", f"popular{n}@example.com")
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(register, range(20)))
    assert results.count(True) == 1
    assert len(walk(store.list_users, 50)) == 1
    winner = store.get_user_by_username("popular")
    assert store.get_user_by_email(winner.email).id == winner.id
    losers = [f"popular{n}@example.com" for n in range(20) if not results[n]]
    assert all(store.get_user_by_email(email) is None for email in losers)


def test_get_users_returns_those_that_exist(store):
    users = [make_user(store, f"user{n}") for n in range(3)]
    found = store.get_users([u.id for u in users] + ["01ARZ3NDEKTSV4RRFFQ69G5FAV", users[0].id])
    assert set(found) == {u.id for u in users}
    assert found[users[1].id].username == "user1"
    assert store.get_users([]) == {}


def test_get_users_handles_more_than_one_batch(store):
    users = [make_user(store, f"user{n}") for n in range(130)]
    assert set(store.get_users(u.id for u in users)) == {u.id for u in users}


def test_update_user_changes_username_and_frees_the_old_one(store):
    user = make_user(store, "old_name", "old@example.com")
    updated = store.update_user(
        user.id, {"username": "New_Name", "email": "new@example.com", "about_me": "me"}
    )
    assert updated.username == "New_Name" and updated.about_me == "me"
    assert store.get_user_by_username("new_name").id == user.id
    assert store.get_user_by_username("old_name") is None
    assert store.get_user_by_email("new@example.com").id == user.id
    assert store.get_user_by_email("old@example.com") is None
    make_user(store, "old_name", "old@example.com")  # both are free again


def test_update_user_keeps_username_when_only_case_changes(store):
    user = make_user(store, "casey")
    assert store.update_user(user.id, {"username": "Casey"}).username == "Casey"
    assert store.get_user_by_username("CASEY").id == user.id


def test_update_user_refuses_a_taken_username(store):
    make_user(store, "taken")
    user = make_user(store, "mine")
    with pytest.raises(Conflict) as err:
        store.update_user(user.id, {"username": "TAKEN", "about_me": "changed"})
    assert err.value.field == "username"
    stored = store.get_user(user.id)
    assert stored.username == "mine" and stored.about_me == ""


# ------------------------------------------------------------ former names


def former(store) -> set[tuple[str, str]]:
    return {(f.username, f.user_id) for f in store.former_names()}


def test_a_rename_keeps_the_old_name_with_its_user(store):
    ann = make_user(store, "ann")
    assert store.former_names() == []
    store.update_user(ann.id, {"username": "annie"})
    store.update_user(ann.id, {"username": "Annie"})  # a change of case is a new address
    store.update_user(ann.id, {"about_me": "no rename", "username": "Annie"})
    assert former(store) == {("ann", ann.id), ("annie", ann.id)}


def test_a_former_name_points_at_the_last_user_who_left_it(store):
    ann = make_user(store, "ann")
    store.update_user(ann.id, {"username": "annie"})
    bob = make_user(store, "ANN", "bob@example.com")  # takes the free name
    store.update_user(bob.id, {"username": "bob"})
    assert former(store) == {("ANN", bob.id)}  # "ann" was left by ann first


def test_a_refused_rename_leaves_no_former_name(store):
    make_user(store, "taken")
    mine = make_user(store, "mine")
    with pytest.raises(Conflict):
        store.update_user(mine.id, {"username": "taken"})
    with pytest.raises(StaleUser):
        store.update_user(mine.id, {"username": "other"}, if_token_version=7)
    assert store.former_names() == []


def test_update_user_refuses_a_taken_email(store):
    make_user(store, "taken", "taken@example.com")
    user = make_user(store, "mine")
    with pytest.raises(Conflict) as err:
        store.update_user(user.id, {"email": "Taken@example.com"})
    assert err.value.field == "email"
    assert store.get_user(user.id).email == "mine@example.com"


def test_update_user_writes_token_version_password_and_last_seen(store):
    user = make_user(store, "ann")
    later = utcnow() + timedelta(minutes=5)
    store.update_user(user.id, {"token_version": 7, "password_hash": "x$y", "last_seen": later})
    stored = store.get_user(user.id)
    assert (stored.token_version, stored.password_hash, stored.last_seen) == (7, "x$y", later)


def test_update_of_a_missing_user_is_not_found(store):
    ghost = User.new("ghost", "ghost@example.com", CHEAP_HASH)
    with pytest.raises(NotFound):
        store.update_user(ghost.id, {"about_me": "boo"})
    assert store.get_user_by_username("ghost") is None


def test_update_user_writes_only_the_fields_it_is_given(store):
    user = make_user(store, "ann")
    store.update_user(user.id, {"about_me": "edited in one tab"})
    store.update_user(user.id, {"last_seen": user.last_seen + timedelta(minutes=2)})
    stored = store.get_user(user.id)
    assert stored.about_me == "edited in one tab"
    assert stored.last_seen == user.last_seen + timedelta(minutes=2)


def test_update_user_refuses_fields_it_may_not_write(store):
    user = make_user(store, "ann")
    with pytest.raises(ValueError):
        store.update_user(user.id, {"post_count": 9})


def test_a_conditional_update_is_done_once_per_token_version(store):
    user = make_user(store, "ann")
    first = store.update_user(
        user.id, {"password_hash": "a$1", "token_version": 1}, if_token_version=0
    )
    assert first.token_version == 1
    with pytest.raises(StaleUser):
        store.update_user(user.id, {"password_hash": "b$2", "token_version": 1}, if_token_version=0)
    assert store.get_user(user.id).password_hash == "a$1"


def test_racing_conditional_updates_let_exactly_one_win(store):
    user = make_user(store, "ann")

    def spend(n: int) -> bool:
        try:
            store.update_user(
                user.id, {"password_hash": f"h${n}", "token_version": 1}, if_token_version=0
            )
            return True
        except StaleUser:
            return False

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(spend, range(8)))
    assert wins.count(True) == 1
    stored = store.get_user(user.id)
    assert stored.token_version == 1
    assert stored.password_hash == f"h${wins.index(True)}"


def test_list_users_walks_every_user_once_newest_first(store):
    users = [make_user(store, f"user{n:02}") for n in range(23)]
    listed = walk(store.list_users, 5)
    assert ids(listed) == ids(reversed(users))


# ------------------------------------------------------------ posts


def test_post_round_trips(store):
    user = make_user(store, "ann")
    post = make_post(store, user, "**hi**")
    assert store.get_post(post.id) == post
    assert store.get_post("01ARZ3NDEKTSV4RRFFQ69G5FAV") is None
    assert store.counts(user.id).posts == 1
    assert store.get_user(user.id).post_count == 1


def test_posts_by_author_newest_first(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    mine = [make_post(store, ann, f"ann {n}") for n in range(4)]
    make_post(store, bob, "bob")
    assert ids(store.posts_by(ann.id).items) == ids(reversed(mine))


def test_delete_post_removes_it_everywhere(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.follow(bob.id, ann.id)
    keep = make_post(store, ann, "keep")
    gone = make_post(store, ann, "gone")
    assert store.delete_post(gone.id) == gone
    assert store.get_post(gone.id) is None
    assert ids(store.posts_by(ann.id).items) == [keep.id]
    assert ids(store.explore().items) == [keep.id]
    assert ids(store.home_feed(ann.id).items) == [keep.id]
    assert ids(store.home_feed(bob.id).items) == [keep.id]
    assert store.counts(ann.id).posts == 1
    assert store.delete_post(gone.id) is None


def test_explore_holds_everyones_posts_newest_first(store):
    users = [make_user(store, f"user{n}") for n in range(3)]
    posts = [make_post(store, users[n % 3], f"post {n}") for n in range(7)]
    assert ids(store.explore().items) == ids(reversed(posts))


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_pagination_walks_every_post_exactly_once(store, limit):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.follow(ann.id, bob.id)
    posts = [make_post(store, random.choice([ann, bob]), f"post {n}") for n in range(17)]
    newest_first = ids(reversed(posts))
    assert ids(walk(store.explore, limit)) == newest_first
    assert ids(walk(_bind(store.home_feed, ann.id), limit)) == newest_first
    by_bob = [p.id for p in reversed(posts) if p.author_id == bob.id]
    assert ids(walk(_bind(store.posts_by, bob.id), limit)) == by_bob


def _bind(method, user_id):
    return lambda cursor, limit: method(user_id, cursor=cursor, limit=limit)


def test_a_page_exactly_full_has_no_next_cursor(store):
    ann = make_user(store, "ann")
    for n in range(4):
        make_post(store, ann, f"post {n}")
    page = store.posts_by(ann.id, limit=4)
    assert len(page.items) == 4 and page.next_cursor is None
    page = store.explore(limit=2)
    assert page.next_cursor is not None
    assert store.explore(cursor=page.next_cursor, limit=2).next_cursor is None


def test_empty_collections(store):
    ann = make_user(store, "ann")
    for page in (store.explore(), store.home_feed(ann.id), store.posts_by(ann.id)):
        assert page.items == [] and page.next_cursor is None


def test_limit_is_clamped(store):
    ann = make_user(store, "ann")
    for n in range(MAX_LIMIT + 2):
        make_post(store, ann, f"post {n}", seconds=-n)
    assert len(store.explore(limit=10_000).items) == MAX_LIMIT
    assert len(store.posts_by(ann.id, limit=0).items) == 1


def test_a_cursor_that_was_not_handed_out_is_refused(store):
    ann = make_user(store, "ann")
    for bad in ("garbage", "eyJ4IjoxfQ", "'; DROP TABLE posts; --"):
        with pytest.raises(InvalidCursor):
            store.explore(cursor=bad)
        with pytest.raises(InvalidCursor):
            store.posts_by(ann.id, cursor=bad)


# ------------------------------------------------------------ numbering (archive pages)


def test_posts_are_numbered_per_author_and_overall(store):
    assert store.explore_seq() == 0
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    a1, b1, a2 = make_post(store, ann), make_post(store, bob), make_post(store, ann)
    assert (a1.seq, a1.explore_seq) == (1, 1)
    assert (b1.seq, b1.explore_seq) == (1, 2)
    assert (a2.seq, a2.explore_seq) == (2, 3)
    assert store.get_post(a2.id) == a2
    assert store.explore_seq() == 3
    assert store.get_user(ann.id).post_seq == 2
    assert store.get_user(bob.id).post_seq == 1


def test_numbers_are_never_reused_after_a_delete(store):
    ann = make_user(store, "ann")
    make_post(store, ann)
    newest = make_post(store, ann)
    store.delete_post(newest.id)
    again = make_post(store, ann)
    assert (again.seq, again.explore_seq) == (3, 3)
    assert store.get_user(ann.id).post_seq == 3
    assert store.get_user(ann.id).post_count == 2


def test_posts_by_number_range_newest_first_with_holes(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    mine = [make_post(store, ann, f"ann {n}") for n in range(6)]
    theirs = make_post(store, bob)
    store.delete_post(mine[2].id)  # seq 3 leaves a hole
    assert ids(store.posts_by_seq(ann.id, 2, 4)) == [mine[3].id, mine[1].id]
    assert ids(store.posts_by_seq(ann.id, 7, 9)) == []
    assert ids(store.posts_by_seq(bob.id, 1, 25)) == [theirs.id]
    assert ids(store.explore_by_seq(5, 7)) == [theirs.id, mine[5].id, mine[4].id]
    assert ids(store.explore_by_seq(1, 3)) == [mine[1].id, mine[0].id]


def test_concurrent_posts_get_unique_gapless_numbers(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    barrier = threading.Barrier(20)

    def write(n: int) -> Post:
        barrier.wait()
        return make_post(store, ann if n % 2 else bob, f"post {n}")

    with ThreadPoolExecutor(20) as pool:
        posts = list(pool.map(write, range(20)))
    assert sorted(p.explore_seq for p in posts) == list(range(1, 21))
    for author in (ann, bob):
        assert sorted(p.seq for p in posts if p.author_id == author.id) == list(range(1, 11))
        assert store.get_user(author.id).post_count == 10
    assert len(walk(store.explore, 100)) == 20


# ------------------------------------------------------------ follows


def test_follow_and_unfollow_are_idempotent(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    assert store.follow(ann.id, bob.id) is True
    assert store.follow(ann.id, bob.id) is False
    assert store.counts(bob.id).followers == 1
    assert store.unfollow(ann.id, bob.id) is True
    assert store.unfollow(ann.id, bob.id) is False
    assert store.counts(bob.id).followers == 0
    assert store.counts(ann.id).followed == 0


def test_following_a_missing_user_is_not_found(store):
    ann = make_user(store, "ann")
    with pytest.raises(NotFound):
        store.follow(ann.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert store.counts(ann.id).followed == 0
    assert not store.is_following(ann.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_follow_brings_existing_posts_into_the_feed_and_unfollow_removes_them(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    old = [make_post(store, bob, f"bob {n}") for n in range(3)]
    own = make_post(store, ann, "ann")
    store.follow(ann.id, bob.id)
    assert ids(store.home_feed(ann.id).items) == [own.id, *ids(reversed(old))]
    newer = make_post(store, bob, "bob later")
    assert store.home_feed(ann.id).items[0].id == newer.id
    store.unfollow(ann.id, bob.id)
    assert ids(store.home_feed(ann.id).items) == [own.id]


def test_followers_and_followed_walk_every_edge_once_newest_first(store):
    star = make_user(store, "star")
    fans = [make_user(store, f"fan{n:02}") for n in range(12)]
    for fan in fans:
        store.follow(fan.id, star.id)
        store.follow(star.id, fan.id)
    assert ids(walk(_bind(store.followers, star.id), 5)) == ids(reversed(fans))
    assert ids(walk(_bind(store.followed, star.id), 5)) == ids(reversed(fans))
    assert store.counts(star.id) == Counts(posts=0, followers=12, followed=12)
    listed = store.followers(star.id, limit=1).items[0]
    assert listed.followed_count == 1 and listed.follower_count == 1


def test_concurrent_follow_and_unfollow_keep_counters_equal_to_edges(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    barrier = threading.Barrier(20)

    def toggle(n: int) -> None:
        barrier.wait()
        for _ in range(3):
            if n % 2:
                store.follow(ann.id, bob.id)
            else:
                store.unfollow(ann.id, bob.id)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(toggle, range(20)))

    edge = store.is_following(ann.id, bob.id)
    assert store.counts(ann.id).followed == int(edge)
    assert store.counts(bob.id).followers == int(edge)
    assert len(store.followed(ann.id).items) == int(edge)
    assert len(store.followers(bob.id).items) == int(edge)


def test_a_reopened_store_is_the_same_data_through_its_own_connections(store):
    """What a forked build worker uses (`Store.reopen`): never its parent's
    connection or client, always the same data."""
    ann = make_user(store, "ann")
    assert store.reopenable
    other = store.reopen()
    try:
        assert other is not store._store and other.get_user(ann.id) == store.get_user(ann.id)
        post = make_post(Settled(other), ann, "written through the other handle")
        assert store.get_post(post.id) == post
        assert store.explore_seq() == other.explore_seq() == 1
    finally:
        other.close()


def test_once_settled_no_post_is_left_unnumbered(store):
    """What `build.py repair` looks for: posts the numbering never reached."""
    ann = make_user(store, "ann")
    make_post(store, ann, "one")
    make_post(store, ann, "two")
    assert list(store.unnumbered_posts()) == []
