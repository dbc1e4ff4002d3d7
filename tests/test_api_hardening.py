"""What an attacker tried (issue 10): lone surrogates, huge bodies and fields,
reset timing, e-mail and password changes, tokens in logs."""

from __future__ import annotations

import json
import logging

import pytest

from functions.api.limits import MAX_BODY
from tests.test_api import SUSAN, assert_error, login, register

SURROGATE = '"\\ud800"'  # a JSON string holding a lone surrogate


@pytest.fixture
def me(client) -> dict:
    """susan, registered and logged in (the client holds her session)."""
    user = register(client).json()
    assert login(client).status_code == 200
    return user


def raw(client, method: str, path: str, body: str):
    headers = {"content-type": "application/json"}
    return client.request(method, path, content=body.encode(), headers=headers)


@pytest.mark.parametrize(
    "method, path, template",
    [
        (
            "POST",
            "/api/users",
            '{"username": %s, "email": "a@example.com", "password": "p4ssw0rd"}',
        ),
        ("POST", "/api/users", '{"username": "bob", "email": %s, "password": "p4ssw0rd"}'),
        ("POST", "/api/users", '{"username": "bob", "email": "b@example.com", "password": %s}'),
        ("POST", "/api/session", '{"username": %s, "password": "whatever"}'),
        ("POST", "/api/session", '{"username": "susan", "password": %s}'),
        ("POST", "/api/reset_password_request", '{"email": %s}'),
        ("POST", "/api/reset_password", '{"token": %s, "password": "p4ssw0rd!"}'),
        ("POST", "/api/reset_password", '{"token": "a.b.c", "password": %s}'),
        ("POST", "/api/posts", '{"body": %s}'),
        ("POST", "/api/translate", '{"text": %s, "dest_language": "es"}'),
        ("PUT", "/api/users/{id}", '{"about_me": %s}'),
        ("PUT", "/api/users/{id}", '{"username": %s}'),
        ("PUT", "/api/users/{id}", '{"email": %s, "current_password": "cat-and-dog"}'),
    ],
)
def test_a_lone_surrogate_is_a_client_error_in_the_envelope(client, me, method, path, template):
    response = raw(client, method, path.format(id=me["id"]), template % SURROGATE)
    assert response.status_code in (400, 422), response.text
    assert set(response.json()) >= {"error", "message"}


