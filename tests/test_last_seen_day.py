"""The last-seen rule on both transports: the services' events (the local
stack) and the DynamoDB stream's decoded records (AWS) agree that a
`last_seen` write re-renders the user's card only when it moves to a new day
(UTC), and nothing otherwise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions import urls
from functions.domain import User, UserSeen, UserUpdated, utcnow
from functions.sitegen.data import StoreData
from functions.sitegen.pages import Profile, UserCard, pages_for_all
from functions.store.dynamodb_schema import STREAM_FILTERS, dump, user_item
from functions.stream import decode, decode_all
from tests.streams import StreamReader, passes

DAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The services' clock, set by the test."""
    now = {"at": DAY}
    monkeypatch.setattr("functions.services.utcnow", lambda: now["at"])
    return now


def test_the_stream_and_the_services_agree_on_last_seen_days(dynamo_app, clock):
    emitted: list = []
    dynamo_app.on_change = emitted.extend
    store = dynamo_app.store
    ann = dynamo_app.register("ann", "ann@example.com", "secret-password")
    ann = store.update_user(ann.id, {"last_seen": DAY})
    reader = StreamReader(store)
    reader.new_records()
    data = StoreData(store)

    visits = [
        ("an hour later", DAY + timedelta(hours=1), []),
        ("the last minute of the day", DAY.replace(hour=23, minute=59), []),
        ("the next day", DAY + timedelta(days=1), [UserSeen(ann.id)]),
        ("minutes later", DAY + timedelta(days=1, minutes=5), []),
    ]
    for name, at, expected in visits:
        emitted.clear()
        clock["at"] = at
        ann = dynamo_app.touch(ann)
        assert ann.last_seen == at, name  # every visit was recorded
        records = reader.new_records()
        assert records, name
        decoded = decode_all(records).events
        assert emitted == decoded == expected, name
        assert pages_for_all(decoded, data) == pages_for_all(emitted, data), name
        if expected:
            assert pages_for_all(decoded, data) == {UserCard(ann.id)}, name
            assert all(passes(STREAM_FILTERS, r) for r in records), name


def test_a_record_with_a_page_change_and_a_new_day_is_one_update():
    """Pages shown change: the profile and the card are rendered anyway."""
    before = User.new("ann", "ann@example.com", "hash").replace(last_seen=DAY)
    after = before.replace(about_me="Hi", last_seen=DAY + timedelta(days=1))
    record = {
        "eventID": "1",
        "eventName": "MODIFY",
        "dynamodb": {
            "SequenceNumber": "1",
            "NewImage": dump(user_item(after)),
            "OldImage": dump(user_item(before)),
        },
    }
    (event,) = decode(record).events
    assert event == UserUpdated(before.id, "ann", "ann", False, 0)
    assert pages_for_all([event], StoreData(None)) == {Profile(before.id), UserCard(before.id)}


def test_on_the_local_stack_the_first_request_of_a_day_rewrites_the_card_alone(
    client, settings, cheap_hash, monkeypatch
):
    """End to end through the API: a signed-in request records the visit
    (`GET /api/me`, as every page of a signed-in reader asks), and the day's
    first one re-renders the card, and only the card, before it answers."""
    credentials = {"username": "ann", "password": "secret-password"}
    assert client.post("/api/users", json={**credentials, "email": "ann@example.com"}).is_success
    assert client.post("/api/session", json=credentials).is_success
    store, builder = client.app_state.microblog.store, client.app_state.builder
    ann = store.get_user_by_username("ann")
    store.update_user(ann.id, {"last_seen": utcnow() - timedelta(days=1)})
    builder.apply([UserSeen(ann.id)])  # the card of the day before
    card = settings.site_dir / urls.output_path(urls.user_card("ann"))
    yesterday = json.loads(card.read_bytes())["last_seen"]
    rendered: list[str] = []
    apply = builder.apply
    monkeypatch.setattr(builder, "apply", lambda events: rendered.extend(apply(events).published))

    assert client.get("/api/me").is_success
    assert rendered == ["u/ann/card.json"]
    assert json.loads(card.read_bytes())["last_seen"] == utcnow().date().isoformat() != yesterday
    assert client.get("/api/me").is_success  # within the minute: no write, no file
    assert rendered == ["u/ann/card.json"]
