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
  the kinds take turns, request by request, so a busy machine weighs on
  each alike;
- writes include their incremental rebuild: a local write answers after its
  pages are re-rendered.

Standard library only (http.client): it runs after the README's first
command. Output goes to tmpfs (/dev/shm) when there is one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build import scratch  # noqa: E402
from functions.seed import DEMO_PASSWORD  # noqa: E402
from tests.server import port_of, serving  # noqa: E402

LOGIN_RUNS = 10  # password hashing is slow on purpose (scrypt): fewer runs


class Client:
    """One keep-alive HTTP/1.1 connection that keeps the session cookie."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def call(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, data, headers)
        response = self.conn.getresponse()
        content = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {content[:200]!r}")
        return response.status, content

    def json(self, path: str) -> dict:
        return json.loads(self.call("GET", path)[1])


@contextmanager
def seeded_stack(users: int, posts: int) -> Iterator[int]:
    """Seed `users` / `posts` into SQLite in a scratch folder, then run
    `build.py serve` on it (tests/server.py's `serving`); yield its port."""
    folder = scratch("api")
    env = {"VAR_DIR": str(folder / "var"), "SITE_DIR": str(folder / "site"), "STORE": "sqlite"}
    try:
        subprocess.run(
            [sys.executable, "build.py", "seed", "--users", str(users), "--posts", str(posts)],
            cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        with serving(env, folder / "serve.log", timeout=120) as base:
            yield port_of(base)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def timed(calls: dict[str, Callable[[int], object]], runs: int) -> dict[str, list[float]]:
    """Milliseconds of `runs` calls of each kind, the kinds taking turns
    (after two warm-up calls of each)."""
    for call in calls.values():
        call(-1)
        call(-2)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for n in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call(n)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def scenarios(http: Client, me: dict, other: dict, runs: int) -> dict[str, list[float]]:
    follow = f"/api/users/{other['id']}/follow"
    login = {"username": me["username"], "password": DEMO_PASSWORD}
    results = timed(
        {
            "static profile page (baseline)": lambda n: http.call("GET", f"/u/{me['username']}/"),
            "GET /api/me": lambda n: http.call("GET", "/api/me"),
            "GET /api/users/{id}": lambda n: http.call("GET", f"/api/users/{other['id']}"),
            "GET /api/explore (25 posts)": lambda n: http.call("GET", "/api/explore"),
            "GET /api/feed (25 posts)": lambda n: http.call("GET", "/api/feed"),
        },
        runs,
    )
    results |= timed(
        {
            "POST /api/posts (+ rebuild)": lambda n: http.call(
                "POST", "/api/posts", {"body": f"Benchmark post {n}"}
            ),
            "follow / unfollow (+ rebuild)": lambda n: http.call(
                "POST" if n % 2 else "DELETE", follow
            ),
        },
        runs,
    )
    login_call = {"POST /api/session (scrypt)": lambda n: http.call("POST", "/api/session", login)}
    results |= timed(login_call, LOGIN_RUNS)
    return results


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

    with seeded_stack(args.users, args.posts) as port:
        http = Client(port)
        me, other = http.json("/api/users?per_page=2")["items"]
        login = {"username": me["username"], "password": DEMO_PASSWORD}
        http.call("POST", "/api/session", login)
        print(
            f"{args.users:,} users / {args.posts:,} posts, SQLite, {args.runs} sequential "
            f"requests each over one keep-alive connection to `build.py serve` "
            f"(load average {os.getloadavg()[0]:.1f})\n"
        )
        report(scenarios(http, me, other, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
