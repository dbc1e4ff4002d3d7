#!/usr/bin/env python3
"""Benchmark of the API's functions, against a static page served in the same run.

    .venv/bin/python bench/api.py [--users 200] [--posts 5000] [--runs 200]

Seeds a corpus into SQLite, starts the real local stack (`build.py serve` on
127.0.0.1) and times requests one after another over one keep-alive
connection, as a logged-in demo user:

- baseline: `GET /u/<name>/`, the static profile page from the same server
  (what every public page costs: no function runs);
- each API call: its median and 95th percentile, and the median's ratio to
  the baseline's (how much dearer than a static page a function call is);
- writes include their incremental rebuild: a local write answers after its
  pages are re-rendered.

Output goes to tmpfs (/dev/shm) when there is one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.seed import DEMO_PASSWORD  # noqa: E402
from tests.server import serving  # noqa: E402

LOGIN_RUNS = 10  # password hashing is slow on purpose (scrypt): fewer runs


def scratch() -> Path:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="microblog-bench-api-", dir=base))


def timed(runs: int, call: Callable[[int], httpx.Response]) -> list[float]:
    """Milliseconds of each of `runs` calls (after two warm-up calls)."""
    for n in range(2):
        call(-1 - n).raise_for_status()
    times = []
    for n in range(runs):
        started = time.perf_counter()
        response = call(n)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def scenarios(http: httpx.Client, me: dict, other: dict, runs: int) -> dict[str, list[float]]:
    follow = f"/api/users/{other['id']}/follow"
    login = {"username": me["username"], "password": DEMO_PASSWORD}
    return {
        "static profile page (baseline)": timed(runs, lambda n: http.get(f"/u/{me['username']}/")),
        "GET /api/me": timed(runs, lambda n: http.get("/api/me")),
        "GET /api/users/{id}": timed(runs, lambda n: http.get(f"/api/users/{other['id']}")),
        "GET /api/explore (25 posts)": timed(runs, lambda n: http.get("/api/explore")),
        "GET /api/feed (25 posts)": timed(runs, lambda n: http.get("/api/feed")),
        "POST /api/posts (+ rebuild)": timed(
            runs, lambda n: http.post("/api/posts", json={"body": f"Benchmark post {n}"})
        ),
        "follow / unfollow (+ rebuild)": timed(
            runs, lambda n: http.post(follow) if n % 2 else http.delete(follow)
        ),
        "POST /api/session (scrypt)": timed(
            LOGIN_RUNS, lambda n: http.post("/api/session", json=login)
        ),
    }


def report(results: dict[str, list[float]]) -> None:
    base = statistics.median(next(iter(results.values())))
    print("| request | median | p95 | requests/s | median vs static page |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in results.items():
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
        print(
            f"| {name} | {median:.1f} ms | {p95:.1f} ms | {1000 / median:,.0f} "
            f"| {median / base:.1f}x |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200, help="requests per API call (200)")
    args = parser.parse_args()

    folder = scratch()
    env = {"VAR_DIR": str(folder / "var"), "SITE_DIR": str(folder / "site"), "STORE": "sqlite"}
    try:
        subprocess.run(
            [sys.executable, "build.py", "seed", "--users", str(args.users), "--posts",
             str(args.posts)],
            cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        with serving(env, folder / "serve.log") as base, httpx.Client(base_url=base) as http:
            users = http.get("/api/users", params={"per_page": 2}).json()["items"]
            me, other = users
            login = {"username": me["username"], "password": DEMO_PASSWORD}
            http.post("/api/session", json=login).raise_for_status()
            print(
                f"{args.users:,} users / {args.posts:,} posts, SQLite, {args.runs} sequential "
                f"requests each over one keep-alive connection to `build.py serve`\n"
            )
            report(scenarios(http, me, other, args.runs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
