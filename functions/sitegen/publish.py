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

    def write(self, path: str, body: bytes) -> bool:
        """Publish `body` at `path`; False when those bytes were already there."""
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
    """Writes files under `root` atomically and skips unchanged bytes.

    A file is written to a temporary name in the same folder and moved into
    place with `os.replace`, so a reader (the web server) sees the old page
    or the new one, never half of one.
    """

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def _target(self, path: str) -> Path:
        parts = path.split("/")
        if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"refusing to write outside the site: {path!r}")
        return self.root.joinpath(*parts)

    def write(self, path: str, body: bytes) -> bool:
        """Write `body` at `path`; False when the file already held these bytes."""
        target = self._target(path)
        try:
            if target.read_bytes() == body:
                return False
        except (FileNotFoundError, IsADirectoryError):
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        # Unique per process and thread, so concurrent writers never share it.
        tmp = target.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{target.name}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
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
