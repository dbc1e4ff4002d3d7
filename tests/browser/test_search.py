"""Search in a real browser: the navigation's search box, the static index,
the results taken from the explore pages, and their pages."""

from __future__ import annotations

import random
import re
import string
import uuid

import httpx
from playwright.sync_api import expect

from functions.sitegen.terms import words

from .ui import PASSWORD, goto, register_api, visitor

# Words whose folding has traps: case, accents, ligatures, full-width
# letters, German sharp s, Greek final sigma, scripts without spaces.
TRICKY = (
    "Crème BRÛLÉE ﬁne \uff37\uff49\uff44\uff45 Straße ΚΟΣΜΟΣ İstanbul 東京タワー naïve_e-mail 42"
)


def made_up_word() -> str:
    """A word no other test's post has (the stack is shared)."""
    return "".join(random.choices(string.ascii_lowercase, k=9))


def poster(base: str) -> httpx.Client:
    """An API client with a token of a new user (posts without the browser)."""
    name = f"finder{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    token = httpx.post(f"{base}/api/tokens", auth=(name, PASSWORD), headers=visitor())
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['token']}", **visitor()}
    return httpx.Client(base_url=base, headers=headers)


def test_the_nav_search_finds_posts_with_every_word_whatever_case_and_accents(page, base):
    word = made_up_word()
    with poster(base) as api:
        for n in range(26):
            assert api.post("/api/posts", json={"body": f"Crème {word}s number {n}"}).is_success
        assert api.post("/api/posts", json={"body": f"Only {word}s here"}).is_success
        assert api.post("/api/posts", json={"body": "Crème without the word"}).is_success

    goto(page, "/explore/")
    box = page.get_by_placeholder("Search")
    box.fill(f"CRÈME {word.upper()}S")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    expect(page.get_by_role("heading", name="Search Results")).to_be_visible()
    results = page.locator("#search-results article.post")
    expect(results).to_have_count(25)
    expect(results.first).to_contain_text(f"{word}s number 25")  # newest first
    expect(page.locator("#search-results")).not_to_contain_text("Only")
    expect(page.locator("#search-results")).not_to_contain_text("without the word")
    expect(results.first.locator(".post-author")).to_have_text(re.compile("finder"))
    expect(results.first.locator("time")).to_have_attribute("title", re.compile(r"\d"))
    expect(page.get_by_role("link", name="Previous results")).to_be_hidden()

    page.get_by_role("link", name="Next results").click()
    page.wait_for_selector("html[data-ready]", state="attached")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(f"{word}s number 0")
    expect(page.get_by_role("link", name="Next results")).to_be_hidden()
    page.get_by_role("link", name="Previous results").click()
    expect(results).to_have_count(25)
    expect(page.get_by_placeholder("Search")).to_have_value(f"CRÈME {word.upper()}S")


def test_a_search_that_matches_nothing_says_so(page):
    goto(page, f"/search/?q={made_up_word()}")
    expect(page.get_by_text("No posts match your search.")).to_be_visible()


def test_the_browser_splits_and_folds_words_as_the_build_does(page):
    goto(page, "/search/")
    found = page.evaluate(
        """async (text) => {
            const src = document.querySelector("script[type=module]").src;
            return (await import(src)).searchWords(text);
        }""",
        TRICKY,
    )
    assert found == list(dict.fromkeys(words(TRICKY)))
