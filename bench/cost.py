#!/usr/bin/env python3
"""What each action costs on AWS: counted, not estimated, then priced for a month.

    .venv/bin/python bench/cost.py

The three Lambda functions run as Lambda runs them, in this process: the
API function's handler (`handlers.http`) gets API Gateway events of requests
through CloudFront; the records each request puts on the table's stream go,
through the template's event filters and batch sizes, to the fan-out
function (whose next steps travel through its SQS queue) and to the render
function (which re-renders the touched pages into the site's bucket). The
table is DynamoDB Local (AWS's emulator); S3, CloudFront, SQS and Secrets
Manager are moto's. Every boto3 call the functions make is metered through
botocore's event hooks: DynamoDB's requests and the read and write units it
reports (`ReturnConsumedCapacity`), S3 requests by price class, the paths of
each CloudFront invalidation; the fan-out's queue messages are counted as
they are drained. Each invocation is timed (Lambda's billed duration).

A page view is a static page from CloudFront (its size measured on a real
rendered page, compressed as CloudFront sends it; an S3 GET on a cache miss),
plus, for a signed-in user only, the `GET /api/me` the page's script makes
(a visitor's browser has no `signed_in` hint cookie). A full rebuild (a release)
is `SiteBuilder.build_all` of a seeded site into the bucket, per 1,000 posts:
the same shards and sweep a release's state machine runs on the build
function (functions/release.py), there in BuildShards parallel invocations
plus a plan, a finish and an answer (its shards' page lists, a few requests
to the build bucket, and its state transitions, about $0.025 a thousand,
are left out: cents a year).
The request path (the API function) and the work off it (fan-out, render)
are counted apart: a post answers with the same work whatever its audience.

Lambda times are medians of a few repetitions on whatever machine runs this
(noisy when shared), and they include DynamoDB Local's and moto's answers
in place of AWS's network round trips (an S3 request on AWS waits several to
tens of milliseconds: the render function's real times are longer than
measured here). Not counted: cold starts (bench/coldstart.py), CloudWatch
Logs, DynamoDB storage, Secrets Manager's monthly fee, and the receives of
Lambda's SQS pollers on an idle queue (its reads of the table's stream are
free). Free tiers are not deducted, except the invalidations' first 1,000
paths.

Needs Java and DynamoDB Local's npm package (`infra/test` installs both).
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from moto import mock_aws

from functions import auth, handlers
from functions.domain import Post, User, new_id, utcnow
from functions.seed import DEMO_PASSWORD, seed
from functions.sitegen.s3 import WILDCARD_THRESHOLD
from functions.store.dynamodb import DynamoStore
from functions.store.dynamodb_schema import FANOUT_FILTERS, STREAM_FILTERS, post_item
from tests.cloudfront import create_distribution
from tests.dynamodb_items import add_followers, bulk_write, make_user
from tests.dynamodb_local import dummy_aws_env, running
from tests.streams import StreamReader, lambda_event, passes, sqs_event
from tests.test_template import load_template

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ prices
# AWS price list, us-east-1, on-demand (dollars per unit).
DYNAMODB_WRITE_UNIT = 0.625 / 1e6  # DynamoDB on-demand write request unit (since Nov. 2024)
DYNAMODB_READ_UNIT = 0.125 / 1e6  # DynamoDB on-demand read request unit
LAMBDA_GB_SECOND = 0.0000133334  # Lambda, arm64, first 7.5 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6  # Lambda requests
API_REQUEST = 1.00 / 1e6  # API Gateway HTTP API, first 300 million a month
SQS_REQUEST = 0.40 / 1e6  # SQS standard queue requests
S3_PUT_REQUEST = 0.005 / 1000  # S3 Standard PUT, COPY, POST, LIST
S3_GET_REQUEST = 0.0004 / 1000  # S3 Standard GET, SELECT and all other requests (DELETE free)
S3_GB_MONTH = 0.023  # S3 Standard storage, first 50 TB
CLOUDFRONT_REQUEST = 0.0085 / 10_000  # CloudFront HTTPS requests, North America
CLOUDFRONT_FUNCTION = 0.10 / 1e6  # CloudFront Functions (a viewer-request function on each)
CLOUDFRONT_GB = 0.085  # CloudFront data transfer out, North America, first 10 TB
INVALIDATION_PATH = 0.005  # CloudFront invalidation paths past the free ones
FREE_INVALIDATION_PATHS = 1_000  # a month

# ------------------------------------------------------------------ the month priced
DAYS = 30
DAILY_USERS = 10_000
PAGE_VIEWS = 1_000_000  # static pages from CloudFront
SIGNED_IN_SHARE = 0.6  # assumed: views by signed-in users, whose page asks GET /api/me
CACHE_HIT_RATIO = 0.5  # assumed: pages that change with writes live 5 s at the edge
SITE_POSTS = 90_000  # the site a release rebuilds: three months of 1,000 posts a day
RELEASES = DAYS / 7  # one a week; priced as if every page changed
SEED_USERS, SEED_POSTS = 100, 1_000  # the site rebuilt here (functions/seed.py)
MONTH = {  # action -> times a month
    "page view, signed in": round(PAGE_VIEWS * SIGNED_IN_SHARE),
    "page view, visitor": round(PAGE_VIEWS * (1 - SIGNED_IN_SHARE)),
    "home feed (GET /api/feed)": DAILY_USERS * 2 * DAYS,  # two of a user's page views a day
    "profile (GET /api/users/{id})": PAGE_VIEWS // 5,  # a fifth of page views are profiles
    "log in": DAILY_USERS * DAYS,
    "post, 100 followers": 1_000 * DAYS,
    "follow a user with 1,000 posts": 300 * DAYS,
    "delete a post": 10 * DAYS,
    "rename a user": 1 * DAYS,
    "send a private message": 2_000 * DAYS,  # assumed
    # assumed: a signed-in reader's tab stays open and visible about a minute
    # per page view, polling every 10 s (hidden tabs do not poll)
    "notifications poll (every 10 s)": round(PAGE_VIEWS * SIGNED_IN_SHARE) * 6,
    f"release: full rebuild of {SITE_POSTS:,} posts": RELEASES,
}

# ------------------------------------------------------------------ the run
REPS = 5  # repetitions per action (Lambda times: the median)
FOLLOWERS = {0: REPS, 100: REPS, 1_000: 3, 10_000: 1}  # audience -> repetitions
PASSWORD = "cost-model-password"
BUCKET = "microblog-site"
SITE_URL = "https://d111111abcdef8.cloudfront.net"  # tests/events/post.json's host
EVENT = json.loads((ROOT / "tests" / "events" / "post.json").read_text())
FUNCTIONS = {
    "api": "ApiFunction",
    "fanout": "FanoutFunction",
    "render": "RenderFunction",
    "build": "BuildFunction",
}
PARTS = {
    "cdn": "CloudFront",
    "api": "API",
    "fanout": "fan-out",
    "render": "render",
    "build": "build",
}


@dataclass
class Usage:
    """What one function (or CloudFront) used for one action."""

    dynamodb_requests: float = 0
    read_units: float = 0
    write_units: float = 0
    s3_put: float = 0  # PUT, COPY, POST, LIST
    s3_get: float = 0  # GET, HEAD and the rest
    s3_delete: float = 0
    invalidation_paths: float = 0
    sqs_requests: float = 0
    cloudfront_requests: float = 0
    bytes_out: float = 0
    invocations: float = 0
    ms: float = 0  # billed duration: each invocation rounded up to 1 ms

    def empty(self) -> bool:
        return not any(astuple(self))

    def times(self, factor: float) -> Usage:
        return Usage(*(value * factor for value in astuple(self)))

    @staticmethod
    def median(samples: list[Usage]) -> Usage:
        return Usage(*map(statistics.median, zip(*map(astuple, samples), strict=True)))


Parts = dict[str, Usage]  # "api", "fanout", "render", "build" or "cdn" -> its usage


class Meter:
    """Counts the AWS requests of the boto3 clients it is attached to into the
    part being measured (calls outside `part` count nowhere)."""

    def __init__(self) -> None:
        self.usage: Usage | None = None

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("provide-client-params.dynamodb", self._ask_capacity)
        events.register("after-call", self._count)

    @contextmanager
    def part(self) -> Iterator[Usage]:
        self.usage = Usage()
        try:
            yield self.usage
        finally:
            self.usage = None

    @staticmethod
    def _ask_capacity(params: dict, model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _count(self, event_name: str, parsed: dict, model: Any, **_: Any) -> None:
        usage = self.usage
        if usage is None:
            return
        service, operation = event_name.split(".")[1], model.name
        if service == "dynamodb":
            usage.dynamodb_requests += 1
            self._add_capacity(usage, parsed, operation)
        elif service == "s3":
            if operation.startswith("Delete"):
                usage.s3_delete += 1
            elif operation.startswith(("Put", "Copy", "Post", "List", "Create")):
                usage.s3_put += 1
            else:
                usage.s3_get += 1
        elif operation == "CreateInvalidation":
            paths = parsed["Invalidation"]["InvalidationBatch"]["Paths"]
            usage.invalidation_paths += paths["Quantity"]

    @staticmethod
    def _add_capacity(usage: Usage, parsed: dict, operation: str) -> None:
        consumed = parsed.get("ConsumedCapacity") or []
        for item in consumed if isinstance(consumed, list) else [consumed]:
            writes, reads = item.get("WriteCapacityUnits"), item.get("ReadCapacityUnits")
            if writes is None and reads is None:  # only a total: by the operation
                units = item.get("CapacityUnits", 0.0)
                reading = operation.startswith(("Get", "Query", "Scan", "BatchGet", "TransactGet"))
                writes, reads = (0.0, units) if reading else (units, 0.0)
            usage.write_units += writes or 0.0
            usage.read_units += reads or 0.0


# ------------------------------------------------------------------ the functions


def function_properties() -> dict[str, dict]:
    """Each function's Properties in template.yaml (memory, timeout, event sources)."""
    resources = load_template()["Resources"]
    return {kind: resources[name]["Properties"] for kind, name in FUNCTIONS.items()}


