"""Publishers: where the built files go. Locally a folder (`site/`); on AWS
an S3 bucket behind CloudFront (`s3.S3Publisher`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol


class Publisher(Protocol):
    """Paths are relative, with `/` separators: `u/ann/index.html`."""

    def write(self, path: str, body: bytes, stable: bool = False) -> bool:
        """Publish `body` at `path`; False when those bytes were already there.
        `stable`: the page changes only on rare events (`render.Output.stable`),
        so a CDN may keep it long."""
        ...

    def remove(self, path: str) -> bool:
        """Unpublish `path`; False when nothing was there."""
        ...

    def read(self, path: str) -> bytes | None:
        """The bytes published at `path`, or None: for the files a build
        changes in place (the search index's shards) rather than renders."""
        ...

    def existing(self) -> set[str]:
        root = str(self.root)
        found = set()
        for folder, _dirs, files in os.walk(root):
            # plain strings: one Path per folder costs seconds on a big site
            prefix = folder[len(root) + 1 :] + "/" if folder != root else ""
            found.update(prefix + name for name in files)
        return found

    def flush(self, changed: Iterable[str]) -> None:
        """Called once after a build with every path written or removed."""
        ...


class LocalPublisher:
    """Writes files under `root` and skips unchanged bytes.

    A file that exists is replaced atomically: the new bytes are written to a
    temporary name in the same folder and moved into place with `os.replace`,
    so a reader (the web server) sees the old page or the new one, never half
    of one. A new file (all of them in a fresh folder) is written under a
    temporary name too and hard-linked into place, without reading anything:
    a build killed at any moment (kill -9) leaves no empty or half page under
    a page's name (tests/test_build_kill.py); a killed writer's temporary is
    never served, and the next full build removes it.
    """

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._root = str(self.root)

    def _target(self, path: str) -> Path:
        return Path(self._path(path))

    def _path(self, path: str) -> str:
        parts = path.split("/")
        if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"refusing to write outside the site: {path!r}")
        return f"{self._root}/{path}"

    def write(self, path: str, body: bytes, stable: bool = False) -> bool:
        """Write `body` at `path`; False when the file already held these bytes
        (`stable` matters to a CDN only)."""
        target = self._path(path)
        if self._create(target, body):
            return True
        with open(target, "rb") as f:
            if f.read() == body:
                return False
        tmp = self._temporary(target, body)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        return True

    @staticmethod
    def _temporary(target: str, body: bytes) -> str:
        """`body` written under a temporary name next to `target`: unique per
        process and thread, so concurrent writers never share it."""
        folder, _, name = target.rpartition("/")
        tmp = f"{folder}/.tmp-{os.getpid()}-{threading.get_ident()}-{name}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:  # a new folder
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    def _create(self, target: str, body: bytes) -> bool:
        """Write a file that does not exist yet; False when it exists. The
        bytes go under a temporary name first and are linked into place
        (`os.link` refuses a name that exists): a writer killed mid-way
        (kill -9) leaves no empty or half page under the page's name."""
        if os.path.lexists(target):
            return False
        tmp = self._temporary(target, body)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True

    def read(self, path: str) -> bytes | None:
        try:
            with open(self._path(path), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def remove(self, path: str) -> bool:
        target = self._target(path)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        for folder in target.parents:  # drop folders left empty (old archive pages)
            if folder == self.root:
                break
            try:
                folder.rmdir()
            except OSError:  # not empty (or just written into): keep it
                break
        return True

    def existing(self) -> set[str]:
        found = set()
        for folder, _dirs, files in os.walk(self.root):
            rel = Path(folder).relative_to(self.root).as_posix()
            prefix = "" if rel == "." else rel + "/"
            found.update(prefix + name for name in files)
        return found

    def flush(self, changed: Iterable[str]) -> None:
        """Nothing to do: the files are served as soon as they are replaced."""
