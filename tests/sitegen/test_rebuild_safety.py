"""A full build keeps history and refuses to unpublish the site (issue 10, item 13).

Rename redirects are data in the store (its former names), so every full
build makes them again; a redirect never replaces a page of a user who holds
that name now; a store that comes back empty, or a build that would remove
most of the site, is refused unless `--allow-mass-delete` says it is meant.
"""

from __future__ import annotations

import uuid

import pytest

import build
from functions import urls
from functions.domain import User, UserCreated, UserUpdated
from functions.services import new_post
from functions.sitegen.builder import MassDeletion
from functions.store.sqlite import SQLiteStore
from functions.wiring import local_builder
from tests.server import free_port

HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def add_user(store, name: str, posts: int = 0) -> User:
    user = User.new(name, f"{name}.{uuid.uuid4().hex[:6]}@example.com", HASH)
    store.create_user(user)
    for n in range(posts):
        store.create_post(new_post(user.id, f"{name} says {n}", "en"))
    return store.get_user(user.id)


def rename(store, builder, user: User, name: str) -> User:
    """What the API does: the store write, then the pages it touches."""
    renamed = store.update_user(user.id, {"username": name})
    builder.apply([UserUpdated.of(renamed, user)])
    return renamed


def page(settings, url: str) -> str | None:
    path = settings.site_dir / urls.output_path(url)
    return path.read_text() if path.exists() else None


def removed_pages(settings, stats) -> int:
    """How many files a build removed, not counting the search index's."""
    gone = (p for p in stats.changed if not (settings.site_dir / p).exists())
    return sum(not p.startswith("search/") for p in gone)


def redirects_to(settings, url: str) -> str | None:
    text = page(settings, url) or ""
    marker = 'http-equiv="refresh" content="0; url='
    return text.split(marker)[1].split('"')[0] if marker in text else None


def site_files(settings) -> dict[str, bytes]:
    root = settings.site_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------ redirects as data


def test_a_full_build_keeps_the_redirects_a_rename_left(settings, store, builder):
    ann = add_user(store, "ann", posts=30)
    builder.build_all()
    rename(store, builder, ann, "annie")
    builder.build_all()
    assert redirects_to(settings, urls.user_page("ann")) == urls.user_page("annie")
    assert redirects_to(settings, urls.user_archive("ann", 2)) == urls.user_archive("annie", 2)
    assert page(settings, urls.user_feed("ann")) is None
    assert "User: annie" in page(settings, urls.user_page("annie"))


def test_old_names_lead_straight_to_the_current_one(settings, store, builder):
    ann = add_user(store, "ann", posts=1)
    ann = rename(store, builder, ann, "annie")
    ann = rename(store, builder, ann, "anna")
    builder.build_all()
    assert redirects_to(settings, urls.user_page("ann")) == urls.user_page("anna")
    assert redirects_to(settings, urls.user_page("annie")) == urls.user_page("anna")


def test_a_name_taken_back_is_a_profile_again(settings, store, builder):
    ann = add_user(store, "ann", posts=1)
    ann = rename(store, builder, ann, "annie")
    rename(store, builder, ann, "ann")
    builder.build_all()
    assert "User: ann<" in page(settings, urls.user_page("ann"))
    assert page(settings, urls.user_feed("ann")) is not None
    assert redirects_to(settings, urls.user_page("annie")) == urls.user_page("ann")


def test_a_case_change_redirects_the_old_spelling(settings, store, builder):
    ann = add_user(store, "ann", posts=1)
    rename(store, builder, ann, "Ann")
    builder.build_all()
    assert redirects_to(settings, urls.user_page("ann")) == urls.user_page("Ann")


