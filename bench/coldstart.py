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
  With the same path as the function (the task root first, as /var/task
  is on Lambda), so that both look for each module in the same places.

Each process says when it is ready (a line on its standard output, with
its CPU seconds so far): the figure is the time from its spawn to that
line, which is what Lambda's Init Duration covers. A Lambda instance is then
kept to serve events, never shut down as part of its start, so the time the
interpreter then takes to exit (tearing down every module: a further 0.2-0.3
s here, more for the bigger process) is shown apart, in the "to exit"
column, and is not in the ratio.

Wall time on a shared machine is noisy (one run's ratio ranges 0.9-1.5x);
when valgrind is there, each is also run once under callgrind, up to
ready, for its count of instructions executed: the same work gives the same
count, whatever else the machine does (`--no-instructions` skips this, about
a minute).

The two alternate (api, floor, floor, api, ...) so drift of the shared
machine hits both; each figure is the median, the ratio the median of the
run-by-run ratios. Both run on the Lambda package's dependencies
(requirements-lambda.txt plus boto3, which the runtime provides), installed
once for this machine's Python into var/bench-deps-py3NN-<hash>/ with their
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

READY = """
import sys, time
print(time.process_time(), flush=True)
sys.stdin.read()
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
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    folder = ROOT / "var" / f"bench-deps-{version}-{digest.hexdigest()[:12]}"
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


def run(code: str, path: list[Path], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Seconds of one fresh `python -S -c code`: wall and CPU up to ready
    (the code has run), and wall up to the process's exit."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-S", "-c", code + READY],
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    ready = time.perf_counter() - started
    process.stdin.close()  # the process exits
    process.stdout.read()
    if process.wait() != 0 or not line:
        raise SystemExit(f"the process failed (exit status {process.returncode})")
    return ready, float(line), time.perf_counter() - started


def instructions(code: str, path: list[Path], env: dict[str, str], cwd: Path) -> int:
    """Instructions one fresh `python -S -c code` executes up to ready, counted
    by valgrind's callgrind (the process ends there, without tearing down)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-S", "-c", code + "\nimport os\nos._exit(0)"],
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
        cwd=cwd,
        capture_output=True,
        text=True,
    )  # fmt: skip
    counted = re.findall(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not counted:
        raise SystemExit(f"callgrind failed:\n{done.stderr[-2000:]}")
    return int(counted[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each (30)")
    parser.add_argument(
        "--deps",
        choices=["lambda", "venv"],
        default="lambda" if LAMBDA_REQUIREMENTS.exists() else "venv",
        help="whose dependencies: the Lambda package's (default) or the .venv's",
    )
    parser.add_argument(
        "--no-instructions",
        dest="instructions",
        action="store_false",
        help="skip the instruction counts (callgrind)",
    )
    args = parser.parse_args()
    counting = args.instructions and shutil.which("valgrind") is not None

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
            "floor": (FLOOR, [task, *deps]),  # the same path: on Lambda /var/task comes first
        }
        for code, path in commands.values():  # warm-up: disk cache, .pyc
            run(code, path, env, task)
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for n in range(args.runs):
            order = list(commands) if n % 2 == 0 else list(reversed(commands))
            for name in order:
                code, path = commands[name]
                times[name].append(run(code, path, env, task))
        counts = {name: instructions(*commands[name], env, task) for name in commands if counting}
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"API function cold initialisation vs its floor: {args.runs} fresh processes each, "
        f"alternating; dependencies: {args.deps}; Python {sys.version.split()[0]}\n"
    )
    print("| process | median wall to ready | median CPU to ready | median wall to exit |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in times.items():
        wall, cpu, gone = (statistics.median(t[i] for t in samples) for i in range(3))
        print(f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | {gone * 1000:.0f} ms |")
    for i, figure in enumerate(("wall to ready", "CPU to ready")):
        ratios = [a[i] / f[i] for a, f in zip(times["api"], times["floor"], strict=True)]
        print(f"\napi / floor ({figure}): median {statistics.median(ratios):.2f}x", end="")
        print(f" (min {min(ratios):.2f}x, max {max(ratios):.2f}x)", end="")
    if counts:
        api, floor = counts["api"], counts["floor"]
        print(f"\napi / floor (instructions to ready, callgrind): {api / floor:.2f}x", end="")
        print(f" ({api / 1e6:,.0f} M against {floor / 1e6:,.0f} M)", end="")
    elif args.instructions:
        print("\n(instruction counts skipped: valgrind is not installed)", end="")
    print("  goal: at most 1.15x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
