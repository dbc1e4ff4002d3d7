"""Publishers: where the built files go. Locally, a folder (`site/`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class LocalPublisher:
    """Writes files under `root` atomically and skips unchanged bytes.

    A file is written to a temporary name in the same folder and moved into
    place with `os.replace`, so a reader (the web server) sees the old page
    or the new one, never half of one.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def _target(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"refusing to write outside the site: {path!r}")
        return target

    def write(self, path: str, body: bytes) -> bool:
        """Write `body` at `path`; False when the file already held these bytes."""
        target = self._target(path)
        try:
            if target.read_bytes() == body:
                return False
        except (FileNotFoundError, IsADirectoryError):
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def remove(self, path: str) -> bool:
        target = self._target(path)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        return True
