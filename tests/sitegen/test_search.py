"""The static search index: its files, full and sharded builds, incremental updates."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta

import pytest

from functions.domain import PostCreated, PostDeleted, User, utcnow
from functions.services import new_post
from functions.sitegen import search
from functions.sitegen.publish import LocalPublisher
from functions.sitegen.shards import Shard
from functions.sitegen.terms import LEXICON_SHARDS, POSTINGS_SHARDS, key, shard_of
from functions.wiring import local_builder

HASH = "pbkdf2:sha256:1$salt$" + "0" * 64
BODIES = [
    ("The cats are RUNNING in the garden", "en"),
    ("A cat runs; the dog sleeps", "en"),
    ("Las canciones del corazón", "es"),
    ("Café au lait, s'il vous plaît", "fr"),
    ("Die Straße ist lang", "de"),
    ("running late again, the usual", "en"),
    ("Ο ΚΟΣΜΟΣ είναι μικρός", "el"),  # noqa: RUF001
    ("Un café, por favor", "es"),
]


def add_user(store, name: str) -> User:
    user = User.new(name, f"{name}@example.com", HASH)
    store.create_user(user)
    return store.get_user(user.id)


def add_post(store, author: User, body: str, language: str, n: int):
    at = utcnow() - timedelta(days=1) + timedelta(seconds=n)
    return store.create_post(new_post(author.id, body, language, at))


def index_files(root) -> dict[str, bytes]:
    """Every file of the search index under a site folder."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "search").rglob("*.json"))
    }


def lookup(root, word: str) -> list[int]:
    """What the browser does for one folded word: lexicon, then postings."""
    lexicon = root / "search" / "w" / f"{shard_of(word, LEXICON_SHARDS)}.json"
    keys = json.loads(lexicon.read_text()).get(word, []) if lexicon.exists() else []
    found = set()
    for k in keys:
        shard = json.loads(
            (root / "search" / "t" / f"{shard_of(k, POSTINGS_SHARDS)}.json").read_text()
        )
        number = 0
        for i, gap in enumerate(shard.get(k, {"n": []})["n"]):
            number = gap if i == 0 else number - gap
            found.add(number)
    return sorted(found, reverse=True)


@pytest.fixture
def ann(store):
    return add_user(store, "ann")


def test_a_word_finds_the_posts_with_any_form_of_its_stem(settings, store, builder, ann):
    posts = [add_post(store, ann, body, lang, n) for n, (body, lang) in enumerate(BODIES)]
    builder.build_all()
    root = settings.site_dir
    n = [post.explore_seq for post in posts]
    assert lookup(root, "running") == [n[5], n[1], n[0]]  # running, runs: en:run
    assert lookup(root, "cats") == lookup(root, "cat") == [n[1], n[0]]
    assert lookup(root, "cafe") == [n[7], n[3]]  # Spanish and French: two keys
    assert lookup(root, "strasse") == [n[4]]
    assert lookup(root, "κοσμοσ") == [n[6]]
    assert lookup(root, "garden") == [n[0]]
    assert lookup(root, "nowhere") == []


def test_the_stem_is_what_a_word_is_filed_under():
    assert key("running", "en") == key("runs", "en") == "en:run"
    assert key("canciones", "es") == "es:cancion"
    assert key("xyz", "ja") == "ja:xyz"  # no Snowball stemmer: the word itself


def test_postings_are_newest_first_with_gaps_and_word_counts(settings, store, builder, ann):
    for n in range(5):
        add_post(store, ann, "hello world" if n % 2 == 0 else "hello", "en", n)
    builder.build_all()
    shard = shard_of("en:hello", POSTINGS_SHARDS)
    body = json.loads((settings.site_dir / "search" / "t" / f"{shard}.json").read_text())
    assert body["en:hello"] == {"n": [5, 1, 1, 1, 1], "w": {"hello": 5}}
    world = json.loads(
        (
            settings.site_dir / "search" / "t" / f"{shard_of('en:world', POSTINGS_SHARDS)}.json"
        ).read_text()
    )["en:world"]
    assert world == {"n": [5, 2, 2], "w": {"world": 3}}


