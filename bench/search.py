#!/usr/bin/env python3
"""Benchmark of the static search index, against baselines measured in the same run.

    .venv/bin/python bench/search.py [--posts 5000] [--users 200] [--queries 5]

A corpus of demo posts (functions/seed.py, deterministic) in SQLite, the
whole site built once (`build_all`, two workers), then:

- index size per 1,000 posts: every file under search/, raw and gzipped
  (as a CDN compresses JSON), with the biggest shard of each kind; the
  baseline is the explore archive pages per 1,000 posts, which also list
  every post once;
- memory: the peak Python allocation (tracemalloc) of building the whole
  index in one process, as one build shard of one does;
- files touched per new post: `apply` of a new post (its body one of the
  corpus's, so its words are real), search files written, mean and max;
  the baseline is the pages the same posts rewrite;
- query latency in Chromium (Debian's, through Playwright), the site
  served by a plain static file server: from pressing Enter in the
  navigation's search box to the results shown (`html[data-ready]` on the
  search page), each in a fresh browser context (nothing cached), for a
  common word, a middling one, a rare one and two words (AND); the
  baseline is loading the explore page the same way (from `goto` to ready).
  Medians of `--queries` runs, taken in turns.

Playwright comes with requirements-dev.txt; the site goes to tmpfs when
there is one. The README's figures are of `--posts 50000 --users 2000`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import json
import os
import random
import shutil
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build import scratch  # noqa: E402
from functions.config import Settings  # noqa: E402
from functions.domain import PostCreated  # noqa: E402
from functions.seed import seed  # noqa: E402
from functions.services import new_post  # noqa: E402
from functions.sitegen.search import build_index, numbered_posts  # noqa: E402
from functions.sitegen.terms import words  # noqa: E402
from functions.store.sqlite import SQLiteStore  # noqa: E402
from functions.wiring import local_builder  # noqa: E402
from tests.server import in_thread  # noqa: E402

NEW_POSTS = 50


def sizes(paths: list[Path]) -> tuple[int, int, int, int]:
    """Total bytes raw and gzipped, and the biggest file's, raw and gzipped."""
    raw = [p.stat().st_size for p in paths]
    packed = [len(gzip.compress(p.read_bytes(), 6)) for p in paths]
    return sum(raw), sum(packed), max(raw, default=0), max(packed, default=0)


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB"