def test_a_body_over_the_limit_is_refused_before_parsing(client, me):
    big = json.dumps({"body": "x" * MAX_BODY})
    body = assert_error(raw(client, "POST", "/api/posts", big), 413, "Request Entity Too Large")
    assert "64 KiB" in body["message"]
    # also when it comes in chunks without a Content-Length
    chunks = (b"x" * 8192 for _ in range(MAX_BODY // 8192 + 2))
    response = client.post(
        "/api/posts", content=chunks, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert client.post("/api/posts", json={"body": "still fine"}).status_code == 201


@pytest.mark.parametrize(
    "path, field, size",
    [
        ("/api/users", "username", 65),
        ("/api/users", "email", 321),
        ("/api/users", "password", 257),
        ("/api/session", "password", 257),
        ("/api/reset_password_request", "email", 321),
    ],
)
def test_every_field_is_capped_before_hashing_or_storage(client, monkeypatch, path, field, size):
    from functions import auth

    hashed = []
    monkeypatch.setattr(auth, "hash_password", lambda p: hashed.append(p) or "x")
    monkeypatch.setattr(auth, "check_password", lambda *a: hashed.append(a) or False)
    body = {**SUSAN, field: "x" * size} if path == "/api/users" else {field: "x" * size}
    if path == "/api/session":
        body["username"] = "susan"
    assert_error(client.post(path, json=body), 422, "Unprocessable Entity", field)
    assert hashed == []


# ------------------------------------------------------------ reset timing


def test_a_reset_request_answers_before_the_account_is_looked_up(client, monkeypatch):
    """The lookup and the mail run after the response, for known and unknown
    addresses alike: the answer's timing cannot tell whether an account exists."""
    from functions.api.routers import password

    order = []
    real = password.mail_reset_link
    monkeypatch.setattr(
        password, "mail_reset_link", lambda *a: order.append("looked up") or real(*a)
    )
    register(client)
    for email in ("susan@example.com", "nobody@example.com"):
        order.clear()
        response = client.post("/api/reset_password_request", json={"email": email})
        assert response.status_code == 202
        assert order == ["looked up"]  # as a background task, after the response


def test_on_lambda_a_reset_request_lasts_as_long_for_any_address(client, settings, monkeypatch):
    """Mangum answers after the background tasks: there each request takes
    the floor, known address (a mail sent) or not."""
    import time

    from fastapi.testclient import TestClient

    from functions.api.routers import password

    monkeypatch.setattr(password, "LAMBDA_RESET_FLOOR", 0.5)

    async def on_lambda(scope, receive, send):  # what Mangum adds to the scope
        await client.app({**scope, "aws.event": {}}, receive, send)

    register(client)
    with TestClient(on_lambda) as lambda_client:
        for email in ("susan@example.com", "nobody@example.com"):
            started = time.monotonic()
            answer = lambda_client.post("/api/reset_password_request", json={"email": email})
            assert answer.status_code == 202
            assert time.monotonic() - started >= 0.5
    assert len(list((settings.var_dir / "outbox").glob("*.eml"))) == 1


# ------------------------------------------------------------ credential changes


def test_changing_the_email_needs_the_current_password(client, me):
    path = f"/api/users/{me['id']}"
    missing = client.put(path, json={"email": "evil@example.com"})
    assert_error(missing, 422, "Unprocessable Entity", "current_password")
    wrong = client.put(path, json={"email": "evil@example.com", "current_password": "guess-1234"})
    assert_error(wrong, 403, "Forbidden", "current_password")
    assert client.get("/api/me").json()["email"] == "susan@example.com"
    same = client.put(path, json={"email": "susan@example.com", "about_me": "hi"})
    assert same.status_code == 200  # the same address is no change: no password needed
    ok = client.put(path, json={"email": "new@example.com", "current_password": "cat-and-dog"})
    assert ok.status_code == 200 and ok.json()["email"] == "new@example.com"
    assert client.get("/api/me").json()["email"] == "new@example.com"  # a fresh session


def test_changing_the_email_spends_reset_links_sent_to_the_old_one(client, me):
    app = client.app_state.microblog
    token = app.reset_token(app.store.get_user(me["id"]))
    change = {"email": "new@example.com", "current_password": "cat-and-dog"}
    assert client.put(f"/api/users/{me['id']}", json=change).status_code == 200
    reset = {"token": token, "password": "taken-over!"}
    assert_error(client.post("/api/reset_password", json=reset), 400, "Bad Request")
    assert login(client).status_code == 200


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(client, me):
    from fastapi.testclient import TestClient

    other = TestClient(client.app, raise_server_exceptions=False)
    assert login(other).status_code == 200
    path = f"/api/users/{me['id']}"
    wrong = client.put(path, json={"password": "new-secret-1", "current_password": "nope-nope"})
    assert_error(wrong, 403, "Forbidden", "current_password")
    change = {"password": "new-secret-1", "current_password": "cat-and-dog"}
    assert client.put(path, json=change).status_code == 200
    assert client.get("/api/me").status_code == 200  # this browser got a new cookie
    assert other.get("/api/me").status_code == 401  # the other session ended
    assert login(client, password="new-secret-1").status_code == 200
    assert_error(login(client), 401, "Unauthorized")
    other.close()


def test_guessing_the_current_password_is_throttled_like_a_login(client, me):
    from functions import services

    path = f"/api/users/{me['id']}"
    for n in range(services.LOGIN_PAIR.attempts):
        guess = {"email": "evil@example.com", "current_password": f"guess-{n:04}"}
        assert client.put(path, json=guess).status_code == 403
    right = {"email": "evil@example.com", "current_password": "cat-and-dog"}
    assert_error(client.put(path, json=right), 429, "Too Many Requests")


# ------------------------------------------------------------ secrets in logs and at rest


def test_the_reset_link_keeps_its_token_out_of_request_logs(client, settings, caplog):
    """The token is in the link's fragment, which no browser sends: the page
    request the link makes, as logged, holds no token."""
    import email
    from email import policy

    register(client)
    client.post("/api/reset_password_request", json={"email": "susan@example.com"})
    [path] = (settings.var_dir / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    link = next(
        line for line in message.get_body(("plain",)).get_content().split() if "token" in line
    )
    address, _, fragment = link.partition("#")
    assert fragment.startswith("token=") and "token" not in address


def test_run_data_is_owner_only(client, settings):
    register(client)
    client.post("/api/reset_password_request", json={"email": "susan@example.com"})
    var = settings.var_dir
    assert var.stat().st_mode & 0o077 == 0, oct(var.stat().st_mode)
    for path in [*var.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_the_access_log_redacts_tokens_in_addresses(caplog):
    from functions.local import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/reset-password/?token=abc.def.ghi&x=1", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert "abc.def.ghi" not in record.getMessage() and "token=[redacted]" in record.getMessage()


def test_a_forwarded_host_is_not_believed_without_a_configured_proxy(client, me):
    """X-Forwarded-Host names the origin a trusted proxy was called at; from
    anyone else it could make a foreign Origin look like our own."""
    forged = {"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}
    response = client.post("/api/posts", json={"body": "forged"}, headers=forged)
    assert_error(response, 403, "Forbidden")
    client.app_state.trust_forwarded = True  # FORWARDED_ALLOW_IPS names the proxy
    assert client.post("/api/posts", json={"body": "proxied"}, headers=forged).status_code == 201
