"""The render function: table changes and releases -> pages in the site's bucket.

It has two jobs, told apart by the event:

- **A batch of DynamoDB stream records** (the event source mapping on the
  table's stream): decode each record into change events (`functions.stream`),
  re-render the pages they touch once per batch, with the batch's own images
  laid over the store's answers (`sitegen.data.Overlay`), and write them to
  S3. A record that cannot be decoded is reported in `batchItemFailures`
  (with bisect-on-error and a dead-letter queue in the template, a poison
  record ends up there) while the others' pages are rendered. A failure of the
  render itself reports the whole batch, to be retried.
- **A CloudFormation custom resource event** (a release): a full build of
  the site, answered to CloudFormation's pre-signed URL, always, in time.

Rendering is a function of the store's state and the publisher skips bytes
already in the bucket, so a batch delivered again writes nothing, and an
older batch rendered late still writes the newer state. Two renders never
run at once: the function's reserved concurrency is 1.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from .sitegen.builder import SiteBuilder, Stats
from .sitegen.data import Overlay
from .stream import Batch, UndecodableRecord, decode, sequence_number

log = logging.getLogger(__name__)

# The physical id of the release's build resource: the same on every update,
# so CloudFormation never thinks it was replaced (and never deletes it).
BUILD_RESOURCE_ID = "microblog-site-build"
# Time kept back, at the end of the function's timeout, to answer CloudFormation.
ANSWER_MARGIN_SECONDS = 20


def handle_stream(event: dict[str, Any], builder: SiteBuilder) -> dict[str, Any]:
    """Render the pages of a batch of stream records; report the records that failed."""
    records = event.get("Records") or []
    batch, failed = Batch(), []
    for record in records:
        try:
            batch.add(decode(record))
        except UndecodableRecord as error:
            log.error("skipping record %s: %s", record.get("eventID"), error)
            failed.append(record)
    try:
        stats = builder.apply(
            batch.events,
            overlay=lambda base: Overlay(base, batch.posts, batch.removed_posts, batch.users),
        )
    except Exception:
        log.exception("rendering a batch of %d records failed", len(records))
        failed = records[:1]  # retry the whole batch (bisected by Lambda)
    else:
        log.info("batch of %d records: %s", len(records), stats.summary())
    return {"batchItemFailures": [{"itemIdentifier": _identifier(r)} for r in failed]}


def _identifier(record: dict[str, Any]) -> str:
    try:
        return sequence_number(record)
    except UndecodableRecord:
        return ""  # Lambda then treats the whole batch as failed


def is_release(event: dict[str, Any]) -> bool:
    return "RequestType" in event and "ResponseURL" in event


def handle_release(
    event: dict[str, Any], context: Any, build: Callable[[], Stats]
) -> dict[str, Any]:
    """A full build on Create and Update of the release's build resource;
    nothing on Delete (the site stays). CloudFormation is always answered:
    when the build cannot finish within the function's time, it is told so
    (FAILED) before Lambda stops the function, never left to wait an hour."""
    status, reason, data = "SUCCESS", "", {}
    if event["RequestType"] in ("Create", "Update"):
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["stats"] = build()
            except Exception as error:  # reported to CloudFormation below
                log.exception("the release's full build failed")
                outcome["error"] = error

        worker = threading.Thread(target=run, name="full-build", daemon=True)
        worker.start()
        worker.join(_seconds_left(context))
        if "stats" in outcome:
            stats = outcome["stats"]
            data = {"Rendered": stats.rendered, "Written": stats.written}
            reason = stats.summary()
        else:
            status = "FAILED"
            error = outcome.get("error")
            reason = (
                f"The full build failed: {type(error).__name__}: {error}"
                if error
                else "The full build did not finish within the function's timeout; "
                "run `python build.py publish` from a machine instead."
            )
    response = {
        "Status": status,
        "Reason": reason[:1000] or "ok",
        "PhysicalResourceId": event.get("PhysicalResourceId") or BUILD_RESOURCE_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    answer_cloudformation(event["ResponseURL"], response)
    return response


def _seconds_left(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return max(1.0, remaining() / 1000 - ANSWER_MARGIN_SECONDS)


def answer_cloudformation(url: str, response: dict[str, Any]) -> None:
    """PUT the custom resource's answer to CloudFormation's pre-signed S3 URL
    (an empty Content-Type: the URL was signed without one)."""
    body = json.dumps(response).encode()
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": len(body)}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