def batch_size(properties: dict, source: str) -> int:
    return properties["Events"][source]["Properties"]["BatchSize"]


def batches(records: list[dict], filters: list[dict], size: int) -> list[list[dict]]:
    """The records an event source mapping with these filters hands its function."""
    passed = [record for record in records if passes(filters, record)]
    return [passed[i : i + size] for i in range(0, len(passed), size)]


def api_event(method: str, path: str, body: Any = None, cookie: str | None = None) -> dict:
    """An API Gateway (HTTP API 2.0) event of a request through CloudFront."""
    event = copy.deepcopy(EVENT)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    event["cookies"] = [cookie] if cookie else []
    event.pop("body")
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def sent_bytes(body: bytes) -> int:
    """A body's size as CloudFront sends it: compressed from 1,000 bytes on
    (the distribution compresses; browsers accept gzip)."""
    return len(gzip.compress(body)) if len(body) >= 1_000 else len(body)


def invoke(usage: Usage, handler: Callable[[dict, Any], dict], event: dict) -> dict:
    """One Lambda invocation, timed into `usage`."""
    started = time.perf_counter()
    answer = handler(event, None)
    usage.ms += math.ceil((time.perf_counter() - started) * 1000)
    usage.invocations += 1
    return answer


class Stack:
    """The three functions on one table, their AWS calls metered (made once
    the functions' environment is set: see `lambda_environment`)."""

    def __init__(self, store: DynamoStore, queue_url: str, functions: dict[str, dict]):
        self.meter = Meter()
        self.stream = StreamReader(store)
        self.sqs = boto3.client("sqs")  # as the fan-out queue's event source mapping
        self.queue_url = queue_url
        self.functions = functions
        self.builder = handlers._render_builder()
        for client in (
            handlers._http_handler().app.state.microblog.store.client,
            handlers._fanout().store.client,
            self.builder.store.client,
            self.builder.publisher._client("s3"),
            self.builder.publisher._client("cloudfront"),
        ):
            self.meter.attach(client)

    def act(self, event: dict) -> tuple[Parts, dict]:
        """An API request, then what its stream records set off; each part's usage."""
        self.stream.new_records(settle=0.1)  # what the set-up wrote is not this action's
        with self.meter.part() as request:
            response = invoke(request, handlers.http, event)
        if response["statusCode"] >= 400:
            raise RuntimeError(f"{event['rawPath']}: {response}")
        request.cloudfront_requests += 1
        request.bytes_out += sent_bytes((response.get("body") or "").encode())
        records = self.stream.new_records()
        fanout = self.fan_out(records)
        records += self.stream.new_records()  # the fan-out's: new posts numbered, feeds
        parts = {"api": request, "fanout": fanout, "render": self.render(records)}
        return parts, response

    def fan_out(self, records: list[dict]) -> Usage:
        """The fan-out function on the stream, then on its queue until it is empty.
        SQS: each message's SendMessage, and per batch the receive and the delete."""
        size = batch_size(self.functions["fanout"], "Stream")
        with self.meter.part() as usage:
            for batch in batches(records, FANOUT_FILTERS, size):
                answer = invoke(usage, handlers.fanout, lambda_event(batch))
                assert answer == {"batchItemFailures": []}, answer
            size = batch_size(self.functions["fanout"], "Queue")
            while messages := self._receive(size):
                answer = invoke(usage, handlers.fanout, sqs_event(messages))
                assert answer == {"batchItemFailures": []}, answer
                entries = [
                    {"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in messages
                ]
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
                usage.sqs_requests += len(messages) + 2
        return usage

    def _receive(self, size: int) -> list[dict]:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=size)
        return answer.get("Messages", [])

    def render(self, records: list[dict]) -> Usage:
        size = batch_size(self.functions["render"], "Stream")
        with self.meter.part() as usage:
            for batch in batches(records, STREAM_FILTERS, size):
                answer = invoke(usage, handlers.render, lambda_event(batch))
                assert answer == {"batchItemFailures": []}, answer
        return usage

    def rebuild(self, force: bool) -> Usage:
        """A release's full build (`force`: every page rewritten, as when the
        templates change; else only what differs, i.e. nothing)."""
        self.builder.publisher.force = force
        with self.meter.part() as usage:
            invoke(usage, lambda event, context: self.builder.build_all(), {})
        self.builder.publisher.force = False
        return usage

    def log_in(self, user: User, password: str = PASSWORD) -> tuple[Parts, str]:
        """Log in through the API; the session cookie."""
        body = {"username": user.username, "password": password}
        parts, response = self.act(api_event("POST", "/api/session", body))
        [cookie] = [c for c in response["cookies"] if c.startswith("session=")]
        return parts, cookie.split(";")[0]


