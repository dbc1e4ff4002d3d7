"""A release's full build on AWS, driven as CloudFormation and Step Functions
drive it: CloudFormation's custom resource request to the build function,
which starts the release state machine (moto's Step Functions records the
execution); the state machine's definition from template.yaml, run here
(tests/stepfunctions.py) against the real handler, the table on DynamoDB
Local, the buckets and the distribution in moto, and CloudFormation's
answer received over real HTTP."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
from moto import mock_aws

from functions import handlers
from functions.sitegen.builder import SiteBuilder
from tests import stepfunctions
from tests.cloudfront import create_distribution
from tests.test_template import load_template

SITE, BUILD = "microblog-site", "microblog-build"
SHARDS = 3
MAPPING = "render-stream-uuid"


class CloudFormation(BaseHTTPRequestHandler):
    """Stands in for the pre-signed S3 URL a custom resource answers to."""

    answers: list

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.answers.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def cloudformation():
    answers: list = []
    handler = type("Handler", (CloudFormation,), {"answers": answers})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/answer?X-Amz-Signature=x", answers
    server.shutdown()


def release_request(url: str, request_type: str = "Update") -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/microblog/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "SiteBuild",
        "PhysicalResourceId": "microblog-site-build",
        "ResourceType": "Custom::SiteBuild",
        "ResourceProperties": {"Version": "3"},
    }


@pytest.fixture
def aws(dynamo_store, monkeypatch):
    """The build function's environment on Lambda: the table on DynamoDB
    Local; its buckets, distribution and state machine in moto."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=SITE)
        s3.create_bucket(Bucket=BUILD)
        machine = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="microblog-release",
            definition=json.dumps(definition()),
            roleArn="arn:aws:iam::123456789012:role/release",
        )["stateMachineArn"]
        for name, value in {
            "AWS_LAMBDA_FUNCTION_NAME": "build",
            "STORE": "dynamodb",
            "TABLE_NAME": dynamo_store.table_name,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamo_store.client.meta.endpoint_url,
            "SITE_BUCKET": SITE,
            "SITE_URL": "https://d111111abcdef8.cloudfront.net",
            "DISTRIBUTION_ID": create_distribution(SITE),
            "BUILD_BUCKET": BUILD,
            "BUILD_SHARDS": str(SHARDS),
            "RELEASE_STATE_MACHINE": machine,
        }.items():
            monkeypatch.setenv(name, value)
        handlers._build_parts.cache_clear()
        handlers._build_settings.cache_clear()
        yield s3
    handlers._build_parts.cache_clear()
    handlers._build_settings.cache_clear()


@pytest.fixture
def app(dynamo_app):
    return dynamo_app


def definition() -> dict:
    machine = load_template()["Resources"]["ReleaseStateMachine"]["Properties"]
    return stepfunctions.substituted(
        machine["Definition"],
        {
            "BuildFunction": "arn:aws:lambda:us-east-1:123456789012:function:build",
            "RenderStream": MAPPING,
        },
    )


class Release:
    """What Step Functions does with the execution the build function started."""

    def __init__(self):
        self.mapping: list[tuple[str, bool]] = []  # the render stream's pauses and resumes
        self.invocations: list[dict] = []

    def task(self, resource: str, parameters: dict):
        if resource == stepfunctions.LAMBDA_INVOKE:
            self.invocations.append(parameters["Payload"])
            return {"Payload": handlers.build(parameters["Payload"], None)}
        if resource == "arn:aws:states:::aws-sdk:lambda:updateEventSourceMapping":
            self.mapping.append((parameters["Uuid"], parameters["Enabled"]))
            return {}
        raise AssertionError(f"unexpected task {resource}")

    def run_started_execution(self):
        """Run the one execution the build function started, with its input."""
        client = boto3.client("stepfunctions", region_name="us-east-1")
        machine = client.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        (execution,) = client.list_executions(stateMachineArn=machine)["executions"]
        started = client.describe_execution(executionArn=execution["executionArn"])
        context = {"Execution": {"Name": execution["name"]}}
        return stepfunctions.run(definition(), json.loads(started["input"]), self.task, context)


