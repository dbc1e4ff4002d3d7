"""The live local stack (`build.py serve` on 127.0.0.1) as an outsider meets it:
schema fuzzing of every API operation, forwarding headers, security headers,
tokens in the access log."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from functions import services
from functions.security_headers import HEADERS
from tests import translate_server
from tests.server import serving

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))  # per operation and mode
OWNER = {"username": "fuzzer", "email": "fuzzer@example.com", "password": "fuzz-fuzz-fuzz"}


def stack_env(root: Path, **more: str) -> dict[str, str]:
    env = {"VAR_DIR": str(root / "var"), "SITE_DIR": str(root / "site"), "STORE": "sqlite"}
    return {**env, "FORWARDED_ALLOW_IPS": "", **more}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> dict:
    """One `build.py serve` (SQLite) for the module, translating through the
    stand-in for Amazon Translate: its address, log and run data."""
    root = tmp_path_factory.mktemp("live")
    log = root / "serve.log"
    with translate_server.serving() as translate:
        env = stack_env(root, AWS_ENDPOINT_URL_TRANSLATE=translate)
        with serving(env, log) as base:
            yield {"base": base, "log": log, "var": root / "var", "site": root / "site"}


# ------------------------------------------------------------ schema fuzzing


@pytest.fixture(scope="module")
def bearer(live) -> Callable[[], str]:
    """A valid API token for the fuzzing, minted with the server's key (the
    fuzzed logins soon throttle this address), and minted again when a
    fuzzed call (DELETE /api/tokens, DELETE /api/session) revoked it."""
    from functions.auth import API, Tokens
    from functions.store.sqlite import SQLiteStore

    base = live["base"]
    assert httpx.post(f"{base}/api/users", json=OWNER).status_code == 201
    tokens = Tokens((live["var"] / "secret_key").read_text().strip())
    store = SQLiteStore(live["var"] / "microblog.sqlite3")
    token = ""

    def current() -> str:
        nonlocal token
        auth = {"Authorization": f"Bearer {token}"}
        if not token or httpx.get(f"{base}/api/me", headers=auth).status_code != 200:
            token = tokens.issue(store.get_user_by_username(OWNER["username"]), API)
        return token

    yield current
    store.close()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(operation, mode: GenerationMode, base: str, bearer: Callable[[], str]) -> None:
    """`FUZZ_EXAMPLES` generated calls of one operation; raises on the first
    answer that fails a check (Hypothesis shrinks it first)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    )
    def call(case) -> None:
        response = case.call(base_url=base, headers={"Authorization": f"Bearer {bearer()}"})
        case.validate_response(response, checks=CHECKS)

    call()


def test_every_operation_answers_as_declared_and_never_fails(live, bearer):
    """Every operation of /api/openapi.json, with generated valid and invalid
    input, logged in with a Bearer token: no 5xx, and every status, content
    type and body is one the schema declares."""
    schema = schemathesis.openapi.from_url(f"{live['base']}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, live["base"], bearer)
            except Unsatisfiable:  # no invalid input exists (a path of any string)
                continue
            except Exception as exc:  # every operation runs; all failures are reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


# ------------------------------------------------------------ forwarding and headers


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_x_forwarded_for_is_believed_only_from_a_configured_proxy(tmp_path, trusted):
    """By default X-Forwarded-For is just a header: rotating it does not get
    past the per-address login limit. With FORWARDED_ALLOW_IPS naming the
    proxy, each forwarded address is counted on its own."""
    limit = services.LOGIN_ADDRESS.attempts
    env = stack_env(tmp_path, FORWARDED_ALLOW_IPS=trusted)
    with serving(env, tmp_path / "serve.log") as base, httpx.Client(base_url=base) as http:
        statuses = [
            http.post(
                "/api/session",
                json={"username": f"xff{n}", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(limit + 1)
        ]
    assert statuses == [401] * (limit + 1) if trusted else [401] * limit + [429]


def test_the_live_server_sends_the_security_headers(live):
    for path in ("/", "/explore/", "/api/me", "/no-such-page/", "/static/app.js"):
        response = httpx.get(live["base"] + path)
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (path, name)


def test_the_access_log_holds_no_token(live):
    httpx.get(f"{live['base']}/reset-password/?token=secret.token.value&x=1")
    httpx.get(f"{live['base']}/api/me")  # the log line of the first is written by now
    log = live["log"].read_text()
    assert "/reset-password/?token=[redacted]&x=1" in log
    assert "secret.token.value" not in log


def test_run_data_is_owner_only(live):
    var = live["var"]
    modes = {path.name: path.stat().st_mode & 0o777 for path in [var, *var.rglob("*")]}
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_a_page_replaced_while_it_is_served_never_goes_out_torn(live):
    """The build replaces pages (os.replace) while the server sends them:
    every response is one whole version, its Content-Length its body's."""
    page = live["site"] / "explore" / "index.html"
    versions = [page.read_bytes() + b"<!-- padding -->" * n for n in (0, 500, 50, 2000)]
    stop = threading.Event()

    def rebuild() -> None:
        n = 0
        while not stop.is_set():
            tmp = page.with_name(f".index.{n}.tmp")
            tmp.write_bytes(versions[n % len(versions)])
            os.replace(tmp, page)
            n += 1

    def read(_: int) -> list[str]:
        problems = []
        with httpx.Client(base_url=live["base"]) as http:
            for _ in range(60):
                try:
                    body = http.get("/explore/").content
                except httpx.HTTPError as exc:
                    problems.append(repr(exc))
                    continue
                if body not in versions:
                    problems.append(f"a body of {len(body)} bytes that no version has")
        return problems

    writer = threading.Thread(target=rebuild)
    writer.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            problems = [p for found in pool.map(read, range(4)) for p in found]
    finally:
        stop.set()
        writer.join()
    assert problems == []
