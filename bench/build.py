#!/usr/bin/env python3
"""Benchmark of the site build, with its floor measured in the same run.

    .venv/bin/python bench/build.py [--sizes 200x5000,2000x50000]

For each corpus size (users x posts, seeded deterministically into SQLite):

- full build: `SiteBuilder.build_all` as `python build.py` runs it (read the
  store, list every page, render in worker processes, write atomically,
  skipping unchanged files) into an empty folder;
- floor: a bare loop in ONE process over the same pages, the same Jinja2
  templates and the same pre-rendered post HTML, already in memory, each
  page written with a plain open/write; the build's pages/s over the
  floor's is the ratio;
- incremental: one new post stored and its pages rebuilt (`apply`), the
  median of several, with the number of files written.

Output goes to a fresh folder on tmpfs (/dev/shm) when there is one: on a
disk, deleting and rewriting 50,000 files costs more than rendering them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions import urls  # noqa: E402
from functions.config import Settings  # noqa: E402
from functions.domain import PostCreated  # noqa: E402
from functions.local import local_builder  # noqa: E402
from functions.seed import seed  # noqa: E402
from functions.services import new_post  # noqa: E402
from functions.sitegen.data import Snapshot  # noqa: E402
from functions.sitegen.pages import all_pages  # noqa: E402
from functions.store.sqlite import SQLiteStore  # noqa: E402

INCREMENTAL_RUNS = 7


def scratch() -> Path:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="microblog-bench-", dir=base))


def floor(settings: Settings, store: SQLiteStore, out: Path) -> tuple[int, float]:
    """Render every page in one process from memory and write it plainly."""
    builder = local_builder(settings, store, workers=1)
    renderer = builder.renderer
    data = Snapshot.load(store)
    pages = list(all_pages(data, renderer.documents))
    started = time.perf_counter()
    count = 0
    for page in pages:
        output = renderer.render(page, data)
        if output is None or output.body is None:
            continue
        path = out / output.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(output.body)
        count += 1
    return count, time.perf_counter() - started


def measure(users: int, posts: int) -> dict:
    work = scratch()
    try:
        os.environ["VAR_DIR"] = str(work / "var")
        os.environ["SITE_DIR"] = str(work / "site")
        settings = Settings.from_env()
        store = SQLiteStore(settings.database)
        started = time.perf_counter()
        seed(store, users, posts, progress=False)
        seeded = time.perf_counter() - started

        floor_pages, floor_seconds = floor(settings, store, work / "floor")
        shutil.rmtree(work / "floor")

        builder = local_builder(settings, store)
        stats = builder.build_all()

        author = store.list_users(limit=1).items[0]
        runs = []
        for n in range(INCREMENTAL_RUNS):
            started = time.perf_counter()
            post = store.create_post(new_post(author.id, f"Benchmark post {n}", "en"))
            result = builder.apply([PostCreated.of(post)])
            runs.append((time.perf_counter() - started, result.written))
            assert (settings.site_dir / urls.output_path(urls.post_page(post.id))).exists()
        store.close()
        return {
            "users": users,
            "posts": posts,
            "seed_s": seeded,
            "pages": stats.rendered,
            "build_s": stats.seconds,
            "build_pps": stats.rendered / stats.seconds,
            "floor_pages": floor_pages,
            "floor_s": floor_seconds,
            "floor_pps": floor_pages / floor_seconds,
            "workers": builder.workers,
            "inc_ms": statistics.median(r[0] for r in runs) * 1000,
            "inc_files": max(r[1] for r in runs),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200x5000,2000x50000", help="users x posts, ...")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    where = "tmpfs (/dev/shm)" if os.path.isdir("/dev/shm") else "disk"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, output on {where}")
    rows = []
    for users, posts in sizes:
        print(f"measuring {users} users / {posts} posts ...", file=sys.stderr, flush=True)
        rows.append(measure(users, posts))
    print()
    print(
        "| corpus | pages | full build | floor (1 process) | ratio | one new post |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for r in rows:
        print(
            f"| {r['users']:,} users / {r['posts']:,} posts | {r['pages']:,} "
            f"| {r['build_pps']:,.0f} pages/s ({r['build_s']:.1f} s, {r['workers']} processes) "
            f"| {r['floor_pps']:,.0f} pages/s ({r['floor_s']:.1f} s) "
            f"| {r['build_pps'] / r['floor_pps']:.2f}x "
            f"| {r['inc_files']} files, {r['inc_ms']:.0f} ms |"
        )
    print()
    for r in rows:
        print(f"seeding {r['users']:,} users / {r['posts']:,} posts took {r['seed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
