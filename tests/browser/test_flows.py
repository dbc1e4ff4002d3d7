"""The tutorial's flows in a real browser (Debian's chromium, through Playwright)
against a real `build.py serve`."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import expect

from .ui import PASSWORD, goto, post, register_api, sign_in


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def test_register_login_post_follow_feed_edit_profile_logout(make_context, base):
    susan_name, john_name = unique("susan"), unique("john")

    # Susan registers and signs in, as in chapter 5.
    susan = make_context().new_page()
    goto(susan, "/")
    expect(susan.get_by_role("link", name="Login")).to_be_visible()
    expect(susan.get_by_text("Hi, welcome to Microblog!")).to_be_visible()
    susan.get_by_role("link", name="Login").click()
    susan.get_by_role("link", name="Click to Register!").click()
    expect(susan.get_by_role("heading", name="Register")).to_be_visible()
    susan.get_by_label("Username").fill(susan_name)
    susan.get_by_label("Email").fill(f"{susan_name}@example.com")
    susan.get_by_label("Password", exact=True).fill(PASSWORD)
    susan.get_by_label("Repeat Password").fill(PASSWORD)
    susan.get_by_role("button", name="Register").click()
    expect(susan).to_have_url(re.compile(r"/login/$"))
    expect(susan.locator(".flash")).to_have_text("Congratulations, you are now a registered user!")
    sign_in(susan, susan_name)
    expect(susan).to_have_url(re.compile(r"/$"))
    expect(susan.get_by_role("heading", name=f"Hi, {susan_name}!")).to_be_visible()
    expect(susan.get_by_role("link", name="Profile")).to_have_attribute("href", f"/u/{susan_name}/")

    # She posts; the post is in her feed and on her static profile page. The
    # form sends a key per submission, so a retried request cannot post twice.
    with susan.expect_request(lambda r: r.url.endswith("/api/posts")) as sent:
        post(susan, "Hello from *Susan*, the first post!")
    assert re.fullmatch(r"[0-9a-f-]{36}", sent.value.headers["idempotency-key"])
    expect(susan.locator("#feed .post-body em")).to_have_text("Susan")
    susan.get_by_role("link", name="Profile").click()
    expect(susan.get_by_role("heading", name=f"User: {susan_name}")).to_be_visible()
    expect(susan.locator(".post-body").first).to_contain_text("Hello from Susan")
    expect(susan.get_by_role("link", name="Edit your profile")).to_be_visible()
    expect(susan.get_by_role("button", name="Follow")).to_have_count(0)

    # John follows her from her profile: the count changes without a reload.
    register_api(base, john_name)
    john = make_context().new_page()
    sign_in(john, john_name)
    goto(john, f"/u/{susan_name}/")
    marker = john.evaluate("window.marker = 'same page'")
    expect(john.locator(".follower-count")).to_have_text("0")
    john.get_by_role("button", name="Follow").click()
    expect(john.locator(".flash")).to_have_text(f"You are following {susan_name}!")
    expect(john.locator(".follower-count")).to_have_text("1")
    expect(john.locator(".counts")).to_contain_text("1 follower,")
    expect(john.get_by_role("button", name="Unfollow")).to_be_visible()
    assert john.evaluate("window.marker") == marker  # no reload happened

    # After a reload the button remembers, and John's feed shows her post.
    goto(john, f"/u/{susan_name}/")
    expect(john.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(john.locator(".follower-count")).to_have_text("1")
    john.get_by_role("link", name="Home").click()
    expect(john.locator("#feed .post")).to_contain_text(["Hello from Susan"])
    expect(john.locator("#feed .post-author").first).to_have_text(susan_name)

    # Unfollow says so, and the count goes back.
    goto(john, f"/u/{susan_name}/")
    john.get_by_role("button", name="Unfollow").click()
    expect(john.locator(".flash")).to_have_text(f"You are not following {susan_name}.")
    expect(john.locator(".follower-count")).to_have_text("0")
    expect(john.get_by_role("button", name="Follow")).to_be_visible()

    # Susan edits her profile.
    susan.get_by_role("link", name="Edit your profile").click()
    expect(susan.get_by_label("Username")).to_have_value(susan_name)
    susan.get_by_label("About me").fill("I like cats.")
    susan.get_by_role("button", name="Submit").click()
    expect(susan.locator(".flash")).to_have_text("Your changes have been saved.")
    goto(susan, f"/u/{susan_name}/")
    expect(susan.locator(".about-me")).to_have_text("I like cats.")

    # And logs out.
    susan.get_by_role("button", name="Logout").click()
    expect(susan).to_have_url(re.compile(r"/$"))
    expect(susan.get_by_role("link", name="Login")).to_be_visible()
    expect(susan.get_by_text("Hi, welcome to Microblog!")).to_be_visible()
    goto(susan, f"/u/{susan_name}/")
    expect(susan.get_by_role("link", name="Edit your profile")).to_have_count(0)


def test_form_errors_are_shown_next_to_their_fields_and_focused(page, base):
    taken = unique("mary")
    register_api(base, taken)

    goto(page, "/register/")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#username-error")).to_have_text("This field is required.")
    expect(page.get_by_label("Username")).to_be_focused()
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Username").fill(unique("ann"))
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat Password").fill("something-else")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#password2-error")).to_have_text("Field must be equal to password.")
    expect(page.get_by_label("Repeat Password")).to_be_focused()
    expect(page.locator("#username-error")).to_have_count(0)

    # An error from the API (the envelope's `fields`) lands next to its field.
    page.get_by_label("Username").fill(taken)
    page.get_by_label("Repeat Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#username-error")).not_to_be_empty()
    expect(page.get_by_label("Username")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/register/$"))

    goto(page, "/login/")
    page.get_by_label("Username").fill(taken)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_label("Password").press("Enter")  # the keyboard submits too
    expect(page.locator(".flash")).to_have_text("Invalid username or password")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_edit_profile_sends_visitors_to_login_and_back(page, base):
    name = unique("david")
    register_api(base, name)
    goto(page, "/edit-profile/")
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fedit-profile%2F$"))
    expect(page.locator(".flash")).to_have_text("Please log in to access this page.")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/edit-profile/$"))
    expect(page.get_by_label("Username")).to_have_value(name)


def test_feed_pages_with_newer_and_older(page, base):
    name = unique("pager")
    register_api(base, name)
    sign_in(page, name)
    for n in range(5):
        created = page.request.post("/api/posts", data={"body": f"Post number {n}"})
        assert created.status == 201, created.text()
    goto(page, "/?per_page=2")
    bodies = page.locator("#feed .post-body")
    expect(bodies).to_have_text(["Post number 4", "Post number 3"])
    expect(page.get_by_role("link", name="Newer posts")).to_be_hidden()
    page.get_by_role("link", name="Older posts").click()
    expect(bodies).to_have_text(["Post number 2", "Post number 1"])
    page.get_by_role("link", name="Older posts").click()
    expect(bodies).to_have_text(["Post number 0"])
    expect(page.get_by_role("link", name="Older posts")).to_be_hidden()
    page.get_by_role("link", name="Newer posts").click()
    expect(bodies).to_have_text(["Post number 2", "Post number 1"])
    page.get_by_role("link", name="Newer posts").click()
    expect(bodies).to_have_text(["Post number 4", "Post number 3"])


def test_remember_me_keeps_the_cookie_for_30_days(make_context, base):
    name = unique("remember")
    register_api(base, name)

    plain = make_context()
    sign_in(plain.new_page(), name)
    (cookie,) = [c for c in plain.cookies() if c["name"] == "session"]
    assert cookie["expires"] == -1  # ends with the browser session
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    remembered = make_context()
    sign_in(remembered.new_page(), name, remember=True)
    (cookie,) = [c for c in remembered.cookies() if c["name"] == "session"]
    days = (cookie["expires"] - time.time()) / 86400
    assert 29.9 < days <= 30.01


def test_times_are_shown_in_the_readers_time_zone(make_context, base):
    name = unique("tokyo")
    register_api(base, name)
    page = make_context(timezone_id="Asia/Tokyo").new_page()
    page.clock.install()  # the real time, but one the test can move on
    sign_in(page, name)
    created = page.request.post("/api/posts", data={"body": "What time is it?"})
    stamp = datetime.fromisoformat(created.json()["timestamp"].replace("Z", "+00:00"))
    local = stamp.astimezone(ZoneInfo("Asia/Tokyo"))

    goto(page, f"/u/{name}/")
    time_el = page.locator(".post time").first
    expect(time_el).to_have_text(re.compile(r"^(now|\d+ seconds? ago)$"))
    title = " ".join(time_el.get_attribute("title").split())  # ICU's narrow spaces
    expected = f"{local:%B} {local.day}, {local.year} at {local:%-I:%M %p}"
    assert title == expected, (title, expected)

    # "Last seen on" is the full local time.
    last_seen = page.locator(".last-seen time")
    expect(last_seen).to_have_text(re.compile(rf"^{local:%B} {local.day}, {local.year} at "))
    assert "UTC" not in last_seen.inner_text()

    # Times move on while the page stays open: "3 minutes ago" (Moment's fromNow).
    page.clock.fast_forward("03:05")
    expect(time_el).to_have_text("3 minutes ago")
    assert " ".join(time_el.get_attribute("title").split()) == expected


def test_pages_read_fine_without_javascript(make_context, base):
    name = unique("static")
    register_api(base, name)
    page = make_context(java_script_enabled=False).new_page()
    page.goto("/")
    expect(page.get_by_text("Hi, welcome to Microblog!")).to_be_visible()
    expect(page.get_by_role("link", name="Login")).to_be_visible()
    page.goto(f"/u/{name}/")
    expect(page.get_by_role("heading", name=f"User: {name}")).to_be_visible()
    # Last seen comes from the API (no static page changes with it): not without JS.
    expect(page.locator(".last-seen")).to_be_hidden()
    page.goto("/login/")
    # (Chromium parses <noscript> as if scripts ran even when they are turned off
    # by emulation, so the note is checked in the markup.)
    assert "<noscript>" in page.content() and "This form needs JavaScript" in page.content()
    expect(page.get_by_label("Username")).to_be_visible()


def test_phone_layout_has_no_sideways_scrolling(make_context, base):
    name = unique("phone")
    register_api(base, name)
    page = make_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    sign_in(page, name)
    post(page, "A rather long word: " + "supercalifragilistic" * 4)
    for path in ("/", "/explore/", f"/u/{name}/", "/edit-profile/"):
        goto(page, path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)


def test_api_is_reachable(base):
    assert httpx.get(f"{base}/api/me").status_code == 401


def test_an_empty_post_is_refused_next_to_the_field(page, base):
    name = unique("quiet")
    register_api(base, name)
    sign_in(page, name)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#post-error")).to_have_text("This field is required.")
    expect(page.get_by_label("Say something")).to_be_focused()
    # Past the client's checks, the API's message lands there too.
    page.get_by_label("Say something").evaluate("(el) => { el.value = 'y'.repeat(501); }")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#post-error")).to_contain_text("500")


def test_repeated_failed_logins_are_throttled(page, base):
    name = unique("locked")
    register_api(base, name)
    goto(page, "/login/")
    page.get_by_label("Username").fill(name)
    for _ in range(6):
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("button", name="Sign In")).to_be_enabled()
    expect(page.locator(".flash")).to_contain_text("Too many failed login attempts")
    expect(page.locator(".flash")).to_contain_text(
        re.compile(r"You can try again in \d+ (minutes?|seconds?)\.")
    )


def test_signing_in_works_with_the_keyboard_alone(page, base):
    name = unique("kim")
    register_api(base, name)
    goto(page, "/login/")
    username = page.get_by_label("Username")
    for _ in range(15):  # past the navigation links, to the first field
        if username.evaluate("field => field === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Remember Me")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_label("Remember Me")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign In")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Logout")).to_be_visible()


def test_a_visitor_who_never_signed_in_costs_no_api_call(make_context, base):
    """Static pages ask `GET /api/me` only where a session was given (the
    `signed_in` hint cookie): a CDN page view of a visitor runs no code."""
    visitor = make_context().new_page()
    asked: list[str] = []
    visitor.on("request", lambda r: asked.append(r.url) if "/api/me" in r.url else None)
    for path in ("/", "/explore/", "/login/"):
        goto(visitor, path)
    assert asked == []
    expect(visitor.get_by_role("link", name="Login")).to_be_visible()

    name = unique("hint")
    register_api(base, name)
    member = make_context()
    page = member.new_page()
    sign_in(page, name)
    (hint,) = [c for c in member.cookies() if c["name"] == "signed_in"]
    assert hint["value"] == "1" and not hint["httpOnly"]  # for the script; no credential
    with page.expect_request(lambda r: r.url.endswith("/api/me")):
        goto(page, "/explore/")
    expect(page.get_by_role("link", name="Profile")).to_be_visible()

    # A session revoked elsewhere (the cookie now refused) clears the hint.
    member.add_cookies([{"name": "session", "value": "revoked", "url": base}])
    goto(page, "/explore/")
    expect(page.get_by_role("link", name="Login")).to_be_visible()
    assert [c for c in member.cookies() if c["name"] == "signed_in"] == []
