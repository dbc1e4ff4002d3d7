"""The user popup on hover (the tutorial's chapter 20) in Chromium against a
real `build.py serve`: the static card for everyone, the Follow button for
a signed-in reader, the delays, the keyboard, and no popup on touch."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from .ui import goto, register_api, sign_in


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def author(make_context, base) -> dict:
    """A user with an about me and one post (so on explore), signed out again."""
    name = unique("susan")
    user = register_api(base, name)
    page = make_context().new_page()
    sign_in(page, name)
    answer = page.request.put(f"/api/users/{user['id']}", data={"about_me": "I like <b>cats</b>."})
    assert answer.ok, answer.text()
    assert page.request.post("/api/posts", data={"body": "Hello from the popup test"}).ok
    page.context.close()
    return user


def author_link(page: Page, name: str):
    return page.locator(f'.post a.post-author[href="/u/{name}/"]').first


def watch(page: Page) -> list[str]:
    """The paths of the API calls and cards the page asks for, as it asks."""
    asked: list[str] = []

    def note(request) -> None:
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        if path.startswith("api/") or path.endswith("card.json"):
            asked.append("/" + path)

    page.on("request", note)
    return asked


def test_hovering_a_username_on_explore_shows_the_users_card(make_context, author):
    name = author["username"]
    page = make_context().new_page()
    page.clock.install()  # the popup's delays, moved on by the test
    asked = watch(page)
    goto(page, "/explore/")
    assert asked == []  # nothing fetched before a hover

    author_link(page, name).hover()
    popup = page.get_by_role("dialog", name=name)
    page.clock.run_for(300)
    expect(popup).to_have_count(0)  # not yet: hovering on the way past shows nothing
    page.clock.run_for(200)
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("I like <b>cats</b>.")  # text, never markup
    expect(popup.locator(".user-popup-counts")).to_have_text("0 followers, 0 following, 1 post")
    expect(popup).to_contain_text(re.compile(r"Last seen on: \w+ \d{1,2}, \d{4}"))
    expect(popup.get_by_role("link", name=name)).to_have_attribute("href", f"/u/{name}/")
    expect(popup.get_by_role("button")).to_be_hidden()  # a visitor follows nobody
    assert asked == [f"/u/{name}/card.json"]  # a static file: no API call for a visitor

    # Leaving the link for the popup keeps it; leaving both hides it.
    popup.hover()
    page.clock.run_for(1000)
    expect(popup).to_be_visible()
    page.locator("h1").hover()
    page.clock.run_for(1000)
    expect(popup).to_be_hidden()

    # Shown again: the card is not fetched again.
    author_link(page, name).hover()
    page.clock.run_for(500)
    expect(popup).to_be_visible()
    assert asked == [f"/u/{name}/card.json"]

    # On a permalink too (any list of posts).
    page.keyboard.press("Escape")  # the popup would cover the post's link
    authored = page.locator(".post", has=page.locator(f'a.post-author[href="/u/{name}/"]'))
    authored.locator(".post-link").first.click()
    expect(page).to_have_url(re.compile(r"/p/\w+/$"))
    page.wait_for_selector("html[data-ready]", state="attached")
    author_link(page, name).hover()
    page.clock.run_for(500)
    expect(popup).to_be_visible()


def test_a_signed_in_reader_follows_from_the_popup_and_the_count_goes_up(
    make_context, base, author
):
    name, reader = author["username"], unique("john")
    register_api(base, reader)
    page = make_context().new_page()
    sign_in(page, reader)
    goto(page, "/explore/")
    asked = watch(page)

    author_link(page, name).hover()
    popup = page.get_by_role("dialog", name=name)
    expect(popup).to_be_visible()
    counts = popup.locator(".user-popup-counts")
    expect(counts).to_have_text("0 followers, 0 following, 1 post")
    popup_calls = [path for path in asked if "/api/notifications" not in path]  # the badge's
    assert popup_calls == [f"/u/{name}/card.json", f"/api/users/{author['id']}"]  # one API call

    popup.get_by_role("button", name="Follow").click()
    expect(page.locator(".flash")).to_have_text(f"You are following {name}!")
    expect(counts).to_have_text("1 follower, 0 following, 1 post")
    expect(popup.get_by_role("button", name="Unfollow")).to_be_visible()

    page.keyboard.press("Escape")
    expect(popup).to_be_hidden()

    # The follow is real: the home feed now has her post, whose popup knows it...
    goto(page, "/")
    author_link(page, name).hover()
    expect(popup.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(counts).to_have_text("1 follower, 0 following, 1 post")
    # ...and so does her profile.
    goto(page, f"/u/{name}/")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.locator(".profile .follower-count")).to_have_text("1")


def test_the_popup_works_with_the_keyboard(make_context, base, author):
    name, reader = author["username"], unique("kim")
    register_api(base, reader)
    page = make_context().new_page()
    sign_in(page, reader)
    goto(page, "/explore/")

    link = author_link(page, name)
    link.focus()
    popup = page.get_by_role("dialog", name=name)
    expect(popup).to_be_visible()
    page.keyboard.press("Escape")
    expect(popup).to_be_hidden()
    expect(link).to_be_focused()

    # Tab goes from the link into the popup, to its button; out of it, it hides.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(popup).to_be_visible()
    page.keyboard.press("Tab")  # the name in the popup
    page.keyboard.press("Tab")
    expect(popup.get_by_role("button", name="Follow")).to_be_focused()
    page.keyboard.press("Tab")
    expect(popup).to_be_hidden()


def test_touch_only_devices_get_no_popup(make_context, author):
    name = author["username"]
    page = make_context(has_touch=True, is_mobile=True).new_page()
    asked = watch(page)
    goto(page, "/explore/")
    assert page.evaluate("matchMedia('(any-hover: hover)').matches") is False
    author_link(page, name).dispatch_event("pointerover", {"pointerType": "mouse"})
    author_link(page, name).focus()
    page.wait_for_timeout(800)
    expect(page.locator(".user-popup")).to_have_count(0)
    assert asked == []
