#!/usr/bin/env python3
"""Cold initialisation of the API function, against its floor measured in the same run.

    .venv/bin/python bench/coldstart.py [--runs 30] [--deps venv]

Each run is a fresh Python process, as a Lambda cold start is:

- api: the function's code (functions/, templates/, content/, compiled,
  in a scratch task root) in a Lambda environment imports
  `functions.handlers` and builds the app through the wiring (settings,
  the key and origin secret from Secrets Manager, DynamoDB client,
  renderer, FastAPI app, Mangum): everything up to serving the first
  event. Secrets Manager answers through botocore's Stubber, so no network.
- floor: a process that imports fastapi, mangum and boto3, creates a
  DynamoDB client, a FastAPI app and Mangum: what any such function pays.

The two alternate (api, floor, floor, api, ...) so drift of the shared
machine hits both; each figure is the median, the ratio the median of the
run-by-run ratios. Both run on the Lambda package's dependencies
(requirements-lambda.txt plus boto3, which the runtime provides), installed
once for this machine's Python into var/bench-deps-<hash>/ with their
bytecode compiled, and nothing else on the path (`python -S`); with
`--deps venv`, on the project's .venv instead (which also holds the test
tools, e.g. cryptography, that PyJWT then imports).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ("functions", "templates", "content")
LAMBDA_REQUIREMENTS = ROOT / "requirements-lambda.txt"

FLOOR = """
import boto3, fastapi, mangum
boto3.client("dynamodb")
mangum.Mangum(fastapi.FastAPI(), lifespan="off")
"""

API = """
import functions.handlers as handlers
from botocore.stub import Stubber
from functions import wiring

stub = Stubber(wiring.secrets_client())
for arn in ("arn:key", "arn:origin"):
    stub.add_response("get_secret_value", {"SecretString": arn * 10}, {"SecretId": arn})
stub.activate()
handlers._http_handler()
stub.assert_no_pending_responses()
"""

LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "microblog-api",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "microblog",
    "SECRET_KEY_ARN": "arn:key",
    "ORIGIN_SECRET_ARN": "arn:origin",
}


def boto3_pin() -> str:
    [pin] = re.findall(r"^boto3==\S+", (ROOT / "requirements.txt").read_text(), re.M)
    return pin


def lambda_dependencies() -> Path:
    """The Lambda package's dependencies for this machine's Python, installed once."""
    digest = hashlib.sha256(LAMBDA_REQUIREMENTS.read_bytes() + boto3_pin().encode())
    folder = ROOT / "var" / f"bench-deps-{digest.hexdigest()[:12]}"
    if not folder.is_dir():
        print(f"installing the Lambda dependencies into {folder.relative_to(ROOT)} ...")
        scratch = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--only-binary=:all:", "--target", str(scratch), "-r", str(LAMBDA_REQUIREMENTS),
             boto3_pin()],
            check=True,
        )  # fmt: skip
        scratch.rename(folder)
    return folder


def task_root(folder: Path) -> Path:
    """The function's code as /var/task holds it, compiled."""
    task = folder / "task"
    for name in PACKAGE:
        shutil.copytree(ROOT / name, task / name, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(task / "functions", quiet=1)
    return task


def run(code: str, path: list[Path], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh `python -S -c code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
        cwd=cwd,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each (30)")
    parser.add_argument(
        "--deps",
        choices=["lambda", "venv"],
        default="lambda" if LAMBDA_REQUIREMENTS.exists() else "venv",
        help="whose dependencies: the Lambda package's (default) or the .venv's",
    )
    args = parser.parse_args()

    if args.deps == "lambda":
        deps = [lambda_dependencies()]
    else:
        deps = [Path(p) for p in sys.path if p.endswith("site-packages")]
    folder = Path(tempfile.mkdtemp(prefix="microblog-bench-coldstart-"))
    try:
        task = task_root(folder)
        env = {"PATH": os.environ["PATH"], "HOME": str(folder), **LAMBDA_ENV}
        env["LAMBDA_TASK_ROOT"] = str(task)
        commands = {
            "api": (API, [task, *deps]),
            "floor": (FLOOR, deps),
        }
        for code, path in commands.values():  # warm-up: disk cache, .pyc
            run(code, path, env, task)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for n in range(args.runs):
            order = list(commands) if n % 2 == 0 else list(reversed(commands))
            for name in order:
                code, path = commands[name]
                times[name].append(run(code, path, env, task))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"API function cold initialisation vs its floor: {args.runs} fresh processes each, "
        f"alternating; dependencies: {args.deps}; Python {sys.version.split()[0]}\n"
    )
    print("| process | median wall | median CPU |")
    print("| --- | ---: | ---: |")
    for name, samples in times.items():
        wall = statistics.median(t[0] for t in samples)
        cpu = statistics.median(t[1] for t in samples)
        print(f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms |")
    for i, figure in enumerate(("wall", "CPU")):
        ratios = [a[i] / f[i] for a, f in zip(times["api"], times["floor"], strict=True)]
        print(f"\napi / floor ({figure}): median {statistics.median(ratios):.2f}x", end="")
        print(f" (min {min(ratios):.2f}x, max {max(ratios):.2f}x)", end="")
    print("  goal: at most 1.15x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
