"""What keeps the build and the local server fast: each post's fragment
rendered once per build, templates read once, new files written without a
read or a rename, a build that imports no API stack, and a server that does
not hold responses back for delayed ACKs."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import build
from functions.domain import PostCreated
from functions.seed import seed
from functions.services import new_post
from functions.sitegen import publish
from functions.sitegen.publish import LocalPublisher
from functions.store.sqlite import SQLiteStore
from functions.wiring import local_builder

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def store(settings):
    store = SQLiteStore(settings.database)
    seed(store, 6, 90, progress=False, now=NOW)
    yield store
    store.close()


def count_fragments(monkeypatch, renderer, lang: str = "en") -> list[str]:
    """The ids of the posts whose `_post.html` fragment gets rendered in `lang`."""
    rendered: list[str] = []
    render = renderer._render_post

    def counted(post, author, language="en"):
        if language == lang:
            rendered.append(post.id)
        return render(post, author, language)

    monkeypatch.setattr(renderer, "_render_post", counted)
    return rendered


def test_a_build_renders_a_post_fragment_once_per_part_not_per_page(settings, store, monkeypatch):
    """Listed 3 to 5 times (permalink, profile, archives, explore, feeds), a
    post's fragment is rendered once for its author's pages and once for its
    explore chunk's; the newest posts once more, for explore's index."""
    builder = local_builder(settings, store, workers=1)
    fragments = count_fragments(monkeypatch, builder.renderer)
    spanish = count_fragments(monkeypatch, builder.renderer, "es")
    builder.build_all()
    rendered = Counter(fragments)
    assert Counter(spanish) == rendered  # and as often for the Spanish pages
    posts = [post.id for post in store.explore(limit=100).items]  # newest first
    assert rendered.keys() == set(posts)
    assert {rendered[post] for post in posts[50:]} == {2}
    assert {rendered[post] for post in posts[:25]} == {3}
    permalink = (settings.site_dir / "p" / posts[0] / "index.html").read_text()
    profile = next((settings.site_dir / "u").glob("*/index.html")).read_text()
    assert f'id="post-{posts[0]}"' in permalink and 'class="post"' in profile


def test_two_workers_write_the_same_site_as_one(settings, store, tmp_path):
    local_builder(settings, store, workers=2).build_all()
    builder = local_builder(settings, store, workers=1)
    builder.publisher = LocalPublisher(tmp_path / "one")
    builder.build_all()
    one, two = files(tmp_path / "one"), files(settings.site_dir)
    assert len(one) > 100 and one.keys() == two.keys() and one == two


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_rebuild_renders_each_post_once_for_all_its_pages(settings, store, monkeypatch):
    builder = local_builder(settings, store, workers=1)
    builder.build_all()
    rendered = count_fragments(monkeypatch, builder.renderer)
    spanish = count_fragments(monkeypatch, builder.renderer, "es")
    author = store.list_users(limit=1).items[0]
    post = store.create_post(new_post(author.id, "Once, everywhere", "en"))
    stats = builder.apply([PostCreated.of(post)])
    shown = [path for path in stats.changed if f"post-{post.id}" in _read(settings, path)]
    assert len(shown) >= 4  # permalink, profile, its archive page, explore, ...
    assert rendered.count(post.id) == spanish.count(post.id) == 1  # once per language
    assert len(rendered) == len(set(rendered))  # the other posts on those pages too
    assert sorted(spanish) == sorted(rendered)


def _read(settings, path: str) -> str:
    file = settings.site_dir / path
    return file.read_text() if file.is_file() else ""


def test_the_api_renders_a_post_once_until_it_or_its_author_changes(settings, store):
    renderer = local_builder(settings, store).renderer
    post = store.explore(limit=1).items[0]
    author = store.get_user(post.author_id)
    first = renderer.post_html(post, author)
    assert renderer.post_html(post, store.get_user(post.author_id)) is first  # kept
    renamed = author.replace(username="renamed")
    assert "renamed" in renderer.post_html(post, renamed)


def test_templates_are_read_once_not_checked_at_each_use(settings, store, monkeypatch):
    builder = local_builder(settings, store, workers=1)
    builder.build_all()  # every template loaded

    def no_stat(path):
        raise AssertionError(f"template checked for changes: {path}")

    monkeypatch.setattr("jinja2.loaders.os.path.getmtime", no_stat)
    author = store.list_users(limit=1).items[0]
    post = store.create_post(new_post(author.id, "No stat", "en"))
    assert builder.apply([PostCreated.of(post)]).written >= 8


def test_new_files_are_created_in_place_and_existing_ones_replaced(tmp_path, monkeypatch):
    replaced: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(
        publish.os, "replace", lambda a, b: (replaced.append(str(b)), real_replace(a, b))[1]
    )
    site = LocalPublisher(tmp_path / "site")
    assert site.write("p/1/index.html", b"one")
    assert replaced == []  # new: written in place, no temporary file
    assert not site.write("p/1/index.html", b"one")  # the same bytes: untouched
    assert site.write("p/1/index.html", b"two")
    assert replaced == [str(tmp_path / "site" / "p" / "1" / "index.html")]  # atomically
    assert (tmp_path / "site" / "p" / "1" / "index.html").read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "site" / "p" / "1").iterdir()) == ["index.html"]


def test_building_imports_no_api_stack(settings, store):
    """`build.py build` starts fast: no FastAPI, server, AWS SDK or password
    hashing (nor their slow-to-import helpers) is loaded to build."""
    script = (
        "import sys, json, build\n"
        "build.main(['build', '--workers', '1'])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {**os.environ, "VAR_DIR": str(settings.var_dir), "SITE_DIR": str(settings.site_dir)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    heavy = {"fastapi", "starlette", "pydantic", "uvicorn", "werkzeug", "boto3", "botocore"}
    assert not loaded & (heavy | {"ulid", "email_validator", "jwt", "mangum"})
    assert (settings.site_dir / "index.html").exists()


def test_served_connections_send_without_waiting_for_acks():
    """`build.py serve`'s socket says it is TCP, so asyncio turns Nagle's
    algorithm off on each connection (else a response written as headers,
    then body, waited ~40 ms for the client's delayed ACK)."""

    async def accepted_nodelay() -> int:
        sock = build.listen("127.0.0.1", 0)
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        def connected(reader, writer):
            raw = writer.get_extra_info("socket")
            seen.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            port = sock.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 5)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0
