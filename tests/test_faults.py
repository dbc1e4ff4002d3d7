"""Faults: a store error at any write of a use case leaves nothing half-written
(both stores); a failing mail or translation service gives a clear answer and
breaks nothing else."""

from __future__ import annotations

import sqlite3
from functools import partial

import pytest
from botocore.exceptions import ClientError

from functions import auth
from functions.services import Microblog

SQL_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
DYNAMODB_WRITES = {
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
}


class Injected(Exception):
    """Marks the fault this test injected (the store raises its own kind)."""


class FailingConnection:
    """A SQLite connection whose `at`-th write statement fails."""

    def __init__(self, db: sqlite3.Connection, fault: Fault):
        self._db, self._fault = db, fault

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith(SQL_WRITES):
            self._fault.count()
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._db, name)


class FailingClient:
    """A DynamoDB client whose `at`-th write call fails."""

    def __init__(self, client, fault: Fault):
        self._client, self._fault = client, fault

    def __getattr__(self, name: str):
        method = getattr(self._client, name)
        if name not in DYNAMODB_WRITES:
            return method

        def write(*args, **kwargs):
            self._fault.count()
            return method(*args, **kwargs)

        return write


class Fault:
    """Fails the `at`-th write (counted from when it is armed)."""

    def __init__(self):
        self.at = 0
        self.writes = 0
        self.fired = False

    def arm(self, at: int) -> None:
        self.at, self.writes, self.fired = at, 0, False

    def count(self) -> None:
        self.writes += 1
        if self.writes == self.at:
            self.fired = True
            if self.at:  # a store error, as the adapters' clients raise them
                raise sqlite3.OperationalError("injected: disk I/O error")


@pytest.fixture
def faulty(store, monkeypatch) -> Fault:
    """The store, with a fault to arm at its n-th write."""
    fault = Fault()
    if hasattr(store, "client"):
        monkeypatch.setattr(store, "client", FailingClient(store.client, fault))

        def count_dynamodb() -> None:
            fault.writes += 1
            if fault.writes == fault.at:
                fault.fired = True
                error = {"Error": {"Code": "InternalServerError", "Message": "injected"}}
                raise ClientError(error, "TransactWriteItems")

        fault.count = count_dynamodb  # type: ignore[method-assign]
    else:
        real = store._db
        monkeypatch.setattr(store, "_db", lambda: FailingConnection(real(), fault))
    return fault


def walk(fetch) -> list:
    items, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=100)
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def visible(store) -> dict:
    """Everything a reader of the store can see."""
    users = walk(store.list_users)
    ids = lambda items: [item.id for item in items]  # noqa: E731
    return {
        # Every field, counters too, but `post_seq`: a number taken by a post
        # that then failed is a hole, like a deleted post's (numbers are never reused).
        "users": sorted((u.replace(post_seq=0) for u in users), key=lambda u: u.id),
        "names": {u.username: store.get_user_by_username(u.username).id for u in users},
        "emails": {u.email: store.get_user_by_email(u.email).id for u in users},
        "explore": ids(walk(store.explore)),
        "posts": {u.id: ids(walk(partial(store.posts_by, u.id))) for u in users},
        "feeds": {u.id: ids(walk(partial(store.home_feed, u.id))) for u in users},
        "followers": {u.id: ids(walk(partial(store.followers, u.id))) for u in users},
        "followed": {u.id: ids(walk(partial(store.followed, u.id))) for u in users},
    }


USE_CASES = {
    "register": lambda app, w: app.register("newbie", "newbie@example.com", "pass-word"),
    "post": lambda app, w: app.create_post(w["ann"], "hello *world*"),
    "delete post": lambda app, w: app.delete_post(w["ann"], w["post"].id),
    "follow": lambda app, w: app.follow(w["ann"], w["bob"].id),
    "unfollow": lambda app, w: app.unfollow(w["bob"], w["ann"].id),
    "rename": lambda app, w: app.update_profile(w["ann"], username="annie", about_me="hi"),
    "new e-mail": lambda app, w: app.update_profile(
        w["ann"], email="annie@example.com", current_password="pass-word", address="1.2.3.4"
    ),
    "reset password": lambda app, w: app.reset_password(app.reset_token(w["ann"]), "new-pass-word"),
    "log out everywhere": lambda app, w: app.revoke_tokens(w["ann"]),
}


@pytest.mark.parametrize("use_case", USE_CASES)
def test_a_store_error_at_any_write_leaves_nothing_half_written(
    store, faulty, cheap_hash, use_case
):
    """The use case is run with its 1st write failing, then its 2nd, ...
    until it completes: after each failure the store looks exactly as before."""
    app = Microblog(store, auth.Tokens("k" * 32))
    world = {
        "ann": app.register("ann", "ann@example.com", "pass-word"),
        "bob": app.register("bob", "bob@example.com", "pass-word"),
    }
    world["post"] = app.create_post(world["ann"], "an old post")
    app.follow(world["bob"], world["ann"].id)
    world |= {name: store.get_user(world[name].id) for name in ("ann", "bob")}  # as stored now

    at = 1
    while True:
        before = visible(store)
        faulty.arm(at)
        try:
            USE_CASES[use_case](app, world)
        except (sqlite3.OperationalError, ClientError):
            assert faulty.fired
            assert visible(store) == before, f"half-written after a fault at write {at}"
            at += 1
            continue
        break
    faulty.arm(0)
    assert at > 1  # the use case did write, and each of its writes was failed once
    assert visible(store) != before  # and in the end it did what it does


# ------------------------------------------------------------ outside services


def test_a_failing_mail_service_is_logged_and_breaks_nothing_else(client, caplog):
    from tests.test_api import SUSAN, login, register

    register(client)

    class Down:
        def send(self, message):
            raise OSError("connection refused")

    working = client.app_state.mailer
    client.app_state.mailer = Down()
    answer = client.post("/api/reset_password_request", json={"email": SUSAN["email"]})
    assert answer.status_code == 202  # as for any address: the answer tells nothing
    assert "could not send mail to susan@example.com" in caplog.text
    assert login(client).status_code == 200  # the rest works on
    assert client.post("/api/posts", json={"body": "still here"}).status_code == 201
    client.app_state.mailer = working
    again = client.post("/api/reset_password_request", json={"email": SUSAN["email"]})
    assert again.status_code == 202


def test_a_failing_translation_service_is_a_clear_502_and_breaks_nothing_else(client, monkeypatch):
    from tests import translate_server
    from tests.test_api import login, register

    register(client)
    login(client)
    with translate_server.serving() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", url)
        failed = client.post("/api/translate", json={"text": "FAIL", "dest_language": "es"})
        assert failed.status_code == 502
        assert failed.json() == {"error": "Bad Gateway", "message": "Translation failed."}
        ok = client.post("/api/translate", json={"text": "hola", "dest_language": "en"})
        assert ok.status_code == 200 and ok.json() == {"text": "[en] hola"}
    assert client.post("/api/posts", json={"body": "still here"}).status_code == 201
    assert client.get("/api/me").status_code == 200
