"""What the store holds cannot break a page or a feed (issue 10, items 4 and 14).

Text is cleaned at the edge (no character XML cannot hold), and again where it
is rendered: a post written straight into the store, bypassing the edge, with
such characters or with HTML the sanitizer refuses, still yields well-formed
feeds and sitemaps and harmless pages; stored HTML obeys the allow-list of
the day it is rendered, not the one of the day it was written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from functions import markup, urls
from functions.domain import (
    Post,
    User,
    ValidationError,
    new_id,
    utcnow,
    validate_about_me,
    validate_body,
    validate_username,
)

HASH = "pbkdf2:sha256:1$salt$" + "0" * 64
# Every character XML 1.0 cannot hold, among ordinary text.
BAD_CHARS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ufffe\uffff"
DANGEROUS_HTML = (
    '<p>hi<script>alert("s")</script><img src=x onerror=alert("i")>'
    '<a href="javascript:alert(1)" onclick="alert(2)">x</a></p>'
    "<blockquote>quoted</blockquote>"
)


def stored_post(store, author: User, body: str, body_html: str) -> Post:
    """A post put straight into the store: no validation, no sanitizing."""
    at = utcnow() - timedelta(minutes=1)
    return store.create_post(Post(new_id(at), author.id, body, body_html, "en", at))


def site_files(settings, suffix: str) -> list:
    return sorted(settings.site_dir.rglob(f"*{suffix}"))


# ------------------------------------------------------------ at the edge


@pytest.mark.parametrize("validate", [validate_body, validate_about_me])
def test_text_fields_lose_characters_xml_cannot_hold(validate):
    assert validate(f"fine{BAD_CHARS}\ttext\nhere") == "fine\ttext\nhere"


def test_a_post_of_control_characters_only_is_empty():
    with pytest.raises(ValidationError):
        validate_body(BAD_CHARS)


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x1f", "\ufffe", "\uffff", "\n"])
def test_a_username_with_a_control_character_is_refused(char):
    with pytest.raises(ValidationError):
        validate_username(f"ann{char}ie")


def test_the_api_stores_posts_and_about_me_without_them(client):
    client.post(
        "/api/users", json={"username": "ann", "email": "a@example.com", "password": "pw123456"}
    )
    client.post("/api/session", json={"username": "ann", "password": "pw123456"})
    response = client.post("/api/posts", json={"body": f"hello{BAD_CHARS} world"})
    assert response.status_code == 201, response.text
    assert response.json()["body"] == "hello world"
    me = client.get("/api/me").json()
    response = client.put(f"/api/users/{me['id']}", json={"about_me": f"me{BAD_CHARS}!"})
    assert response.status_code == 200, response.text
    assert response.json()["about_me"] == "me!"


# ------------------------------------------------------------ whatever the store holds


def test_a_stored_post_with_bad_characters_still_gives_well_formed_feeds(settings, store, builder):
    # A user and a post that never went through the edge: names, body, HTML.
    user = User(new_id(), f"bad{BAD_CHARS}name", "bad@example.com", HASH)
    store.create_user(user)
    stored_post(store, user, f"body{BAD_CHARS}", f"<p>html{BAD_CHARS}</p>")
    builder.build_all()
    xml_files = site_files(settings, ".xml")
    feeds = [f for f in xml_files if f.name == "feed.xml"]
    assert len(feeds) == 2 and len(xml_files) >= 4  # explore's, the user's; sitemaps
    for path in xml_files:
        ET.fromstring(path.read_bytes())  # raises on malformed XML
    entry = ET.fromstring((settings.site_dir / "explore/feed.xml").read_bytes())
    content = entry.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert content.text == "<p>html</p>"


def test_stored_html_is_sanitized_again_on_every_page_and_feed(settings, store, builder):
    user = User.new("mallory", "m@example.com", HASH)
    store.create_user(user)
    post = stored_post(store, user, "hi", DANGEROUS_HTML)
    builder.build_all()
    pages = [
        urls.post_page(post.id),
        urls.user_page("mallory"),
        urls.user_archive("mallory", 1),
        urls.EXPLORE,
        urls.explore_archive(1),
    ]
    for url in [*pages, urls.user_feed("mallory"), urls.EXPLORE_FEED]:
        text = (settings.site_dir / urls.output_path(url)).read_text()
        if url.endswith(".xml"):
            text = ET.fromstring(text).find(".//{http://www.w3.org/2005/Atom}content").text
        else:  # the post's own markup (the page's own script tag is fine)
            text = text.split(f'id="post-{post.id}"')[1].split("</article>")[0]
        assert "<p>hi" in text, url
        for needle in ("<script", "onerror", "javascript:", "onclick", 'alert("s")'):
            assert needle not in text, (url, needle)


def test_the_api_serves_stored_html_sanitized_again(client):
    store = client.app_state.microblog.store
    user = User.new("mallory", "m@example.com", HASH)
    store.create_user(user)
    post = stored_post(store, user, "hi", DANGEROUS_HTML)
    answer = client.get(f"/api/posts/{post.id}").json()
    for field in ("body_html", "html"):
        assert "<p>hi" in answer[field]
        for needle in ("<script", "onerror", "javascript:", "onclick"):
            assert needle not in answer[field], (field, needle)


def test_a_tightened_allow_list_applies_to_posts_stored_before(
    settings, store, builder, monkeypatch
):
    user = User.new("quoter", "q@example.com", HASH)
    store.create_user(user)
    post = stored_post(store, user, "> quoted", markup.render_markdown("> quoted"))
    assert "<blockquote>" in post.body_html
    monkeypatch.setattr(markup, "ALLOWED_TAGS", markup.ALLOWED_TAGS - {"blockquote"})
    markup.sanitize.cache_clear()  # what a new release's process starts with
    try:
        builder.build_all()
    finally:
        markup.sanitize.cache_clear()  # later tests: today's rules again
    for url in (urls.post_page(post.id), urls.user_page("quoter"), urls.EXPLORE_FEED):
        text = (settings.site_dir / urls.output_path(url)).read_text()
        assert "quoted" in text and "blockquote" not in text, url