# ------------------------------------------------------------------ the actions


class Samples:
    """Each action's repetitions; the median of each count per part."""

    def __init__(self) -> None:
        self.runs: dict[str, list[Parts]] = defaultdict(list)

    def add(self, action: str, parts: Parts) -> None:
        self.runs[action].append(parts)

    def rows(self) -> dict[str, Parts]:
        table = {}
        for action, runs in self.runs.items():
            medians = {part: Usage.median([run[part] for run in runs]) for part in runs[0]}
            table[action] = {part: u for part, u in medians.items() if not u.empty()}
        return table


def lambda_environment(store: DynamoStore, endpoint: str) -> dict[str, str]:
    """The three functions' variables (inside `mock_aws`: their bucket,
    distribution, queue and secret made in moto)."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    secret = boto3.client("secretsmanager").create_secret(Name="key", SecretString="k" * 48)
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "cost",
        "STORE": "dynamodb",
        "TABLE_NAME": store.table_name,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "SECRET_KEY_ARN": secret["ARN"],
        "SITE_BUCKET": BUCKET,
        "SITE_URL": SITE_URL,
        "DISTRIBUTION_ID": create_distribution(BUCKET),
        "FANOUT_QUEUE_URL": boto3.client("sqs").create_queue(QueueName="fanout")["QueueUrl"],
    }


def page_bytes(path: str) -> int:
    """A published page's size as CloudFront sends it."""
    return sent_bytes(boto3.client("s3").get_object(Bucket=BUCKET, Key=path)["Body"].read())


