"""The full build and the incremental rebuild: one renderer, two page sets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..domain import Event
from ..store import Store
from .pages import PageRef, all_pages, pages_for_all
from .publish import LocalPublisher
from .render import Renderer


@dataclass
class Stats:
    rendered: int = 0
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    paths: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rendered} pages rendered, {self.written} written, "
            f"{self.skipped} unchanged, in {self.seconds:.2f}s"
        )


class SiteBuilder:
    def __init__(self, store: Store, renderer: Renderer, publisher: LocalPublisher):
        self.store = store
        self.renderer = renderer
        self.publisher = publisher
        # Two writes at once may touch the same page: render it one at a time
        # so the later state always wins.
        self._lock = threading.Lock()

    def build_all(self) -> Stats:
        """Every page that exists, plus the assets."""
        return self._publish(all_pages(self.store), assets=True)

    def apply(self, events: Iterable[Event]) -> Stats:
        """Re-render the pages that these changes touch, and only those."""
        return self._publish(pages_for_all(events))

    def _publish(self, pages: Iterable[PageRef], assets: bool = False) -> Stats:
        stats = Stats()
        started = time.perf_counter()
        with self._lock:
            outputs = list(self.renderer.asset_outputs()) if assets else []
            for page in pages:
                output = self.renderer.render(page)
                if output is None:
                    continue
                stats.rendered += 1
                outputs.append(output)
            for output in outputs:
                if self.publisher.write(output.path, output.body):
                    stats.written += 1
                    stats.paths.append(output.path)
                else:
                    stats.skipped += 1
        stats.seconds = time.perf_counter() - started
        return stats
