"""The site in English and Spanish: every page people read also under /es/,
in Spanish, pointing to its other version; the Spanish pages link to Spanish
pages; a change still rewrites a bounded number of files, per language."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from functions import urls
from functions.domain import PostDeleted
from functions.seed import seed
from functions.sitegen.pages import pages_for
from functions.sitegen.publish import LocalPublisher
from functions.sitegen.render import LOCALIZED_PAGES
from functions.sitegen.s3 import invalidation_paths
from functions.sitegen.shards import Shard
from functions.wiring import local_builder
from tests.html5 import html5_errors
from tests.sitegen.test_site import add_posts, add_user, post_now

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SITE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def settings(settings):
    """Both languages (the other site tests build English only)."""
    return dataclasses.replace(settings, languages=("en", "es"))


@pytest.fixture
def site(settings, store, builder) -> Path:
    """A small site: three users, 60 posts, a follow, built in full."""
    users = [add_user(store, name) for name in ("ann", "bob", "cid")]
    add_posts(store, users, 60)
    store.follow(users[1].id, users[0].id)
    builder.build_all()
    return settings.site_dir


class Page(HTMLParser):
    """What the tests read of a page: its language, alternates and links."""

    def __init__(self, text: str):
        super().__init__()
        self.lang = None
        self.alternates: dict[str, str] = {}
        self.links: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "link" and attrs.get("rel") == "alternate" and "hreflang" in attrs:
            self.alternates[attrs["hreflang"]] = attrs["href"]
        elif tag == "a" and "href" in attrs:
            self.links.append((attrs["href"], attrs))


def html_pages(root: Path) -> list[Path]:
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*.html")
        if p.relative_to(root).parts[0] not in ("static", "es")
    )


def test_every_page_people_read_is_also_under_es(site):
    english = html_pages(site)
    assert len(english) > 20
    for path in english:
        assert (site / "es" / path).is_file(), path
    # One feed, sitemap and robots.txt whatever the language.
    assert not list((site / "es").rglob("*.xml")) and not (site / "es" / "robots.txt").exists()


def test_each_page_says_its_language_and_points_to_the_other(site):
    for path in html_pages(site):
        url = "/" + str(path).removesuffix("index.html")
        english = Page((site / path).read_text())
        spanish = Page((site / "es" / path).read_text())
        assert (english.lang, spanish.lang) == ("en", "es"), path
        expected = {
            "en": SITE_URL + url,
            "es": SITE_URL + "/es" + url,
            "x-default": SITE_URL + url,
        }
        assert english.alternates == spanish.alternates == expected, path


def test_links_inside_a_spanish_page_stay_in_spanish(site):
    checked = 0
    for path in html_pages(site):
        page = Page((site / "es" / path).read_text())
        for href, attrs in page.links:
            if not href.startswith("/") or "language-switch" in attrs.get("class", ""):
                continue
            if href.endswith(".xml"):  # feeds: one per address, whatever the language
                continue
            assert href.startswith("/es/"), f"{path}: {href}"
            checked += 1
        switch = [href for href, attrs in page.links if "language-switch" in attrs.get("class", "")]
        assert switch == ["/" + str(path).removesuffix("index.html") + "?lang=en"], path
    assert checked > 100


def test_spanish_pages_read_in_spanish(site):
    profile = (site / "es/u/ann/index.html").read_text()
    assert "Usuario: ann" in profile and "Inicio" in profile and "Explorar" in profile
    assert re.search(r'<span class="follower-count">1</span> seguidor,', profile)
    assert "20 artículos" in profile and " dijo " in profile
    explore = (site / "es/explore/index.html").read_text()
    assert "Artículos anteriores" in explore and 'href="/es/explore/page/1/"' in explore
    login = (site / "es/login/index.html").read_text()
    for label in ("Nombre de usuario", "Contraseña", "Recordarme", "Iniciar sesión"):
        assert label in login
    english = (site / "u/ann/index.html").read_text()
    assert "User: ann" in english and " said " in english and "dijo" not in english
    # The script's Spanish messages: a hashed asset the Spanish pages name.
    (catalog,) = (site / "static/i18n").glob("es.*.json")
    assert f'href="/static/i18n/{catalog.name}"' in profile
    assert "i18n-catalog" not in english


def test_sitemaps_list_both_languages(site):
    def locs(name: str) -> set[str]:
        tree = ET.parse(site / name)
        return {e.text.removeprefix(SITE_URL) for e in tree.iter(f"{SITEMAP}loc")}

    pages = locs("sitemap-pages.xml")
    assert {"/explore/", "/es/explore/", "/about/", "/es/about/"} <= pages
    posts = locs("sitemap-posts-0.xml")
    english = {u for u in posts if not u.startswith("/es/")}
    assert len(english) > 60 and {"/es" + u for u in english} == posts - english
    robots = (site / "robots.txt").read_text()
    assert "Disallow: /es/edit-profile/" in robots and "Disallow: /edit-profile/" in robots


def test_a_new_post_rewrites_its_pages_once_per_language_and_its_feeds_once(
    settings, store, builder, site
):
    ann = store.get_user_by_username("ann")
    post, stats = post_now(store, builder, ann)
    # The search index's shards: one index whatever the language (not pages).
    index = {p for p in stats.changed if p.startswith("search/")}
    changed = set(stats.changed) - index
    shared = {p for p in changed if p.endswith((".xml", ".json"))}
    english = {p for p in changed if not p.startswith("es/") and p not in shared}
    spanish = {p.removeprefix("es/") for p in changed if p.startswith("es/")}
    assert english == spanish and urls.output_path(urls.post_page(post.id)) in english
    assert shared == {
        "u/ann/feed.xml",
        "u/ann/card.json",
        "explore/feed.xml",
        "sitemap-posts-0.xml",
    }
    # At most the pages of pages_for, each in both languages if people read it.
    touched = pages_for(_created(post), _data(store))
    bound = sum(2 if isinstance(page, LOCALIZED_PAGES) else 1 for page in touched)
    assert len(changed) <= bound <= 2 * 5 + 4


def test_a_deleted_posts_invalidation_covers_both_languages(settings, store, builder, site):
    ann = store.get_user_by_username("ann")
    post = store.posts_by(ann.id, limit=1).items[0]
    store.delete_post(post.id)
    stats = builder.apply([PostDeleted.of(post)])
    paths = invalidation_paths(stats.changed)
    permalink = urls.post_page(post.id)
    assert {permalink + "*", "/es" + permalink + "*"} <= set(paths)
    assert not (site / "es" / urls.output_path(permalink)).exists()


def test_the_sharded_build_writes_both_languages_as_one_process(settings, store, tmp_path):
    seed(store, 6, 80, progress=False, now=datetime(2026, 11, 1, tzinfo=UTC))
    builder = local_builder(settings, store, workers=1)
    builder.build_all()
    for index in (1, 2):
        builder.build_shard(Shard(index, 2), publisher=LocalPublisher(tmp_path / "shards"))
    whole = {p.relative_to(settings.site_dir) for p in settings.site_dir.rglob("*") if p.is_file()}
    sharded = {p.relative_to(tmp_path / "shards") for p in (tmp_path / "shards").rglob("*")}
    pages = {p for p in whole if p.parts[0] != "static"}
    assert {p for p in sharded if (tmp_path / "shards" / p).is_file()} == pages
    assert any(p.parts[0] == "es" for p in pages)


def _created(post):
    from functions.domain import PostCreated

    return PostCreated.of(post)


def _data(store):
    from functions.sitegen.data import StoreData

    return StoreData(store)


def test_every_page_of_both_languages_is_valid_html5(site):
    pages = sorted(site.rglob("*.html"))
    assert any("/es/" in str(page) for page in pages)
    messages = html5_errors(pages)
    assert messages == [], messages[:5]


def test_content_pages_are_in_spanish_where_translated(site):
    about = (site / "es/about/index.html").read_text()
    assert "Acerca de Microblog" in about and '<article class="content">' in about
    for title in ("Acerca de", "Privacidad", "Ayuda"):
        assert f">{title}</a>" in about  # the footer's links, in Spanish
    assert '<a href="/es/explore/">Explorar</a>' in (site / "es/help/index.html").read_text()


def test_an_untranslated_content_page_says_it_is_english(tmp_path):
    from functions.sitegen.pages import Content
    from functions.sitegen.render import Renderer

    (tmp_path / "es").mkdir(parents=True)
    (tmp_path / "about.md").write_text("---\ntitle: About\n---\nHello, [explore](/explore/).")
    (tmp_path / "rules.md").write_text("---\ntitle: Rules\n---\nBe kind.")
    (tmp_path / "es" / "about.md").write_text("---\ntitle: Acerca de\n---\nHola.")
    templates = Path(__file__).resolve().parents[2] / "templates"
    renderer = Renderer(templates, tmp_path, languages=("en", "es"))
    rules = renderer.render(Content("rules"), None, "es").body.decode()
    assert '<article class="content" lang="en">' in rules and "Be kind." in rules
    assert ">Acerca de</a>" in rules and ">Rules</a>" in rules
    about = renderer.render(Content("about"), None, "es").body.decode()
    assert '<article class="content">' in about and "Hola." in about
    english = renderer.render(Content("about"), None, "en").body.decode()
    assert '<article class="content">' in english and 'href="/explore/"' in english


def test_a_full_build_sweeps_the_spanish_pages_of_what_is_gone(settings, store, builder, site):
    ann = store.get_user_by_username("ann")
    post = store.posts_by(ann.id, limit=1).items[0]
    permalink = urls.output_path(urls.post_page(post.id))
    assert (site / "es" / permalink).is_file()
    store.delete_post(post.id)  # behind the site's back: only a full build sees it
    stats = builder.build_all()
    assert f"es/{permalink}" in stats.changed and permalink in stats.changed
    assert not (site / "es" / permalink).exists() and not (site / permalink).exists()
