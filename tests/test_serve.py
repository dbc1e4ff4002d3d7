"""The walking skeleton end to end: a real `build.py serve` on 127.0.0.1,
driven over HTTP as a person with curl would, on each store; data survives
a restart."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.server import serving


@pytest.fixture(params=["sqlite", "dynamodb"])
def stack_env(request, tmp_path):
    env = {"VAR_DIR": str(tmp_path / "var"), "SITE_DIR": str(tmp_path / "site"), "STORE": "sqlite"}
    if request.param == "dynamodb":
        env.update(
            STORE="dynamodb",
            TABLE_NAME=f"serve-{uuid.uuid4().hex[:10]}",
            AWS_ENDPOINT_URL_DYNAMODB=request.getfixturevalue("dynamodb_endpoint"),
        )
    return env


def test_register_login_post_and_see_it_on_the_profile_across_a_restart(stack_env, tmp_path):
    log = tmp_path / "serve.log"
    with serving(stack_env, log) as base, httpx.Client(base_url=base) as http:
        assert http.get("/").status_code == 200
        created = http.post(
            "/api/users",
            json={"username": "mary", "email": "mary@example.com", "password": "little-lamb"},
        )
        assert created.status_code == 201, created.text
        session = http.post("/api/session", json={"username": "mary", "password": "little-lamb"})
        assert session.status_code == 200
        post = http.post("/api/posts", json={"body": "Mary had a *little* lamb"})
        assert post.status_code == 201, post.text
        profile = http.get("/u/mary/")
        assert profile.status_code == 200
        assert "Mary had a <em>little</em> lamb" in profile.text
        assert "1 post" in profile.text
        cookie = http.cookies["session"]

    with serving(stack_env, log) as base, httpx.Client(base_url=base) as http:
        profile = http.get("/u/mary/")
        assert "Mary had a <em>little</em> lamb" in profile.text
        # the secret key survived too: yesterday's cookie still logs in
        http.cookies.set("session", cookie)
        me = http.get("/api/me")
        assert me.status_code == 200 and me.json()["post_count"] == 1
        again = http.post("/api/session", json={"username": "mary", "password": "little-lamb"})
        assert again.status_code == 200