def pick_queries(site: Path, pair: list[str]) -> dict[str, str]:
    """Folded words at a few frequencies, read from the index itself, and
    two words of one post (`pair`)."""
    counts: Counter = Counter()
    for shard in (site / "search" / "t").glob("*.json"):
        for entry in json.loads(shard.read_text()).values():
            for word, n in entry["w"].items():
                counts[word] += n
    ranked = [w for w, _ in counts.most_common() if w.isalpha() and len(w) > 3]
    common, middling, rare = ranked[0], ranked[len(ranked) // 20], ranked[len(ranked) // 2]
    return {
        f"common ({common}, {counts[common]} posts)": common.upper(),
        f"middling ({middling}, {counts[middling]} posts)": middling,
        f"rare ({rare}, {counts[rare]} posts)": rare,
        f"two words of one post ({' '.join(pair)})": " ".join(pair),
    }


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def static_server(site: Path) -> contextlib.AbstractContextManager[str]:
    """The built site over HTTP on 127.0.0.1, as a CDN would serve it: files only."""
    return in_thread(functools.partial(Quiet, directory=str(site)))


def browser_latencies(base: str, queries: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per query (and for the explore page), in fresh contexts."""
    from playwright.sync_api import sync_playwright

    from tests.browser.ui import launch

    times: dict[str, list[float]] = {"explore page (baseline)": [], **{q: [] for q in queries}}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(rounds):
            for label in times:
                context = browser.new_context(base_url=base)
                page = context.new_page()
                page.route("https://www.gravatar.com/**", lambda route: route.abort())
                started = time.perf_counter()
                page.goto("/explore/")
                page.wait_for_selector("html[data-ready]", state="attached")
                loaded = time.perf_counter()
                if label in queries:
                    box = page.get_by_placeholder("Search")
                    box.fill(queries[label])
                    started = time.perf_counter()
                    box.press("Enter")
                    page.wait_for_url("**/search/?q=*")
                    page.wait_for_selector("html[data-ready]", state="attached")
                    found = page.locator("#search-results article.post").count()
                    assert found, f"no results for {label}"
                    loaded = time.perf_counter()
                times[label].append((loaded - started) * 1000)
                context.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--queries", type=int, default=5, help="runs per query")
    args = parser.parse_args()

    work = scratch("search")
    try:
        settings = Settings.from_env(
            {"VAR_DIR": str(work / "var"), "SITE_DIR": str(work / "site"), "STORE": "sqlite"}
        )
        settings.var_dir.mkdir(parents=True)
        store = SQLiteStore(settings.database)
        started = time.perf_counter()
        seed(store, args.users, args.posts, progress=False)
        seeded = time.perf_counter() - started
        builder = local_builder(settings, store, workers=2)
        started = time.perf_counter()
        builder.build_all()
        built = time.perf_counter() - started
        site = settings.site_dir
        per_k = args.posts / 1000

        index = sorted((site / "search").rglob("*.json"))
        postings = [p for p in index if p.parent.name == "t"]
        lexicon = [p for p in index if p.parent.name == "w"]
        explore = sorted((site / "explore" / "page").rglob("index.html"))
        raw, packed, _, _ = sizes(index)
        _, _, t_raw, t_packed = sizes(postings)
        _, _, w_raw, w_packed = sizes(lexicon)
        e_raw, e_packed, _, _ = sizes(explore)

        tracemalloc.start()
        build_index(numbered_posts(store, store.explore_seq()))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        rng = random.Random(1)
        bodies = [p.body for p in store.explore(limit=100).items]
        author = store.list_users(limit=1).items[0]
        index_files, page_files = [], []
        for _ in range(NEW_POSTS):
            post = store.create_post(new_post(author.id, rng.choice(bodies), "en"))
            changed = builder.apply([PostCreated.of(post)]).changed
            index_files.append(sum(p.startswith("search/") for p in changed))
            page_files.append(sum(not p.startswith("search/") for p in changed))

        middle = store.explore_by_seq(args.posts // 2, args.posts // 2)[0]
        pair = sorted((w for w in words(middle.body) if w.isalpha()), key=len)[-2:]
        queries = pick_queries(site, pair)
        with static_server(site) as base:
            latencies = browser_latencies(base, queries, args.queries)
        store.close()

        print(f"search index at {args.posts:,} posts ({args.users:,} users)")
        print(f"seeded in {seeded:.0f} s, site built in {built:.0f} s (two workers)")
        print()
        print("| measure | search index | baseline | ratio |")
        print("| --- | --- | --- | --- |")
        print(
            f"| bytes per 1,000 posts, raw | {kb(raw / per_k)} | {kb(e_raw / per_k)} "
            f"(explore pages) | {raw / e_raw:.2f}x |"
        )
        print(
            f"| bytes per 1,000 posts, gzipped | {kb(packed / per_k)} | {kb(e_packed / per_k)} "
            f"(explore pages) | {packed / e_packed:.2f}x |"
        )
        print(
            f"| files | {len(postings)} postings + {len(lexicon)} lexicon shards | "
            f"{len(explore)} explore pages | |"
        )
        print(
            f"| biggest shard, raw / gzipped | postings {kb(t_raw)} / {kb(t_packed)}; "
            f"lexicon {kb(w_raw)} / {kb(w_packed)} | | |"
        )
        print(f"| peak memory of the whole index's build | {peak / 1e6:.1f} MB | | |")
        mean_i, mean_p = statistics.mean(index_files), statistics.mean(page_files)
        print(
            f"| files touched per new post, mean (max) | {mean_i:.1f} ({max(index_files)}) "
            f"| {mean_p:.1f} ({max(page_files)}) pages | {mean_i / mean_p:.2f}x |"
        )
        baseline = statistics.median(latencies.pop("explore page (baseline)"))
        for label, values in latencies.items():
            median = statistics.median(values)
            print(
                f"| query, {label}: ms to results shown | {median:.0f} "
                f"({min(values):.0f}-{max(values):.0f}) | {baseline:.0f} (explore page load) "
                f"| {median / baseline:.2f}x |"
            )
        print()
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
