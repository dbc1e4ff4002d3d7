"""The XSS corpus through the user popup: an about me is put in the popup
as text, so no payload runs and none becomes markup (the CSP bypassed, as in
test_xss_corpus)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from functions import urls
from functions.domain import User, validate_about_me
from functions.services import new_post
from functions.store.sqlite import SQLiteStore
from tests.server import serving

from .test_xss_corpus import HOOK, PAYLOADS
from .ui import goto, new_context

HASH = "pbkdf2:sha256:1$s$" + "0" * 64


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    """A stack whose store has one user per payload, as their about me, each
    with a post (so their name is on explore, where the popup is)."""
    root = tmp_path_factory.mktemp("popup-xss")
    store = SQLiteStore(root / "var" / "microblog.sqlite3")
    about: dict[str, str] = {}
    for n, payload in enumerate(PAYLOADS):
        user = User.new(f"pop{n}", f"pop{n}@example.com", HASH)
        about[user.username] = validate_about_me(payload[:140])
        store.create_user(user.replace(about_me=about[user.username]))
        store.create_post(new_post(user.id, f"post {n}", "en"))
    store.close()
    env = {"VAR_DIR": str(root / "var"), "SITE_DIR": str(root / "site"), "STORE": "sqlite"}
    with serving(env, root / "serve.log") as base:
        yield {"base": base, "about": about}


@pytest.fixture
def watched(browser, stack):
    """A page with the CSP bypassed and the hook installed, and what it records."""
    context = new_context(browser, stack["base"], bypass_csp=True)
    seen: list[str] = []
    context.expose_binding("__xss_report", lambda _src, where, hit: seen.append(f"{where}: {hit}"))
    context.add_init_script(HOOK)
    context.on("dialog", lambda dialog: (seen.append(f"dialog {dialog.message}"), dialog.dismiss()))
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)(?!www\.gravatar)"), lambda r: r.abort())
    yield context.new_page(), seen
    with contextlib.suppress(Exception):
        context.close()


def test_no_about_me_payload_runs_or_becomes_markup_in_the_popup(watched, stack):
    page, seen = watched
    page.clock.install()  # the popup's delay, moved on by the test
    about = stack["about"]
    shown = 0
    for address in [urls.explore_archive(k) for k in range(1, len(about) // 25 + 2)]:
        goto(page, address)
        for link in page.locator(".post a.post-author").all():
            name = link.inner_text()
            link.focus()
            page.clock.run_for(500)
            popup = page.get_by_role("dialog", name=name)
            expect(popup).to_be_visible()
            text = popup.locator(".user-popup-about")
            if about[name]:
                expect(text).to_have_text(about[name], use_inner_text=False)
            assert text.evaluate("el => el.childElementCount") == 0, name
            page.keyboard.press("Escape")
            shown += 1
    page.clock.run_for(500)
    assert shown == len(about)  # every post once: the archive pages
    assert seen == [], f"{len(seen)} payloads ran, e.g. {seen[:5]}"
