"""Helpers for the browser tests: Debian's chromium driven by Playwright, and
the few steps many tests share (register, sign in, post)."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, expect

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium; Playwright's own browser download is never used."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


_ADDRESSES = (f"198.18.{n // 254}.{n % 254 + 1}" for n in itertools.count())


def visitor() -> dict[str, str]:
    """Headers that make a client a visitor of its own: an address of the
    198.18.0.0/15 test range in X-Forwarded-For, which the stack believes
    from 127.0.0.1 (FORWARDED_ALLOW_IPS, tests/browser/conftest.py). Each
    browser context and each API helper call gets a new one, so the
    per-address throttles (10 sign-ups an hour, failed logins) count per test,
    as for people on their own machines, not for the whole run."""
    return {"X-Forwarded-For": next(_ADDRESSES)}


def new_context(browser: Browser, base: str, **options) -> BrowserContext:
    options = {
        "locale": "en-US",
        "timezone_id": "UTC",
        "viewport": {"width": 1280, "height": 800},
        "extra_http_headers": visitor(),
    } | options
    context = browser.new_context(base_url=base, **options)
    context.set_default_timeout(10_000)
    # No test reaches the internet: Gravatar answers with a made-up identicon.
    context.route(GRAVATAR, fake_gravatar)
    return context


GRAVATAR = re.compile(r"^https://(www|secure)\.gravatar\.com/avatar/")


def fake_gravatar(route: Route) -> None:
    """A 5x5 symmetric identicon from the e-mail hash in the URL, as SVG."""
    digest = route.request.url.rsplit("/", 1)[1].split("?")[0].ljust(32, "0")
    colour = f"#{digest[:6]}"
    cells = []
    for n in range(15):
        if int(digest[6 + n], 16) % 2:
            x, y = n // 5, n % 5
            cells += [(x, y), (4 - x, y)]
    rects = "".join(f'<rect x="{x}" y="{y}" width="1" height="1"/>' for x, y in set(cells))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6">'
        f'<rect x="-0.5" y="-0.5" width="6" height="6" fill="#f0f0f0"/>'
        f'<g fill="{colour}">{rects}</g></svg>'
    )
    route.fulfill(status=200, content_type="image/svg+xml", body=svg)


def goto(page: Page, path: str) -> Page:
    """Open a page and wait until app.js has finished setting it up."""
    page.goto(path)
    page.wait_for_selector("html[data-ready]", state="attached")
    return page


def register_api(base: str, username: str, password: str = PASSWORD) -> dict:
    """A new account, made through the API (as a script would)."""
    email = f"{username}@example.com"
    response = httpx.post(
        f"{base}/api/users",
        json={"username": username, "email": email, "password": password},
        headers=visitor(),
    )
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(page: Page, username: str, password: str = PASSWORD, remember: bool = False) -> None:
    """Through the Sign In form; ends on the page the form sends one to."""
    goto(page, "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    if remember:
        page.get_by_label("Remember Me").check()
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Logout")).to_be_visible()
    page.wait_for_selector("html[data-ready]", state="attached")


def post(page: Page, body: str) -> None:
    """Through the home page's form."""
    if not page.get_by_label("Say something").count():
        goto(page, "/")
    page.get_by_label("Say something").fill(body)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".flash")).to_contain_text("Your post is now live!")
    expect(page.locator("#feed .post-body").first).to_contain_text(re.sub(r"[*_`]", "", body))
