"""Export your posts in a real browser against a real `build.py serve`: the
link on one's own profile, the progress shown without a reload, and the mail
in the local outbox with posts.json attached."""

from __future__ import annotations

import email
import json
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .test_flows import unique
from .ui import goto, post, register_api, sign_in


def mail_to(outbox: Path, address: str, seconds: float = 10) -> email.message.EmailMessage:
    deadline = time.monotonic() + seconds
    while True:
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address and message["Subject"] == "[Microblog] Your blog posts":
                return message
        assert time.monotonic() < deadline, f"no export mail to {address}"
        time.sleep(0.1)


def test_export_your_posts_shows_its_progress_and_mails_posts_json(page, base, outbox):
    name = unique("ann")
    register_api(base, name)
    sign_in(page, name)
    post(page, "My *first* post")
    post(page, "And a second one")
    goto(page, f"/u/{name}/")
    calls = []
    page.on("request", lambda r: calls.append((r.method, urlsplit(r.url).path)))

    page.get_by_role("link", name="Export your posts").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Exporting posts...")
    expect(status).to_contain_text("%")
    expect(page.get_by_role("link", name="Export your posts")).to_be_hidden()
    expect(status).to_have_text("Your posts have been mailed to you.")
    expect(page.get_by_role("link", name="Export your posts")).to_be_visible()  # again

    message = mail_to(outbox, f"{name}@example.com")
    text = message.get_body(("plain",)).get_content()
    assert "Please find attached the archive of your posts that you requested." in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "posts.json"
    posts = json.loads(attachment.get_content())["posts"]
    assert [p["body"] for p in posts] == ["My *first* post", "And a second one"]
    assert all(p["timestamp"].endswith("Z") for p in posts)
    # Followed without a reload: the start, then reads of the progress only.
    after = calls[calls.index(("POST", "/api/exports")) + 1 :]
    assert after and set(after) == {("GET", "/api/exports/current")}


def test_only_the_owner_sees_the_export_link_and_nobody_else_asks(make_context, base):
    owner, other = unique("bob"), unique("eve")
    register_api(base, owner)
    register_api(base, other)
    anonymous = make_context().new_page()
    asked = []
    anonymous.on("request", lambda r: asked.append(r.url) if "/api/exports" in r.url else None)
    goto(anonymous, f"/u/{owner}/")
    expect(anonymous.get_by_role("link", name="Export your posts")).to_have_count(0)
    assert asked == []  # not signed in: no export calls
    visitor = make_context().new_page()
    sign_in(visitor, other)
    visitor.on("request", lambda r: asked.append(r.url) if "/api/exports" in r.url else None)
    goto(visitor, f"/u/{owner}/")
    expect(visitor.get_by_role("button", name="Follow")).to_be_visible()
    expect(visitor.get_by_role("link", name="Export your posts")).to_have_count(0)
    assert asked == []  # another's profile: no export calls


@pytest.mark.parametrize("end", ["mailed", "died"])
def test_a_running_export_is_followed_from_the_moment_the_profile_opens(page, base, stack, end):
    """A task already running (started from another tab, say) shows its
    progress on opening the profile, and its end without a reload: mailed,
    or its job dead (no write for TASK_STALE)."""
    from functions.domain import TASK_STALE, Task, new_id, utcnow
    from functions.store.sqlite import SQLiteStore

    name = unique("cy")
    user = register_api(base, name)
    store = SQLiteStore(stack["var"] / "microblog.sqlite3")  # the server's database
    try:
        now = utcnow()
        task = Task(new_id(now), user["id"], "export_posts", "Exporting posts...", now, now)
        assert store.start_task(task.replace(progress=37))
        sign_in(page, name)
        goto(page, f"/u/{name}/")
        status = page.get_by_role("status")
        expect(status).to_have_text("Exporting posts... 37%")
        expect(page.get_by_role("link", name="Export your posts")).to_be_hidden()
        if end == "mailed":
            store.update_task(task.replace(progress=100, complete=True, updated=utcnow()))
            expect(status).to_have_text("Your posts have been mailed to you.")
        else:
            store.update_task(task.replace(progress=40, updated=utcnow() - TASK_STALE))
            expect(status).to_have_text("The export stopped before it was done; please try again.")
        expect(page.get_by_role("link", name="Export your posts")).to_be_visible()
    finally:
        store.close()
