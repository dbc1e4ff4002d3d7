"""Login throttling (429 + Retry-After, kept in the store) and last_seen."""

from __future__ import annotations

from datetime import timedelta

from functions import services
from functions.domain import utcnow
from tests.test_api import assert_error, login, register


def test_the_sixth_failure_in_a_row_is_throttled(client):
    register(client)
    for _ in range(services.ACCOUNT_FAILURES):
        assert_error(login(client, password="wrong-password"), 401, "Unauthorized")
    response = login(client)  # even the right password waits now
    body = assert_error(response, 429, "Too Many Requests")
    assert body["message"] == "Too many failed login attempts; try again later."
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60


def test_unknown_users_are_throttled_the_same(client):
    for _ in range(services.ACCOUNT_FAILURES):
        assert_error(login(client, username="nobody"), 401, "Unauthorized")
    assert_error(login(client, username="nobody"), 429, "Too Many Requests")


def test_a_success_clears_the_accounts_failures(client):
    register(client)
    for _ in range(services.ACCOUNT_FAILURES - 1):
        login(client, password="wrong-password")
    assert login(client).status_code == 200
    for _ in range(services.ACCOUNT_FAILURES - 1):
        login(client, password="wrong-password")
    assert login(client).status_code == 200


def test_one_address_is_throttled_across_accounts(client, monkeypatch):
    monkeypatch.setattr(services, "ADDRESS_FAILURES", 3)
    for name in ("a1x", "a2x", "a3x"):
        assert_error(login(client, username=name), 401, "Unauthorized")
    assert_error(login(client, username="a4x"), 429, "Too Many Requests")


def test_api_tokens_are_throttled_too(client):
    register(client)
    client.cookies.clear()
    for _ in range(services.ACCOUNT_FAILURES):
        client.post("/api/tokens", auth=("susan", "wrong-password"))
    assert_error(
        client.post("/api/tokens", auth=("susan", "cat-and-dog")), 429, "Too Many Requests"
    )


def test_the_window_ends(client, monkeypatch):
    register(client)
    for _ in range(services.ACCOUNT_FAILURES):
        login(client, password="wrong-password")
    later = utcnow() + services.LOGIN_WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert login(client).status_code == 200


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
    profile = (settings.site_dir / "u/susan/index.html").read_text()
    assert later.strftime("%Y-%m-%d %H:%M") in profile
