"""The Lambda entry point, driven with a real API Gateway (HTTP API 2.0) event."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from functions import handlers

EVENTS = Path(__file__).parent / "events"


@pytest.fixture
def http(settings, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    handlers._http_handler.cache_clear()
    yield handlers.http
    handlers._http_handler.cache_clear()


def event(name: str, **changes) -> dict:
    data = json.loads((EVENTS / name).read_text())
    data = copy.deepcopy(data)
    data.update(changes)
    return data


def test_register_through_api_gateway(http):
    response = http(event("register.json"), None)
    assert response["statusCode"] == 201
    body = json.loads(response["body"])
    assert body["username"] == "lambda"
    assert response["headers"]["location"] == f"/api/users/{body['id']}"


def test_errors_through_api_gateway_are_the_envelope(http):
    response = http(event("register.json", body="{not json"), None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "Bad Request"


def test_the_session_cookie_is_secure_over_https(http):
    http(event("register.json"), None)
    login = event(
        "register.json",
        rawPath="/api/session",
        body=json.dumps({"username": "lambda", "password": "serverless!"}),
    )
    login["requestContext"]["http"]["path"] = "/api/session"
    response = http(login, None)
    assert response["statusCode"] == 200
    cookie = "; ".join(response.get("cookies", [])).lower()
    assert "session=" in cookie and "secure" in cookie and "httponly" in cookie
