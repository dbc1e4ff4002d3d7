"""One site build at a time on a machine: a thread lock plus, when given a
file, an advisory lock on it (`fcntl.flock`) that other processes share.

The local server rebuilds after each write in its worker threads, and
`build.py build` may run beside it: pages are rendered from the store, so
a late writer leaves a page at most one write behind, but the search
index's shards are read, changed and written back, and two writers at
once could lose a change. Both hold this lock around a build or a change.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class BuildLock:
    def __init__(self, path: Path | None = None):
        self.path = path
        self._thread = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        self._thread.acquire()
        if self.path is not None:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # run data
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # waits for the other process
            except BaseException:
                self._release_file()
                self._thread.release()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._release_file()
        self._thread.release()

    def _release_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
