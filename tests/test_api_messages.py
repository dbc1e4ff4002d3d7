"""The messages API: send, list, privacy, unread count, mark read, notifications,
errors in the envelope, concurrency; on the API over each store."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from functions.domain import MESSAGE_MAX
from tests.conftest import undocumented_statuses
from tests.test_api import assert_error


@pytest.fixture
def api(store, settings, cheap_hash):
    """The API app (as the Lambda function and the local server make it) over
    a fresh store of each kind; every status it answers must be documented."""
    from functions.wiring import create_api

    app = create_api(settings, store=store)
    undocumented = undocumented_statuses(app)
    yield app
    assert not undocumented, f"statuses missing from the OpenAPI schema: {undocumented}"


@pytest.fixture
def login_as(api):
    """A logged-in client per user, all on the same app."""
    clients = []

    def make(name: str) -> tuple[TestClient, dict]:
        http = TestClient(api, raise_server_exceptions=False)
        clients.append(http)
        user = http.post(
            "/api/users",
            json={"username": name, "email": f"{name}@example.com", "password": "password1"},
        ).json()
        session = {"username": name, "password": "password1"}
        assert http.post("/api/session", json=session).is_success
        return http, user

    yield make
    for http in clients:
        http.close()


@pytest.fixture
def ann(login_as):
    return login_as("ann")


@pytest.fixture
def bob(login_as):
    return login_as("bob")


def send(http: TestClient, recipient: str, body: str = "Hi!"):
    return http.post("/api/messages", json={"recipient": recipient, "body": body})


def unread(http: TestClient) -> int | None:
    counts = [n["data"] for n in http.get("/api/notifications").json()]
    return counts[0] if counts else None


def test_a_sent_message_answers_201_with_sender_and_recipient(ann, bob):
    (ann_http, ann_user), (_, bob_user) = ann, bob
    response = send(ann_http, "bob", "  Hello, <b>Bob</b>!  ")
    assert response.status_code == 201
    message = response.json()
    assert message["body"] == "Hello, <b>Bob</b>!"  # plain text, stripped, kept as typed
    assert message["sender"]["id"] == ann_user["id"]
    assert message["recipient"] == {
        "id": bob_user["id"],
        "username": "bob",
        "avatar": message["recipient"]["avatar"],
    }
    assert message["timestamp"].endswith("Z")


def test_the_recipient_lists_messages_newest_first_with_their_senders(ann, bob):
    (ann_http, _), (bob_http, _) = ann, bob
    for n in range(3):
        send(ann_http, "bob", f"message {n}")
    page = bob_http.get("/api/messages", params={"per_page": 2}).json()
    assert [m["body"] for m in page["items"]] == ["message 2", "message 1"]
    assert page["items"][0]["sender"]["username"] == "ann"
    rest = bob_http.get(page["_links"]["next"]).json()
    assert [m["body"] for m in rest["items"]] == ["message 0"]
    assert rest["_links"]["next"] is None and rest["_links"]["prev"]


def test_nobody_else_sees_a_message(ann, bob, login_as):
    (ann_http, _), (bob_http, _) = ann, bob
    carl_http, _ = login_as("carl")
    send(ann_http, "bob", "for Bob only")
    assert carl_http.get("/api/messages").json()["items"] == []
    assert ann_http.get("/api/messages").json()["items"] == []  # the sender's inbox
    assert unread(carl_http) is None and unread(ann_http) is None
    anonymous = TestClient(bob_http.app, raise_server_exceptions=False)
    assert_error(anonymous.get("/api/messages"), 401, "Unauthorized")
    assert_error(anonymous.get("/api/notifications"), 401, "Unauthorized")
    assert_error(send(anonymous, "bob"), 401, "Unauthorized")


def test_the_unread_count_grows_with_sends_and_clears_when_read(ann, bob):
    (ann_http, _), (bob_http, _) = ann, bob
    assert bob_http.get("/api/notifications").json() == []
    send(ann_http, "bob")
    send(ann_http, "bob")
    [note] = bob_http.get("/api/notifications").json()
    assert note["name"] == "unread_message_count" and note["data"] == 2
    listed = bob_http.get("/api/messages").json()["items"]
    assert len(listed) == 2 and unread(bob_http) == 2  # listing marks nothing
    assert bob_http.post("/api/messages/read").status_code == 204
    assert unread(bob_http) == 0
    assert len(bob_http.get("/api/messages").json()["items"]) == 2  # read, not gone


def test_notifications_since_a_timestamp_are_only_the_newer_ones(ann, bob):
    (ann_http, _), (bob_http, _) = ann, bob
    send(ann_http, "bob")
    [first] = bob_http.get("/api/notifications").json()
    since = {"since": first["timestamp"]}
    assert bob_http.get("/api/notifications", params=since).json() == []
    send(ann_http, "bob")
    [second] = bob_http.get("/api/notifications", params=since).json()
    assert second["data"] == 2 and second["timestamp"] > first["timestamp"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * (MESSAGE_MAX + 1), f"Field must be between 0 and {MESSAGE_MAX} characters long."),
    ],
)
def test_a_message_must_have_1_to_140_characters(ann, bob, body, message):
    (ann_http, _), (bob_http, _) = ann, bob
    error = assert_error(send(ann_http, "bob", body), 422, "Unprocessable Entity", "body")
    assert error["fields"]["body"] == message
    assert bob_http.get("/api/messages").json()["items"] == [] and unread(bob_http) is None


def test_140_characters_are_allowed(ann, bob):
    (ann_http, _), _ = ann, bob
    assert send(ann_http, "bob", "x" * MESSAGE_MAX).status_code == 201


def test_errors_are_envelopes(ann):
    ann_http, _ = ann
    body = assert_error(send(ann_http, "nobody"), 404, "Not Found")
    assert body["message"] == "User not found."
    body = assert_error(send(ann_http, "ann"), 400, "Bad Request")
    assert body["message"] == "You cannot send a message to yourself!"
    assert_error(send(ann_http, "x" * 65), 422, "Unprocessable Entity", "recipient")
    response = ann_http.post("/api/messages", json={"recipient": "ann"})
    assert_error(response, 422, "Unprocessable Entity", "body")
    response = ann_http.post("/api/messages", json={"recipient": "a", "body": "b", "extra": 1})
    assert_error(response, 422, "Unprocessable Entity", "extra")
    assert_error(ann_http.get("/api/messages", params={"cursor": "bad"}), 400, "Bad Request")
    response = ann_http.get("/api/notifications", params={"since": "yesterday"})
    assert_error(response, 422, "Unprocessable Entity", "since")
    response = ann_http.get("/api/notifications", params={"since": -1})
    assert_error(response, 422, "Unprocessable Entity", "since")


def test_a_cross_site_send_is_refused(ann, bob):
    (ann_http, _), _ = ann, bob
    response = ann_http.post(
        "/api/messages",
        json={"recipient": "bob", "body": "forged"},
        headers={"Origin": "https://evil.example"},
    )
    assert_error(response, 403, "Forbidden")


def test_concurrent_sends_and_reads_lose_no_message_and_leave_the_right_count(ann, bob, login_as):
    (_, _), (bob_http, _) = ann, bob
    senders = [login_as(f"sender{n}")[0] for n in range(4)]
    per_sender, reads = 5, 6
    barrier = threading.Barrier(len(senders) + 1)

    def act(k: int) -> None:
        barrier.wait()
        if k < len(senders):
            for n in range(per_sender):
                assert send(senders[k], "bob", f"{k}.{n}").status_code == 201
        else:
            for _ in range(reads):
                assert bob_http.post("/api/messages/read").status_code == 204

    with ThreadPoolExecutor(len(senders) + 1) as pool:
        list(pool.map(act, range(len(senders) + 1)))
    total = len(senders) * per_sender
    listed = bob_http.get("/api/messages", params={"per_page": 100}).json()["items"]
    assert sorted(m["body"] for m in listed) == sorted(
        f"{k}.{n}" for k in range(len(senders)) for n in range(per_sender)
    )
    assert 0 <= unread(bob_http) <= total
    bob_http.post("/api/messages/read")
    assert unread(bob_http) == 0
    send(senders[0], "bob")
    assert unread(bob_http) == 1


def test_the_routes_are_in_the_openapi_schema(api):
    schema = TestClient(api).get("/api/openapi.json").json()
    assert set(schema["paths"]["/api/messages"]) == {"get", "post"}
    assert "post" in schema["paths"]["/api/messages/read"]
    assert "get" in schema["paths"]["/api/notifications"]
    models = schema["components"]["schemas"]
    assert {"NewMessage", "MessageOut", "MessageCollection", "NotificationOut"} <= set(models)
    answer = schema["paths"]["/api/notifications"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Notifications"
    }
    assert models["Notifications"]["items"] == {"$ref": "#/components/schemas/NotificationOut"}
