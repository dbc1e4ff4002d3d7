"""Password reset through the link in the outbox mail, and translation through
the fake Amazon Translate endpoint, in a real browser.

The `..._ui_` tests below also check the pages against the contract with the
API's answers given by the test (errors the real stack does not easily make).
"""

from __future__ import annotations

import email
import re
import time
import uuid
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .ui import goto, register_api, sign_in

RESET_LINK = re.compile(r"https?://[^\s\"'<>]*/reset-password/#token=[^\s\"'<>]+")


def mail_to(outbox: Path, address: str, timeout: float = 10) -> email.message.EmailMessage:
    """The first message in the outbox addressed to `address` (mail is sent in
    the background, so it may take a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]):
                return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} in {outbox}")
        time.sleep(0.1)


def test_password_reset_through_the_link_in_the_mail(make_context, base, outbox):
    name = f"reset{uuid.uuid4().hex[:6]}"
    address = f"{name}@example.com"
    register_api(base, name)
    page = make_context().new_page()

    goto(page, "/login/")
    page.get_by_role("link", name="Click to Reset It").click()
    expect(page.get_by_role("heading", name="Reset Password")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_hidden()
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Request Password Reset").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".flash")).to_have_text(
        "Check your email for the instructions to reset your password"
    )

    message = mail_to(outbox, address)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = urlsplit(RESET_LINK.search(text).group(0))
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        assert link.fragment in html.get_content().replace("&amp;", "&")

    goto(page, f"{link.path}#{link.fragment}")
    expect(page.get_by_label("Email")).to_be_hidden()
    page.get_by_label("Password", exact=True).fill("a-brand-new-secret")
    page.get_by_label("Repeat Password").fill("a-brand-new-secret")
    page.get_by_role("button", name="Reset Password").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".flash")).to_have_text("Your password has been reset.")
    sign_in(page, name, "a-brand-new-secret")

    # The link works once only.
    other = make_context().new_page()
    goto(other, f"{link.path}#{link.fragment}")
    other.get_by_label("Password", exact=True).fill("yet-another-secret")
    other.get_by_label("Repeat Password").fill("yet-another-secret")
    other.get_by_role("button", name="Reset Password").click()
    expect(other.locator(".flash-error")).not_to_be_empty()
    expect(other).to_have_url(re.compile(r"/reset-password/#token="))


SPANISH = "Hola a todos, hoy hace un día muy bonito y vamos a pasear por el parque con los niños."


@pytest.fixture
def spanish_post(make_context, base):
    """A reader whose browser speaks English, and a post in Spanish by someone."""
    name = f"juan{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    page = make_context(locale="en-US").new_page()
    sign_in(page, name)
    created = page.request.post("/api/posts", data={"body": SPANISH})
    assert created.status == 201, created.text()
    english = page.request.post("/api/posts", data={"body": "And this one is in plain English."})
    assert english.status == 201
    assert created.json()["language"] == "es", created.json()
    goto(page, f"/p/{created.json()['id']}/")
    return page


def watch_translate_slots(page) -> None:
    """Record every text the `.translate` slots show (to see "Translating…")."""
    page.evaluate(
        """() => { window.seen = [];
          new MutationObserver(() => document.querySelectorAll('.translate')
            .forEach((el) => window.seen.push(el.textContent)))
          .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )


def test_translate_replaces_the_text_in_place(spanish_post):
    page = spanish_post
    watch_translate_slots(page)
    body = page.locator(".post-body")
    expect(body).to_have_attribute("lang", "es")
    page.get_by_role("button", name="Translate").click()
    expect(body).to_have_text(f"[en] {SPANISH}")  # what the fake Translate answers
    expect(body).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Translate")).to_have_count(0)
    assert "Translating…" in page.evaluate("window.seen")


def test_translate_link_only_for_other_languages_and_failure_is_clear(spanish_post):
    page = spanish_post
    goto(page, "/")
    posts = page.locator("#feed .post")
    expect(posts).to_have_count(2)
    expect(posts.nth(0).get_by_role("button", name="Translate")).to_have_count(0)  # English
    expect(posts.nth(1).get_by_role("button", name="Translate")).to_have_count(1)

    page.route("**/api/translate", lambda route: route.abort())
    posts.nth(1).get_by_role("button", name="Translate").click()
    expect(posts.nth(1).locator(".translate")).to_have_text("Error: Could not contact server.")
    expect(posts.nth(1).locator(".post-body")).to_contain_text("Hola a todos")


# ---------------------------------------------------------------- the pages
# against the contract, with the API's answers given by the test


def test_reset_password_ui_follows_the_contract(make_context):
    page = make_context().new_page()
    sent = []

    def answer(status, body=None):
        def handle(route):
            sent.append((route.request.url, route.request.post_data_json))
            route.fulfill(status=status, json=body)

        return handle

    page.route("**/api/reset_password_request", answer(202))
    goto(page, "/reset-password/")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_role("button", name="Request Password Reset").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".flash")).to_have_text(
        "Check your email for the instructions to reset your password"
    )
    assert sent[-1][1] == {"email": "nobody@example.com"}

    bad = {"error": "Bad Request", "message": "The reset link is invalid or has expired."}
    page.route("**/api/reset_password", answer(400, bad))
    goto(page, "/reset-password/?token=abc.def")
    expect(page.get_by_label("Email")).to_be_hidden()
    page.get_by_label("Password", exact=True).fill("a-new-secret")
    page.get_by_label("Repeat Password").fill("a-new-secret")
    page.get_by_role("button", name="Reset Password").click()
    expect(page.locator(".flash-error")).to_have_text(bad["message"])
    assert sent[-1][1] == {"token": "abc.def", "password": "a-new-secret"}

    page.unroute("**/api/reset_password")
    page.route("**/api/reset_password", answer(204))
    page.get_by_role("button", name="Reset Password").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".flash")).to_have_text("Your password has been reset.")


def test_translate_ui_follows_the_contract(spanish_post):
    page = spanish_post
    asked = []

    def translate(route):
        asked.append(route.request.post_data_json)
        route.fulfill(json={"text": "Hello everyone, today is a lovely day."})

    page.route("**/api/translate", translate)
    watch_translate_slots(page)
    body = page.locator(".post-body")
    page.get_by_role("button", name="Translate").click()
    expect(body).to_have_text("Hello everyone, today is a lovely day.")
    expect(body).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Translate")).to_have_count(0)
    assert "Translating…" in page.evaluate("window.seen")
    assert asked == [{"text": SPANISH, "source_language": "es", "dest_language": "en"}]


def test_translate_ui_shows_the_apis_503_message(spanish_post):
    page = spanish_post
    unavailable = {"error": "Service Unavailable", "message": "Translation is not configured."}
    page.route("**/api/translate", lambda route: route.fulfill(status=503, json=unavailable))
    page.get_by_role("button", name="Translate").click()
    expect(page.locator(".translate")).to_have_text("Error: Translation is not configured.")
    expect(page.locator(".post-body")).to_contain_text("Hola a todos")
