"""Export your posts over HTTP (the local stack): start -> 202, one at a time
(409), the progress read, the mail with posts.json, errors as envelopes."""

from __future__ import annotations

import email
import json
import time
from datetime import timedelta
from email import policy

import pytest

from functions.domain import TASK_STALE, utcnow
from functions.exports import EXPORT_POSTS
from tests.test_api import assert_error, login, register

START, CURRENT = "/api/exports", "/api/exports/current"


class Held:
    """A runner that keeps every task it is given running (no job runs), so
    a test sees a task in progress for as long as it likes."""

    def __init__(self):
        self.tasks = []

    def start(self, task, language):
        self.tasks.append(task)


class Broken:
    def start(self, task, language):
        raise ConnectionError("Lambda is unreachable")


@pytest.fixture
def susan(client):
    user = register(client).json()
    assert login(client).status_code == 200
    return user


@pytest.fixture
def held(client):
    runner = Held()
    client.app_state.task_runner = runner
    return runner


def mails(outbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def wait_until_over(client, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        task = client.get(CURRENT).json()
        if not task["running"] or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def test_an_export_answers_202_at_once_and_mails_the_posts(client, susan, settings):
    for body in ("first post", "second *post*"):
        assert client.post("/api/posts", json={"body": body}).status_code == 201
    response = client.post(START)
    assert response.status_code == 202
    assert response.headers["location"] == CURRENT
    task = response.json()
    assert task["name"] == EXPORT_POSTS and task["description"] == "Exporting posts..."
    assert task["complete"] is False and task["running"] is True and task["error"] is None
    done = wait_until_over(client)
    assert done["id"] == task["id"]
    assert done["complete"] is True and done["progress"] == 100 and done["error"] is None
    [message] = mails(settings.var_dir / "outbox")
    assert message["To"] == "susan@example.com"
    assert message["Subject"] == "[Microblog] Your blog posts"
    text = message.get_body(("plain",)).get_content()
    assert "Please find attached the archive of your posts that you requested." in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "posts.json"
    assert attachment.get_content_type() == "application/json"
    posts = json.loads(attachment.get_content())["posts"]
    assert [p["body"] for p in posts] == ["first post", "second *post*"]  # oldest first


def test_a_second_export_while_one_runs_is_a_409(client, susan, held):
    first = client.post(START)
    assert first.status_code == 202
    body = assert_error(client.post(START), 409, "Conflict")
    assert body["message"] == "An export task is currently in progress"
    assert len(held.tasks) == 1
    assert client.get(CURRENT).json()["id"] == first.json()["id"]


def test_the_progress_read_shows_the_running_task(client, susan, held):
    assert_error(client.get(CURRENT), 404, "Not Found")  # none yet
    task = client.post(START).json()
    store = client.app_state.microblog.store
    stored = store.get_task(susan["id"], EXPORT_POSTS)
    store.update_task(stored.replace(progress=42, updated=utcnow()))
    current = client.get(CURRENT).json()
    assert (current["id"], current["progress"], current["running"]) == (task["id"], 42, True)


def test_a_dead_export_no_longer_blocks_a_new_one(client, susan, held):
    client.post(START)
    store = client.app_state.microblog.store
    stored = store.get_task(susan["id"], EXPORT_POSTS)
    crashed = utcnow() - TASK_STALE - timedelta(seconds=1)
    store.update_task(stored.replace(progress=30, updated=crashed))  # its job died then
    assert client.get(CURRENT).json()["running"] is False
    again = client.post(START)
    assert again.status_code == 202 and again.json()["id"] != stored.id


def test_a_runner_that_fails_is_a_503_and_blocks_nothing(client, susan):
    client.app_state.task_runner = Broken()
    body = assert_error(client.post(START), 503, "Service Unavailable")
    assert "could not be started" in body["message"]
    current = client.get(CURRENT).json()
    assert current["complete"] is True and current["error"] and current["running"] is False
    client.app_state.task_runner = Held()
    assert client.post(START).status_code == 202


def test_exports_are_for_signed_in_users_only(client):
    assert_error(client.post(START), 401, "Unauthorized")
    assert_error(client.get(CURRENT), 401, "Unauthorized")


def test_a_cross_site_start_is_refused(client, susan, held):
    response = client.post(START, headers={"Origin": "https://evil.example"})
    assert_error(response, 403, "Forbidden")
    assert held.tasks == []


def test_the_exports_are_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    start = schema["paths"]["/api/exports"]["post"]
    assert set(start["responses"]) >= {"202", "401", "409", "503"}
    assert start["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskOut"
    }
    assert "/api/exports/current" in schema["paths"]
    assert {"progress", "running", "complete"} <= set(
        schema["components"]["schemas"]["TaskOut"]["properties"]
    )
