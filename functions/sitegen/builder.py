"""The full build and the incremental rebuild: one renderer, two page sets.

The full build renders the site in shards (`shards`: deterministic shares,
each read from the store part by part, so memory is bounded by a part, not
by the corpus), in worker processes (one shard each, forked, each with its
own store connection and publisher) or in the calling process. Then it
removes what the site no longer has and flushes (e.g. a CloudFront
invalidation) once. `build_shard` renders one shard alone (`build.py build
--shard I/N`, the release's Step Functions Map). The incremental rebuild
renders only the pages a change touches, straight from the store, in the
calling process.

The search index (`search`) rides along: each shard of a full build
writes the index shards it owns (every Nth, from every numbered post, so
its memory is its share of the index, not a part); an incremental rebuild
reads, changes and writes back the index shards of its posts' terms,
under the same lock as its pages.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..domain import Event
from ..store import Store
from .data import SiteData, StoreData
from .lock import BuildLock
from .pages import PageRef, pages_for_all
from .publish import Publisher
from .render import Output, Renderer
from .search import INDEX_PREFIXES, build_index, numbered_posts
from .search import update as update_index
from .shards import Shard, load_part, shard_parts

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
    outputs = (output for page in pages for output in renderer.render_languages(page, data))
    stats = publish_outputs(outputs, publisher)  # each page written as it is rendered
    stats.rendered = len(stats.published)
    return stats


# What a forked worker inherits from the parent (set just before forking):
# the builder, the shard count and the queue its progress goes to.
_job: tuple[SiteBuilder, int, multiprocessing.Queue] | None = None


def _worker_shard(index: int) -> int:
    """One shard in a worker; each part's Stats (its paths) go to the parent
    as it ends, through the queue. Returns how many it sent."""
    builder, count, parts = _job
    store = builder.store.reopen()  # never a connection or client of the parent's
    publisher = builder.make_publisher()
    sent = 0

    def send(part: Stats) -> None:
        nonlocal sent
        parts.put(part)
        sent += 1

    try:
        builder.build_shard(Shard(index, count), store, publisher, send)
    finally:
        store.close()
    return sent


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class MassDeletion(RuntimeError):
    """A full build would remove most of the site, or every user's pages:
    refused, nothing removed, unless the build is told it is meant."""


def _is_temporary(path: str) -> bool:
    return path.rpartition("/")[2].startswith(TEMPORARY_PREFIX)


def _is_page(path: str) -> bool:
    """What the mass-deletion rule counts: not the assets, not the search
    index's shards (how many there are follows the words, not the site)."""
    return not (
        path in KEEP or path.startswith((KEEP_PREFIX, *INDEX_PREFIXES)) or _is_temporary(path)
    )


