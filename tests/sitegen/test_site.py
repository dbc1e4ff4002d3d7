"""The static site: page model, stable archives, publishing, feeds, sitemaps, links, HTML5."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from functions import urls
from functions.domain import (
    Followed,
    PostCreated,
    PostDeleted,
    User,
    UserUpdated,
    utcnow,
)
from functions.services import new_post
from functions.sitegen.data import StoreData
from functions.sitegen.pages import (
    POSTS_PER_PAGE,
    Explore,
    ExploreArchive,
    Permalink,
    Profile,
    ProfileArchive,
    SitemapIndex,
    UserCard,
    pages_for,
)
from functions.sitegen.publish import LocalPublisher
from functions.wiring import make_renderer
from tests.html5 import html5_errors

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def add_user(store, name: str) -> User:
    user = User.new(name, f"{name}@example.com", HASH)
    store.create_user(user)
    return store.get_user(user.id)


def add_posts(store, users: list[User], count: int, start: int = 0) -> list:
    """`count` posts, round-robin over `users`, oldest first, in the past."""
    base = utcnow() - timedelta(days=1)
    posts = []
    for n in range(start, start + count):
        author = users[n % len(users)]
        at = base + timedelta(seconds=n)
        posts.append(store.create_post(new_post(author.id, f"Post number {n}", "en", at)))
    return posts


def post_now(store, builder, author: User, body: str = "A brand new post"):
    """What the API does: store the post, then rebuild the pages it touches."""
    post = store.create_post(new_post(author.id, body, "en"))
    stats = builder.apply([PostCreated.of(post)])
    return post, stats


def read(settings, url: str) -> str:
    return (settings.site_dir / urls.output_path(url)).read_text()


# ------------------------------------------------------------ the page model


def test_a_new_post_touches_the_same_few_pages_whatever_the_corpus_size(settings, store):
    ann = add_user(store, "ann")
    data = StoreData(store)
    early = new_post(ann.id, "x", "en").replace(seq=3, explore_seq=7)
    late = new_post(ann.id, "x", "en").replace(seq=30_003, explore_seq=2_000_007)
    small = pages_for(PostCreated.of(early), data)
    large = pages_for(PostCreated.of(late), data)
    assert len(small) == len(large) == 9
    assert ProfileArchive(ann.id, 1201) in large and ExploreArchive(80001) in large
    first_of_a_sitemap_chunk = late.replace(explore_seq=2_001_001)
    assert len(pages_for(PostCreated.of(first_of_a_sitemap_chunk), data)) == 11
    assert SitemapIndex() in pages_for(PostCreated.of(first_of_a_sitemap_chunk), data)
    # The first post of a new archive page also renders the page before it
    # again: no longer the newest, it links on and becomes stable.
    first_of_pages = late.replace(seq=30_026, explore_seq=2_000_026)
    touched = pages_for(PostCreated.of(first_of_pages), data)
    assert len(touched) == 11
    assert ProfileArchive(ann.id, 1201) in touched and ExploreArchive(80001) in touched


@pytest.mark.parametrize("corpus", [40, 400])
def test_a_new_post_writes_at_most_11_files(settings, store, builder, corpus):
    """11 pages; the search index's shards of its words come on top
    (tests/sitegen/test_search.py)."""
    users = [add_user(store, f"user{n}") for n in range(8)]
    add_posts(store, users, corpus)
    builder.build_all()
    post, stats = post_now(store, builder, users[0])
    assert stats.written == stats.rendered  # every touched file really changed
    stats.changed = [path for path in stats.changed if not path.startswith("search/")]
    assert len(stats.changed) <= 11
    mine = (post.seq - 1) // POSTS_PER_PAGE + 1
    everyone = (post.explore_seq - 1) // POSTS_PER_PAGE + 1
    expected = [
        urls.output_path(urls.post_page(post.id)),
        "u/user0/index.html",
        urls.output_path(urls.user_archive("user0", mine)),
        "u/user0/feed.xml",
        "u/user0/card.json",  # its post count
        "explore/index.html",
        urls.output_path(urls.explore_archive(everyone)),
        "explore/feed.xml",
        "sitemap-posts-0.xml",
    ]
    if post.seq % POSTS_PER_PAGE == 1:  # a new page: the one before links on to it
        expected.append(urls.output_path(urls.user_archive("user0", mine - 1)))
    if post.explore_seq % POSTS_PER_PAGE == 1:
        expected.append(urls.output_path(urls.explore_archive(everyone - 1)))
    assert sorted(stats.changed) == sorted(expected)


def test_follows_touch_only_the_two_profiles_and_cards(settings, store):
    ann, bob = add_user(store, "ann"), add_user(store, "bob")
    assert pages_for(Followed(ann.id, bob.id), StoreData(store)) == {
        Profile(ann.id),
        Profile(bob.id),
        UserCard(ann.id),
        UserCard(bob.id),
    }


# ------------------------------------------------------------ stable pagination


def test_archive_pages_are_numbered_from_the_oldest_and_never_change(settings, store, builder):
    ann = add_user(store, "ann")
    posts = add_posts(store, [ann], 60)  # pages 1 (1-25), 2 (26-50), 3 (51-60)
    builder.build_all()
    page1 = read(settings, urls.user_archive("ann", 1))
    page2 = read(settings, urls.user_archive("ann", 2))
    assert "Post number 0<" in page1 and "Post number 24<" in page1
    assert "Post number 25<" not in page1 and "Post number 25<" in page2
    assert page1.index("Post number 24<") < page1.index("Post number 0<")  # newest first

    for n in range(20):  # page 3 fills up and page 4 begins
        post_now(store, builder, ann, f"Later post {n}")
    assert read(settings, urls.user_archive("ann", 1)) == page1
    assert read(settings, urls.user_archive("ann", 2)) == page2
    page4 = read(settings, urls.user_archive("ann", 4))
    assert "Later post 19<" in page4 and "Later post 14<" not in page4

    index = read(settings, urls.user_page("ann"))  # pages 4 (5 posts) and 3, whole
    assert index.count('class="post"') == POSTS_PER_PAGE + 5
    assert f'href="{urls.user_archive("ann", 2)}"' in index  # "Older posts"
    assert "Older posts" in index and "Newer posts" not in index
    assert posts[0].seq == 1


def test_explore_archives_are_stable_too(settings, store, builder):
    users = [add_user(store, f"user{n}") for n in range(3)]
    add_posts(store, users, 30)
    builder.build_all()
    page1 = read(settings, urls.explore_archive(1))
    post_now(store, builder, users[1])
    assert read(settings, urls.explore_archive(1)) == page1
    assert "A brand new post" in read(settings, urls.explore_archive(2))
    assert "A brand new post" in read(settings, urls.EXPLORE)


def test_newer_and_older_links_chain_the_archive(settings, store, builder):
    ann = add_user(store, "ann")
    add_posts(store, [ann], 70)
    builder.build_all()
    page2 = read(settings, urls.user_archive("ann", 2))
    assert f'href="{urls.user_archive("ann", 3)}"' in page2
    assert f'href="{urls.user_archive("ann", 1)}"' in page2
    newest = read(settings, urls.user_archive("ann", 3))
    assert f'class="newer" href="{urls.user_page("ann")}"' in newest


# ------------------------------------------------------------ removal and renames


def test_a_deleted_post_disappears_from_its_pages(settings, store, builder):
    ann = add_user(store, "ann")
    posts = add_posts(store, [ann], 3)
    builder.build_all()
    gone = posts[1]
    permalink = settings.site_dir / urls.output_path(urls.post_page(gone.id))
    assert permalink.exists()
    store.delete_post(gone.id)
    stats = builder.apply([PostDeleted.of(gone)])
    assert not permalink.exists() and not permalink.parent.exists()
    # The permalink (and the search index's files of its words that no other post has).
    removed = [p for p in stats.changed if not (settings.site_dir / p).exists()]
    assert [p for p in removed if not p.startswith("search/")] == [
        urls.output_path(urls.post_page(gone.id))
    ]
    for url in (urls.user_page("ann"), urls.user_archive("ann", 1), urls.EXPLORE):
        assert "Post number 1<" not in read(settings, url)
    assert "Post number 1<" not in read(settings, urls.EXPLORE_FEED)


def test_a_username_change_moves_every_page_and_leaves_redirects(settings, store, builder):
    ann = add_user(store, "ann")
    add_posts(store, [ann], 30)
    builder.build_all()
    renamed = store.update_user(ann.id, {"username": "annie"})
    stats = builder.apply([UserUpdated.of(renamed, ann)])
    assert "User: annie" in read(settings, urls.user_page("annie"))
    assert "annie" in read(settings, urls.user_archive("annie", 2))
    for old, new in [
        (urls.user_page("ann"), urls.user_page("annie")),
        (urls.user_archive("ann", 1), urls.user_archive("annie", 1)),
    ]:
        moved = read(settings, old)
        assert f'http-equiv="refresh" content="0; url={new}"' in moved
    assert not (settings.site_dir / "u/ann/feed.xml").exists()
    assert ">ann<" not in read(settings, urls.EXPLORE)
    assert stats.written > 30  # every permalink shows the new name


def test_the_full_build_removes_pages_that_no_longer_exist(settings, store, builder):
    builder.build_all()
    stale = settings.site_dir / "p" / "01ARZ3NDEKTSV4RRFFQ69G5FAV" / "index.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    (settings.site_dir / "README.md").write_text("kept")
    stats = builder.build_all()
    assert not stale.exists() and stats.removed == 1
    assert (settings.site_dir / "README.md").exists()


def test_the_full_build_keeps_old_assets_but_not_a_killed_writes_leftovers(
    settings, store, builder
):
    """Pages cached in browsers and at the edge still name last release's
    hashed assets: they stay. A half-written file under static/ does not."""
    builder.build_all()
    static = settings.site_dir / "static"
    old = static / "style.0123456789.css"
    old.write_text("body {}")
    leftover = static / ".tmp-style.abcdef.css"
    leftover.write_text("bod")
    stats = builder.build_all()
    assert old.exists() and not leftover.exists() and stats.removed == 1


# ------------------------------------------------------------ the local publisher


def test_unchanged_bytes_are_not_rewritten(tmp_path):
    publisher = LocalPublisher(tmp_path)
    assert publisher.write("a/index.html", b"one") is True
    before = (tmp_path / "a/index.html").stat().st_mtime_ns
    assert publisher.write("a/index.html", b"one") is False
    assert (tmp_path / "a/index.html").stat().st_mtime_ns == before
    assert publisher.write("a/index.html", b"two") is True
    assert publisher.existing() == {"a/index.html"}


def test_a_second_full_build_writes_nothing(settings, store, builder):
    add_posts(store, [add_user(store, "ann")], 30)
    first = builder.build_all()
    second = builder.build_all()
    assert first.written == first.rendered + len(builder.renderer.assets)
    assert second.written == 0 and second.skipped == first.written


def test_writes_are_atomic(tmp_path):
    """A reader never sees a half-written file under its final name."""
    publisher = LocalPublisher(tmp_path)
    bodies = [b"a" * 2_000_000, b"b" * 3_000_000]
    publisher.write("page.html", bodies[0])
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            seen.add((tmp_path / "page.html").read_bytes())

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(60):
        publisher.write("page.html", bodies[n % 2])
    stop.set()
    thread.join()
    assert seen <= set(bodies) and len(seen) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary left


def test_the_publisher_refuses_paths_outside_the_site(tmp_path):
    with pytest.raises(ValueError):
        LocalPublisher(tmp_path / "site").write("../escape.html", b"x")


# ------------------------------------------------------------ feeds and sitemaps


def test_feeds_are_atom(settings, store, builder):
    ann = add_user(store, "ann")
    add_posts(store, [ann], 30)
    builder.build_all()
    for url, entries in [(urls.user_feed("ann"), 20), (urls.EXPLORE_FEED, 20)]:
        feed = ET.fromstring(read(settings, url))
        assert feed.tag == f"{ATOM}feed"
        assert len(feed.findall(f"{ATOM}entry")) == entries
        first = feed.find(f"{ATOM}entry")
        assert first.find(f"{ATOM}content").text == "<p>Post number 29</p>"
        assert first.find(f"{ATOM}id").text.startswith("http://127.0.0.1:8000/p/")
        assert feed.find(f"{ATOM}updated").text.endswith("Z")


def test_sitemaps_list_every_post_and_profile(settings, store, builder):
    users = [add_user(store, f"user{n}") for n in range(3)]
    posts = add_posts(store, users, 12)
    builder.build_all()
    index = ET.fromstring(read(settings, urls.SITEMAP))
    maps = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    assert maps == [
        "http://127.0.0.1:8000/sitemap-pages.xml",
        "http://127.0.0.1:8000/sitemap-posts-0.xml",
    ]
    chunk = ET.fromstring(read(settings, urls.sitemap_posts(0)))
    locs = {loc.text.removeprefix("http://127.0.0.1:8000") for loc in chunk.iter(f"{SITEMAP}loc")}
    assert {urls.post_page(p.id) for p in posts} <= locs
    assert {urls.user_page(u.username) for u in users} <= locs
    pages = ET.fromstring(read(settings, urls.SITEMAP_PAGES))
    assert any(loc.text.endswith("/about/") for loc in pages.iter(f"{SITEMAP}loc"))
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in read(settings, urls.ROBOTS)


# ------------------------------------------------------------ the whole site


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def resolves(site: Path, url: str) -> bool:
    path = site / urls.output_path(url)
    return path.is_file()


@pytest.fixture
def built_site(settings, store, builder):
    users = [add_user(store, name) for name in ("ann", "bob", "carol.d", "dave-e", "eve_f")]
    add_posts(store, users, 140)
    for follower in users[:3]:
        store.follow(follower.id, users[4].id)
    stats = builder.build_all()
    assert stats.rendered > 50
    return settings.site_dir


def test_every_internal_link_resolves(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 50
    checked = 0
    for page in pages:
        url = "/" + page.relative_to(built_site).as_posix().removesuffix("index.html")
        parser = Links()
        parser.feed(page.read_text())
        for link in parser.links:
            target = urlparse(urljoin(url, link))
            if target.scheme in ("http", "https") and target.netloc != "127.0.0.1:8000":
                continue  # Gravatar and other sites
            if target.path.startswith("/api/"):
                continue  # the API, not the static site (forms)
            assert resolves(built_site, target.path), f"{url} links to missing {link}"
            checked += 1
    assert checked > 1000


def test_every_page_is_valid_html5(built_site):
    pages = sorted(built_site.rglob("*.html"))
    messages = html5_errors(pages)
    assert messages == [], messages[:5]


def test_content_pages_are_built_and_linked_from_the_footer(built_site):
    about = (built_site / "about" / "index.html").read_text()
    assert "<h1" in about and "About Microblog" in about
    home = (built_site / "index.html").read_text()
    for slug in ("about", "privacy", "help"):
        assert f'href="/{slug}/"' in home


def test_assets_have_a_content_hash_in_their_name(settings, built_site):
    renderer = make_renderer(settings)
    css = renderer.asset_url("style.css")
    assert css.startswith("/static/style.") and css.endswith(".css") and len(css) > 24
    assert (built_site / css.lstrip("/")).exists()
    assert f'href="{css}"' in (built_site / "index.html").read_text()


def test_the_post_partial_is_shared_by_pages_and_api(settings, store, builder):
    ann = add_user(store, "ann")
    post, _ = post_now(store, builder, ann)
    html = builder.renderer.post_html(post, store.get_user(ann.id))
    assert html in read(settings, urls.post_page(post.id))
    assert html in read(settings, urls.user_page("ann"))
    assert Permalink(post.id) in pages_for(PostCreated.of(post), StoreData(store))
    assert Explore() in pages_for(PostCreated.of(post), StoreData(store))