def site_bytes() -> int:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def measure_posts(stack: Stack, store: DynamoStore, samples: Samples, password_hash: str) -> None:
    """A post by authors of 0 to 10,000 followers: the request stays flat."""
    for followers, reps in FOLLOWERS.items():
        author = make_user(store, f"author{followers}", password_hash)
        add_followers(store, author, followers)
        _, cookie = stack.log_in(author)
        if not followers:  # warms the functions up
            stack.act(api_event("POST", "/api/posts", {"body": "warm"}, cookie))
        for n in range(reps):
            body = {"body": f"Post number {n}, *counted*."}
            parts, _ = stack.act(api_event("POST", "/api/posts", body, cookie))
            samples.add(f"post, {followers:,} followers", parts)


def measure_reader(stack: Stack, store: DynamoStore, samples: Samples, password_hash: str) -> None:
    """Log in, follow and unfollow a user with 1,000 posts, then the reads of
    page views with a full home feed."""
    reader = make_user(store, "reader", password_hash)
    prolific = make_user(store, "prolific", password_hash)
    at = prolific.created
    posts = (Post(new_id(), prolific.id, "b", "<p>b</p>", "en", at, n, n) for n in range(1, 1001))
    bulk_write(store, map(post_item, posts))
    for _ in range(REPS):
        parts, cookie = stack.log_in(reader)
        samples.add("log in", parts)
    follow = f"/api/users/{prolific.id}/follow"
    for _ in range(REPS):
        parts, _ = stack.act(api_event("POST", follow, cookie=cookie))
        samples.add("follow a user with 1,000 posts", parts)
        parts, _ = stack.act(api_event("DELETE", follow, cookie=cookie))
        samples.add("unfollow a user with 1,000 posts", parts)
    store.follow(reader.id, prolific.id)  # a full home feed
    reads = {
        "page view, signed in": "/api/me",  # the page's own request: it records the visit
        "home feed (GET /api/feed)": "/api/feed",
        "profile (GET /api/users/{id})": f"/api/users/{prolific.id}",
        "explore (GET /api/explore)": "/api/explore",
    }
    for _ in range(REPS):
        # Last seen over a minute ago: a page view records it (at most once a minute).
        store.update_user(reader.id, {"last_seen": utcnow() - timedelta(hours=1)})
        for action, path in reads.items():
            samples.add(action, stack.act(api_event("GET", path, cookie=cookie))[0])