def test_incremental_creates_and_deletes_give_the_full_builds_files(settings, store, ann, tmp_path):
    """Any sequence of creates and deletes, applied one change at a time,
    leaves the same index bytes as a full build of the resulting store."""
    bob = add_user(store, "bob")
    builder = local_builder(settings, store, workers=1)
    builder.build_all()
    rng = random.Random(7)
    words = [
        "cat",
        "cats",
        "running",
        "runs",
        "dog",
        "garden",
        "café",
        "CAFE",
        "strasse",
        "canción",
        "corazón",
    ]
    alive = []
    for n in range(60):
        if alive and rng.random() < 0.35:
            post = alive.pop(rng.randrange(len(alive)))
            store.delete_post(post.id)
            builder.apply([PostDeleted.of(post)])
        else:
            body = " ".join(rng.sample(words, rng.randint(1, 4)))
            lang = rng.choice(["en", "es", "fr"])
            post = add_post(store, rng.choice([ann, bob]), body, lang, n)
            alive.append(post)
            builder.apply([PostCreated.of(post)])
    incremental = index_files(settings.site_dir)

    fresh = tmp_path / "fresh"
    full = local_builder(dataclasses.replace(settings, site_dir=fresh), store, workers=1)
    full.build_all()
    assert incremental == index_files(fresh)
    assert incremental  # the comparison is of something


def test_a_change_delivered_twice_changes_nothing_more(settings, store, builder, ann):
    first = add_post(store, ann, "cats running", "en", 0)
    builder.build_all()
    second = add_post(store, ann, "the cat runs", "en", 1)
    builder.apply([PostCreated.of(second)])
    once = index_files(settings.site_dir)
    builder.apply([PostCreated.of(second)])
    assert index_files(settings.site_dir) == once
    store.delete_post(first.id)
    builder.apply([PostDeleted.of(first)])
    gone = index_files(settings.site_dir)
    builder.apply([PostDeleted.of(first)])
    assert index_files(settings.site_dir) == gone


def test_a_new_post_rewrites_only_the_shards_of_its_terms(settings, store, builder, ann):
    add_post(store, ann, "cats running in the garden", "en", 0)
    builder.build_all()
    post = add_post(store, ann, "cats sleeping", "en", 1)
    stats = builder.apply([PostCreated.of(post)])
    written = {p for p in stats.changed if p.startswith("search/")}
    postings = {search.postings_path(shard_of(k, POSTINGS_SHARDS)) for k in ("en:cat", "en:sleep")}
    # "cats" -> en:cat is known: only the new pair (sleeping, en:sleep) reaches the lexicon.
    lexicon = {search.lexicon_path(shard_of("sleeping", LEXICON_SHARDS))}
    assert written == postings | lexicon


def test_the_last_post_of_a_word_takes_its_files_away(settings, store, builder, ann):
    post = add_post(store, ann, "solitary", "en", 0)
    builder.build_all()
    assert lookup(settings.site_dir, "solitary") == [post.explore_seq]
    store.delete_post(post.id)
    builder.apply([PostDeleted.of(post)])
    assert lookup(settings.site_dir, "solitary") == []
    assert index_files(settings.site_dir) == {}


def test_sharded_builds_together_write_the_whole_index(settings, store, ann, tmp_path):
    for n, (body, lang) in enumerate(BODIES * 3):
        add_post(store, ann, body, lang, n)
    whole = local_builder(settings, store, workers=1)
    whole.build_all()
    expected = index_files(settings.site_dir)

    parts = tmp_path / "parts"
    builder = local_builder(dataclasses.replace(settings, site_dir=parts), store, workers=1)
    for index in (1, 2, 3):
        builder.build_shard(Shard(index, 3), publisher=LocalPublisher(parts))
    assert index_files(parts) == expected


def test_the_worker_build_writes_the_same_index_as_one_process(settings, store, builder, ann):
    for n, (body, lang) in enumerate(BODIES * 3):
        add_post(store, ann, body, lang, n)
    builder.build_all()  # two workers (see conftest)
    two = index_files(settings.site_dir)
    one = settings.site_dir.parent / "one"
    local_builder(dataclasses.replace(settings, site_dir=one), store, workers=1).build_all()
    assert two == index_files(one)


def test_the_search_shell_names_the_index_and_the_nav_has_a_search_box(settings, store, builder):
    builder.build_all()
    shell = (settings.site_dir / "search" / "index.html").read_text()
    assert 'data-lexicon="/search/w/"' in shell
    assert f'data-postings-shards="{POSTINGS_SHARDS}"' in shell
    assert "<h1>Search Results</h1>" in shell
    explore = (settings.site_dir / "explore" / "index.html").read_text()
    assert 'placeholder="Search"' in explore and 'action="/search/"' in explore


def test_explore_pages_mark_each_post_with_its_number(settings, store, builder, ann):
    post = add_post(store, ann, "numbered", "en", 0)
    builder.build_all()
    page = (settings.site_dir / "explore" / "page" / "1" / "index.html").read_text()
    assert f'data-explore="{post.explore_seq}"' in page
