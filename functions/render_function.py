"""The render function: table changes -> pages in the site's bucket.

- **A batch of DynamoDB stream records** (the event source mapping on the
  table's stream): decode each record into change events (`functions.stream`),
  re-render the pages they touch once per batch, with the batch's own images
  laid over the store's answers (`sitegen.data.Overlay`), and write them to
  S3. A record that cannot be decoded is reported in `batchItemFailures`
  (with bisect-on-error and a dead-letter queue in the template, a poison
  record ends up there) while the others' pages are rendered. A failure of the
  render itself reports the whole batch, to be retried.

A release's full build is another function's (`functions.release`); the
release pauses this one's stream mapping meanwhile.

Rendering is a function of the store's state and the publisher skips bytes
already in the bucket, so a batch delivered again writes nothing, and an
older batch rendered late still writes the newer state. Two renders never
run at once: the function's reserved concurrency is 1.
"""

from __future__ import annotations

import logging
from typing import Any

from .sitegen.builder import SiteBuilder
from .sitegen.data import Overlay
from .stream import Batch, UndecodableRecord, decode, sequence_number

log = logging.getLogger(__name__)


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