def measure_messages(
    stack: Stack, store: DynamoStore, samples: Samples, password_hash: str
) -> None:
    """A private message sent, and the notification poll every signed-in page
    makes every 10 seconds (the recipient's, with an unread message)."""
    sender = make_user(store, "sender", password_hash)
    recipient = make_user(store, "recipient", password_hash)
    _, sender_cookie = stack.log_in(sender)
    _, recipient_cookie = stack.log_in(recipient)
    message = {"recipient": recipient.username, "body": "Hi, counted!"}
    for _ in range(REPS):
        parts, _ = stack.act(api_event("POST", "/api/messages", message, sender_cookie))
        samples.add("send a private message", parts)
        poll = api_event("GET", "/api/notifications", cookie=recipient_cookie)
        samples.add("notifications poll (every 10 s)", stack.act(poll)[0])


def number_seeded_posts(store: DynamoStore, users: list[User]) -> None:
    """What the fan-out function does with the seed's stream records: the
    posts numbered for explore, in id (time) order, 100 a batch."""
    ids = sorted(p.id for u in users for p in store.posts_by_seq(u.id, 1, u.post_seq))
    for start in range(0, len(ids), 100):
        store.number_posts(ids[start : start + 100])


def seeded_users(store: DynamoStore) -> list[User]:
    """The seed's users, most posts first."""
    users = store.list_users(limit=SEED_USERS).items
    return sorted(users, key=lambda user: -user.post_count)


