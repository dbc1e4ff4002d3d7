#!/usr/bin/env python3
"""The floor a full build is measured against: a bare Jinja2 loop.

    .venv/bin/python bench/floor.py OUT [--processes N]

It renders the same pages as `build.py build`, from the same store (SQLite,
as the environment says), in the same languages (`LANGUAGES`), with the
same templates and page model, the way a
plain static site generator loop does: Jinja2's default environment
(templates checked for changes at each use), the `_post.html` partial
rendered at every appearance of a post, each page written with a plain
`open`/`write`, the pages split evenly between N forked processes. No
progress bar, no stats, no comparison with an existing site, no removals.
Run as a whole process, like the build: start-up and reading the store count.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.config import Settings
from functions.sitegen.data import Snapshot
from functions.sitegen.pages import all_pages
from functions.wiring import make_renderer, open_store


def write_all(outputs, out: str) -> None:
    for output in outputs:
        if output is None or output.body is None:
            continue
        path = os.path.join(out, output.path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(output.body)


def every_language(renderer, pages, data):
    """Each page's file in every language it has (as the build writes them)."""
    return (output for page in pages for output in renderer.render_languages(page, data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="an empty folder to write into")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()

    settings = Settings.from_env()
    renderer = make_renderer(settings)
    renderer.env.auto_reload = True  # Jinja2's default
    data = Snapshot.load(open_store(settings))
    pages = list(all_pages(data, renderer.documents))
    write_all(renderer.asset_outputs(), args.out)
    children = []
    for n in range(1, args.processes):
        pid = os.fork()
        if pid == 0:  # child n renders every N-th page from the n-th
            write_all(every_language(renderer, pages[n :: args.processes], data), args.out)
            os._exit(0)
        children.append(pid)
    write_all(every_language(renderer, pages[:: args.processes], data), args.out)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        if status:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
