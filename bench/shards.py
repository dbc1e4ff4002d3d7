#!/usr/bin/env python3
"""Benchmark of the sharded full build against the unsharded one, in the same run.

    .venv/bin/python bench/shards.py [--users 2000] [--posts 50000] [--shards 4] [--rounds 2]

Issue 9's goal: N shards render at the pages/s of one process (within 10%),
and each shard's peak memory is at most 1/N of the whole plus a constant. On
a corpus seeded deterministically into SQLite (cached under var/: seeding
50,000 posts takes about a minute), each of these runs as a whole process,
into an empty folder on tmpfs, with its own peak resident memory:

- unsharded: `build.py build --shard 1/1`, the whole site in one process;
- sharded: `build.py build --shard I/N` for I = 1..N, one after another (side
  by side on a 2-core machine would compare unlike with like); their pages
  must be the unsharded build's, each written once;
- bare: the build's modules imported, its store and builder made, no data;
- one part: the same, then one part (explore chunk 0: a thousand posts, as
  PART_POSTS) read, rendered and written: the constant;
- the whole: bare, then the whole corpus loaded (`Snapshot.load`), what the
  build held before shards; the whole is its peak minus bare's.

A shard's goal is then one part + whole / N. The two builds take turns
going first, round after round; the medians are shown. CPU seconds are
shown too: on a machine busy with other work they vary less than wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build import cpu_of_children, files_in, scratch, spread  # noqa: E402
from functions.seed import seed  # noqa: E402
from functions.store.sqlite import SQLiteStore  # noqa: E402

# The seeded corpus is cached under var/, keyed by its sizes, its seed and the
# code that makes it; a fixed `now` makes the cache the same as a fresh seed.
SEED_NOW = datetime(2026, 11, 1, tzinfo=UTC)
RECIPE = ("functions/seed.py", "functions/store/sqlite.py")

# Put before a process's code: it prints the process's own peak resident
# memory (VmHWM) as its last line. Not ru_maxrss: Linux counts in a child's
# the memory its parent had at the exec (every child of a 500 MB process
# reads 500 MB), in getrusage(RUSAGE_SELF) as in the parent's wait4.
PEAK = """\
import atexit

def _peak():
    with open("/proc/self/status") as status:
        print("peak-kB", next(line.split()[1] for line in status if line.startswith("VmHWM:")))

atexit.register(_peak)
"""
# `python build.py ...` (with the arguments after `-c code`).
BUILD = f"""{PEAK}
import runpy, sys
sys.argv[0] = "build.py"
runpy.run_path("build.py", run_name="__main__")
"""
# What a build process holds before it reads any data.
BARE = f"""{PEAK}
from functions.config import Settings
from functions.wiring import local_builder, open_store

settings = Settings.from_env()
store = open_store(settings, create=True)
builder = local_builder(settings, store)
"""
# Bare, then one part of a build: explore's first chunk.
ONE_PART = f"""{BARE}
from functions.sitegen.builder import render_and_publish
from functions.sitegen.shards import ChunkPart, load_part

last = store.explore_seq()
data, pages = load_part(ChunkPart(0), store, last, store.former_names(), builder.renderer.documents)
with builder.renderer.reusing_fragments():
    render_and_publish(pages, builder.renderer, data, builder.publisher)
"""
# Bare, then the whole corpus in memory: what a build held before shards.
WHOLE = f"""{BARE}
from functions.sitegen.data import Snapshot

data = Snapshot.load(store)
"""


@dataclass
class Run:
    """One whole process: its wall and CPU seconds, its own peak memory and
    the files it wrote."""

    seconds: float
    cpu: float
    peak_mb: float
    paths: list[str]

    @property
    def pages(self) -> int:
        return len(self.paths)


def seeded_database(users: int, posts: int, seed_value: int) -> Path:
    """The seeded SQLite file, made once (under a temporary name until done,
    so that an interrupted seed leaves no cache behind); it replaces the one
    an older recipe made."""
    recipe = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in RECIPE))
    corpus = f"bench-shards-{users}x{posts}-seed{seed_value}"
    name = f"{corpus}-{recipe.hexdigest()[:12]}.sqlite3"
    path = ROOT / "var" / name
    if not path.exists():
        for stale in path.parent.glob(f"{corpus}-*.sqlite3"):
            stale.unlink()
        print(f"seeding {users:,} users / {posts:,} posts into var/{name} ...", file=sys.stderr)
        partial = path.with_name(".tmp-" + name)
        partial.unlink(missing_ok=True)
        store = SQLiteStore(partial)
        seed(store, users, posts, seed=seed_value, progress=False, now=SEED_NOW)
        store.close()  # the last connection: SQLite folds its WAL into the file
        os.replace(partial, path)
    return path


def run(code: str, args: list[str], env: dict[str, str], out: Path) -> Run:
    """`python -c code args` as a whole process, writing into `out` emptied first."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cpu = cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - started
    cpu = cpu_of_children() - cpu
    peak_kb = int(done.stdout.splitlines()[-1].removeprefix("peak-kB "))
    paths = [entry.path[len(str(out)) + 1 :] for entry in files_in(out)]
    return Run(seconds, cpu, peak_kb / 1024, paths)


def build(shard: str, env: dict[str, str], out: Path) -> Run:
    return run(BUILD, ["build", "--shard", shard], env, out)


def check_same_pages(unsharded: Run, shards: list[Run]) -> None:
    """The shards' pages are the unsharded build's, each written once."""
    paths = [path for shard in shards for path in shard.paths]
    assert len(paths) == len(set(paths)), "a page written by two shards"
    assert set(paths) == set(unsharded.paths), "the shards' pages are not the unsharded build's"


