"""The last-seen rule on both transports: the services' events (the local
stack) and the DynamoDB stream's decoded records (AWS) agree that a
`last_seen` write re-renders the user's card only when it moves to a new day
(UTC), and nothing otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.domain import User, UserSeen, UserUpdated
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