def measure_changes(stack: Stack, store: DynamoStore, samples: Samples, users: list[User]) -> str:
    """Deletes and renames of seeded users, whose pages are published (and
    may be cached long at the edge: these are what invalidations are for);
    which users they were."""
    author = users[0]
    _, cookie = stack.log_in(author, DEMO_PASSWORD)
    for post in store.posts_by_seq(author.id, 1, REPS):
        parts, _ = stack.act(api_event("DELETE", f"/api/posts/{post.id}", cookie=cookie))
        samples.add("delete a post", parts)
    typical = min(users, key=lambda user: abs(user.post_count - SEED_POSTS / SEED_USERS))
    _, cookie = stack.log_in(typical, DEMO_PASSWORD)
    for n in range(REPS):
        body = {"username": f"renamed{n}"}
        parts, _ = stack.act(api_event("PUT", f"/api/users/{typical.id}", body, cookie))
        samples.add("rename a user", parts)
    return (
        f"A delete removes one of the oldest posts of the seeded user with the most posts "
        f"({author.post_count}, {author.follower_count} followers); a rename renames a "
        f"seeded user with {typical.post_count} posts."
    )


def measure_rebuilds(stack: Stack, samples: Samples) -> None:
    """Full builds of the seeded site, per 1,000 posts."""
    per_thousand = 1_000 / SEED_POSTS
    for force, action in ((True, "every page rewritten"), (False, "nothing changed")):
        for _ in range(2):
            usage = stack.rebuild(force).times(per_thousand)
            samples.add(f"full rebuild per 1,000 posts, {action}", {"build": usage})


def page_view(html_bytes: int) -> Usage:
    """The static page of a page view, from CloudFront; S3 when the edge misses."""
    return Usage(cloudfront_requests=1, bytes_out=html_bytes, s3_get=1 - CACHE_HIT_RATIO)


def release(per_thousand: Usage, shards: int) -> Usage:
    """A full rebuild of a SITE_POSTS site in `shards` invocations (and the
    plan, finish and answer steps): past WILDCARD_THRESHOLD paths the
    publisher invalidates the single path "/*"."""
    usage = per_thousand.times(SITE_POSTS / 1_000)
    usage.invocations = shards + 3
    if usage.invalidation_paths > WILDCARD_THRESHOLD:
        usage.invalidation_paths = 1
    return usage


# ------------------------------------------------------------------ pricing


