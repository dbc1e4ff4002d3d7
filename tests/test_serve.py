"""The walking skeleton end to end: a real `build.py serve` on 127.0.0.1,
driven over HTTP as a person with curl would, on each store; data survives
a restart."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

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


def test_concurrent_posts_and_follows_are_all_kept_on_the_api_and_the_site(stack_env, tmp_path):
    """Six people post and follow each other at once, over real HTTP: nothing
    is lost, neither in the store nor on the static pages rebuilt meanwhile."""
    names = [f"user{n}" for n in range(6)]
    posts_each = 4
    with serving(stack_env, tmp_path / "serve.log") as base:
        clients = {name: httpx.Client(base_url=base, timeout=60) for name in names}
        try:
            ids = {}
            for name, http in clients.items():
                new = {"username": name, "email": f"{name}@example.com", "password": "pass-word"}
                ids[name] = http.post("/api/users", json=new).json()["id"]
                login = {"username": name, "password": "pass-word"}
                assert http.post("/api/session", json=login).is_success

            def act(name: str) -> list[int]:
                http, statuses = clients[name], []
                others = [other for other in names if other != name]
                for n in range(max(posts_each, len(others))):
                    if n < posts_each:
                        posted = http.post("/api/posts", json={"body": f"{name} #{n}"})
                        statuses.append(posted.status_code)
                    if n < len(others):
                        followed = http.post(f"/api/users/{ids[others[n]]}/follow")
                        statuses.append(followed.status_code)
                return statuses

            with ThreadPoolExecutor(len(names)) as pool:
                results = list(pool.map(act, names))
            assert {status for statuses in results for status in statuses} <= {201, 204}

            http = clients[names[0]]
            explore, url = [], "/api/explore"
            while url:
                page = http.get(url).json()
                explore += [item["body"] for item in page["items"]]
                url = page["_links"]["next"]
            assert sorted(explore) == sorted(f"{n} #{k}" for n in names for k in range(posts_each))
            feed = http.get("/api/feed", params={"per_page": 100}).json()["items"]
            assert len(feed) == len(names) * posts_each  # everyone else's and one's own

            for name in names:
                user = http.get(f"/api/users/{ids[name]}").json()
                counts = user["post_count"], user["follower_count"], user["followed_count"]
                assert counts == (posts_each, len(names) - 1, len(names) - 1), name
                profile = http.get(f"/u/{name}/").text
                others = len(names) - 1
                assert f'"follower-count">{others}</span> followers' in profile
                assert f'"followed-count">{others}</span> following' in profile
                assert f"{posts_each} posts" in profile
                for k in range(posts_each):
                    assert f"{name} #{k}" in profile
        finally:
            for http in clients.values():
                http.close()
