#!/usr/bin/env python3
"""What sanitizing a post's stored HTML again at render costs.

    .venv/bin/python bench/sanitize.py [--posts 2000] [--seed 1]

Demo posts (functions/seed.py, one fixed seed) in an in-memory store; every
post's `_post.html` fragment (what a build renders once per post) is timed
with the `sanitize` filter as shipped and with it replaced by the identity,
in the same run, best of several passes; and `markup.sanitize` alone. The
difference is the whole cost of item 14 of issue 10: per post, and for a
build of that many posts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.markup import sanitize as kept_sanitize  # noqa: E402
from functions.seed import seed  # noqa: E402
from functions.sitegen.data import Snapshot  # noqa: E402
from functions.sitegen.render import Renderer  # noqa: E402
from functions.store.sqlite import SQLiteStore  # noqa: E402

PASSES = 9
# The cleaning itself: `markup.sanitize` keeps its last results (the API cleans
# the same posts at each request), which would time a dictionary look-up.
sanitize = kept_sanitize.__wrapped__


def best(run, passes: int = PASSES) -> float:
    """The fastest of `passes` runs, in seconds (the least disturbed by a busy machine)."""
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    store = SQLiteStore(":memory:")
    seed(store, max(args.posts // 20, 2), args.posts, seed=args.seed, progress=False)
    data = Snapshot.load(store)
    posts = list(data.all_posts())
    authors = data.users({p.author_id for p in posts})
    pairs = [(p, authors[p.author_id]) for p in posts]
    shipped = Renderer(ROOT / "templates")
    shipped.env.filters["sanitize"] = sanitize
    shipped.env.cache.clear()
    shipped._post_template = shipped.env.get_template("_post.html")
    bare = Renderer(ROOT / "templates")  # the same, its sanitize filter the identity
    bare.env.filters["sanitize"] = lambda html: html
    bare.env.cache.clear()
    bare._post_template = bare.env.get_template("_post.html")

    def fragments(renderer: Renderer):
        # uncached, as a build renders each post once (`post_html` keeps the API's)
        return lambda: [renderer._render_post(post, author) for post, author in pairs]

    # Interleaved passes, the best of each: a busy machine slows both alike.
    times: dict[str, list[float]] = {"with": [], "without": [], "alone": []}
    for _ in range(PASSES):
        times["with"].append(best(fragments(shipped), 1))
        times["without"].append(best(fragments(bare), 1))
        times["alone"].append(best(lambda: [sanitize(p.body_html) for p in posts], 1))
    with_sanitize, without, alone = (min(times[k]) for k in ("with", "without", "alone"))

    n = len(posts)
    sizes = [len(p.body_html) for p in posts]
    print(f"{n} posts, stored HTML {statistics.mean(sizes):.0f} bytes on average")
    print(f"  sanitize alone:             {alone / n * 1e6:7.1f} µs/post")
    print(f"  fragment without sanitize:  {without / n * 1e6:7.1f} µs/post")
    print(f"  fragment with sanitize:     {with_sanitize / n * 1e6:7.1f} µs/post")
    extra = with_sanitize - without
    print(
        f"  sanitize adds {extra / n * 1e6:.1f} µs/post ({with_sanitize / without:.2f}x the"
        f" fragment), {2 * extra * 1000:.0f} ms per build of {n} posts (two fragments per"
        " post: its author's part and its explore chunk's)"
    )


if __name__ == "__main__":
    main()
