"""Shared fixtures: a fresh store of each kind, and DynamoDB Local for the session."""

from __future__ import annotations

import os
import uuid

import pytest

from functions.store.sqlite import SQLiteStore
from tests.dynamodb_local import dummy_aws_env, running

# No test may reach AWS: dummy credentials, and every client gets an endpoint.
os.environ.update(dummy_aws_env())

STORES = ["sqlite", "dynamodb"]

SITE_BUCKET = "microblog-site"


@pytest.fixture
def s3():
    """moto's S3 (for this test only) with the site's bucket, `SITE_BUCKET`."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=SITE_BUCKET)
        yield client


@pytest.fixture(scope="session")
def dynamodb_endpoint():
    """DynamoDB Local (AWS's own emulator), started once per test process: each
    pytest-xdist worker (infra/test runs one per core) has its own, on its own
    port, and every test its own table."""
    with running() as endpoint:
        yield endpoint


def make_store(kind: str, request, tmp_path):
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "microblog.sqlite3")
    from functions.store.dynamodb import DynamoStore

    endpoint = request.getfixturevalue("dynamodb_endpoint")
    store = DynamoStore(f"test-{uuid.uuid4().hex[:12]}", endpoint_url=endpoint)
    store.create_table()
    request.addfinalizer(store.delete_table)
    return store


@pytest.fixture
def dynamo_store(request, tmp_path):
    """A DynamoStore on a fresh table of DynamoDB Local (with its stream)."""
    return make_store("dynamodb", request, tmp_path)


@pytest.fixture
def cheap_hash(monkeypatch):
    """A fast stand-in for scrypt, for tests that register by the dozen (what
    they test is elsewhere: races, faults, the stream)."""
    from functions import auth

    monkeypatch.setattr(auth, "hash_password", lambda password: f"plain:{password}")
    monkeypatch.setattr(
        auth,
        "check_password",
        lambda user, password: user is not None and user.password_hash == f"plain:{password}",
    )


@pytest.fixture
def dynamo_app(dynamo_store, cheap_hash):
    """The use cases on `dynamo_store` (what the API function does): for
    tests of what the stream's functions do with the writes."""
    from functions import auth
    from functions.services import Microblog

    return Microblog(dynamo_store, auth.Tokens("k" * 48))


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    """A fresh, empty store; every contract test runs once per adapter."""
    store = make_store(request.param, request, tmp_path)
    yield store
    store.close()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings for a local stack whose run data and site live in tmp_path."""
    from functions.config import Settings

    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SITE_DIR", str(tmp_path / "site"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("STORE", raising=False)
    return Settings.from_env()


def undocumented_statuses(app) -> list[str]:
    """Record every answer of the app's API routes; return those whose status
    the route does not declare in the OpenAPI schema (checked after a test)."""
    from fastapi.routing import APIRoute

    undocumented: list[str] = []

    @app.middleware("http")
    async def check_status(request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")  # set by the routing, once it matched
        if isinstance(route, APIRoute):
            declared = {route.status_code or 200, *(int(s) for s in route.responses)}
            if response.status_code not in declared:
                where = f"{request.method} {request.url.path}"
                undocumented.append(f"{where} {response.status_code}")
        return response

    return undocumented


@pytest.fixture
def client(settings):
    """The local stack (SQLite), driven in-process through HTTP. After the
    test, every status an API route answered with must be in its schema."""
    from fastapi.testclient import TestClient

    from functions.local import create_local_app

    app = create_local_app(settings)
    undocumented = undocumented_statuses(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.app_state = app.state
        yield client
    app.state.microblog.store.close()
    assert not undocumented, f"statuses missing from the OpenAPI schema: {undocumented}"
