"""The full build and the incremental rebuild: one renderer, two page sets.

The full build reads the corpus once (`Snapshot`), lists every page, and
renders in worker processes (forked, so they share the snapshot and the
compiled templates without copying), in two passes: first every post's
fragment once (`_post.html`, which every page listing the post reuses), then
the pages, each worker writing through its own publisher. Then it removes
what the site no longer has and flushes (e.g. a CloudFront invalidation)
once. The incremental rebuild renders only the pages a change touches,
straight from the store, in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from ..domain import Event, Post
from ..store import Store
from .data import SiteData, Snapshot, StoreData
from .pages import PageRef, all_pages, pages_for_all
from .publish import Publisher
from .render import Output, Renderer

# Files the build never removes from the output folder.
KEEP = {"README.md"}
# Old hashed assets stay: pages cached by browsers and the CDN still use them.
KEEP_PREFIX = "static/"
# A full build refuses to remove more than this share of the site's pages, or
# any user's profile when the store has no user at all, unless told to
# (`allow_mass_delete`): a store that comes back empty or wrong (a wrong path,
# a lost volume, another table) must not unpublish the site.
MASS_DELETE_SHARE = 0.5
# Left by a writer killed mid-write (see LocalPublisher): never a page.
TEMPORARY_PREFIX = ".tmp-"
# Pages per task handed to a worker: big enough to keep the overhead low,
# small enough for an even split and a lively progress bar.
BATCH = 256


@dataclass
class Stats:
    rendered: int = 0
    written: int = 0
    skipped: int = 0
    removed: int = 0
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)  # paths written or removed
    published: list[str] = field(default_factory=list)  # paths written or unchanged

    def add(self, other: Stats) -> None:
        self.rendered += other.rendered
        self.written += other.written
        self.skipped += other.skipped
        self.removed += other.removed
        self.changed.extend(other.changed)
        self.published.extend(other.published)

    def summary(self) -> str:
        return (
            f"{self.rendered} pages rendered, {self.written} written, "
            f"{self.skipped} unchanged, {self.removed} removed, in {self.seconds:.2f}s"
        )


def publish_outputs(outputs: Iterable[Output], publisher: Publisher) -> Stats:
    stats = Stats()
    for output in outputs:
        if output.body is None:
            if publisher.remove(output.path):
                stats.removed += 1
                stats.changed.append(output.path)
        else:
            stats.published.append(output.path)
            if publisher.write(output.path, output.body, stable=output.stable):
                stats.written += 1
                stats.changed.append(output.path)
            else:
                stats.skipped += 1
    return stats


def render_and_publish(
    pages: Iterable[PageRef], renderer: Renderer, data: SiteData, publisher: Publisher
) -> Stats:
    """Render pages and publish them: the whole job of a worker."""
    outputs = [output for page in pages if (output := renderer.render(page, data))]
    stats = publish_outputs(outputs, publisher)
    stats.rendered = len(stats.published)
    return stats


# What a forked worker inherits from the parent (set just before forking):
# the renderer, the data, the publisher factory and the posts, oldest first.
_job: tuple[Renderer, SiteData, Callable[[], Publisher], list[Post]] | None = None
_worker_publisher: Publisher | None = None


def _worker_fragments(bounds: tuple[int, int]) -> list[tuple[str, str]]:
    renderer, data, _make_publisher, posts = _job
    return renderer.prerender(posts[bounds[0] : bounds[1]], data)


def _worker_batch(pages: Sequence[PageRef]) -> tuple[int, Stats]:
    global _worker_publisher
    renderer, data, make_publisher, _posts = _job
    if _worker_publisher is None:
        _worker_publisher = make_publisher()  # one per process: no shared clients
    return len(pages), render_and_publish(pages, renderer, data, _worker_publisher)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class MassDeletion(RuntimeError):
    """A full build would remove most of the site, or every user's pages:
    refused, nothing removed, unless the build is told it is meant."""


def _is_page(path: str) -> bool:
    name = path.rpartition("/")[2]
    return not (path in KEEP or path.startswith(KEEP_PREFIX) or name.startswith(TEMPORARY_PREFIX))


def _refuse_an_empty_store(data: SiteData, existing: set[str]) -> None:
    """Before anything is written: no user in the store, but user pages online."""
    if next(iter(data.all_users()), None) is not None:
        return
    doomed = [path for path in existing if path.startswith("u/")]
    if doomed:
        raise MassDeletion(
            f"The store has no users, but the site has {len(doomed)} files of user profiles: "
            "refusing to build from it (is the store the right one?). Nothing was changed. "
            "To empty the site on purpose, build with --allow-mass-delete."
        )


def _refuse_mass_deletion(doomed: list[str], existing: set[str]) -> None:
    """After rendering, before removing: most of the site would go."""
    pages = sum(1 for path in existing if _is_page(path))
    removed = sum(1 for path in doomed if _is_page(path))
    if pages and removed > pages * MASS_DELETE_SHARE:
        raise MassDeletion(
            f"This build would remove {removed} of the site's {pages} pages "
            f"(more than {MASS_DELETE_SHARE:.0%}): refusing (is the store the right one?). "
            "Pages were written, nothing was removed. "
            "To remove them on purpose, build with --allow-mass-delete."
        )


class SiteBuilder:
    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        make_publisher: Callable[[], Publisher],
        workers: int | None = None,
    ):
        self.store = store
        self.renderer = renderer
        self.make_publisher = make_publisher
        self.publisher = make_publisher()
        self.workers = workers or default_workers()
        # Two writes at once may touch the same page: render one change at a
        # time, so the later state is always the one left on disk.
        self._lock = threading.Lock()

    def build_all(self, progress: bool = False, allow_mass_delete: bool = False) -> Stats:
        """Every page that exists, plus the assets; removes pages that went away
        (and what a killed build left half done). Raises MassDeletion, unless
        `allow_mass_delete`, rather than remove most of the site."""
        started = time.perf_counter()
        with self._lock:
            data = Snapshot.load(self.store)
            pages = list(all_pages(data, self.renderer.documents))
            before = self.publisher.existing()  # (cheap before an empty site fills up)
            if not allow_mass_delete:
                _refuse_an_empty_store(data, before)
            stats = publish_outputs(self.renderer.asset_outputs(), self.publisher)
            stats.add(self._render_all(pages, data, progress))
            doomed = sorted(before - set(stats.published) - KEEP)
            doomed = [p for p in doomed if not p.startswith(KEEP_PREFIX) or not _is_page(p)]
            if not allow_mass_delete:
                _refuse_mass_deletion(doomed, before)
            for path in doomed:
                if self.publisher.remove(path):
                    stats.removed += 1
                    stats.changed.append(path)
            self.publisher.flush(stats.changed)
        stats.seconds = time.perf_counter() - started
        return stats

    def apply(
        self, events: Iterable[Event], overlay: Callable[[SiteData], SiteData] | None = None
    ) -> Stats:
        """Re-render the pages that these changes touch, and only those.
        `overlay` wraps the store's data (the render function lays the
        stream batch's images over it: see `data.Overlay`)."""
        started = time.perf_counter()
        events = list(events)
        with self._lock, self.renderer.reusing_fragments():
            data: SiteData = StoreData(self.store)
            if overlay is not None:
                data = overlay(data)
            stats = render_and_publish(
                pages_for_all(events, data), self.renderer, data, self.publisher
            )
            self.publisher.flush(stats.changed)
        stats.seconds = time.perf_counter() - started
        return stats

    def _render_all(self, pages: list[PageRef], data: SiteData, progress: bool) -> Stats:
        batches = [pages[i : i + BATCH] for i in range(0, len(pages), BATCH)]
        bar = _progress_bar(len(pages), progress)
        stats = Stats()
        with bar:
            if self.workers > 1 and len(batches) > 1 and "fork" in _start_methods():
                global _job
                posts = list(data.all_posts())
                _job = (self.renderer, data, self.make_publisher, posts)
                try:
                    ctx = multiprocessing.get_context("fork")
                    # Pass 1: every post's fragment, once, shared out between
                    # the workers; pass 2, in workers forked after it, reuses them.
                    step = -(-len(posts) // (self.workers * 4)) or 1
                    bounds = [(i, i + step) for i in range(0, len(posts), step)]
                    fragments = {}
                    with ctx.Pool(self.workers) as pool:
                        for part in pool.imap_unordered(_worker_fragments, bounds):
                            fragments.update((i, Markup(html)) for i, html in part)
                    with self.renderer.reusing_fragments(fragments), ctx.Pool(self.workers) as pool:
                        for size, batch_stats in pool.imap_unordered(_worker_batch, batches):
                            stats.add(batch_stats)
                            bar.update(size)
                finally:
                    _job = None
            else:
                with self.renderer.reusing_fragments():
                    for batch in batches:
                        stats.add(render_and_publish(batch, self.renderer, data, self.publisher))
                        bar.update(len(batch))
        return stats


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, count: int) -> None:
        pass


def _progress_bar(total: int, progress: bool):
    """tqdm's bar when someone watches (a terminal), else nothing: tqdm is
    imported only then, as it takes longer to import than a small site
    takes to render."""
    if not (progress and sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="page")


def _start_methods() -> list[str]:
    return multiprocessing.get_all_start_methods()
