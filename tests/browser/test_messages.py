"""Private messages and the live badge, in a real browser against `build.py serve`."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from .ui import PASSWORD, goto, register_api, sign_in, visitor

# The page's real poll, every 300 ms instead of 10 s (app.js reads this hook).
FAST_POLL = "window.microblogPollInterval = 300;"


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def badge(page: Page):
    return page.locator("#nav-user .message-count")


def send_api(base: str, sender: str, recipient: str, body: str) -> None:
    with httpx.Client(base_url=base, headers=visitor()) as http:
        login = http.post("/api/session", json={"username": sender, "password": PASSWORD})
        assert login.status_code == 200, login.text
        response = http.post("/api/messages", json={"recipient": recipient, "body": body})
        assert response.status_code == 201, response.text


def test_a_message_sent_from_a_profile_shows_in_the_badge_live_and_in_messages(make_context, base):
    ann_name, bob_name = unique("ann"), unique("bob")
    for name in (ann_name, bob_name):
        register_api(base, name)

    # Bob is signed in on another page: no unread message, no badge.
    bob_context = make_context()
    bob_context.add_init_script(FAST_POLL)
    bob = bob_context.new_page()
    sign_in(bob, bob_name)
    goto(bob, "/explore/")
    expect(bob.get_by_role("link", name=re.compile(r"^Messages"))).to_be_visible()
    expect(badge(bob)).to_be_hidden()
    bob.evaluate("window.marker = 'same page'")

    # Ann opens Bob's profile and sends him a message with the tutorial's form.
    ann = make_context().new_page()
    sign_in(ann, ann_name)
    goto(ann, f"/u/{bob_name}/")
    ann.get_by_role("link", name="Send private message").click()
    expect(ann).to_have_url(re.compile(rf"/send-message/\?to={bob_name}$"))
    expect(ann.get_by_role("heading", name=f"Send Message to {bob_name}")).to_be_visible()
    body = "Hi Bob! <b>not bold</b> <img src=x onerror=alert(1)>"
    ann.get_by_label("Message").fill(body)
    ann.get_by_role("button", name="Submit").click()
    expect(ann).to_have_url(re.compile(rf"/u/{bob_name}/$"))
    expect(ann.locator(".flash")).to_have_text("Your message has been sent.")

    # Bob's badge shows 1 without a reload.
    expect(badge(bob)).to_have_text("1")
    expect(badge(bob)).to_be_visible()
    assert bob.evaluate("window.marker") == "same page"

    # He opens Messages: the message, as text, with its sender; the badge clears.
    bob.get_by_role("link", name=re.compile(r"^Messages")).click()
    expect(bob.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
    message = bob.locator("#message-list .message")
    expect(message).to_have_count(1)
    expect(message.locator(".message-body")).to_have_text(body)
    expect(message.locator("b, img[src=x]")).to_have_count(0)
    expect(message.locator(".post-author")).to_have_text(ann_name)
    expect(message.locator(".post-author")).to_have_attribute("href", f"/u/{ann_name}/")
    expect(message.locator("time")).to_have_text(re.compile(r"now|second"))
    expect(badge(bob)).to_be_hidden()
    goto(bob, "/explore/")
    bob.wait_for_timeout(700)  # a couple of polls: the count stays 0
    expect(badge(bob)).to_be_hidden()


def test_no_link_to_message_oneself_nor_for_a_visitor(page, base):
    name = unique("solo")
    register_api(base, name)
    goto(page, f"/u/{name}/")
    expect(page.get_by_role("link", name="Send private message")).to_have_count(0)
    sign_in(page, name)
    goto(page, f"/u/{name}/")
    expect(page.get_by_role("link", name="Edit your profile")).to_be_visible()
    expect(page.get_by_role("link", name="Send private message")).to_have_count(0)


def test_a_visitor_makes_no_api_call_and_is_sent_to_log_in(page):
    calls: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and calls.append(r.url))
    goto(page, "/explore/")
    page.wait_for_timeout(500)
    assert calls == []
    goto(page, "/messages/")
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fmessages%2F$"))
    expect(page.locator(".flash")).to_have_text("Please log in to access this page.")


def test_the_poll_pauses_while_the_tab_is_hidden_and_runs_when_it_shows(make_context, base):
    name = unique("tabs")
    register_api(base, name)
    context = make_context()
    context.add_init_script(FAST_POLL)
    page = context.new_page()
    sign_in(page, name)
    polls: list[float] = []
    page.on("request", lambda r: "/api/notifications" in r.url and polls.append(time.monotonic()))
    page.wait_for_timeout(1000)
    assert len(polls) >= 2  # polling while visible
    page.evaluate(
        """() => {
        Object.defineProperty(document, "hidden", { value: true, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    page.wait_for_timeout(400)  # a poll in flight may end
    hidden_from = len(polls)
    page.wait_for_timeout(1200)
    assert len(polls) == hidden_from  # none while hidden
    with page.expect_request(re.compile(r"/api/notifications\?since=")):
        page.evaluate(
            """() => {
            Object.defineProperty(document, "hidden", { value: false, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
        )


def test_messages_are_paged_newest_first_with_newer_and_older_links(make_context, base):
    ann_name, bob_name = unique("ann"), unique("bob")
    register_api(base, ann_name)
    register_api(base, bob_name)
    for n in range(3):
        send_api(base, ann_name, bob_name, f"message {n}")
    bob = make_context().new_page()
    sign_in(bob, bob_name)
    expect(badge(bob)).to_have_text("3")
    goto(bob, "/messages/?per_page=2")
    bodies = bob.locator("#message-list .message-body")
    expect(bodies).to_have_text(["message 2", "message 1"])
    expect(bob.get_by_role("link", name="Newer messages")).to_be_hidden()
    bob.get_by_role("link", name="Older messages").click()
    expect(bodies).to_have_text(["message 0"])
    expect(bob.get_by_role("link", name="Older messages")).to_be_hidden()
    bob.get_by_role("link", name="Newer messages").click()
    expect(bodies).to_have_text(["message 2", "message 1"])
    expect(badge(bob)).to_be_hidden()
