"""Paging back from an index shows every post once, in order, while archive
pages keep their fixed numbers."""

from __future__ import annotations

import re

import pytest

from functions import urls
from functions.sitegen.pages import POSTS_PER_PAGE, index_first_page
from tests.sitegen.test_site import add_posts, add_user, read

POST = re.compile(r"Post number (\d+)<")
OLDER = re.compile(r'<a class="older" href="([^"]+)"')


def walk_back(settings, url: str) -> list[int]:
    """The post numbers seen from `url`, following "Older posts" to the end."""
    seen: list[int] = []
    while url:
        html = read(settings, url)
        seen += [int(n) for n in POST.findall(html)]
        older = OLDER.search(html)
        url = older.group(1) if older else None
    return seen


@pytest.mark.parametrize("count", [1, 24, 25, 26, 50, 51, 76])
def test_paging_back_from_a_profile_shows_every_post_once(settings, store, builder, count):
    ann = add_user(store, "ann")
    add_posts(store, [ann], count)
    builder.build_all()
    assert walk_back(settings, urls.user_page("ann")) == list(reversed(range(count)))


@pytest.mark.parametrize("count", [24, 26, 76])
def test_paging_back_from_explore_shows_every_post_once(settings, store, builder, count):
    users = [add_user(store, name) for name in ("ann", "bob", "cyd")]
    add_posts(store, users, count)
    builder.build_all()
    assert walk_back(settings, urls.EXPLORE) == list(reversed(range(count)))


def test_an_index_shows_at_least_a_full_page_and_at_most_two():
    assert index_first_page(0) == 1
    assert index_first_page(POSTS_PER_PAGE) == 1
    assert index_first_page(POSTS_PER_PAGE + 1) == 1  # 26 posts: pages 1 and 2
    assert index_first_page(2 * POSTS_PER_PAGE) == 2  # a full newest page alone
    assert index_first_page(3 * POSTS_PER_PAGE + 1) == 3  # 76: pages 3 and 4


def test_the_index_after_a_new_post_still_pages_back_without_repeats(settings, store, builder):
    ann = add_user(store, "ann")
    add_posts(store, [ann], 50)
    builder.build_all()
    add_posts(store, [ann], 1, start=50)
    builder.build_all()
    assert walk_back(settings, urls.user_page("ann")) == list(reversed(range(51)))