def price(
    parts: list[tuple[str, Usage]], memory: dict[str, int], free_paths: float = 0, stored_gb=0.0
) -> list[tuple[str, str, float, float]]:
    """(service, what, quantity, dollars) lines for these parts' usage."""
    total = Usage(*map(sum, zip(*(astuple(u) for _, u in parts), strict=True)))
    lambdas = [(part, u) for part, u in parts if part in memory]
    gb_seconds = sum(u.ms / 1000 * memory[part] / 1024 for part, u in lambdas)
    invocations = sum(u.invocations for _, u in lambdas)
    api_requests = sum(u.invocations for part, u in parts if part == "api")
    gb_out = total.bytes_out / 1e9
    paid_paths = max(0.0, total.invalidation_paths - free_paths)
    cloudfront = CLOUDFRONT_REQUEST + CLOUDFRONT_FUNCTION
    return [
        ("DynamoDB", "read units", total.read_units, total.read_units * DYNAMODB_READ_UNIT),
        ("DynamoDB", "write units", total.write_units, total.write_units * DYNAMODB_WRITE_UNIT),
        ("Lambda", "requests", invocations, invocations * LAMBDA_REQUEST),
        ("Lambda", "GB-seconds", gb_seconds, gb_seconds * LAMBDA_GB_SECOND),
        ("API Gateway", "HTTP API requests", api_requests, api_requests * API_REQUEST),
        ("SQS", "requests", total.sqs_requests, total.sqs_requests * SQS_REQUEST),
        ("S3", "PUT, COPY, POST, LIST requests", total.s3_put, total.s3_put * S3_PUT_REQUEST),
        ("S3", "GET, HEAD requests", total.s3_get, total.s3_get * S3_GET_REQUEST),
        ("S3", "GB-months stored", stored_gb, stored_gb * S3_GB_MONTH),
        (
            "CloudFront",
            "requests (and function runs)",
            total.cloudfront_requests,
            total.cloudfront_requests * cloudfront,
        ),
        ("CloudFront", "GB out", gb_out, gb_out * CLOUDFRONT_GB),
        (
            "CloudFront",
            f"invalidation paths (first {free_paths:,.0f} free)",
            total.invalidation_paths,
            paid_paths * INVALIDATION_PATH,
        ),
    ]


def dollars(parts: Parts, times: float, memory: dict[str, int]) -> float:
    """An action's price `times` over (no free invalidation paths)."""
    return sum(line[3] for line in price([(p, u.times(times)) for p, u in parts.items()], memory))


# ------------------------------------------------------------------ output


def number(value: float, digits: int = 1) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def print_actions(rows: dict[str, Parts]) -> None:
    columns = [
        "DynamoDB requests", "read units", "write units", "S3 PUT, LIST", "S3 GET, HEAD",
        "S3 DELETE", "invalidation paths", "SQS requests", "CloudFront requests", "KB out",
        "Lambda calls", "Lambda ms",
    ]  # fmt: skip
    print("| action | part | " + " | ".join(columns) + " |")
    print("| --- | --- |" + " ---: |" * len(columns))
    for action, parts in rows.items():
        for part, u in parts.items():
            values = [
                u.dynamodb_requests, u.read_units, u.write_units, u.s3_put, u.s3_get,
                u.s3_delete, u.invalidation_paths, u.sqs_requests, u.cloudfront_requests,
                round(u.bytes_out / 1000, 1), u.invocations, round(u.ms),
            ]  # fmt: skip
            cells = " | ".join(number(v) if v else "" for v in values)
            print(f"| {action} | {PARTS[part]} | {cells} |")


def print_month(month: dict[str, Parts], memory: dict[str, int], stored_gb: float) -> None:
    print("| action | a month | dollars |")
    print("| --- | ---: | ---: |")
    for action, times in MONTH.items():
        print(f"| {action} | {number(times)} | {dollars(month[action], times, memory):.2f} |")
    print()
    parts = [
        (part, u.times(MONTH[action])) for action in MONTH for part, u in month[action].items()
    ]
    lines = price(parts, memory, FREE_INVALIDATION_PATHS, stored_gb)
    print("| service | what | a month | dollars |")
    print("| --- | --- | ---: | ---: |")
    for service, what, quantity, cost in lines:
        amount = f"{quantity:,.0f}" if quantity >= 100 else number(round(quantity, 1))
        print(f"| {service} | {what} | {amount} | {cost:.2f} |")
    print(f"| **all** | | | **{sum(line[3] for line in lines):.2f}** |")


# ------------------------------------------------------------------ main


