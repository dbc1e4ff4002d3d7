"""Start `python build.py serve` as a real process on 127.0.0.1, for end-to-end
tests and the benchmarks (standard library only: bench/ runs on the first
README command's .venv, without the test tools)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port that is free now, chosen by the kernel: each test (and each
    pytest-xdist worker) gets its own; `serving` retries should another
    process take it before the server binds."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


READY = "Microblog is ready on "
PORT_TAKEN = "serve: cannot listen on"
ATTEMPTS = 3


@contextmanager
def serving(env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """Run the local stack with `env` added; yield its base URL once it says
    it is ready (the line `build.py serve` prints after binding, building and
    starting); stop it after."""
    for attempt in range(ATTEMPTS):
        port = free_port()
        start = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "build.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            if _wait_until_ready(proc, log, start, f"{READY}{base}/", timeout):
                yield base
                return
        finally:
            _stop(proc)
        if attempt == ATTEMPTS - 1:
            raise RuntimeError(f"serve found no free port:\n{_text(log, start)}")


def _text(log: Path, start: int) -> str:
    with open(log, "rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace")


def _wait_until_ready(proc: subprocess.Popen, log: Path, start: int, ready: str, timeout) -> bool:
    """True once the server says `ready`; False when its port was taken."""
    deadline = time.monotonic() + timeout
    while True:
        output = _text(log, start)
        if ready in output:
            _answers(port_of(ready))  # it answers, too
            return True
        if proc.poll() is not None:
            if proc.returncode == 1 and PORT_TAKEN in output:
                return False
            raise RuntimeError(f"serve exited with {proc.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"serve did not start:\n{output}")
        time.sleep(0.1)


def port_of(url: str) -> int:
    """The port of `http://127.0.0.1:<port>/...`."""
    return urlsplit(url.removeprefix(READY)).port


def _answers(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api/me")
        conn.getresponse().read()
    finally:
        conn.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def in_thread(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on a free port of 127.0.0.1 from threads of this
    process, for a stand-in server; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
