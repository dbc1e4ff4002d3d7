"""The API function as Lambda runs it: `handlers.http` driven through Mangum with
real API Gateway (HTTP API 2.0) events, in a Lambda environment (DynamoDB
Local for the table, moto's Secrets Manager for the key and the origin secret),
reached the way CloudFront forwards a viewer's request."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions import handlers, services, urls, wiring
from functions.store.dynamodb import DynamoStore

EVENTS = Path(__file__).parent / "events"
ORIGIN_SECRET = "origin-" + "o" * 40
DISTRIBUTION = "d111111abcdef8.cloudfront.net"
LAMBDA_ENV = ("STORE", "SECRET_KEY", "SITE_URL", "VAR_DIR", "SITE_DIR", "MAIL_TRANSPORT")


def event(name: str, **changes) -> dict:
    data = copy.deepcopy(json.loads((EVENTS / name).read_text()))
    data.update(changes)
    return data


def via_cloudfront(data: dict, secret: str | None = ORIGIN_SECRET, **headers: str) -> dict:
    """The event as the API receives it through the distribution: the origin
    secret, the viewer's host and address, API Gateway's sourceIp an edge's."""
    data = copy.deepcopy(data)
    data["headers"].update(
        {
            "origin": f"https://{DISTRIBUTION}",
            "x-forwarded-host": DISTRIBUTION,
            "cloudfront-viewer-address": "198.51.100.20:50123",
        }
    )
    if secret is not None:
        data["headers"]["x-origin-verify"] = secret
    data["headers"].update(headers)
    data["requestContext"]["http"]["sourceIp"] = "130.176.98.14"
    return data


def body(response: dict) -> dict:
    return json.loads(response["body"])


def reset_caches() -> None:
    handlers._http_handler.cache_clear()
    wiring.read_secret.cache_clear()
    wiring.secrets_client.cache_clear()


@pytest.fixture
def table(dynamodb_endpoint):
    store = DynamoStore(f"test-{uuid.uuid4().hex[:12]}", endpoint_url=dynamodb_endpoint)
    store.create_table()
    yield store
    store.delete_table()


@pytest.fixture
def aws_lambda(table, dynamodb_endpoint, monkeypatch):
    """A Lambda environment as the template sets it; moto serves Secrets
    Manager (DynamoDB Local's address passes through moto untouched)."""
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        key = secrets.create_secret(Name="key", SecretString="k" * 48)["ARN"]
        origin = secrets.create_secret(Name="origin", SecretString=ORIGIN_SECRET)["ARN"]
        for name in LAMBDA_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "microblog-api")
        monkeypatch.setenv("TABLE_NAME", table.table_name)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
        monkeypatch.setenv("SECRET_KEY_ARN", key)
        monkeypatch.setenv("ORIGIN_SECRET_ARN", origin)
        reset_caches()
        yield table
        reset_caches()


@pytest.fixture
def registered(aws_lambda):
    response = handlers.http(via_cloudfront(event("register.json")), None)
    assert response["statusCode"] == 201, response
    return body(response)


def log_in(**headers: str) -> dict:
    return handlers.http(via_cloudfront(event("login.json"), **headers), None)


def session_cookie(response: dict) -> str:
    [cookie] = [c for c in response.get("cookies", []) if c.startswith("session=")]
    return cookie.split(";")[0]


def test_register_log_in_and_post_through_cloudfront(registered):
    assert registered["username"] == "lambda"

    login = log_in()
    assert login["statusCode"] == 200, login
    cookie = "; ".join(login["cookies"]).lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    # Each cookie its own entry (payload 2.0): the session's hint for the pages' script too.
    [hint] = [c for c in login["cookies"] if c.startswith("signed_in=1;")]
    assert "secure" in hint.lower() and "httponly" not in hint.lower()

    post = via_cloudfront(event("post.json", cookies=[session_cookie(login)]))
    response = handlers.http(post, None)
    assert response["statusCode"] == 201, response
    created = body(response)
    assert created["author"]["username"] == "lambda"
    assert created["body_html"] == "<p>Hello from <em>Lambda</em>!</p>"


def test_a_write_from_another_origin_is_refused(registered):
    response = log_in(origin="https://evil.example")
    assert response["statusCode"] == 403
    assert body(response)["error"] == "Forbidden"