def phase(name: str, started: float) -> None:
    """Progress, on stderr: the run takes a few minutes."""
    print(f"{time.perf_counter() - started:6.1f} s  {name}", file=sys.stderr)


@dataclass
class Site:
    """What the run measured of the published site, and of whom."""

    html_bytes: int  # a page of 25 posts, compressed
    stored_gb: float  # the bucket, at SITE_POSTS posts
    changes: str  # whose posts were deleted, who was renamed


def measure(functions: dict[str, dict]) -> tuple[dict[str, Parts], Site]:
    """Every action, on DynamoDB Local and moto, with the seeded site published."""
    started = time.perf_counter()
    samples = Samples()
    with running() as endpoint, mock_aws():
        store = DynamoStore(f"cost-{uuid.uuid4().hex[:8]}", endpoint_url=endpoint)
        store.create_table()
        seed(store, SEED_USERS, SEED_POSTS, progress=False)
        users = seeded_users(store)
        number_seeded_posts(store, users)
        phase(f"seeded {SEED_USERS} users, {SEED_POSTS:,} posts", started)
        os.environ.update(lambda_environment(store, endpoint))
        stack = Stack(store, os.environ["FANOUT_QUEUE_URL"], functions)
        stack.rebuild(force=False)  # the seeded site, published
        rebuilds = Samples()
        measure_rebuilds(stack, rebuilds)
        phase("full rebuilds", started)
        html_bytes = page_bytes("explore/index.html")
        stored_gb = site_bytes() / SEED_POSTS * SITE_POSTS / 1e9
        password_hash = auth.hash_password(PASSWORD)  # hashed once, as the seed does
        measure_posts(stack, store, samples, password_hash)
        phase("posts", started)
        measure_reader(stack, store, samples, password_hash)
        phase("log in, follows, reads", started)
        measure_messages(stack, store, samples, password_hash)
        phase("messages", started)
        changes = measure_changes(stack, store, samples, users)
        phase("deletes, renames", started)
        store.delete_table()
    rows = samples.rows() | rebuilds.rows()
    signed_in = rows["page view, signed in"]
    rows["page view, signed in"] = {"cdn": page_view(html_bytes), **signed_in}
    rows["page view, visitor"] = {"cdn": page_view(html_bytes)}  # no API call at all
    return rows, Site(html_bytes, stored_gb, changes)


def main() -> int:
    os.environ.update(dummy_aws_env())
    functions = function_properties()
    memory = {kind: properties["MemorySize"] for kind, properties in functions.items()}
    rows, site = measure(functions)

    sizes = ", ".join(f"{PARTS[kind]} {mb:,} MB" for kind, mb in memory.items())
    print(
        f"Per action (medians of up to {REPS} runs; Lambda memory from template.yaml: {sizes}):\n"
    )
    print_actions(rows)
    print(f"\n{site.changes}")
    shards = int(load_template()["Parameters"]["BuildShards"]["Default"])
    rebuilt = release(rows["full rebuild per 1,000 posts, every page rewritten"]["build"], shards)
    month = {**rows, f"release: full rebuild of {SITE_POSTS:,} posts": {"build": rebuilt}}
    print(
        f"\nA month: {DAILY_USERS:,} daily users (a login a day each), {PAGE_VIEWS:,} page views "
        f"({CACHE_HIT_RATIO:.0%} edge cache hits; a page of 25 posts is "
        f"{site.html_bytes / 1000:.1f} KB compressed), 1,000 posts a day to 100 followers each, "
        "300 follows a day, 10 deletes and a rename a day, a release a week (a "
        f"{SITE_POSTS:,}-post site, every page rewritten: {rebuilt.ms / 1000:,.0f} s of the "
        f"build function in {shards} shards of at most {functions['build']['Timeout']} s); "
        "AWS list prices, us-east-1, "
        "on-demand, no free tier but the invalidations':\n"
    )
    print_month(month, memory, site.stored_gb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