def test_a_redirect_never_replaces_the_page_of_a_user_who_took_the_name(settings, store, builder):
    ann = add_user(store, "ann", posts=30)
    builder.build_all()
    renamed = store.update_user(ann.id, {"username": "annie"})
    bob = add_user(store, "ann", posts=1)  # takes the name before the rename's pages are made
    builder.apply([UserCreated(bob.id)])
    builder.apply([UserUpdated.of(renamed, ann)])  # arrives late
    for build_all in (False, True):
        if build_all:
            builder.build_all()
        assert "User: ann<" in page(settings, urls.user_page("ann"))
        feed = page(settings, urls.user_feed("ann"))  # bob's feed, kept
        assert "ann says 0" in feed and "ann says 29" not in feed
        assert "User: annie<" in page(settings, urls.user_page("annie"))
    assert page(settings, urls.user_archive("ann", 2)) is None  # ann's old page went


def test_a_name_taken_in_another_case_is_not_redirected(settings, store, builder):
    ann = add_user(store, "ann", posts=1)
    rename(store, builder, ann, "annie")
    add_user(store, "ANN", posts=1)
    builder.build_all()
    assert page(settings, urls.user_page("ann")) is None  # the name is ANN's now
    assert "User: ANN<" in page(settings, urls.user_page("ANN"))


# ------------------------------------------------------------ refusing mass deletion


def test_a_build_from_an_empty_store_changes_nothing_without_the_flag(settings, store, builder):
    for name in ("ann", "bob"):
        add_user(store, name, posts=3)
    builder.build_all()
    before = site_files(settings)
    empty = SQLiteStore(settings.var_dir / "elsewhere.sqlite3")  # the wrong path
    with pytest.raises(MassDeletion, match="no users"):
        local_builder(settings, empty, workers=1).build_all()
    assert site_files(settings) == before
    local_builder(settings, empty, workers=1).build_all(allow_mass_delete=True)
    assert page(settings, urls.user_page("ann")) is None
    empty.close()


def test_a_build_that_would_remove_most_pages_removes_none_without_the_flag(
    settings, store, builder
):
    ann = add_user(store, "ann", posts=60)
    builder.build_all()
    posts = store.posts_by(ann.id, limit=100).items
    for post in posts[:55]:  # gone from the store, behind the site's back
        store.delete_post(post.id)
    with pytest.raises(MassDeletion, match="would remove 55 of"):
        builder.build_all()
    assert all(page(settings, urls.post_page(p.id)) for p in posts)
    stats = builder.build_all(allow_mass_delete=True)
    assert removed_pages(settings, stats) == 55
    assert page(settings, urls.post_page(posts[0].id)) is None


def test_an_ordinary_build_still_removes_what_went(settings, store, builder):
    ann = add_user(store, "ann", posts=10)
    builder.build_all()
    gone = store.posts_by(ann.id, limit=1).items[0]
    store.delete_post(gone.id)
    # Its permalink (and the search index's files of its words no other post has).
    assert removed_pages(settings, builder.build_all()) == 1


def test_the_command_line_refuses_with_a_clear_message(settings, store, capsys):
    add_user(store, "ann", posts=2)
    assert build.main(["build", "--workers", "1"]) == 0
    site = settings.site_dir / "u" / "ann" / "index.html"
    settings.database.rename(settings.database.with_suffix(".lost"))  # a lost volume
    assert build.main(["build", "--workers", "1"]) == 1
    error = capsys.readouterr().err
    assert "The store has no users" in error and "--allow-mass-delete" in error
    assert site.exists()
    assert build.main(["build", "--workers", "1", "--allow-mass-delete"]) == 0
    assert not site.exists()


def test_serve_refuses_to_start_on_an_empty_store(settings, store, capsys):
    add_user(store, "ann", posts=1)
    assert build.main(["build", "--workers", "1"]) == 0
    settings.database.rename(settings.database.with_suffix(".lost"))
    assert build.main(["serve", "--port", str(free_port())]) == 1
    error = capsys.readouterr().err
    assert "The store has no users" in error and "build.py build" in error
    assert (settings.site_dir / "u" / "ann" / "index.html").exists()
