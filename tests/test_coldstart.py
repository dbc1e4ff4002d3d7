"""A cold start of the API function in a Lambda-like environment writes nothing
outside /tmp.

The package (functions/, templates/, content/, compiled as the Lambda
package is) is copied into a fresh task root; a new Python process with the
environment Lambda gives (AWS_LAMBDA_FUNCTION_NAME, LAMBDA_TASK_ROOT, HOME,
the task root as working directory, PYTHONDONTWRITEBYTECODE unset) imports
`functions.handlers` (which loads nothing of the API: that is the first
event's work) and serves one request. Two independent checks that it writes
nothing outside /tmp:

- an audit hook in that process records every file opened for writing,
  every directory made and every file renamed, removed or linked, and
  every SQLite database opened, anywhere outside /tmp or inside the task
  root or HOME (which are under /tmp here only because tests must be);
- the file trees of the task root and HOME are compared before and after,
  which also sees writes made below Python (a C extension, a `.pyc`).
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from functions.store.dynamodb import DynamoStore

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ("functions", "templates", "content", "translations")
EVENT = Path(__file__).parent / "events" / "register.json"

CHILD = r"""
import json, os, sys

TASK, HOME = os.environ["LAMBDA_TASK_ROOT"], os.environ["HOME"]
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = {
    "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.link", "os.symlink",
    "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.copyfile", "shutil.rmtree",
    "shutil.move", "sqlite3.connect",
}
writes = []


def allowed(path):
    path = os.path.realpath(os.fsdecode(path))
    inside = lambda root: path == root or path.startswith(root.rstrip("/") + "/")
    return path == "/dev/null" or (inside("/tmp") and not inside(TASK) and not inside(HOME))


def audit(event, args):
    if event == "open":
        path, _mode, flags = args
        paths = [path] if not isinstance(path, int) and flags & WRITING else []
    elif event in PATH_EVENTS:
        paths = [arg for arg in args[:2] if isinstance(arg, (str, bytes, os.PathLike))]
    else:
        return
    writes.extend(f"{event} {os.fsdecode(p)}" for p in paths if not allowed(p))


sys.addaudithook(audit)

import boto3
from moto import mock_aws

event = json.loads(sys.stdin.read())
with mock_aws():
    secrets = boto3.client("secretsmanager")
    os.environ["SECRET_KEY_ARN"] = secrets.create_secret(Name="k", SecretString="k" * 48)["ARN"]
    origin = secrets.create_secret(Name="o", SecretString="o" * 40)["ARN"]
    os.environ["ORIGIN_SECRET_ARN"] = origin
    event["headers"]["x-origin-verify"] = "o" * 40

    before = set(sys.modules)
    import functions.handlers as handlers

    loaded_by_import = sorted(
        name for name in set(sys.modules) - before
        if name.split(".")[0] not in sys.stdlib_module_names
    )
    response = handlers.http(event, None)
    from functions import auth

print(json.dumps({
    "module": handlers.__file__,
    "status": response["statusCode"],
    "loaded_by_import": loaded_by_import,
    "pydantic_v1": sys.modules.get("pydantic.v1") is not None,
    "nobody_hashed": auth._nobody_hash.cache_info().currsize,
    "writes": writes,
}))
"""


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root`: size and modification time."""
    found = {}
    for path in [root, *root.rglob("*")]:
        stat = path.lstat()
        found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture
def task_root(tmp_path):
    """The Lambda package as `/var/task` holds it, with its bytecode compiled."""
    task = tmp_path / "task"
    for name in PACKAGE:
        shutil.copytree(ROOT / name, task / name, ignore=shutil.ignore_patterns("__pycache__"))
    assert compileall.compile_dir(
        task / "functions",
        quiet=1,
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return task


def test_a_cold_start_writes_nothing_outside_tmp(task_root, tmp_path, dynamodb_endpoint):
    table = DynamoStore(f"test-{uuid.uuid4().hex[:12]}", endpoint_url=dynamodb_endpoint)
    table.create_table()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LAMBDA_TASK_ROOT": str(task_root),
        "PYTHONPATH": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "microblog-api",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TABLE_NAME": table.table_name,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
    }
    event = json.loads(EVENT.read_text())
    event["headers"]["x-forwarded-host"] = "d111111abcdef8.cloudfront.net"
    before = {"task": tree(task_root), "home": tree(home)}
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps(event),
            env=env,
            cwd=task_root,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        table.delete_table()
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["module"] == str(task_root / "functions" / "handlers.py")
    assert result["status"] == 201
    assert result["writes"] == []
    assert {"task": tree(task_root), "home": tree(home)} == before
    # Importing the module loads no library: the API loads on its first event.
    # (functions.i18n: the settings' languages; standard library only, no catalog read)
    assert result["loaded_by_import"] == [
        "functions",
        "functions.config",
        "functions.handlers",
        "functions.i18n",
    ]
    assert not result["pydantic_v1"]  # see functions/api/__init__.py
    assert result["nobody_hashed"] == 0  # made by the first login of an unknown user


def test_the_audit_hook_sees_a_write_into_the_task_root(task_root, tmp_path):
    """The check can fail: a write of the package's own is reported."""
    probe = CHILD.split("sys.addaudithook(audit)")[0] + (
        "sys.addaudithook(audit)\n"
        "open(os.path.join(TASK, 'functions', 'x.txt'), 'w').close()\n"
        "os.mkdir(os.path.join(HOME, 'd'))\n"
        "open('/tmp/allowed-' + str(os.getpid()), 'w').close()\n"
        "os.remove('/tmp/allowed-' + str(os.getpid()))\n"
        "print(json.dumps(writes))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LAMBDA_TASK_ROOT": str(task_root)}
    child = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(child.stdout) == [
        f"open {task_root}/functions/x.txt",
        f"os.mkdir {home}/d",
    ]
