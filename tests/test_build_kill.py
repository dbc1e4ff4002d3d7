"""`kill -9` of a full build at random moments (issue 10, the faults proof).

A real `build.py build` (with its worker processes) is killed with SIGKILL,
the whole process group at once as an OOM killer or a pulled plug would,
at a random moment of its run, a few times in a row. After every kill each
page on disk must be whole: byte for byte the page of a complete build, old
or new (a writer's temporary file may be left; it is never served, and the
next build removes it). The next build, left to finish, repairs the rest:
the site is then exactly what a build from scratch makes.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions.domain import User
from functions.seed import seed
from functions.services import new_post
from functions.sitegen.publish import LocalPublisher
from functions.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
KILLS = 3  # per phase; each costs at most one build's time
TEMPORARY = ".tmp-"
HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def files(site: Path) -> dict[str, bytes]:
    """Every file of the site except writers' temporaries, by relative path."""
    return {
        str(path.relative_to(site)): path.read_bytes()
        for path in site.rglob("*")
        if path.is_file() and not path.name.startswith(TEMPORARY)
    }


class Builds:
    """`build.py build` in a subprocess of its own session (so its workers can
    be killed with it), on the store under `var`, into a chosen folder."""

    def __init__(self, var: Path):
        self.var = var

    def _start(self, site: Path) -> subprocess.Popen:
        env = {**os.environ, "VAR_DIR": str(self.var), "SITE_DIR": str(site), "STORE": "sqlite"}
        return subprocess.Popen(
            [sys.executable, "build.py", "build", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def complete(self, site: Path) -> dict[str, bytes]:
        proc = self._start(site)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        return files(site)

    def killed(self, site: Path, writes: int) -> bool:
        """Start a build and SIGKILL its process group once it has written
        `writes` files; False when it finished first."""
        started = time.time()
        proc = self._start(site)
        try:
            while proc.poll() is None:
                if written_since(site, started) >= writes:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=60)
                    return True
                time.sleep(0.005)
            return False
        finally:
            proc.stderr.close()


def written_since(site: Path, started: float) -> int:
    count = 0
    for folder, _dirs, names in os.walk(site):
        for name in names:
            with contextlib.suppress(FileNotFoundError):  # replaced meanwhile
                count += os.stat(os.path.join(folder, name)).st_mtime >= started
    return count


def kill_point(rng: random.Random, site: Path, target: dict[str, bytes]) -> int:
    """A random number of writes into what is left to write (at least one)."""
    on_disk = files(site)
    left = sum(1 for path, body in target.items() if on_disk.get(path) != body)
    return rng.randint(1, max(1, int(left * 0.9)))


def assert_whole(site: Path, *versions: dict[str, bytes]) -> None:
    """Every page on disk is one of the complete builds' version of it."""
    torn = [
        path
        for path, body in files(site).items()
        if not any(version.get(path) == body for version in versions)
    ]
    assert not torn, f"{len(torn)} files are not whole, e.g. {torn[:5]}"


@pytest.mark.timeout(600)
def test_a_killed_full_build_leaves_whole_files_and_the_next_one_repairs(tmp_path):
    rng = random.Random(os.environ.get("KILL_SEED", "10"))
    var, site = tmp_path / "var", tmp_path / "site"
    store = SQLiteStore(var / "microblog.sqlite3")
    seed(store, 12, 300, seed=3, progress=False)
    builds = Builds(var)

    # Phase 1: builds into an empty folder (every file new) killed mid-way.
    old = builds.complete(tmp_path / "reference-old")
    kills = 0
    for _ in range(KILLS):
        kills += builds.killed(site, kill_point(rng, site, old))
        assert_whole(site, old)
    assert kills, "every build finished before it could be killed"
    assert builds.complete(site) == old
    assert not [p for p in site.rglob(f"{TEMPORARY}*")], "temporaries outlived a full build"

    # Phase 2: the data changes (new posts, a rename); builds that replace
    # existing pages are killed: each page is the old one or the new one.
    author = store.list_users(limit=1).items[0]
    for n in range(30):
        store.create_post(new_post(author.id, f"Late post {n}", "en"))
    store.update_user(author.id, {"username": author.username + "_x"})
    store.create_user(User.new("newcomer", "newcomer@example.com", HASH))
    new = builds.complete(tmp_path / "reference-new")
    kills = 0
    for _ in range(KILLS):
        kills += builds.killed(site, kill_point(rng, site, new))
        assert_whole(site, old, new)
    assert kills, "every build finished before it could be killed"
    assert builds.complete(site) == new
    store.close()


def write_and_die(root: Path, path: str, body: bytes) -> None:
    """In a forked child: publish `body`, but die by SIGKILL halfway through
    writing its bytes (the moment a random kill can only sometimes hit)."""
    pid = os.fork()
    if pid == 0:
        real_fdopen = os.fdopen

        class Dying:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data: bytes) -> None:
                self.f.write(data[: len(data) // 2])
                self.f.flush()
                os.kill(os.getpid(), signal.SIGKILL)

        os.fdopen = lambda fd, *args, **kwargs: Dying(real_fdopen(fd, *args, **kwargs))
        LocalPublisher(root).write(path, body)
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@pytest.mark.parametrize("before", [None, b"<p>the old page</p>"])
def test_a_writer_killed_halfway_leaves_the_old_page_or_none(tmp_path, before):
    page = tmp_path / "p" / "x" / "index.html"
    if before is not None:
        LocalPublisher(tmp_path).write("p/x/index.html", before)
    write_and_die(tmp_path, "p/x/index.html", b"<p>the new page</p>" * 100)
    if before is None:
        assert not page.exists()
    else:
        assert page.read_bytes() == before
    LocalPublisher(tmp_path).write("p/x/index.html", b"<p>again</p>")  # and it recovers
    assert page.read_bytes() == b"<p>again</p>"