@pytest.mark.parametrize("secret", [None, "", "origin-" + "x" * 40, ORIGIN_SECRET[:-1]])
def test_a_request_without_the_origin_secret_is_refused(aws_lambda, secret):
    response = handlers.http(via_cloudfront(event("register.json"), secret=secret), None)
    assert response["statusCode"] == 403
    assert body(response) == {
        "error": "Forbidden",
        "message": "Requests must come through the site's address.",
    }
    assert (
        DynamoStore(aws_lambda.table_name, client=aws_lambda.client).get_user_by_username("lambda")
        is None
    )


@pytest.mark.parametrize(
    "viewer, other",
    [("198.51.100.20:50123", "198.51.100.21:50123"), ("2001:db8::7:443", "2001:db8::8:443")],
)
def test_the_login_throttle_counts_the_viewers_address(registered, monkeypatch, viewer, other):
    """Both viewers come through the same edge (one sourceIp): only the one
    that failed too often is throttled."""
    monkeypatch.setattr(services, "LOGIN_ADDRESS", services.Limit(2, timedelta(minutes=15)))

    def wrong_password(address: str, n: int) -> dict:
        data = event("login.json", body=json.dumps({"username": f"u{n}", "password": "nope!"}))
        return handlers.http(via_cloudfront(data, **{"cloudfront-viewer-address": address}), None)

    assert [wrong_password(viewer, n)["statusCode"] for n in range(3)] == [401, 401, 429]
    assert wrong_password(other, 3)["statusCode"] == 401


def test_a_missing_page_gets_the_sites_404_page(aws_lambda):
    response = handlers.http(via_cloudfront(event("missing_page.json")), None)
    assert response["statusCode"] == 404
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert response["headers"]["cache-control"] == "public, max-age=60"
    assert "<h1>Not Found</h1>" in response["body"]


def test_an_unknown_api_address_keeps_the_json_envelope(aws_lambda):
    data = event("missing_page.json", rawPath="/api/nothing-here")
    data["requestContext"]["http"]["path"] = "/api/nothing-here"
    response = handlers.http(via_cloudfront(data), None)
    assert response["statusCode"] == 404
    assert body(response)["error"] == "Not Found"


class Outbox:
    def __init__(self):
        self.messages = []

    def send(self, message) -> None:
        self.messages.append(message)


@pytest.mark.parametrize(
    "site_url, base", [(None, f"https://{DISTRIBUTION}"), ("https://blog.example", None)]
)
def test_the_reset_link_points_at_the_viewers_site(registered, monkeypatch, site_url, base):
    """Without SITE_URL (no custom domain), the host CloudFront forwards."""
    if site_url:
        monkeypatch.setenv("SITE_URL", site_url)
        handlers._http_handler.cache_clear()
    outbox = Outbox()
    data = event("login.json", rawPath="/api/reset_password_request")
    data["requestContext"]["http"]["path"] = "/api/reset_password_request"
    data["body"] = json.dumps({"email": "lambda@example.com"})
    handlers.http(via_cloudfront(event("missing_page.json")), None)  # the app is made
    handlers._http_handler().app.state.mailer = outbox
    assert handlers.http(via_cloudfront(data), None)["statusCode"] == 202
    [message] = outbox.messages
    text = message.get_body(("plain",)).get_content()
    assert f"{base or site_url}{urls.RESET_PASSWORD}#token=" in text


@pytest.mark.parametrize(
    "unset, named",
    [
        (["SECRET_KEY_ARN"], "SECRET_KEY_ARN"),
        (["TABLE_NAME"], "TABLE_NAME"),
        (["TABLE_NAME", "SECRET_KEY_ARN"], "TABLE_NAME, SECRET_KEY_ARN"),
    ],
)
def test_a_missing_variable_stops_the_start_with_a_clear_message(
    aws_lambda, monkeypatch, unset, named
):
    for name in unset:
        monkeypatch.delenv(name)
    with pytest.raises(RuntimeError) as error:
        handlers.http(via_cloudfront(event("register.json")), None)
    message = str(error.value)
    assert (
        message == f"function microblog-api cannot start: environment variable(s) not set: {named}"
    )


def test_the_app_is_made_once_per_container(aws_lambda):
    handlers.http(via_cloudfront(event("missing_page.json")), None)
    first = handlers._http_handler()
    handlers.http(via_cloudfront(event("missing_page.json")), None)
    assert handlers._http_handler() is first
    assert wiring.read_secret.cache_info().misses == 2  # the key and the origin secret, once


def test_errors_through_api_gateway_are_the_envelope(aws_lambda):
    response = handlers.http(via_cloudfront(event("register.json", body="{not json")), None)
    assert response["statusCode"] == 400
    assert body(response)["error"] == "Bad Request"
