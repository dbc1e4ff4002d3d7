"""The HTTP API of the skeleton slice: register, session, me, posts, errors."""

from __future__ import annotations

import re

import jwt
import pytest

from functions import auth

SUSAN = {"username": "susan", "email": "susan@example.com", "password": "cat-and-dog"}


def register(client, **fields):
    return client.post("/api/users", json={**SUSAN, **fields})


def login(client, remember_me=False, **fields):
    body = {"username": "susan", "password": "cat-and-dog", "remember_me": remember_me}
    return client.post("/api/session", json={**body, **fields})


@pytest.fixture
def susan(client):
    """A registered, logged-in susan (the session cookie is in the client)."""
    user = register(client).json()
    assert login(client).status_code == 200
    return user


def assert_error(response, status: int, phrase: str, field: str | None = None):
    assert response.status_code == status
    body = response.json()
    assert body["error"] == phrase
    assert body["message"]
    assert "Traceback" not in response.text
    if field:
        assert field in body["fields"]
    return body


# ------------------------------------------------------------ register


def test_register_answers_201_with_the_user_and_its_location(client):
    response = register(client)
    assert response.status_code == 201
    user = response.json()
    assert response.headers["location"] == f"/api/users/{user['id']}"
    assert user["username"] == "susan" and user["email"] == "susan@example.com"
    assert user["post_count"] == user["follower_count"] == user["followed_count"] == 0
    assert user["_links"]["self"] == f"/api/users/{user['id']}"
    assert user["_links"]["avatar"].startswith("https://www.gravatar.com/avatar/")
    assert "password" not in response.text and "password_hash" not in response.text
    assert client.get(response.headers["location"]).json()["username"] == "susan"


def test_another_user_does_not_see_the_email(client, susan):
    client.cookies.clear()
    other = client.get(f"/api/users/{susan['id']}").json()
    assert other["username"] == "susan" and "email" not in other


def test_register_refuses_a_taken_username_ignoring_case(client):
    register(client)
    body = assert_error(
        register(client, username="SUSAN", email="x@example.com"), 409, "Conflict", "username"
    )
    assert body["message"] == "Please use a different username."


def test_register_refuses_a_taken_email_ignoring_case(client):
    register(client)
    assert_error(
        register(client, username="sue", email="SUSAN@example.com"), 409, "Conflict", "email"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 33}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
    ],
)
def test_register_reports_invalid_fields(client, fields, field):
    assert_error(register(client, **fields), 422, "Unprocessable Entity", field)


def test_register_names_every_invalid_field_at_once(client):
    response = register(client, username="ab", email="not-an-email", password="short")
    body = assert_error(response, 422, "Unprocessable Entity")
    assert set(body["fields"]) == {"username", "email", "password"}
    assert body["fields"]["password"] == "Password must be at least 8 characters."
    assert all(message in body["message"] for message in body["fields"].values())
    assert client.get("/api/users").json()["items"] == []


def test_missing_fields_are_named(client):
    body = assert_error(
        client.post("/api/users", json={"username": "susan"}), 422, "Unprocessable Entity"
    )
    assert set(body["fields"]) == {"email", "password"}


def test_malformed_json_is_a_400(client):
    response = client.post(
        "/api/users", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "Bad Request")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"username=susan"])
def test_a_body_that_is_not_a_json_object_is_a_400(client, body):
    response = client.post("/api/users", content=body, headers={"content-type": "application/json"})
    assert_error(response, 400, "Bad Request")


def test_unknown_fields_are_refused(client):
    assert_error(register(client, admin=True), 422, "Unprocessable Entity", "admin")


# ------------------------------------------------------------ session


def test_login_sets_an_httponly_lax_browser_session_cookie(client):
    register(client)
    response = login(client)
    assert response.status_code == 200
    assert response.json()["username"] == "susan"
    cookie = response.headers["set-cookie"].lower()
    assert "session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "max-age" not in cookie and "expires" not in cookie  # ends with the browser
    assert "secure" not in cookie  # served over plain http here


def test_remember_me_keeps_the_cookie_for_30_days(client):
    register(client)
    cookie = login(client, remember_me=True).headers["set-cookie"].lower()
    assert "max-age=2592000" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    register(client)
    wrong = login(client, password="dog-and-cat")
    unknown = login(client, username="nobody")
    assert_error(wrong, 401, "Unauthorized")
    assert wrong.json() == unknown.json()
    assert wrong.json()["message"] == "Invalid username or password"
    assert "set-cookie" not in wrong.headers


def test_me_needs_a_session(client, susan):
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["email"] == "susan@example.com"
    client.cookies.clear()
    assert_error(client.get("/api/me"), 401, "Unauthorized")


def test_logout_clears_the_cookie_and_revokes_the_old_one(client, susan):
    old = client.cookies.get("session")
    response = client.delete("/api/session")
    assert response.status_code == 204 and response.content == b""
    assert 'session=""' in response.headers["set-cookie"] or "max-age=0" in (
        response.headers["set-cookie"].lower()
    )
    client.cookies.clear()
    client.cookies.set("session", old)
    assert_error(client.get("/api/me"), 401, "Unauthorized")


