"""What messages cost the stores: on DynamoDB each read and write of the
feature is one request (and never touches a user item, whose changes
re-render profiles); on SQLite each read is an index range."""

from __future__ import annotations

import pytest

from functions.domain import Message, User
from functions.store.sqlite import SQLiteStore
from tests.test_sqlite_queries import statements

CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def users(store) -> tuple[User, User]:
    ann = User.new("ann", "ann@example.com", CHEAP_HASH)
    bob = User.new("bob", "bob@example.com", CHEAP_HASH)
    store.create_user(ann)
    store.create_user(bob)
    return ann, bob


class Requests:
    """The DynamoDB operations a store's client sends (botocore's events)."""

    def __init__(self, store):
        self.calls: list[tuple[str, dict]] = []
        store.client.meta.events.register("provide-client-params.dynamodb.*", self._record)

    def _record(self, params, model, **kwargs):
        self.calls.append((model.name, params))

    def during(self, action) -> list[tuple[str, dict]]:
        self.calls.clear()
        action()
        return list(self.calls)


ACTIONS = {
    "send": lambda s, a, b: s.send_message(Message.new(a.id, b.id, "hi")),
    "a page of messages": lambda s, a, b: s.messages_received(b.id, limit=2),
    "the next page": lambda s, a, b: s.messages_received(
        b.id, s.messages_received(b.id, limit=1).next_cursor, limit=1
    ),
    "unread count": lambda s, a, b: s.unread_message_count(b.id),
    "poll": lambda s, a, b: s.notifications(b.id, 0),
    "mark read": lambda s, a, b: s.mark_messages_read(b.id),
}
ONE_REQUEST = {
    "send": "TransactWriteItems",
    "a page of messages": "Query",
    "unread count": "GetItem",
    "poll": "Query",
    "mark read": "UpdateItem",
}


@pytest.mark.parametrize("name", ONE_REQUEST)
def test_each_message_action_is_one_dynamodb_request_touching_no_user_item(dynamo_store, name):
    ann, bob = users(dynamo_store)
    for body in ("one", "two", "three"):
        dynamo_store.send_message(Message.new(ann.id, bob.id, body))
    calls = Requests(dynamo_store).during(lambda: ACTIONS[name](dynamo_store, ann, bob))
    assert [operation for operation, _ in calls] == [ONE_REQUEST[name]]
    written = [
        next(iter(item.values()))
        for _, params in calls
        for item in params.get("TransactItems", [])
        if "ConditionCheck" not in item
    ] + [params for operation, params in calls if operation == "UpdateItem"]
    for write in written:
        key = write.get("Key") or {k: write["Item"][k] for k in ("PK", "SK")}
        assert key["SK"]["S"] != "PROFILE", write  # the user item stays as it is


@pytest.fixture
def sqlite(tmp_path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    yield store
    store.close()


@pytest.mark.parametrize("name", ["a page of messages", "the next page", "unread count", "poll"])
def test_each_message_read_is_an_index_range_on_sqlite(sqlite, name):
    ann, bob = users(sqlite)
    for body in ("one", "two", "three"):
        sqlite.send_message(Message.new(ann.id, bob.id, body))
    sqls = statements(sqlite, lambda: ACTIONS[name](sqlite, ann, bob))
    assert sqls
    db = sqlite._db()
    for sql in sqls:
        plan = [row["detail"] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
        for step in plan:
            assert "TEMP B-TREE" not in step, (sql, plan)
            assert step.startswith("SEARCH "), (sql, plan)
            assert "INDEX" in step or "PRIMARY KEY" in step, (sql, plan)
