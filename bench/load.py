#!/usr/bin/env python3
"""A bounded load test of the local stack: many users at once, under a minute.

    .venv/bin/python bench/load.py [--workers 16] [--seconds 20] [--users 40] [--posts 400]

Seeds a corpus into SQLite, starts the real local stack (`build.py serve` on
127.0.0.1), and runs `--workers` threads, each a seeded user on its own
keep-alive connection, for `--seconds`. Each picks its next request at random
from a mix of what people do (weights below): static page views, API reads,
logins, posts and follow/unfollow. It prints requests per second, the
latency percentiles (p50/p95/p99) overall and per kind, and the errors
(every status of 400 or more, and every failed connection: the goal is zero).

Baseline, measured first in the same run with the same workers: static
profile pages only (what every public page costs, no function runs), so the
figures can be read as ratios on a loaded machine.

Standard library only (http.client, threads): it runs after the README's
first command. Output goes to tmpfs (/dev/shm) when there is one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import seeded_stack  # noqa: E402
from functions.seed import DEMO_PASSWORD  # noqa: E402

# What a visitor does, by weight: mostly reading pages.
MIX = {
    "page view": 55,
    "api read": 20,
    "post": 10,
    "follow/unfollow": 10,
    "login": 5,  # scrypt on purpose: each costs tens of milliseconds of CPU
}


class Visitor:
    """One seeded user on one keep-alive connection, with its session cookie."""

    def __init__(self, port: int, me: dict, others: list[dict], rng: random.Random):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.me, self.others, self.rng = me, others, rng
        self.cookie = ""
        self.posts = 0

    def call(self, method: str, path: str, body: object = None) -> int:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, data, headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            return 0
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status

    def login(self) -> int:
        return self.call(
            "POST", "/api/session", {"username": self.me["username"], "password": DEMO_PASSWORD}
        )

    def act(self, kind: str) -> int:
        other = self.rng.choice(self.others)
        if kind == "page view":
            path = self.rng.choice(["/", "/explore/", f"/u/{other['username']}/"])
            return self.call("GET", path)
        if kind == "api read":
            return self.call("GET", self.rng.choice(["/api/feed", "/api/explore", "/api/me"]))
        if kind == "post":
            self.posts += 1
            body = f"Load test post {self.posts} by {self.me['username']}"
            return self.call("POST", "/api/posts", {"body": body})
        if kind == "follow/unfollow":
            method = self.rng.choice(["POST", "DELETE"])
            return self.call(method, f"/api/users/{other['id']}/follow")
        return self.login()


def run(port: int, users: list[dict], seconds: float, mix: dict[str, int], seed: int):
    """Each user in its own thread for `seconds`; latencies (ms) and errors by kind."""
    times: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    lock = threading.Lock()
    start = threading.Barrier(len(users) + 1)
    kinds, weights = list(mix), list(mix.values())

    def work(n: int) -> None:
        rng = random.Random(seed + n)
        visitor = Visitor(port, users[n], users[:n] + users[n + 1 :], rng)
        if "post" in mix and visitor.login() != 200:
            raise RuntimeError(f"cannot log in as {users[n]['username']}")
        start.wait()
        mine, bad = defaultdict(list), defaultdict(lambda: defaultdict(int))
        deadline = time.perf_counter() + seconds
        while (began := time.perf_counter()) < deadline:
            kind = rng.choices(kinds, weights)[0]
            status = visitor.act(kind)
            mine[kind].append((time.perf_counter() - began) * 1000)
            if not 200 <= status < 400:
                bad[kind][status] += 1
        visitor.conn.close()
        with lock:
            for kind, values in mine.items():
                times[kind] += values
            for kind, statuses in bad.items():
                for status, count in statuses.items():
                    errors[kind][status] += count

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return times, errors, time.perf_counter() - began


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def line(name: str, values: list[float], elapsed: float, errors: dict[int, int]) -> str:
    failed = sum(errors.values())
    detail = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(errors.items()))
    return (
        f"{name:<16} {len(values):>7,} {len(values) / elapsed:>8.1f} "
        f"{percentile(values, 50):>7.1f} {percentile(values, 95):>7.1f} "
        f"{percentile(values, 99):>7.1f} {failed:>6}" + (f"  ({detail})" if detail else "")
    )


def report(title: str, times, errors, elapsed: float) -> float:
    every = [value for values in times.values() for value in values]
    print(f"\n{title}: {len(every) / elapsed:,.0f} requests/s over {elapsed:.1f} s")
    print(f"{'':<16} {'requests':>7} {'per s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} errors")
    every_error: dict[int, int] = defaultdict(int)
    for kind in sorted(times):
        print(line(kind, times[kind], elapsed, errors.get(kind, {})))
        for status, count in errors.get(kind, {}).items():
            every_error[status] += count
    print(line("all", every, elapsed, every_error))
    return percentile(every, 50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=16, help="concurrent users (16)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the mixed run (20)")
    parser.add_argument("--users", type=int, default=40, help="seeded users (40)")
    parser.add_argument("--posts", type=int, default=400, help="seeded posts (400)")
    args = parser.parse_args()
    if args.users < args.workers + 1:
        parser.error("--users must exceed --workers: each worker is a user, and follows others")

    with seeded_stack(args.users, args.posts) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/api/users?per_page={args.workers + 1}")
        users = json.loads(conn.getresponse().read())["items"]
        conn.close()
        print(
            f"{args.users} users / {args.posts} posts, SQLite, `build.py serve` on "
            f"127.0.0.1, {args.workers} concurrent users, {os.cpu_count()} CPUs "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        workers = users[: args.workers]
        base = report(
            "baseline, static profile pages only",
            *run(port, workers, min(5.0, args.seconds), {"page view": 1}, seed=1),
        )
        mixed = report(
            "mixed: " + ", ".join(f"{kind} {weight}%" for kind, weight in MIX.items()),
            *run(port, workers, args.seconds, MIX, seed=2),
        )
        print(f"\nmixed p50 / baseline p50: {mixed / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