@dataclass
class Measured:
    """Each process's runs, one per round (`sharded`: one list of N per round)."""

    unsharded: list[Run]
    sharded: list[list[Run]]
    bare: list[Run]
    one_part: list[Run]
    whole: list[Run]


def measure(database: Path, count: int, rounds: int) -> Measured:
    work = scratch()
    try:
        (work / "var").mkdir(mode=0o700)
        shutil.copyfile(database, work / "var" / "microblog.sqlite3")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(STORE="sqlite", VAR_DIR=str(work / "var"), SITE_DIR=str(work / "site"))
        site = work / "site"
        run(ONE_PART, [], env, site)  # warm-up: byte code, templates
        m = Measured([], [], [], [], [])
        for n in range(rounds):
            print(f"round {n + 1} of {rounds} ...", file=sys.stderr, flush=True)
            m.bare.append(run(BARE, [], env, site))
            m.one_part.append(run(ONE_PART, [], env, site))
            m.whole.append(run(WHOLE, [], env, site))
            if n % 2 == 0:  # the two builds take turns going first
                m.unsharded.append(build("1/1", env, site))
            m.sharded.append([build(f"{i}/{count}", env, site) for i in range(1, count + 1)])
            if n % 2 == 1:
                m.unsharded.append(build("1/1", env, site))
            check_same_pages(m.unsharded[-1], m.sharded[-1])
        return m
    finally:
        shutil.rmtree(work, ignore_errors=True)


def median(runs: list[Run]) -> Run:
    """A process's median time, CPU and peak over the rounds."""
    return Run(
        statistics.median(r.seconds for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mb for r in runs),
        runs[0].paths,
    )


def total(runs: list[Run]) -> Run:
    """N shards as one: their pages and seconds added, their largest peak."""
    paths = [path for r in runs for path in r.paths]
    return Run(
        sum(r.seconds for r in runs), sum(r.cpu for r in runs), max(r.peak_mb for r in runs), paths
    )


def pages_per_s(r: Run) -> float:
    return r.pages / r.seconds


def row(name: str, r: Run, peak: str = "") -> str:
    rate = f"{r.pages / r.seconds:,.0f}" if r.pages else "-"
    pages = f"{r.pages:,}" if r.pages else "-"
    return (
        f"| {name} | {pages} | {r.seconds:.2f} | {r.cpu:.2f} | {rate} "
        f"| {peak or f'{r.peak_mb:.0f} MB'} |"
    )


def report(m: Measured, count: int) -> None:
    """The table of the processes (medians), then each figure against its goal."""
    unsharded = median(m.unsharded)
    shards = [median([r[i] for r in m.sharded]) for i in range(count)]
    sharded = median([total(r) for r in m.sharded])
    bare, one_part, whole = median(m.bare), median(m.one_part), median(m.whole)
    each = ", ".join(f"{r.peak_mb:.0f}" for r in shards)
    print("| process | pages | seconds | CPU s | pages/s | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(row("unsharded: `build.py build --shard 1/1`", unsharded))
    name = f"sharded: {count} shards, one after another"
    print(row(name, sharded, f"max {sharded.peak_mb:.0f} MB ({each})"))
    for i, r in enumerate(shards, 1):
        print(row(f"shard {i}/{count}", r))
    print(row("bare: modules, store, builder", bare))
    print(row(f"one part: bare + explore chunk 0 ({one_part.pages:,} pages)", one_part))
    print(row("the whole: bare + `Snapshot.load`", whole))
    print()

    print(
        f"- pages: the shards wrote the unsharded build's {unsharded.pages:,}, "
        "each once (checked every round)"
    )
    rounds = zip(m.unsharded, m.sharded, strict=True)
    rates = [pages_per_s(total(s)) / pages_per_s(u) for u, s in rounds]
    met = statistics.median(rates) >= 0.9
    cpu_rate = (sharded.pages / sharded.cpu) / (unsharded.pages / unsharded.cpu)
    print(
        f"- pages/s, sharded over unsharded: {spread(rates)} (goal: at least 0.90x: "
        f"{'met' if met else 'NOT met'}); pages per CPU second: {cpu_rate:.2f}x"
    )
    whole_mb = whole.peak_mb - bare.peak_mb
    goal = one_part.peak_mb + whole_mb / count
    print(
        f"- peak memory per shard, goal: one part {one_part.peak_mb:.0f} MB (bare "
        f"{bare.peak_mb:.0f} MB + {one_part.peak_mb - bare.peak_mb:.0f} MB) + the whole "
        f"{whole_mb:.0f} MB / {count} = {goal:.0f} MB"
    )
    for i, r in enumerate(shards, 1):
        verdict = "under it" if r.peak_mb <= goal else "OVER it"
        ratio = r.peak_mb / goal
        print(f"  - shard {i}/{count}: {r.peak_mb:.0f} MB, {ratio:.2f}x the goal, {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="users to seed (2000)")
    parser.add_argument("--posts", type=int, default=50000, help="posts to seed (50000)")
    parser.add_argument("--seed", type=int, default=1, help="the corpus's random seed (1)")
    parser.add_argument("--shards", type=int, default=4, help="N, shards of the sharded build (4)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the builds taking turns (2)")
    args = parser.parse_args()
    database = seeded_database(args.users, args.posts, args.seed)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the start), {args.users:,} users / {args.posts:,} posts "
        f"(seed {args.seed}), {args.shards} shards, output on tmpfs, median of {args.rounds} rounds"
    )
    print()
    report(measure(database, args.shards, args.rounds), args.shards)
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
