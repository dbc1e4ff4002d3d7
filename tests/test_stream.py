"""The DynamoDB stream carries the same changes the services emit.

Every kind of write goes through the use cases on the DynamoDB adapter
(DynamoDB Local), followed by the fan-out's work (which numbers new posts), as
the local stack does; the table's real stream is read back and decoded, and
the events (so the pages touched) must equal those the services emitted,
after the numbering step.
"""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from functions import auth
from functions.domain import (
    Followed,
    Post,
    PostCreated,
    PostDeleted,
    User,
    UserCreated,
    UserUpdated,
)
from functions.services import Microblog
from functions.sitegen.data import Overlay, StoreData
from functions.sitegen.pages import (
    Permalink,
    Profile,
    ProfileArchive,
    UserCard,
    UserFeed,
    pages_for,
    pages_for_all,
)
from functions.store.dynamodb_schema import (
    FANOUT_FILTERS,
    STREAM_FILTERS,
    dump,
    load,
    post_item,
    user_item,
)
from functions.store.sqlite import SQLiteStore
from functions.stream import UndecodableRecord, decode, decode_all
from functions.timelines import Fanout
from tests.streams import StreamReader, passes

KEY = "k" * 48


@pytest.fixture
def dynamo(dynamo_store):
    return dynamo_store


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Registration hashes with scrypt; these tests are about what it writes."""
    monkeypatch.setattr(
        auth, "hash_password", lambda password: generate_password_hash(password, "pbkdf2:sha256:1")
    )


def test_every_write_decodes_from_the_stream_into_the_events_the_services_emitted(
    dynamo, cheap_passwords
):
    emitted: list = []
    fanout = Fanout(dynamo)
    app = Microblog(dynamo, auth.Tokens(KEY), on_change=lambda e: emitted.extend(fanout.start(e)))
    reader = StreamReader(dynamo)
    data = StoreData(dynamo)
    state: dict = {}

    writes = {
        "register": lambda: state.update(
            ann=app.register("ann", "ann@example.com", "secret-password"),
            bob=app.register("bob", "bob@example.com", "secret-password"),
        ),
        "post": lambda: state.update(post=app.create_post(state["ann"], "Hello, *world*!")),
        "another post": lambda: app.create_post(state["ann"], "Second post"),
        "follow": lambda: app.follow(state["bob"], state["ann"].id),
        "about me": lambda: app.update_profile(state["ann"], about_me="I write things."),
        "rename": lambda: app.update_profile(state["ann"], username="annie"),
        "new e-mail": lambda: app.update_profile(
            state["ann"], email="annie@example.com", current_password="secret-password"
        ),
        "unfollow": lambda: app.unfollow(state["bob"], state["ann"].id),
        "delete": lambda: app.delete_post(state["ann"], state["post"].id),
    }
    for name, write in writes.items():
        emitted.clear()
        write()
        records = reader.new_records()
        decoded = decode_all(records).events
        # A new post's INSERT (not numbered yet) is the fan-out's; its pages
        # come with the numbering's MODIFY.
        assert pages_for_all([e for e in decoded if not _numbered(e)], data) == set()
        assert [e for e in decoded if _numbered(e)] == emitted, name
        assert pages_for_all(decoded, data) == pages_for_all(emitted, data), name
        # The template's filters let through every record that means something...
        for record in records:
            if decode(record).events:
                assert passes(STREAM_FILTERS, record), (name, record)
        # ...and keep away the markers, timeline copies and counters.
        kinds = {
            r["dynamodb"].get("NewImage", r["dynamodb"].get("OldImage"))["type"]["S"]
            for r in records
            if not passes(STREAM_FILTERS, r)
        }
        assert kinds <= {
            "username",
            "email",
            "timeline",
            "counter",
            "post_ref",
            "throttle",
            "former_name",  # the rename's user record carries the pages' change
        }


def _numbered(event) -> bool:
    """False only for the event of a post not numbered yet."""
    return not isinstance(event, PostCreated) or event.explore_seq > 0


def test_a_new_post_decodes_twice_its_insert_for_the_fanout_its_numbering_for_pages(
    dynamo, cheap_passwords
):
    app = Microblog(dynamo, auth.Tokens(KEY))
    ann = app.register("ann", "ann@example.com", "secret-password")
    reader = StreamReader(dynamo)
    reader.new_records()
    post = app.create_post(ann, "Hello")
    [insert] = post_records(reader.new_records())
    inserted = decode(insert)
    assert inserted.events == [PostCreated(post.id, ann.id, 1, 0)] and inserted.post is None
    dynamo.number_posts([post.id])
    [modify] = post_records(reader.new_records())  # and the counter's
    assert modify["eventName"] == "MODIFY" and passes(STREAM_FILTERS, modify)
    numbered = decode(modify)
    assert numbered.events == [PostCreated(post.id, ann.id, 1, 1)]
    assert numbered.post == post.replace(explore_seq=1)
    assert pages_for_all(inserted.events, StoreData(dynamo)) == set()


def post_records(records: list[dict]) -> list[dict]:
    return [r for r in records if r["dynamodb"]["NewImage"]["type"]["S"] == "post"]


def test_a_post_deleted_before_its_numbering_touches_only_its_authors_pages():
    event = PostDeleted("01J0000000000000000000000A", "01J0000000000000000000000B", 26, 0)
    assert pages_for(event, StoreData(None)) == {
        Permalink(event.post_id),
        Profile(event.author_id),
        ProfileArchive(event.author_id, 2),
        UserFeed(event.author_id),
        UserCard(event.author_id),
    }


def test_a_follow_is_one_followed_event_and_no_user_reads(dynamo, cheap_passwords, monkeypatch):
    emitted: list = []
    app = Microblog(dynamo, auth.Tokens(KEY), on_change=emitted.extend)
    ann = app.register("ann", "ann@example.com", "secret-password")
    bob = app.register("bob", "bob@example.com", "secret-password")
    emitted.clear()
    reads = []
    monkeypatch.setattr(
        app.store, "get_user", lambda i, f=app.store.get_user: reads.append(i) or f(i)
    )
    app.follow(bob, ann.id)
    assert emitted == [Followed(bob.id, ann.id)]
    assert reads == [ann.id]  # only the check that the target exists


def test_messages_and_their_notifications_reach_no_function_that_renders_or_fans_out(
    dynamo, cheap_passwords
):
    """Private messages never reach the render function (nor the fan-out):
    their records and the unread count's pass no filter and decode to no
    event; no user item changes (that would re-render profiles)."""
    emitted: list = []
    app = Microblog(dynamo, auth.Tokens(KEY), on_change=emitted.extend)
    ann = app.register("ann", "ann@example.com", "secret-password")
    bob = app.register("bob", "bob@example.com", "secret-password")
    reader = StreamReader(dynamo)
    reader.new_records()
    emitted.clear()
    app.send_message(ann, "bob", "a secret")
    app.read_messages(bob)
    app.store.set_notification(bob.id, "task_progress", {"progress": 50})
    records = reader.new_records()
    kinds = [r["dynamodb"]["NewImage"]["type"]["S"] for r in records]
    assert sorted(kinds) == ["message", "notification", "notification", "notification"]
    assert emitted == []
    for change in records:
        assert decode(change).events == []
        assert not passes(STREAM_FILTERS, change) and not passes(FANOUT_FILTERS, change)
        assert "a secret" not in str(decode(change))
    removal = record("REMOVE", old=load(records[0]["dynamodb"]["NewImage"]))
    assert not passes(STREAM_FILTERS, removal) and not passes(FANOUT_FILTERS, removal)


# ------------------------------------------------------------ the decoder alone


def record(name: str, new: dict | None = None, old: dict | None = None, seq: str = "1") -> dict:
    images = {"SequenceNumber": seq}
    if new is not None:
        images["NewImage"] = dump(new)
    if old is not None:
        images["OldImage"] = dump(old)
    return {"eventID": seq, "eventName": name, "dynamodb": images}


def a_user(**changes) -> User:
    user = User.new("ann", "ann@example.com", "hash")
    return user.replace(**changes)


def test_a_post_changed_after_its_numbering_means_nothing():
    post = Post("01J0000000000000000000000A", "u", "b", "<p>b</p>", "en", a_user().created, 4, 9)
    assert decode(record("MODIFY", post_item(post), post_item(post))).events == []


def test_counter_and_credential_changes_of_a_user_touch_no_page():
    before = a_user()
    after = {**user_item(before), "post_count": 3, "post_seq": 3, "token_version": 2}
    assert decode(record("MODIFY", after, user_item(before))).events == []


def test_a_user_change_that_pages_show_is_an_update():
    before = a_user()
    after = user_item(before.replace(about_me="Hi"))
    (event,) = decode(record("MODIFY", after, user_item(before))).events
    assert event == UserUpdated(before.id, "ann", "ann", False, 0)


def test_a_new_user_and_a_new_post_carry_their_images():
    user = a_user()
    post = Post("01J0000000000000000000000A", user.id, "b", "<p>b</p>", "en", user.created, 4, 9)
    change = decode(record("INSERT", post_item(post)))
    assert change.events == [PostCreated(post.id, user.id, 4, 9)] and change.post == post
    change = decode(record("INSERT", user_item(user)))
    assert change.events == [UserCreated(user.id)] and change.user.username == "ann"


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"eventName": "INSERT"},
        {"eventName": "INSERT", "dynamodb": {}},
        {"eventName": "WHATEVER", "dynamodb": {"NewImage": {"type": {"S": "post"}}}},
        {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "post"}}}},
        {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"X": "?"}}}},
    ],
)
def test_a_record_that_is_not_ours_is_undecodable(bad):
    with pytest.raises(UndecodableRecord):
        decode(bad)


# ------------------------------------------------------------ the overlay


def test_the_overlay_shows_a_batch_post_that_the_indexes_do_not_show_yet(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite3")  # knows nothing of the post
    user = a_user()
    post = Post("01J0000000000000000000000A", user.id, "b", "<p>b</p>", "en", user.created, 1, 1)
    data = Overlay(StoreData(store), {post.id: post}, (), {user.id: user})
    assert data.newest_posts(25) == [post]
    assert data.explore_by_seq(1, 25) == [post]
    assert data.newest_posts_by(user.id, 25) == [post]
    assert data.explore_seq() == 1
    assert data.users([user.id]) == {user.id: user}
    gone = Overlay(StoreData(store), {post.id: post}, {post.id})
    assert gone.newest_posts(25) == [] and gone.explore_by_seq(1, 25) == []


def test_task_items_reach_neither_the_render_nor_the_fanout_function(dynamo):
    """Export's task items (started, progress, finished, replaced) touch no
    page and start no feed job: no event, and the filters keep them away."""
    from functions.domain import Task, new_id, utcnow
    from functions.store.dynamodb_schema import FANOUT_FILTERS

    reader = StreamReader(dynamo)
    now = utcnow()
    task = Task(new_id(now), new_id(now), "export_posts", "Exporting posts...", now, now)
    assert dynamo.start_task(task)
    assert dynamo.update_task(task.replace(progress=50, updated=utcnow()))
    assert dynamo.update_task(task.replace(progress=100, complete=True, updated=utcnow()))
    later = utcnow()
    assert dynamo.start_task(task.replace(id=new_id(later), started=later, updated=later))
    records = reader.new_records()
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "MODIFY", "MODIFY"]
    for record in records:
        assert record["dynamodb"]["NewImage"]["type"] == {"S": "task"}
        assert decode(record).events == []
        assert not passes(STREAM_FILTERS, record) and not passes(FANOUT_FILTERS, record)
