"""The Dockerfile, as far as it can be checked without a Docker engine: its
shape (base image, non-root user, volume, health check, what it copies), and
its exact CMD and HEALTHCHECK run here against a temporary data folder."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def last(name: str) -> str:
    values = [rest for word, rest in instructions() if word == name]
    assert values, f"no {name} in the Dockerfile"
    return values[-1]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for word, rest in instructions():
        if word == "ENV":
            values.update(item.split("=", 1) for item in shlex.split(rest))
    return values


def test_the_image_is_python_312_slim_and_runs_as_a_non_root_user():
    assert instructions()[0] == ("FROM", "python:3.12-slim")
    user = last("USER")
    assert user not in ("root", "0")
    assert f"useradd --create-home --uid 10001 {user}" in last("RUN")
    order = [word for word, _ in instructions()]
    assert order.index("USER") < order.index("CMD")


def test_data_lives_on_a_volume_and_the_secret_comes_from_the_environment():
    assert json.loads(last("VOLUME")) == ["/data"]
    values = env()
    assert values["VAR_DIR"].startswith("/data/") and values["SITE_DIR"].startswith("/data/")
    assert "SECRET_KEY" not in values  # never baked into the image


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (its last
    matching pattern wins; `!` re-includes)."""
    verdict = False
    for pattern in DOCKERIGNORE.read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))) or (
            fnmatch.fnmatch(parts[-1], pattern)
        ):
            verdict = not negate
    return verdict


def test_the_context_holds_what_is_copied_and_no_checkout_clutter():
    for word, rest in instructions():
        if word == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert not ignored(source.rstrip("/")), source
    for clutter in (".venv", ".git", "var", "site", "tests", "infra/dynamodb-local/node_modules"):
        assert ignored(clutter), clutter
    assert ignored("functions/__pycache__")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_this_machine(command: list[str], port: int) -> list[str]:
    """The image's command run here: this Python, and loopback on a free port
    instead of every interface on 8000."""
    swapped = [sys.executable if part == "python" else part for part in command]
    swapped = [str(port) if part == "8000" else part for part in swapped]
    swapped = ["127.0.0.1" if part == "0.0.0.0" else part for part in swapped]
    return [part.replace(":8000/", f":{port}/") for part in swapped]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def server(tmp_path):
    """The image's CMD, started as the image starts it (its ENV, /app = the checkout)."""
    port = free_port()
    environment = {**os.environ, **env(), "SECRET_KEY": "k" * 48}
    environment.update(VAR_DIR=str(tmp_path / "var"), SITE_DIR=str(tmp_path / "site"))
    environment.pop("STORE", None)
    command = on_this_machine(json.loads(last("CMD")), port)
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            get(url + "/")
            break
        except OSError:
            time.sleep(0.2)
    try:
        assert process.poll() is None, process.stdout.read().decode()
        yield url, port
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_command_serves_the_site_and_the_api_and_passes_its_health_check(server, tmp_path):
    url, port = server
    status, page = get(url + "/explore/")
    assert status == 200 and b"<html" in page
    status, body = get(url + "/api/me")
    assert status == 401 and json.loads(body)["error"] == "Unauthorized"
    assert (tmp_path / "var" / "microblog.sqlite3").exists()
    assert (tmp_path / "site" / "index.html").exists()
    healthcheck = last("HEALTHCHECK").split(" CMD ", 1)[1]
    check = on_this_machine(json.loads(healthcheck), port)
    assert subprocess.run(check, timeout=10).returncode == 0