def test_the_session_comes_with_a_hint_for_the_pages_script_and_goes_with_it(client):
    """`signed_in=1`, readable by the script (not HttpOnly), so static pages ask
    `/api/me` only in a browser that was given a session."""
    register(client)
    login(client, remember_me=True)
    (hint,) = [c for c in client.cookies.jar if c.name == "signed_in"]
    assert hint.value == "1" and not hint.has_nonstandard_attr("HttpOnly")
    (session,) = [c for c in client.cookies.jar if c.name == "session"]
    assert hint.expires == session.expires and session.has_nonstandard_attr("HttpOnly")
    client.delete("/api/session")
    assert "signed_in" not in client.cookies and "session" not in client.cookies


def test_logout_without_a_session_is_a_401(client):
    assert_error(client.delete("/api/session"), 401, "Unauthorized")


# ------------------------------------------------------------ tokens in requests


def test_a_tampered_cookie_is_no_session(client, susan):
    token = client.cookies.get("session")
    client.cookies.clear()
    client.cookies.set("session", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert_error(client.get("/api/me"), 401, "Unauthorized")


def test_an_alg_none_bearer_token_is_refused(client, susan):
    forged = jwt.encode(
        {"sub": susan["id"], "ver": 0, "typ": auth.API, "iat": 0, "exp": 4102444800},
        key=None,
        algorithm="none",
    )
    client.cookies.clear()
    assert_error(
        client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}), 401, "Unauthorized"
    )


def test_a_valid_api_token_authenticates_as_bearer(client, susan):
    user = client.app_state.microblog.require_user(susan["id"])
    token = client.app_state.microblog.tokens.issue(user, auth.API)
    client.cookies.clear()
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == susan["id"]


def test_a_session_token_is_not_an_api_token(client, susan):
    token = client.cookies.get("session")
    client.cookies.clear()
    assert_error(
        client.get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401, "Unauthorized"
    )


# ------------------------------------------------------------ posts


def test_a_post_is_stored_rendered_and_on_the_static_profile(client, susan, settings):
    response = client.post("/api/posts", json={"body": "Hello **world**"})
    assert response.status_code == 201
    post = response.json()
    assert response.headers["location"] == f"/api/posts/{post['id']}"
    assert post["body_html"] == "<p>Hello <strong>world</strong></p>"
    assert post["author"]["username"] == "susan"
    assert post["language"] == "en"
    assert f'id="post-{post["id"]}"' in post["html"]
    assert post["timestamp"].endswith("Z")

    profile = client.get("/u/susan/")
    assert profile.status_code == 200
    assert "<strong>world</strong>" in profile.text
    assert f'<time datetime="{post["timestamp"]}">' in profile.text
    on_disk = (settings.site_dir / "u" / "susan" / "index.html").read_text()
    assert on_disk == profile.text
    assert client.get(f"/api/posts/{post['id']}").json() == post
    assert client.get("/api/me").json()["post_count"] == 1


def test_post_bodies_are_sanitized(client, susan):
    body = "<script>alert(1)</script>[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    html = client.post("/api/posts", json={"body": body}).json()["body_html"]
    for bad in ("<script", "javascript:", "onerror", "<img"):
        assert bad not in html
    assert "<script>alert" not in client.get("/u/susan/").text  # (app.js is a <script>)


@pytest.mark.parametrize("body", ["", "   ", "x" * 501])
def test_a_post_body_must_be_1_to_500_characters(client, susan, body):
    assert_error(
        client.post("/api/posts", json={"body": body}), 422, "Unprocessable Entity", "body"
    )
    assert client.get("/api/me").json()["post_count"] == 0


def test_posting_needs_a_session(client, susan):
    client.cookies.clear()
    assert_error(client.post("/api/posts", json={"body": "hi"}), 401, "Unauthorized")


def test_an_unknown_post_is_a_404(client):
    assert_error(client.get("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, "Not Found")


# ------------------------------------------------------------ everything else


def test_an_unknown_api_address_is_a_json_404(client):
    assert_error(client.get("/api/nothing-here"), 404, "Not Found")


def test_an_unknown_page_is_the_html_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not Found" in response.text and response.headers["content-type"].startswith("text/html")


def test_an_unexpected_failure_is_a_500_envelope_without_a_trace(client, monkeypatch):
    store = client.app_state.microblog.store

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "get_user_by_username", broken)
    body = assert_error(login(client), 500, "Internal Server Error")
    assert "disk on fire" not in body["message"]


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/session" in schema["paths"] and "/api/posts" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


def test_the_docs_load_swagger_ui_from_the_package_with_no_inline_script(client):
    page = client.get("/api/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "//" not in page.text  # nothing from a CDN
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|<style", page.text)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {source.rsplit("/", 1)[1] for source in sources} == {
        "favicon.svg",
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "start.js",
    }
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source
    assert '"/api/openapi.json"' in client.get("/api/docs/start.js").text
    bundle = next(source for source in sources if source.endswith("-bundle.js"))
    assert client.get(bundle).headers["cache-control"].endswith("immutable")
    stale = re.sub(r"/docs/[^/]+/", "/docs/1.0.0/", bundle)
    assert_error(client.get(stale), 404, "Not Found")


def test_every_operation_declares_its_response_model_and_error_envelope(client):
    schema = client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for status, response in operation["responses"].items():
                body = response.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and status not in ("202", "204"):
                    assert body and "$ref" in body, f"{where} {status} has no model"
                elif status[0] in "45":
                    assert body == {"$ref": "#/components/schemas/ErrorBody"}, f"{where} {status}"
            assert {"401", "500"} <= set(operation["responses"]), where
