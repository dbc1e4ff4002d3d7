"""Export on AWS: the API function (through Mangum, with real API Gateway
events) starts a task and invokes the export function asynchronously
(botocore's Stubber: moto would run the function in Docker); the export
function's handler, driven with that very event, reads DynamoDB Local and
mails posts.json through moto's SES v2, making only calls its role allows."""

from __future__ import annotations

import email
import json
from email import policy

import boto3
import pytest
import yaml
from botocore import xform_name
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions import handlers
from functions.domain import Task, utcnow
from functions.task_runners import LambdaRunner
from tests.test_handlers import (  # noqa: F401 (fixtures)
    aws_lambda,
    body,
    event,
    log_in,
    registered,
    session_cookie,
    table,
    via_cloudfront,
)
from tests.test_template import TEMPLATE, CfnLoader, allowed, iam_actions

FUNCTION = "microblog-export"
SENDER = "Microblog <no-reply@example.com>"


def api_request(method: str, path: str, cookie: str, payload: str | None = None) -> dict:
    data = event("post.json", cookies=[cookie], rawPath=path, body=payload)
    data["requestContext"]["http"].update(method=method, path=path)
    data["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    if payload is None:
        del data["headers"]["content-type"]
    return handlers.http(via_cloudfront(data), None)


@pytest.fixture
def invocations(aws_lambda, monkeypatch):  # noqa: F811
    """The API's Lambda client, stubbed: each asynchronous invocation it
    makes is answered 202 and its parameters recorded."""
    monkeypatch.setenv("EXPORT_FUNCTION", FUNCTION)
    monkeypatch.setenv("MAIL_SENDER", SENDER)
    handlers._http_handler.cache_clear()
    client = boto3.client("lambda", region_name="us-east-1")
    made: list[dict] = []
    client.meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: made.append(dict(params))
    )
    with Stubber(client) as stub:
        yield made, stub, client


@pytest.fixture
def export_function(aws_lambda, monkeypatch):  # noqa: F811
    """The export function's environment (template.yaml's), moto's SES v2
    with the sender verified; the handler's parts made afresh."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    monkeypatch.setenv("MAIL_SENDER", SENDER)
    monkeypatch.setenv("MAIL_TRANSPORT", "ses")
    handlers._exporter.cache_clear()
    with mock_aws():
        boto3.client("ses", region_name="us-east-1").verify_email_identity(
            EmailAddress="no-reply@example.com"
        )
        yield ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    handlers._exporter.cache_clear()


def test_the_api_on_aws_invokes_the_export_function_whose_handler_mails_the_posts(
    registered,  # noqa: F811
    invocations,
    export_function,
    monkeypatch,
):
    made, stub, client = invocations
    cookie = session_cookie(log_in())
    assert (
        api_request("POST", "/api/posts", cookie, '{"body": "Hello from *Lambda*!"}')["statusCode"]
        == 201
    )
    handlers._http_handler().app.state.task_runner.client = client
    stub.add_response("invoke", {"StatusCode": 202})
    started = api_request("POST", "/api/exports", cookie)
    assert started["statusCode"] == 202, started
    task = body(started)
    stub.assert_no_pending_responses()
    [invocation] = made
    assert invocation["FunctionName"] == FUNCTION and invocation["InvocationType"] == "Event"
    payload = json.loads(invocation["Payload"])
    assert payload == {"user_id": registered["id"], "task_id": task["id"], "language": "en"}
    again = api_request("POST", "/api/exports", cookie)
    assert again["statusCode"] == 409 and body(again)["error"] == "Conflict"

    calls = record_calls(monkeypatch)
    result = handlers.export(payload, None)  # what Lambda delivers
    assert result == {"task_id": task["id"], "status": "mailed"}

    [sent] = export_function.sent_messages
    message = email.message_from_bytes(sent.raw_data.encode(), policy=policy.default)
    assert message["Subject"] == "[Microblog] Your blog posts"
    assert message["To"] == "lambda@example.com"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "posts.json"
    [post] = json.loads(attachment.get_content())["posts"]
    assert post["body"] == "Hello from *Lambda*!"

    done = body(api_request("GET", "/api/exports/current", cookie))
    assert done["complete"] is True and done["progress"] == 100 and done["running"] is False

    resources = yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)["Resources"]
    needs = set().union(*(iam_actions(service, op) for service, op in calls))
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "ses:SendEmail"} <= needs
    assert needs - allowed(resources, "export") == set()


def record_calls(monkeypatch) -> set[tuple[str, str]]:
    """Every AWS operation made from now on (service, operation)."""
    make_api_call = BaseClient._make_api_call
    calls: set[tuple[str, str]] = set()

    def recorded(client, operation, params):
        calls.add((client.meta.service_model.service_name, xform_name(operation)))
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return calls


def test_an_invocation_that_fails_leaves_no_task_blocking(registered, invocations):  # noqa: F811
    _, stub, client = invocations
    cookie = session_cookie(log_in())
    api_request("GET", "/api/me", cookie)  # the app is made
    handlers._http_handler().app.state.task_runner.client = client
    stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    failed = api_request("POST", "/api/exports", cookie)
    assert failed["statusCode"] == 503 and body(failed)["error"] == "Service Unavailable"
    stub.add_response("invoke", {"StatusCode": 202})
    assert api_request("POST", "/api/exports", cookie)["statusCode"] == 202


def test_a_duplicate_delivery_mails_once(registered, export_function, aws_lambda):  # noqa: F811
    from functions.exports import start_export

    user = aws_lambda.get_user_by_username("lambda")

    class Nowhere:
        def start(self, task: Task, language: str) -> None:
            pass

    task = start_export(aws_lambda, Nowhere(), user)
    delivery = {"user_id": user.id, "task_id": task.id}
    assert handlers.export(delivery, None)["status"] == "mailed"
    assert handlers.export(delivery, None)["status"] == "skipped"
    assert len(export_function.sent_messages) == 1


def test_the_runner_invokes_asynchronously_with_the_tasks_ids():
    client = boto3.client("lambda", region_name="us-east-1")
    now = utcnow()
    task = Task("T1", "U1", "export_posts", "Exporting posts...", started=now, updated=now)
    with Stubber(client) as stub:
        expected = {
            "FunctionName": FUNCTION,
            "InvocationType": "Event",
            "Payload": b'{"user_id": "U1", "task_id": "T1", "language": "es"}',
        }
        stub.add_response("invoke", {"StatusCode": 202}, expected)
        LambdaRunner(FUNCTION, client).start(task, "es")
        stub.assert_no_pending_responses()
