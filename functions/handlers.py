"""AWS Lambda entry points: thin wrappers around the app `functions.wiring` builds.

`http` serves API Gateway (HTTP API, payload 2.0) through Mangum; `render`
re-renders pages from the table's stream; `fanout` keeps the home feeds
(from the stream, and its own queue of next steps); `build` runs a
release's full build (CloudFormation's request, then each step of the
release state machine: `functions.release`); `export` runs a user's
export of their posts (an asynchronous invocation by the API). The app is
made on the first event and kept for the life of the Lambda instance, so
the settings, secrets, store client and templates are loaded once per
container, not per request. Each entry point imports what it needs when it
first runs, so that a function importing this module for another entry
point does not load the API (FastAPI, its routes and models).
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from mangum import Mangum


@cache
def _http_handler() -> Mangum:
    from mangum import Mangum

    from .wiring import lambda_app

    return Mangum(lambda_app(Settings.from_env()), lifespan="off", api_gateway_base_path="/")


def http(event: dict, context: object) -> dict:
    """API Gateway -> FastAPI."""
    return _http_handler()(event, context)


@cache
def _render_builder():
    """The render function's site build: the table, the templates, the bucket.
    One process (Lambda has no /dev/shm for a worker pool)."""
    from .sitegen.builder import SiteBuilder
    from .wiring import make_renderer, open_store, s3_publisher

    settings = Settings.from_env().check_lambda("render")
    return SiteBuilder(
        open_store(settings),
        make_renderer(settings),
        s3_publisher(settings, list_after_heads=None),  # a batch never lists the bucket
        workers=1,
    )


def render(event: dict, context: object) -> dict:
    """DynamoDB stream batches -> the pages they touch (see `functions.render_function`)."""
    from .render_function import handle_stream

    return handle_stream(event, _render_builder())


@cache
def _fanout():
    """Home-feed upkeep on the table, each next step sent to the fan-out queue."""
    import boto3

    from .timelines import Fanout, dumps
    from .wiring import open_store

    settings = Settings.from_env().check_lambda("fanout")
    sqs, queue = boto3.client("sqs"), settings.fanout_queue_url

    def enqueue(job) -> None:
        sqs.send_message(QueueUrl=queue, MessageBody=dumps(job))

    return Fanout(open_store(settings), enqueue=enqueue)


def fanout(event: dict, context: object) -> dict:
    """Stream records start home-feed jobs; queue messages continue them
    (see `functions.timelines`)."""
    from .timelines import handle_queue, handle_stream

    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        return handle_queue(event, _fanout())
    return handle_stream(event, _fanout())


@cache
def _build_settings() -> Settings:
    """The build function's settings, read once per container."""
    return Settings.from_env().check_lambda("build")


@cache
def _build_parts():
    """The build function's site build, and the S3 client of its bucket (the
    shards' lists): made on the first step that needs them, not for
    CloudFormation's request."""
    import boto3

    from .sitegen.builder import SiteBuilder
    from .wiring import make_renderer, open_store, s3_publisher

    settings = _build_settings()
    builder = SiteBuilder(open_store(settings), make_renderer(settings), s3_publisher(settings))
    return builder, boto3.client("s3")


def build(event: dict, context: object) -> dict | None:
    """A release: CloudFormation's request starts the release state machine,
    whose steps come back here (see `functions.release`)."""
    import boto3

    from .release import Manifests, handle

    settings = _build_settings()

    def start_execution(payload: dict) -> None:
        boto3.client("stepfunctions").start_execution(
            stateMachineArn=settings.release_state_machine, input=json.dumps(payload)
        )

    return handle(
        event,
        builder=lambda: _build_parts()[0],
        manifests=lambda: Manifests(settings.build_bucket, _build_parts()[1]),
        shards=settings.build_shards,
        start_execution=start_execution,
    )


@cache
def _exporter():
    """The export job on the table, mailing through SES (made on the first task)."""
    from .export_job import PostsExport
    from .wiring import make_mailer, make_renderer, open_store

    settings = Settings.from_env().check_lambda("export")
    return PostsExport(
        open_store(settings), make_mailer(settings), make_renderer(settings), settings.mail_sender
    )


def export(event: dict, context: object) -> dict:
    """The API's asynchronous invocation `{"user_id", "task_id", "language"}`: export and
    mail the user's posts (see `functions.export_job`). An error is raised
    after the task is marked failed: Lambda sends the event to the function's
    on-failure destination."""
    task = _exporter().run(event["user_id"], event["task_id"], event.get("language", ""))
    if task is None:
        return {"task_id": event["task_id"], "status": "skipped"}
    return {"task_id": task.id, "status": "failed" if task.error else "mailed"}
