"""Home feeds kept up off the request path.

A write answers after a bounded amount of work whatever the audience; what
grows with the audience (copying a new post into every follower's feed,
taking a deleted post or an unfollowed user's posts out) is a `TimelineJob`
done in steps of bounded size by `Store.timeline_work`.

The same change events that re-render pages start the jobs (`jobs_for`):
locally `Fanout` runs every step in-process right after the write; on AWS
the fan-out function receives the events from the table's stream, runs the
first step, and hands each next step to an SQS queue, where it is retried
until done (`handle_stream`, `handle_queue`). Steps are idempotent, so a
redelivered record or message does no harm.

Before the jobs, the fan-out numbers the new posts for explore
(`Fanout.number`: one `Store.number_posts` call per batch): on DynamoDB a post
is written without an explore number, so that no item takes a write per post
(docs/scale.md). The numbering's writes reach the stream as MODIFY records,
from which the render function renders the posts' pages.

Stores whose home feed is a query over follows (SQLite) have nothing to
keep: their `timeline_work` returns None at once, and their posts are
numbered already.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from .domain import Event, PostCreated, PostDeleted, TimelineJob, Unfollowed
from .store import Store

log = logging.getLogger(__name__)


def jobs_for(events: Iterable[Event]) -> list[TimelineJob]:
    """The feed upkeep these changes need (a follow's back-fill is done by the
    request itself: it is one feed page)."""
    jobs = []
    for event in events:
        match event:
            case PostCreated(post_id=post_id, author_id=author_id):
                jobs.append(TimelineJob(TimelineJob.DELIVER, post_id, author_id))
            case PostDeleted(post_id=post_id, author_id=author_id):
                jobs.append(TimelineJob(TimelineJob.RETRACT, post_id, author_id))
            case Unfollowed(follower_id=follower_id, followed_id=followed_id):
                jobs.append(TimelineJob(TimelineJob.WITHDRAW, followed_id, follower_id))
    return jobs


def dumps(job: TimelineJob) -> str:
    """A job as a queue message body."""
    return json.dumps(dataclasses.asdict(job))


def loads(body: str) -> TimelineJob:
    fields = json.loads(body)
    job = TimelineJob(**fields)
    if job.action not in (TimelineJob.DELIVER, TimelineJob.RETRACT, TimelineJob.WITHDRAW):
        raise ValueError(f"unknown timeline action {job.action!r}")
    return job


class Fanout:
    """Runs timeline jobs: every step now (`enqueue` None, the local stack),
    or the first step now and the next one through `enqueue` (AWS: SQS)."""

    def __init__(self, store: Store, enqueue: Callable[[TimelineJob], Any] | None = None):
        self.store = store
        self.enqueue = enqueue

    def start(self, events: Iterable[Event]) -> list[Event]:
        """Number the new posts, then run the jobs of the changes; returns the
        events with the new posts numbered (what the pages are rendered from)."""
        events = self.number(events)
        for job in jobs_for(events):
            self.step(job)
        return events

    def number(self, events: Iterable[Event]) -> list[Event]:
        """The events, each new post without an explore number (0) numbered:
        one `number_posts` call for all of them. A post deleted meanwhile keeps
        its event as it was (it touches no page; its delete does)."""
        events = list(events)
        new = [e.post_id for e in events if isinstance(e, PostCreated) and not e.explore_seq]
        if not new:
            return events
        posts = {post.id: post for post in self.store.number_posts(new)}
        return [
            PostCreated.of(posts[e.post_id])
            if isinstance(e, PostCreated) and e.post_id in posts
            else e
            for e in events
        ]

    def step(self, job: TimelineJob) -> None:
        """One step, then the next through the queue (or, without one, all of them)."""
        next_step = self.store.timeline_work(job)
        while next_step is not None:
            if self.enqueue is not None:
                self.enqueue(next_step)
                return
            next_step = self.store.timeline_work(next_step)


# ------------------------------------------------------------ the AWS function


def handle_stream(event: dict[str, Any], fanout: Fanout) -> dict[str, Any]:
    """DynamoDB stream records -> the batch's new posts numbered (one call),
    then the first step of each job they start."""
    from .stream import UndecodableRecord, decode, sequence_number

    records = event.get("Records") or []
    changes: list[tuple[dict[str, Any], list[Event]]] = []
    for record in records:
        try:
            changes.append((record, decode(record).events))
        except UndecodableRecord as error:
            log.error("skipping stream record %s: %s", record.get("eventID"), error)
    try:
        fanout.number(e for _, events in changes for e in events)
    except Exception:
        # Nothing done yet: Lambda retries the whole batch (numbering it again
        # numbers only what is still unnumbered).
        log.exception("numbering the posts of a batch of %d records failed", len(records))
        return {"batchItemFailures": [{"itemIdentifier": sequence_number(records[0])}]}
    for record, events in changes:
        try:
            for job in jobs_for(events):  # DELIVER reads the post: numbered by now
                fanout.step(job)
        except Exception:
            # Lambda retries from this record on (its predecessors are done).
            log.exception("timeline work failed at record %s", record.get("eventID"))
            return {"batchItemFailures": [{"itemIdentifier": sequence_number(record)}]}
    return {"batchItemFailures": []}


def handle_queue(event: dict[str, Any], fanout: Fanout) -> dict[str, Any]:
    """SQS messages, one step each; failed messages go back to the queue
    (and, after its retries, to its dead-letter queue)."""
    failures = []
    for record in event.get("Records") or []:
        try:
            fanout.step(loads(record["body"]))
        except Exception:
            log.exception("timeline step failed: %s", record.get("body"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
