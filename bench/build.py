#!/usr/bin/env python3
"""Benchmark of the site build, against floors measured in the same run, interleaved.

    .venv/bin/python bench/build.py [--sizes 200x5000,2000x50000] [--rounds 3]

For each corpus size (users x posts, seeded deterministically into SQLite),
in rounds that take turns so that a busy machine weighs on each alike:

- full build: `python build.py build` as a whole process (start-up, reading
  the store, rendering, writing) into an empty folder: its pages/s;
- floors: `bench/floor.py`, a bare Jinja2 loop over the same pages and
  templates (the partial rendered at each appearance, plain writes), as a
  whole process too, with 2 processes and with 1; each round's build is
  divided by that round's floors, and the medians (with the range) shown;
- CPU: the seconds of CPU each whole process used (its workers included):
  what a busy machine distorts least; the build's over the 1-process floor's;
- start-up: from the build process's start to its first file written (the
  earliest time stamp in the fresh folder), against `python -c pass`;
- one new post: stored and its pages rebuilt (`apply`) in-process, the
  median of several, with the number of files written.

Output goes to tmpfs (/dev/shm) when there is one: on a disk, writing
50,000 files costs more than rendering them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions import urls  # noqa: E402
from functions.config import Settings  # noqa: E402
from functions.domain import PostCreated  # noqa: E402
from functions.seed import seed  # noqa: E402
from functions.services import new_post  # noqa: E402
from functions.store.sqlite import SQLiteStore  # noqa: E402
from functions.wiring import local_builder  # noqa: E402

INCREMENTAL_RUNS = 7


def scratch(kind: str = "") -> Path:
    """A new folder for a benchmark's data, in memory where the machine has
    /dev/shm (so the disk's speed is not what is measured)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    prefix = f"microblog-bench-{kind}-" if kind else "microblog-bench-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def files_in(folder: Path) -> list[os.DirEntry]:
    found, stack = [], [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                (stack.append(entry.path) if entry.is_dir() else found.append(entry))
    return found


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], env: dict[str, str], out: Path) -> tuple[float, ...]:
    """Run `command` (which writes into the empty folder `out`): its wall
    time, the time to its first file written, the files it wrote and the
    CPU seconds it used."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cpu = cpu_of_children()
    began = time.time()
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    cpu = cpu_of_children() - cpu
    files = files_in(out)
    first = min(entry.stat().st_mtime for entry in files) - began
    return seconds, first, len(files), cpu


def interpreter_start(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - started


def incremental(settings: Settings, store: SQLiteStore) -> tuple[float, int]:
    """One new post and its pages, in the calling process: median ms, most files."""
    builder = local_builder(settings, store)
    builder.build_all()
    author = store.list_users(limit=1).items[0]
    runs = []
    for n in range(INCREMENTAL_RUNS):
        started = time.perf_counter()
        post = store.create_post(new_post(author.id, f"Benchmark post {n}", "en"))
        result = builder.apply([PostCreated.of(post)])
        runs.append((time.perf_counter() - started, result.written))
        assert (settings.site_dir / urls.output_path(urls.post_page(post.id))).exists()
    return statistics.median(r[0] for r in runs) * 1000, max(r[1] for r in runs)


def measure(users: int, posts: int, rounds: int) -> dict:
    work = scratch()
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(STORE="sqlite", VAR_DIR=str(work / "var"), SITE_DIR=str(work / "site"))
        settings = Settings.from_env(env)
        store = SQLiteStore(settings.database)
        started = time.perf_counter()
        seed(store, users, posts, progress=False)
        seeded = time.perf_counter() - started
        store.close()

        site = work / "site"
        kinds = {
            "build": [sys.executable, "build.py", "build"],
            "floor2": [sys.executable, "bench/floor.py", str(work / "floor"), "--processes", "2"],
            "floor1": [sys.executable, "bench/floor.py", str(work / "floor"), "--processes", "1"],
        }
        outs = {"build": site, "floor2": work / "floor", "floor1": work / "floor"}
        timed_run(kinds["build"], env, site)  # warm-up: byte code, page cache
        runs: dict[str, list[tuple[float, ...]]] = {kind: [] for kind in kinds}
        python = []
        for _ in range(rounds):
            python.append(interpreter_start(env))
            for kind, command in kinds.items():
                runs[kind].append(timed_run(command, env, outs[kind]))
        pages = runs["build"][0][2]
        assert all(r[2] == pages for kind in runs for r in runs[kind]), "not the same pages"

        store = SQLiteStore(settings.database)
        inc_ms, inc_files = incremental(settings, store)
        store.close()

        def ratios(floor: str) -> list[float]:
            return [f[0] / b[0] for b, f in zip(runs["build"], runs[floor], strict=True)]

        return {
            "users": users,
            "posts": posts,
            "seed_s": seeded,
            "pages": pages,
            "build_s": statistics.median(r[0] for r in runs["build"]),
            "floor2_s": statistics.median(r[0] for r in runs["floor2"]),
            "floor1_s": statistics.median(r[0] for r in runs["floor1"]),
            "vs_floor2": ratios("floor2"),
            "vs_floor1": ratios("floor1"),
            "build_cpu": statistics.median(r[3] for r in runs["build"]),
            "floor1_cpu": statistics.median(r[3] for r in runs["floor1"]),
            "cpu_ratios": [f[3] / b[3] for b, f in zip(runs["build"], runs["floor1"], strict=True)],
            "startup_s": statistics.median(r[1] for r in runs["build"]),
            "python_s": statistics.median(python),
            "inc_ms": inc_ms,
            "inc_files": inc_files,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200x5000,2000x50000", help="users x posts, ...")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    where = "tmpfs (/dev/shm)" if os.path.isdir("/dev/shm") else "disk"
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the start), output on {where}, "
        f"{args.rounds} interleaved rounds per corpus"
    )
    rows = []
    for users, posts in sizes:
        print(f"measuring {users} users / {posts} posts ...", file=sys.stderr, flush=True)
        rows.append(measure(users, posts, args.rounds))
    print()
    print(
        "| corpus | pages | full build | floor, 2 processes | floor, 1 process "
        "| build / 2-process floor | build / 1-process floor | CPU: floor / build "
        "| start-up | one new post |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for r in rows:
        pages = r["pages"]
        print(
            f"| {r['users']:,} users / {r['posts']:,} posts | {pages:,} "
            f"| {pages / r['build_s']:,.0f} pages/s ({r['build_s']:.2f} s) "
            f"| {pages / r['floor2_s']:,.0f} pages/s ({r['floor2_s']:.2f} s) "
            f"| {pages / r['floor1_s']:,.0f} pages/s ({r['floor1_s']:.2f} s) "
            f"| {spread(r['vs_floor2'])} | {spread(r['vs_floor1'])} "
            f"| {spread(r['cpu_ratios'])} ({r['floor1_cpu']:.1f} s / {r['build_cpu']:.1f} s) "
            f"| {r['startup_s']:.2f} s (python -c pass: {r['python_s']:.2f} s) "
            f"| {r['inc_files']} files, {r['inc_ms']:.0f} ms |"
        )
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for r in rows:
        print(f"seeding {r['users']:,} users / {r['posts']:,} posts took {r['seed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
