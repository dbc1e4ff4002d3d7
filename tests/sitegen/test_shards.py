"""The full build in shards: shares of the site that add up to it exactly,
each read part by part from the store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import build
from functions.domain import User
from functions.seed import seed
from functions.sitegen import shards
from functions.sitegen.data import Snapshot
from functions.sitegen.pages import POSTS_PER_PAGE, SITEMAP_CHUNK, all_pages
from functions.sitegen.publish import LocalPublisher
from functions.sitegen.render import FEED_ENTRIES
from functions.sitegen.shards import Shard, load_part, shard_parts
from functions.wiring import local_builder

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def corpus(store, monkeypatch):
    """Users, posts over three explore chunks, and a rename whose old name
    someone else took: redirects, and a holder they must not replace."""
    for module in ("pages", "render", "shards"):  # chunks of 50 explore numbers
        monkeypatch.setattr(f"functions.sitegen.{module}.SITEMAP_CHUNK", 50)
    monkeypatch.setattr(shards, "PART_POSTS", 20)  # user parts of about 20 posts
    seed(store, 12, 140, progress=False, now=NOW)
    users = sorted(store_users(store), key=lambda u: u.id)
    store.update_user(users[0].id, {"username": "renamed"})
    store.update_user(users[1].id, {"username": users[0].username})
    return store


def store_users(store) -> list[User]:
    return store.list_users(limit=100).items


def shard_pages(store, shard: Shard, content=("about",)) -> list:
    last = store.explore_seq()
    return [
        page
        for part in shard_parts(shard, store, last)
        for page in load_part(part, store, last, store.former_names(), content)[1]
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_shards_pages_are_the_sites_pages_each_once(corpus, count):
    whole = list(all_pages(Snapshot.load(corpus), ["about"]))
    pages = [p for i in range(1, count + 1) for p in shard_pages(corpus, Shard(i, count))]
    assert len(pages) == len(set(pages))  # no page in two shards, or twice in one
    assert set(pages) == set(whole)


def test_the_sharded_build_writes_the_same_site_as_one_process(settings, corpus, tmp_path):
    builder = local_builder(settings, corpus, workers=1)
    builder.build_all()
    for index in (1, 2, 3):
        builder.build_shard(Shard(index, 3), publisher=LocalPublisher(tmp_path / "shards"))
    whole, sharded = files(settings.site_dir), files(tmp_path / "shards")
    assets = {path for path in whole if path.parts[0] == "static"}
    assert len(sharded) > 200 and whole.keys() - assets == sharded.keys()
    assert all(whole[path] == sharded[path] for path in sharded)


def test_a_part_holds_a_part_of_the_corpus_not_the_corpus(corpus):
    """What bounds a shard's memory: each part's snapshot holds at most an
    explore chunk, explore's newest two pages, or slices of users' archives
    of about PART_POSTS posts, a prolific user's archive cut into several."""
    last, biggest = corpus.explore_seq(), max(u.post_seq for u in store_users(corpus))
    assert biggest > shards.PART_POSTS  # the seed's activity is skewed
    sizes, slices = [], []
    for part in shard_parts(Shard(1, 1), corpus, last):
        data, _pages = load_part(part, corpus, last, corpus.former_names(), ())
        sizes.append(len(list(data.all_posts())))
        if isinstance(part, shards.UsersPart):
            slices += [piece for piece in part.slices if piece.user.post_seq == biggest]
    assert sum(sizes) >= 2 * last  # every post, for its author's pages and its chunk's
    assert max(sizes) <= max(50, shards.PART_POSTS + 2 * POSTS_PER_PAGE)
    assert len(slices) > 1  # the prolific user's archive, in slices


def test_a_shard_keeps_no_list_of_its_pages_the_caller_gets_them_part_by_part(settings, corpus):
    builder = local_builder(settings, corpus, workers=1)
    parts: list = []
    totals = builder.build_shard(Shard(1, 2), on_part=parts.append)
    assert len(parts) > 3 and totals.published == [] and totals.changed == []
    assert totals.rendered == sum(len(part.published) for part in parts) > 0
    assert totals.written == sum(part.written for part in parts)


def test_the_newest_posts_part_holds_what_explore_and_its_feed_show():
    assert FEED_ENTRIES <= 25 and SITEMAP_CHUNK % 25 == 0


def test_shards_are_the_same_in_every_process():
    """A user's shard is a stable hash of the id, not Python's salted one."""
    assert shards.user_shard("01KZ4N5JVM6A2PGH57VMMXPWD8", 7) == shards.user_shard(
        "01KZ4N5JVM6A2PGH57VMMXPWD8", 7
    )
    assert [shards.user_shard(f"user-{n}", 4) for n in range(4)] == [3, 1, 3, 1]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused_with_a_reason(text):
    with pytest.raises(ValueError, match="I/N"):
        Shard.parse(text)


def test_build_shard_writes_only_that_shards_pages(settings, corpus, capsys):
    assert build.main(["build", "--shard", "2/3"]) == 0
    written = files(settings.site_dir)
    assert written and not any(path.parts[0] == "static" for path in written)
    assert "explore/index.html" not in {path.as_posix() for path in written}  # shard 1's
    assert "shard 2/3" in capsys.readouterr().out


def test_build_refuses_a_bad_shard(capsys):
    with pytest.raises(SystemExit) as exit:
        build.main(["build", "--shard", "4/3"])
    assert exit.value.code == 2 and "4/3" in capsys.readouterr().err


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
