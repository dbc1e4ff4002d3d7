"""API tokens (HTTP Basic in, Bearer out) and the CSRF guard on cookie sessions."""

from __future__ import annotations

import pytest

from tests.test_api import assert_error, login, register

SAME = {"Origin": "http://testserver"}
FOREIGN = {"Origin": "https://evil.example"}


@pytest.fixture
def token(client):
    register(client)
    client.cookies.clear()
    response = client.post("/api/tokens", auth=("susan", "cat-and-dog"))
    assert response.status_code == 200
    return response.json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_works_as_bearer_on_every_endpoint(client, token):
    assert client.get("/api/me", headers=bearer(token)).json()["username"] == "susan"
    created = client.post("/api/posts", json={"body": "by token"}, headers=bearer(token))
    assert created.status_code == 201


def test_wrong_credentials_get_no_token(client):
    register(client)
    client.cookies.clear()
    response = client.post("/api/tokens", auth=("susan", "wrong-password"))
    assert_error(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"] == "Basic"
    assert_error(client.post("/api/tokens"), 401, "Unauthorized")


def test_revoking_ends_the_token(client, token):
    assert client.delete("/api/tokens", headers=bearer(token)).status_code == 204
    assert_error(client.get("/api/me", headers=bearer(token)), 401, "Unauthorized")


def test_a_cookie_write_from_a_foreign_origin_is_refused(client):
    register(client)
    login(client)
    body = assert_error(
        client.post("/api/posts", json={"body": "forged"}, headers=FOREIGN), 403, "Forbidden"
    )
    assert body["message"] == "Cross-site request refused."
    assert client.get("/api/me").json()["post_count"] == 0
    assert client.post("/api/posts", json={"body": "mine"}, headers=SAME).status_code == 201
    assert client.post("/api/posts", json={"body": "curl"}).status_code == 201


def test_a_cross_site_fetch_without_origin_is_refused(client):
    register(client)
    login(client)
    response = client.post(
        "/api/posts", json={"body": "forged"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert_error(response, 403, "Forbidden")


def test_login_from_a_foreign_origin_is_refused(client):
    register(client)
    client.cookies.clear()
    response = client.post(
        "/api/session", json={"username": "susan", "password": "cat-and-dog"}, headers=FOREIGN
    )
    assert_error(response, 403, "Forbidden")
    assert "set-cookie" not in response.headers


def test_the_sites_public_address_counts_as_own_origin(client):
    register(client)
    login(client)
    headers = {"Origin": "http://127.0.0.1:8000"}  # SITE_URL's default
    assert client.post("/api/posts", json={"body": "ok"}, headers=headers).status_code == 201


def test_bearer_calls_are_not_bound_to_the_origin(client, token):
    response = client.post("/api/posts", json={"body": "app"}, headers=bearer(token) | FOREIGN)
    assert response.status_code == 201