def _refuse_an_empty_store(store: Store, existing: set[str]) -> None:
    """Before anything is written: no user in the store, but user pages online."""
    if store.list_users(limit=1).items:
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
        lock_file: Path | None = None,
    ):
        self.store = store
        self.renderer = renderer
        self.make_publisher = make_publisher
        self.publisher = make_publisher()
        self.workers = workers or default_workers()
        # Two writes at once may touch the same page or index shard: render
        # one change at a time, so the later state is always the one left on
        # disk; with `lock_file`, also one at a time with other processes
        # (the local server and `build.py build`).
        self._lock = BuildLock(lock_file)

    def build_all(self, progress: bool = False, allow_mass_delete: bool = False) -> Stats:
        """Every page that exists, plus the assets; removes pages that went away
        (and what a killed build left half done). Raises MassDeletion, unless
        `allow_mass_delete`, rather than remove most of the site."""
        started = time.perf_counter()
        with self._lock:
            before = self.publisher.existing()  # (cheap before an empty site fills up)
            if not allow_mass_delete:
                _refuse_an_empty_store(self.store, before)
            stats = publish_outputs(self.renderer.asset_outputs(), self.publisher)
            stats.add(self._render_shards(progress))
            self._remove_the_rest(before, stats, allow_mass_delete)
            self.publisher.flush(stats.changed)
        stats.seconds = time.perf_counter() - started
        return stats

    def prepare(self) -> Stats:
        """Before shards run apart (the release's Map), what `build_all` does
        before its shards: MassDeletion when the store has no user but the
        site has user pages (a wrong table); then the assets, so that no page
        a shard writes names an asset not there yet."""
        _refuse_an_empty_store(self.store, self.publisher.existing())
        return publish_outputs(self.renderer.asset_outputs(), self.publisher)

    def finish(
        self, published: Iterable[str], changed: Iterable[str], allow_mass_delete: bool = False
    ) -> Stats:
        """After every shard ran apart: the removal of the pages no shard
        `published`, and one flush for all the shards' `changed` paths.
        Holds the site's paths in memory (about 100 bytes a page)."""
        started = time.perf_counter()
        with self._lock:
            before = self.publisher.existing()
            stats = Stats(published=list(published), changed=list(changed))
            self._remove_the_rest(before, stats, allow_mass_delete)
            self.publisher.flush(stats.changed)
        stats.seconds = time.perf_counter() - started
        return stats

    def _remove_the_rest(self, before: set[str], stats: Stats, allow_mass_delete: bool) -> None:
        """Remove what was there `before` but is not in `stats.published`."""
        doomed = sorted(before - set(stats.published) - KEEP)
        # Old assets stay (cached pages still name them); a killed build's
        # half-written files go, wherever they are.
        doomed = [p for p in doomed if not p.startswith(KEEP_PREFIX) or _is_temporary(p)]
        if not allow_mass_delete:
            _refuse_mass_deletion(doomed, before)
        for path in doomed:
            if self.publisher.remove(path):
                stats.removed += 1
                stats.changed.append(path)

    def build_shard(
        self,
        shard: Shard,
        store: Store | None = None,
        publisher: Publisher | None = None,
        on_part: Callable[[Stats], object] = lambda part: None,
    ) -> Stats:
        """Render and write shard `shard`'s pages, part by part; no assets, no
        removals, no flush (the whole build's, or the caller's, job). Each
        part's Stats, with the paths it published and changed, goes to
        `on_part` and is not kept: the totals returned are counts only, so
        memory stays bounded by a part whatever the shard's size."""
        started = time.perf_counter()
        store = store or self.store
        publisher = publisher or self.publisher
        last = store.explore_seq()  # first: a post written meanwhile is never past its pages
        former_names = store.former_names()
        totals = Stats()
        for part in shard_parts(shard, store, last):
            data, pages = load_part(part, store, last, former_names, self.renderer.documents)
            with self.renderer.reusing_fragments():
                stats = render_and_publish(pages, self.renderer, data, publisher)
            on_part(stats)
            totals.add(replace(stats, published=[], changed=[]))
        # The search index shards this shard owns, from every numbered post.
        index = build_index(numbered_posts(store, last), shard.index, shard.count)
        stats = publish_outputs(index, publisher)
        stats.rendered = len(stats.published)
        on_part(stats)
        totals.add(replace(stats, published=[], changed=[]))
        totals.seconds = time.perf_counter() - started
        return totals

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
            # The search index: read, changed and written back (one writer: the lock).
            index = publish_outputs(update_index(events, data, self.publisher), self.publisher)
            index.rendered = len(index.published)
            stats.add(index)
            self.publisher.flush(stats.changed)
        stats.seconds = time.perf_counter() - started
        return stats

    def _render_shards(self, progress: bool) -> Stats:
        """Every shard: one per worker process, or one in this process."""
        bar = _progress_bar(progress)
        stats = Stats()

        def keep(part: Stats) -> None:
            stats.add(part)
            bar.update(part.rendered)

        with bar:
            if self.workers == 1 or "fork" not in _start_methods() or not self.store.reopenable:
                self.build_shard(Shard(), on_part=keep)
                return stats
            global _job
            ctx = multiprocessing.get_context("fork")
            parts = ctx.Queue()
            _job = (self, self.workers, parts)
            try:
                with ctx.Pool(self.workers) as pool:
                    result = pool.map_async(_worker_shard, range(1, self.workers + 1))
                    received = 0
                    while not result.ready():
                        with contextlib.suppress(queue.Empty):
                            keep(parts.get(timeout=0.05))
                            received += 1
                    # A worker's error is raised here; else every part it sent
                    # is taken, even those still on their way through the queue.
                    for _ in range(sum(result.get()) - received):
                        keep(parts.get())
            finally:
                _job = None
        return stats


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, count: int) -> None:
        pass


def _progress_bar(progress: bool):
    """tqdm's bar when someone watches (a terminal), else nothing: tqdm is
    imported only then, as it takes longer to import than a small site
    takes to render."""
    if not (progress and sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(unit="page")


def _start_methods() -> list[str]:
    return multiprocessing.get_all_start_methods()
