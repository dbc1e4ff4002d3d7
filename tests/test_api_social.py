"""The social API: follows, feeds, user collections, editing, deleting."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from functions import urls
from tests.test_api import assert_error


@pytest.fixture
def login_as(client):
    """A logged-in client per user, all on the same app."""
    clients = []

    def make(name: str) -> tuple[TestClient, dict]:
        http = TestClient(client.app, raise_server_exceptions=False)
        clients.append(http)
        user = http.post(
            "/api/users",
            json={"username": name, "email": f"{name}@example.com", "password": "password1"},
        ).json()
        assert http.post(
            "/api/session", json={"username": name, "password": "password1"}
        ).is_success
        return http, user

    yield make
    for http in clients:
        http.close()


def walk(http, url: str) -> list[dict]:
    items = []
    while url:
        body = http.get(url).json()
        items.extend(body["items"])
        url = body["_links"]["next"]
    return items


def post(http, body: str) -> dict:
    response = http.post("/api/posts", json={"body": body})
    assert response.status_code == 201
    return response.json()


# ------------------------------------------------------------ follows


def test_follow_and_unfollow_are_idempotent_and_update_counts(login_as, settings):
    ann, _ann_user = login_as("ann")
    _, bob = login_as("bob")
    for _ in range(2):
        response = ann.post(f"/api/users/{bob['id']}/follow")
        assert response.status_code == 204 and response.content == b""
    assert ann.get(f"/api/users/{bob['id']}").json()["follower_count"] == 1
    assert ann.get("/api/me").json()["followed_count"] == 1
    profile = (settings.site_dir / "u/bob/index.html").read_text()
    assert '<span class="follower-count">1</span> follower,' in profile
    for _ in range(2):
        assert ann.delete(f"/api/users/{bob['id']}/follow").status_code == 204
    assert ann.get(f"/api/users/{bob['id']}").json()["follower_count"] == 0
    assert (
        '<span class="follower-count">0</span>'
        in (settings.site_dir / "u/bob/index.html").read_text()
    )


def test_a_user_says_whether_the_caller_follows_them(login_as, client):
    ann, ann_user = login_as("ann")
    bob, bob_user = login_as("bob")
    url = f"/api/users/{bob_user['id']}"
    assert ann.get(url).json()["is_following"] is False
    ann.post(url + "/follow")
    assert ann.get(url).json()["is_following"] is True
    assert bob.get(f"/api/users/{ann_user['id']}").json()["is_following"] is False
    assert "is_following" not in bob.get(url).json()  # oneself
    assert "is_following" not in client.get(url).json()  # anonymous
    ann.delete(url + "/follow")
    assert ann.get(url).json()["is_following"] is False


def test_following_oneself_is_a_400(login_as):
    ann, user = login_as("ann")
    body = assert_error(ann.post(f"/api/users/{user['id']}/follow"), 400, "Bad Request")
    assert body["message"] == "You cannot follow yourself!"


def test_following_needs_a_login_and_an_existing_user(login_as, client):
    ann, _ = login_as("ann")
    _, bob = login_as("bob")
    assert_error(ann.post("/api/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/follow"), 404, "Not Found")
    client.cookies.clear()
    assert_error(client.post(f"/api/users/{bob['id']}/follow"), 401, "Unauthorized")


# ------------------------------------------------------------ feeds


def test_the_tutorials_followed_posts_through_http(login_as):
    people = {name: login_as(name) for name in ("john", "susan", "mary", "david")}
    posts = {name: post(http, f"post from {name}") for name, (http, _) in people.items()}

    def follow(a: str, b: str) -> None:
        http, _ = people[a]
        assert http.post(f"/api/users/{people[b][1]['id']}/follow").status_code == 204

    follow("john", "susan")
    follow("john", "david")
    follow("susan", "mary")
    follow("mary", "david")

    def feed(name: str) -> list[str]:
        return [item["id"] for item in walk(people[name][0], "/api/feed?per_page=2")]

    ids = {name: p["id"] for name, p in posts.items()}
    assert feed("john") == [ids["david"], ids["susan"], ids["john"]]
    assert feed("susan") == [ids["mary"], ids["susan"]]
    assert feed("mary") == [ids["david"], ids["mary"]]
    assert feed("david") == [ids["david"]]


def test_feed_items_carry_the_shared_partial_html(login_as):
    ann, _ = login_as("ann")
    created = post(ann, "Hello *feed*")
    item = ann.get("/api/feed").json()["items"][0]
    assert item == created
    assert set(item) == {"id", "body", "body_html", "language", "timestamp", "author", "html"}
    assert item["author"]["username"] == "ann"


def test_the_feed_needs_a_login(client):
    assert_error(client.get("/api/feed"), 401, "Unauthorized")


def test_explore_walks_every_post_once_newest_first(login_as, client):
    ann, _ = login_as("ann")
    bob, _ = login_as("bob")
    made = [post(ann if n % 2 else bob, f"post {n}")["id"] for n in range(7)]
    client.cookies.clear()
    first = client.get("/api/explore?per_page=3").json()
    assert first["_meta"] == {"per_page": 3, "next_cursor": first["_meta"]["next_cursor"]}
    assert first["_links"]["prev"] is None
    assert first["_links"]["self"] == "/api/explore?per_page=3"
    second = client.get(first["_links"]["next"]).json()
    assert second["_links"]["prev"] == "/api/explore?per_page=3"
    assert [item["id"] for item in walk(client, "/api/explore?per_page=3")] == made[::-1]


@pytest.mark.parametrize("path", ["/api/explore?per_page=2", "/api/feed?per_page=2"])
def test_paging_on_while_someone_posts_shows_every_post_once_in_order(login_as, path):
    """Cursors continue after the last item seen, so a new post (which shifts
    page-number archives by one) repeats nothing on the next page."""
    ann, _ = login_as("ann")
    made = [post(ann, f"post {n}")["id"] for n in range(7)]
    seen, url = [], path
    while url:
        page = ann.get(url).json()
        seen += [item["id"] for item in page["items"]]
        post(ann, "meanwhile")
        url = page["_links"]["next"]
    assert seen == made[::-1]


def test_a_bad_cursor_or_page_size_is_refused(client):
    assert_error(client.get("/api/explore?cursor=nonsense"), 400, "Bad Request")
    assert_error(client.get("/api/explore?per_page=0"), 422, "Unprocessable Entity")
    assert_error(client.get("/api/explore?per_page=101"), 422, "Unprocessable Entity")


# ------------------------------------------------------------ user collections


def test_users_followers_and_followed_collections(login_as):
    star, star_user = login_as("star")
    fans = [login_as(f"fan{n}") for n in range(5)]
    for http, _ in fans:
        http.post(f"/api/users/{star_user['id']}/follow")
    followers = star.get(f"/api/users/{star_user['id']}/followers?per_page=2").json()
    assert followers["_meta"]["total_items"] == 5 and len(followers["items"]) == 2
    everyone = walk(star, f"/api/users/{star_user['id']}/followers?per_page=2")
    assert [u["username"] for u in everyone] == [f"fan{n}" for n in reversed(range(5))]
    assert all("email" not in u for u in everyone)
    followed = star.get(f"/api/users/{fans[0][1]['id']}/followed").json()
    assert [u["id"] for u in followed["items"]] == [star_user["id"]]
    users = walk(star, "/api/users?per_page=4")
    assert len(users) == 6
    assert next(u for u in users if u["id"] == star_user["id"])["email"] == "star@example.com"
    assert_error(star.get("/api/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/followers"), 404, "Not Found")


# ------------------------------------------------------------ editing and deleting


def test_edit_profile_changes_the_static_page_and_leaves_a_redirect(login_as, settings):
    ann, user = login_as("ann")
    post(ann, "before the rename")
    response = ann.put(f"/api/users/{user['id']}", json={"username": "annie", "about_me": "Hi!"})
    assert response.status_code == 200
    assert response.json()["username"] == "annie" and response.json()["about_me"] == "Hi!"
    page = (settings.site_dir / "u/annie/index.html").read_text()
    assert "User: annie" in page and "Hi!" in page and "before the rename" in page
    old = (settings.site_dir / "u/ann/index.html").read_text()
    assert f"url={urls.user_page('annie')}" in old


def test_edit_profile_checks_its_fields(login_as):
    ann, user = login_as("ann")
    _, bob = login_as("bob")
    assert_error(
        ann.put(f"/api/users/{user['id']}", json={"username": "BOB"}), 409, "Conflict", "username"
    )
    assert_error(
        ann.put(f"/api/users/{user['id']}", json={"about_me": "x" * 141}),
        422,
        "Unprocessable Entity",
        "about_me",
    )
    assert_error(ann.put(f"/api/users/{bob['id']}", json={"about_me": "hacked"}), 403, "Forbidden")
    assert ann.get(f"/api/users/{bob['id']}").json()["about_me"] == ""


def test_delete_post_removes_it_from_the_site(login_as, settings):
    ann, _ = login_as("ann")
    bob, _ = login_as("bob")
    keep, gone = post(ann, "keep me"), post(ann, "delete me")
    permalink = settings.site_dir / urls.output_path(urls.post_page(gone["id"]))
    assert permalink.exists()
    assert_error(bob.delete(f"/api/posts/{gone['id']}"), 403, "Forbidden")
    assert ann.delete(f"/api/posts/{gone['id']}").status_code == 204
    assert not permalink.exists()
    profile = (settings.site_dir / "u/ann/index.html").read_text()
    assert "delete me" not in profile and "keep me" in profile
    assert_error(ann.delete(f"/api/posts/{gone['id']}"), 404, "Not Found")
    assert ann.get(f"/api/posts/{keep['id']}").status_code == 200
