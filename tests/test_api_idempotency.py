"""POST /api/posts with an Idempotency-Key: a retried request never posts twice."""

from __future__ import annotations

import pytest

from tests.test_api import assert_error, susan  # noqa: F401  (a fixture)


def post(client, body: str, key: str | None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/posts", json={"body": body}, headers=headers)


def test_a_retried_post_answers_with_the_first_post(client, susan):  # noqa: F811
    first = post(client, "Hello once", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d")
    again = post(client, "Hello once", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    items = client.get("/api/explore").json()["items"]
    assert [item["body_html"] for item in items] == ["<p>Hello once</p>"]


def test_without_a_key_two_posts_are_two(client, susan):  # noqa: F811
    assert post(client, "twice", None).json()["id"] != post(client, "twice", None).json()["id"]


def test_a_key_reused_for_another_body_is_a_422(client, susan):  # noqa: F811
    post(client, "one thing", "key-1")
    body = assert_error(post(client, "another", "key-1"), 422, "Unprocessable Entity")
    assert "Idempotency-Key" in body["message"] or "Idempotency-Key" in body.get("fields", {})


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
def test_a_malformed_key_is_a_422(client, susan, key):  # noqa: F811
    response = post(client, "hi", key)
    assert response.status_code == 422 and response.json()["error"]
    assert client.get("/api/explore").json()["items"] == []
