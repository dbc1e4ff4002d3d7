"""Throttles over HTTP (429 + Retry-After, counted in the store): logins per
account and address, reset mail, sign-ups; and last_seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from functions import services
from functions.domain import utcnow
from functions.services import Limit
from tests.test_api import SUSAN, assert_error, login, register

PAIR = services.LOGIN_PAIR.attempts


@pytest.fixture
def at(client):
    """`at("1.2.3.4")`: a client of the same app calling from that address."""
    made = []

    def make(address: str) -> TestClient:
        other = TestClient(client.app, raise_server_exceptions=False, client=(address, 50000))
        made.append(other)
        return other

    yield make
    for other in made:
        other.close()


def fail(client, times: int, **fields) -> None:
    for _ in range(times):
        assert_error(login(client, password="wrong-password", **fields), 401, "Unauthorized")


def test_the_sixth_attempt_from_one_address_is_throttled(client):
    register(client)
    fail(client, PAIR)
    response = login(client)  # even the right password waits, from this address
    body = assert_error(response, 429, "Too Many Requests")
    assert body["message"] == "Too many failed login attempts; try again later."
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60


def test_a_stranger_guessing_wrong_does_not_lock_the_owner_out(client, at):
    register(client)
    stranger = at("203.0.113.9")
    fail(stranger, PAIR)
    assert_error(login(stranger), 429, "Too Many Requests")
    assert login(at("198.51.100.7")).status_code == 200  # the owner, at home
    assert at("198.51.100.7").post("/api/tokens", auth=("susan", "cat-and-dog")).is_success


def test_unknown_users_are_throttled_the_same(client):
    fail(client, PAIR, username="nobody")
    assert_error(login(client, username="nobody"), 429, "Too Many Requests")


def test_a_success_clears_the_pairs_attempts(client):
    register(client)
    fail(client, PAIR - 1)
    assert login(client).status_code == 200
    fail(client, PAIR - 1)
    assert login(client).status_code == 200


def test_one_address_is_throttled_across_accounts(client, monkeypatch):
    monkeypatch.setattr(services, "LOGIN_ADDRESS", Limit(3, timedelta(minutes=15)))
    for name in ("a1x", "a2x", "a3x"):
        assert_error(login(client, username=name), 401, "Unauthorized")
    assert_error(login(client, username="a4x"), 429, "Too Many Requests")


def test_the_account_limit_bounds_guessing_from_many_addresses_until_a_reset(
    client, at, monkeypatch
):
    """The account-wide limit holds across addresses; a password reset,
    which proves the owner has the mailbox, lifts it at once."""
    monkeypatch.setattr(services, "LOGIN_ACCOUNT", Limit(3, timedelta(minutes=15)))
    register(client)
    for n in range(3):
        fail(at(f"203.0.113.{n}"), 1)
    assert_error(login(at("198.51.100.7")), 429, "Too Many Requests")
    app = client.app_state.microblog
    token = app.reset_token(app.store.get_user_by_username("susan"))
    reset = {"token": token, "password": "a-new-secret"}
    assert client.post("/api/reset_password", json=reset).status_code == 204
    assert login(at("198.51.100.7"), password="a-new-secret").status_code == 200


def test_api_tokens_are_throttled_too(client):
    register(client)
    client.cookies.clear()
    for _ in range(PAIR):
        client.post("/api/tokens", auth=("susan", "wrong-password"))
    assert_error(
        client.post("/api/tokens", auth=("susan", "cat-and-dog")), 429, "Too Many Requests"
    )


def test_the_window_ends(client, monkeypatch):
    register(client)
    fail(client, PAIR)
    later = utcnow() + services.LOGIN_PAIR.window + timedelta(seconds=1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert login(client).status_code == 200


def test_overlong_credentials_are_refused_before_any_hashing(client, monkeypatch):
    from functions import auth

    checked = []
    monkeypatch.setattr(auth, "check_password", lambda *args: checked.append(args) or False)
    huge = {"username": "susan", "password": "x" * 1_000_000}
    assert client.post("/api/session", json=huge).status_code in (413, 422)
    long_name = {"username": "u" * 65, "password": "whatever-it-is"}
    assert_error(client.post("/api/session", json=long_name), 422, "Unprocessable Entity")
    assert client.post("/api/tokens", auth=("u" * 5000, "p" * 5000)).status_code == 401
    assert checked == []


def test_reset_mail_is_throttled_per_email_address(client):
    for _ in range(services.RESET_EMAIL.attempts):
        assert client.post(
            "/api/reset_password_request", json={"email": "a@example.com"}
        ).is_success
    response = client.post("/api/reset_password_request", json={"email": "A@example.com "})
    assert_error(response, 429, "Too Many Requests")
    assert int(response.headers["retry-after"]) > 0
    # another address still gets its mail
    assert client.post("/api/reset_password_request", json={"email": "b@example.com"}).is_success


def test_reset_requests_are_throttled_per_client_address(client, at):
    for n in range(services.RESET_ADDRESS.attempts):
        ok = client.post("/api/reset_password_request", json={"email": f"u{n}@example.com"})
        assert ok.status_code == 202
    refused = client.post("/api/reset_password_request", json={"email": "last@example.com"})
    assert_error(refused, 429, "Too Many Requests")
    other = at("198.51.100.7").post("/api/reset_password_request", json={"email": "x@example.com"})
    assert other.status_code == 202


def test_sign_ups_are_throttled_per_client_address(client, at):
    for n in range(services.REGISTER_ADDRESS.attempts):
        new = {**SUSAN, "username": f"user{n}", "email": f"user{n}@example.com"}
        assert client.post("/api/users", json=new).status_code == 201
    refused = client.post("/api/users", json={**SUSAN, "username": "onemore"})
    body = assert_error(refused, 429, "Too Many Requests")
    assert body["message"] == "Too many sign-ups from your address; try again later."
    assert at("198.51.100.7").post("/api/users", json=SUSAN).status_code == 201


def test_last_seen_is_written_at_most_once_a_minute(client, settings, monkeypatch):
    register(client)
    login(client)
    store = client.app_state.microblog.store
    writes = []
    real_update = store.update_user
    monkeypatch.setattr(
        store, "update_user", lambda *args, **kw: writes.append(args) or real_update(*args, **kw)
    )
    for _ in range(5):
        client.get("/api/me")
    assert writes == []
    later = utcnow() + timedelta(minutes=2)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    for _ in range(5):
        client.get("/api/me")
    assert len(writes) == 1
    assert client.get("/api/me").json()["last_seen"].startswith(later.isoformat()[:16])
    # No page shows it (the profile gets it from the API): no file changes.
    profile = settings.site_dir / "u/susan/index.html"
    before = profile.stat().st_mtime_ns
    monkeypatch.setattr(services, "utcnow", lambda: later + timedelta(minutes=2))
    assert client.get("/api/me").status_code == 200
    assert len(writes) == 2 and profile.stat().st_mtime_ns == before
    assert "last-seen" in profile.read_text() and later.strftime("%H:%M") not in profile.read_text()
