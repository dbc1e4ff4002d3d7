"""The user's card (`/u/<name>/card.json`, the popup on hover): written with
the profile by every path that writes a user's pages, moved on a rename,
rewritten by the changes it shows and, for last seen, once a day at most."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions import auth, urls
from functions.domain import (
    Followed,
    Unfollowed,
    User,
    UserCreated,
    UserSeen,
    UserUpdated,
    user_changes,
)
from functions.services import Microblog, new_post
from functions.sitegen.data import StoreData
from functions.sitegen.pages import (
    FormerCard,
    Profile,
    UserCard,
    UserFeed,
    pages_for,
)
from functions.sitegen.publish import LocalPublisher
from functions.sitegen.shards import Shard

HASH = "pbkdf2:sha256:1$salt$" + "0" * 64
DAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def add_user(store, name: str, email: str | None = None, **changes) -> User:
    user = User.new(name, email or f"{name}@example.com", HASH).replace(**changes)
    store.create_user(user)
    return store.get_user(user.id)


def card_file(site, username: str):
    return site / urls.output_path(urls.user_card(username))


def card(site, username: str) -> dict:
    return json.loads(card_file(site, username).read_bytes())


@pytest.fixture
def ann_and_bob(store):
    """Ann, who writes about herself and posts twice, and Bob, who follows her."""
    ann = add_user(store, "ann", about_me="I write <b>things</b> & more.", last_seen=DAY)
    bob = add_user(store, "bob")
    for n in range(2):
        store.create_post(new_post(ann.id, f"Post {n}", "en", DAY - timedelta(hours=n + 1)))
    store.follow(bob.id, ann.id)
    return store.get_user(ann.id), store.get_user(bob.id)


def expected_card(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "url": f"/u/{user.username}/",
        "avatar": user.avatar(64),
        "about_me": user.about_me,
        "last_seen": user.last_seen.date().isoformat(),
        "post_count": user.post_count,
        "follower_count": user.follower_count,
        "followed_count": user.followed_count,
    }


# ------------------------------------------------------------ the full build, the shards


def test_the_full_build_writes_each_users_card_beside_the_profile(
    settings, store, builder, ann_and_bob
):
    ann, _ = ann_and_bob
    builder.build_all()
    assert card(settings.site_dir, "ann") == expected_card(ann)
    assert card(settings.site_dir, "ann") == {
        **expected_card(ann),
        "about_me": "I write <b>things</b> & more.",  # data, not markup: the page escapes it
        "last_seen": "2026-11-30",  # the day, not the time
        "post_count": 2,
        "follower_count": 1,
        "followed_count": 0,
    }
    assert card(settings.site_dir, "bob")["followed_count"] == 1
    raw = card_file(settings.site_dir, "ann").read_bytes()
    assert raw.isascii() and b"\n" not in raw  # compact, and any text encodes


def test_each_shard_writes_the_cards_of_its_users_as_the_whole_build_does(
    settings, store, builder, ann_and_bob, tmp_path
):
    builder.build_all()
    sharded = tmp_path / "shards"
    for index in (1, 2, 3):
        builder.build_shard(Shard(index, 3), publisher=LocalPublisher(sharded))
    for name in ("ann", "bob"):
        whole = card_file(settings.site_dir, name).read_bytes()
        assert card_file(sharded, name).read_bytes() == whole


def test_a_second_full_build_leaves_the_cards_alone(settings, store, builder, ann_and_bob):
    builder.build_all()
    again = builder.build_all()
    assert "u/ann/card.json" not in again.changed and again.written == 0


# ------------------------------------------------------------ renames


def test_a_rename_moves_the_card_and_removes_the_old_one_as_the_feed(
    settings, store, builder, ann_and_bob
):
    ann, _ = ann_and_bob
    builder.build_all()
    renamed = store.update_user(ann.id, {"username": "annie"})
    stats = builder.apply([UserUpdated.of(renamed, ann)])
    assert card(settings.site_dir, "annie")["username"] == "annie"
    assert card(settings.site_dir, "annie")["url"] == "/u/annie/"
    assert not card_file(settings.site_dir, "ann").exists()
    assert "u/ann/card.json" in stats.changed
    # ...while the old profile redirects, as before.
    old_profile = (settings.site_dir / "u/ann/index.html").read_text()
    assert 'http-equiv="refresh" content="0; url=/u/annie/"' in old_profile


def test_the_full_build_removes_a_card_left_at_a_former_name(settings, store, builder, ann_and_bob):
    ann, _ = ann_and_bob
    builder.build_all()
    store.update_user(ann.id, {"username": "annie"})  # no rebuild of its pages
    stats = builder.build_all()
    assert "u/ann/card.json" in stats.changed
    assert not card_file(settings.site_dir, "ann").exists()
    assert card(settings.site_dir, "annie")["id"] == ann.id


def test_a_former_names_card_is_left_to_whoever_holds_the_name_now(
    settings, store, builder, ann_and_bob
):
    ann, _ = ann_and_bob
    renamed = store.update_user(ann.id, {"username": "annie"})
    builder.apply([UserUpdated.of(renamed, ann)])
    newcomer = add_user(store, "ann", "another.ann@example.com")
    builder.apply([UserCreated(newcomer.id)])
    builder.apply([UserUpdated.of(renamed, ann)])  # delivered again, late
    assert card(settings.site_dir, "ann")["id"] == newcomer.id
    assert pages_for(UserUpdated.of(renamed, ann), StoreData(store)) >= {
        UserCard(ann.id),
        FormerCard("ann", ann.id),
    }


# ------------------------------------------------------------ what rewrites a card


def test_the_changes_a_card_shows_rewrite_it(settings, store, ann_and_bob):
    ann, bob = ann_and_bob
    data = StoreData(store)
    assert pages_for(UserCreated(ann.id), data) == {
        Profile(ann.id),
        UserFeed(ann.id),
        UserCard(ann.id),
    }
    about = UserUpdated.of(ann.replace(about_me="New"), ann)
    assert pages_for(about, data) == {Profile(ann.id), UserCard(ann.id)}
    for event in (Followed(bob.id, ann.id), Unfollowed(bob.id, ann.id)):
        assert {UserCard(ann.id), UserCard(bob.id)} <= pages_for(event, data)


def test_a_follow_rewrites_both_cards_counts(settings, store, builder, ann_and_bob):
    ann, bob = ann_and_bob
    builder.build_all()
    store.unfollow(bob.id, ann.id)
    stats = builder.apply([Unfollowed(bob.id, ann.id)])
    assert {"u/ann/card.json", "u/bob/card.json"} <= set(stats.changed)
    assert card(settings.site_dir, "ann")["follower_count"] == 0
    assert card(settings.site_dir, "bob")["followed_count"] == 0


def test_a_new_last_seen_day_rewrites_the_card_alone(settings, store, builder, ann_and_bob):
    ann, _ = ann_and_bob
    builder.build_all()
    later_that_day = store.update_user(ann.id, {"last_seen": DAY + timedelta(hours=14)})
    assert user_changes(later_that_day, ann) == []  # the same day: no file

    next_day = store.update_user(ann.id, {"last_seen": DAY + timedelta(hours=15)})
    events = user_changes(next_day, later_that_day)
    assert events == [UserSeen(ann.id)]
    assert pages_for(UserSeen(ann.id), StoreData(store)) == {UserCard(ann.id)}
    stats = builder.apply(events)
    assert stats.changed == ["u/ann/card.json"]  # no profile, no other page
    assert card(settings.site_dir, "ann")["last_seen"] == "2026-12-01"


def test_the_day_is_the_utc_day_whatever_the_offset_of_the_time():
    user = User.new("ann", "ann@example.com", HASH)
    late = user.replace(last_seen=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    # 21:00 on the 30th at -03:00 is midnight UTC: a new day.
    west = late.replace(last_seen=datetime.fromisoformat("2026-11-30T21:00:00-03:00"))
    assert user_changes(west, late) == [UserSeen(user.id)]
    # 00:45 on the 1st at +01:00 is 23:45 UTC on the 30th: the same day.
    east = late.replace(last_seen=datetime.fromisoformat("2026-12-01T00:45:00+01:00"))
    assert user_changes(east, late) == []


# ------------------------------------------------------------ the services' side


@pytest.fixture
def clock(monkeypatch):
    """The services' clock, set by the test."""
    now = {"at": DAY}
    monkeypatch.setattr("functions.services.utcnow", lambda: now["at"])
    return now


def test_the_first_visit_of_a_day_emits_a_new_last_seen_day_and_later_ones_nothing(
    store, clock, ann_and_bob
):
    ann, _ = ann_and_bob
    emitted: list = []
    app = Microblog(store, auth.Tokens("k" * 48), on_change=emitted.extend)
    clock["at"] = DAY + timedelta(hours=1)  # same day, over a minute later: a write
    seen = app.touch(ann)
    assert seen.last_seen == clock["at"] and emitted == []
    clock["at"] = DAY.replace(hour=23, minute=59)
    seen = app.touch(seen)
    assert emitted == []
    clock["at"] = DAY + timedelta(days=1)
    seen = app.touch(seen)
    assert emitted == [UserSeen(ann.id)]
    emitted.clear()
    clock["at"] += timedelta(minutes=5)
    app.touch(seen)
    assert emitted == []
