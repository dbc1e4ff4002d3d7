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
    of one. A new file (all of them in a fresh folder) is created in place,
    without reading or renaming anything: there was no page to see before.
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
        folder, _, name = target.rpartition("/")
        # Unique per process and thread, so concurrent writers never share it.
        tmp = f"{folder}/.tmp-{os.getpid()}-{threading.get_ident()}-{name}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    @staticmethod
    def _create(target: str, body: bytes) -> bool:
        """Write a file that does not exist yet; False when it exists."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            return False
        except FileNotFoundError:  # a new folder
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                fd = os.open(target, flags, 0o644)
            except FileExistsError:
                return False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
        except BaseException:
            os.unlink(target)  # never leave half a page behind
            raise
        return True

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
