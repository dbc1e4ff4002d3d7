"""`/login/?next=...` never sends the browser to another origin (issue 10, item 1).

Each payload is a raw query string, as an attacker would write it in a link:
the browser decodes it, app.js reads it, and where Chromium lands is checked.
Requests to the attacker's host are answered by the test itself (no network)
and recorded.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .ui import PASSWORD, goto, register_api, sign_in

EVIL = "evil.example"
PAYLOADS = [
    f"/%09/{EVIL}/",  # tab: URL parsing drops it, leaving //evil.example/
    f"/%0a/{EVIL}/",
    f"/%0d/{EVIL}/",
    f"/%0d%0a/{EVIL}/",
    f"%09//{EVIL}/",
    f"/%5C{EVIL}/",  # /\evil.example: a backslash is a slash to the URL parser
    f"%5C%5C{EVIL}/",
    f"/%09%5C{EVIL}/",
    f"%5C/{EVIL}/",
    f"//{EVIL}/",
    f"%2F%2F{EVIL}/",
    f"///{EVIL}/",
    f"/.//{EVIL}/",  # dot segment: the path becomes //evil.example
    f"/%2e//{EVIL}/",
    f"%20//{EVIL}/",  # leading space is trimmed
    f"https://{EVIL}/",
    f"https:{EVIL}/",
    f"http:/%5C{EVIL}/",
    f"HTTPS://{EVIL}/",
    f"https://127.0.0.1@{EVIL}/",
    f"//{EVIL}%2F@127.0.0.1/",
    "javascript:alert(document.domain)",
    "JaVaScRiPt%3Aalert(1)",
    "%09javascript:alert(1)",
    "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "vbscript:msgbox(1)",
]


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def watched(make_context):
    """A page whose requests to the attacker's host and dialogs are recorded."""
    context = make_context()
    seen: list[str] = []

    def refuse(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>evil</p>")

    context.route(re.compile(rf"^[a-z]+://([^/]*[@.])?{re.escape(EVIL)}"), refuse)
    page = context.new_page()
    page.on("dialog", lambda dialog: (seen.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return page, seen


def landed(page, base: str) -> str:
    """Where the login page sent the browser, once it left /login/."""
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_load_state()
    return page.url


@pytest.mark.parametrize("flow", ["signed in already", "through the form"])
def test_next_never_leaves_the_origin(watched, base, flow):
    page, seen = watched
    name = unique("redir")
    register_api(base, name)
    payloads = PAYLOADS if flow == "signed in already" else PAYLOADS[:4]
    if flow == "signed in already":
        sign_in(page, name)
    for payload in payloads:
        page.goto(f"/login/?next={payload}")
        if flow == "through the form":
            page.wait_for_selector("html[data-ready]", state="attached")
            page.get_by_label("Username").fill(name)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign In").click()
        url = landed(page, base)
        assert urlsplit(url).netloc == urlsplit(base).netloc, (payload, url)
        if flow == "through the form":
            page.context.clear_cookies()
    assert seen == []


def test_same_origin_next_is_followed(page, base):
    name = unique("redir")
    register_api(base, name)
    sign_in(page, name)
    goto(page, "/login/?next=%2Fu%2F" + name + "%2F%3Fx%3D1%23top")
    expect(page).to_have_url(f"{base}/u/{name}/?x=1#top")
    goto(page, "/login/?next=" + base + "/explore/")
    expect(page).to_have_url(f"{base}/explore/")