def keys(s3, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_a_release_builds_the_site_in_shards_then_answers_cloudformation(aws, app, cloudformation):
    url, answers = cloudformation
    ann = app.register("ann", "ann@example.com", "secret-password")
    bob = app.register("bob", "bob@example.com", "secret-password")
    posts = [app.create_post(user, f"Post {n}") for n, user in enumerate([ann, bob] * 5)]
    app.store.number_posts([post.id for post in posts])  # the fan-out function's work
    aws.put_object(Bucket=SITE, Key="u/gone/index.html", Body=b"a page of a user gone")

    assert handlers.build(release_request(url), None) is None  # answered later
    assert answers == []
    release = Release()
    release.run_started_execution()

    (answer,) = answers
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == "microblog-site-build"
    site = keys(aws, SITE)
    assert {f"p/{post.id}/index.html" for post in posts} <= site
    assert {"index.html", "explore/index.html", "u/ann/index.html", "u/bob/feed.xml"} <= site
    assert any(key.startswith("static/style.") for key in site)
    assert "u/gone/index.html" not in site  # no shard published it: removed
    shards = [p for p in release.invocations if p["step"] == "shard"]
    assert sorted(p["index"] for p in shards) == [1, 2, 3] and {p["count"] for p in shards} == {3}
    assert release.mapping == [(MAPPING, False), (MAPPING, True)]  # paused, then resumed
    assert keys(aws, BUILD) == set()  # the shards' lists, read and deleted


def test_a_failed_shard_resumes_rendering_and_tells_cloudformation_why(
    aws, app, cloudformation, monkeypatch
):
    url, answers = cloudformation
    app.register("ann", "ann@example.com", "secret-password")
    build_shard = SiteBuilder.build_shard

    def failing(self, shard, *args, **kwargs):
        if shard.index == 2:
            raise OSError("S3 is down")
        return build_shard(self, shard, *args, **kwargs)

    monkeypatch.setattr(SiteBuilder, "build_shard", failing)
    handlers.build(release_request(url), None)
    release = Release()
    with pytest.raises(stepfunctions.Failed):
        release.run_started_execution()
    (answer,) = answers
    assert answer["Status"] == "FAILED" and "S3 is down" in answer["Reason"]
    assert release.mapping == [(MAPPING, False), (MAPPING, True)]
    assert "finish" not in [p["step"] for p in release.invocations]


def test_an_empty_table_is_refused_before_any_page_is_touched(aws, cloudformation):
    url, answers = cloudformation
    aws.put_object(Bucket=SITE, Key="u/ann/index.html", Body=b"ann's page")
    handlers.build(release_request(url), None)
    with pytest.raises(stepfunctions.Failed):
        Release().run_started_execution()
    (answer,) = answers
    assert answer["Status"] == "FAILED" and "no users" in answer["Reason"]
    assert keys(aws, SITE) == {"u/ann/index.html"}


def test_deleting_the_stack_answers_at_once_and_leaves_the_site(aws, cloudformation):
    url, answers = cloudformation
    handlers.build(release_request(url, "Delete"), None)
    assert [a["Status"] for a in answers] == ["SUCCESS"]
    client = boto3.client("stepfunctions", region_name="us-east-1")
    machine = client.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    assert client.list_executions(stateMachineArn=machine)["executions"] == []


def test_a_release_that_cannot_start_is_answered_failed(aws, cloudformation, monkeypatch):
    url, answers = cloudformation
    monkeypatch.setenv(
        "RELEASE_STATE_MACHINE", "arn:aws:states:us-east-1:123456789012:stateMachine:nothing"
    )
    handlers.build(release_request(url), None)
    (answer,) = answers
    assert answer["Status"] == "FAILED" and "did not start" in answer["Reason"]


def test_an_unknown_step_is_an_error_not_a_silent_success(aws):
    with pytest.raises(ValueError, match="not a release step"):
        handlers.build({"step": "dance"}, None)


def test_the_assets_are_up_before_any_shard_writes_a_page_naming_them(
    aws, app, cloudformation, monkeypatch
):
    url, _answers = cloudformation
    app.register("ann", "ann@example.com", "secret-password")
    build_shard, seen = SiteBuilder.build_shard, []

    def watched(self, shard, *args, **kwargs):
        seen.append(any(key.startswith("static/style.") for key in keys(aws, SITE)))
        return build_shard(self, shard, *args, **kwargs)

    monkeypatch.setattr(SiteBuilder, "build_shard", watched)
    handlers.build(release_request(url), None)
    Release().run_started_execution()
    assert seen == [True] * SHARDS
