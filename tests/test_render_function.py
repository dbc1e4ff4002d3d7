"""The render function, driven as Lambda drives it: real stream records of
DynamoDB Local in the event source mapping's event shape, pages written to
moto's S3 (a release's full build: tests/test_release.py). The fan-out
function's stream handler runs on the records first, as on AWS: it numbers
the new posts, whose MODIFY records the render function renders them from."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from functions import handlers, timelines
from functions.sitegen.s3 import CACHE_FRESH, CACHE_STABLE, FEED_CONTENT_TYPE
from tests.cloudfront import create_distribution
from tests.streams import StreamReader, lambda_event

BUCKET = "microblog-site"


@pytest.fixture
def table(dynamo_store):
    return dynamo_store


@pytest.fixture
def s3(table, monkeypatch):
    """The render function's environment on Lambda, its bucket in moto."""
    for name, value in {
        "AWS_LAMBDA_FUNCTION_NAME": "render",
        "STORE": "dynamodb",
        "TABLE_NAME": table.table_name,
        "AWS_ENDPOINT_URL_DYNAMODB": table.client.meta.endpoint_url,
        "SITE_BUCKET": BUCKET,
        "SITE_URL": "https://d111111abcdef8.cloudfront.net",
    }.items():
        monkeypatch.setenv(name, value)
    handlers._render_builder.cache_clear()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("DISTRIBUTION_ID", create_distribution(BUCKET))
        yield client
    handlers._render_builder.cache_clear()


@pytest.fixture
def app(dynamo_app):
    """The use cases on the same table (what the API function does)."""
    return dynamo_app


class AfterFanout(StreamReader):
    """The records of the writes, then those of the fan-out's work on them
    (the numbering of new posts, home feeds), as the render function gets
    them on AWS: the numbering's MODIFY records come after the INSERTs."""

    def __init__(self, table):
        super().__init__(table)
        self.fanout = timelines.Fanout(table)

    def new_records(self, settle: float = 0.3) -> list[dict]:
        records = super().new_records(settle)
        answer = timelines.handle_stream(lambda_event(records), self.fanout)
        assert answer == {"batchItemFailures": []}
        return records + super().new_records(settle)


@pytest.fixture
def stream(table):
    return AfterFanout(table)


def invalidated() -> list[list[str]]:
    """The paths of each invalidation made so far, oldest first."""
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    distribution = cloudfront.list_distributions()["DistributionList"]["Items"][0]["Id"]
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    found = []
    for item in reversed(listed.get("Items", [])):
        batch = cloudfront.get_invalidation(DistributionId=distribution, Id=item["Id"])
        found.append(batch["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    return found


def page(s3, key: str) -> tuple[str, dict]:
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    return obj["Body"].read().decode(), obj


def puts_counter() -> list:
    """Every PutObject the render function's publisher makes from now on."""
    puts: list = []
    client = handlers._render_builder().publisher._client("s3")
    client.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append(kw))
    return puts


def test_a_batch_puts_its_pages_in_the_bucket_with_their_types_and_lifetimes(s3, app, stream):
    ann = app.register("ann", "ann@example.com", "secret-password")
    post = app.create_post(ann, "Hello from the *stream*")
    answer = handlers.render(lambda_event(stream.new_records()), None)
    assert answer == {"batchItemFailures": []}
    html, obj = page(s3, f"p/{post.id}/index.html")
    assert "Hello from the <em>stream</em>" in html
    assert obj["ContentType"] == "text/html; charset=utf-8"
    assert obj["CacheControl"] == CACHE_STABLE  # a permalink changes only if deleted
    html, obj = page(s3, "u/ann/index.html")
    assert "Hello from the" in html and obj["CacheControl"] == CACHE_FRESH
    assert "Hello from the" in page(s3, "explore/index.html")[0]
    feed, obj = page(s3, "u/ann/feed.xml")
    assert obj["ContentType"] == FEED_CONTENT_TYPE
    assert "https://d111111abcdef8.cloudfront.net/p/" in feed  # absolute links from SITE_URL


def test_a_batch_delivered_again_writes_nothing(s3, app, stream):
    ann = app.register("ann", "ann@example.com", "secret-password")
    app.create_post(ann, "Once")
    event = lambda_event(stream.new_records())
    handlers.render(event, None)
    puts = puts_counter()
    assert handlers.render(event, None) == {"batchItemFailures": []}
    assert puts == []


def test_an_older_batch_rendered_late_leaves_the_newer_page(s3, app, stream):
    ann = app.register("ann", "ann@example.com", "secret-password")
    stream.new_records()  # the registration
    app.create_post(ann, "The first post")
    first = lambda_event(stream.new_records())
    app.create_post(ann, "The second post")
    second = lambda_event(stream.new_records())
    handlers.render(second, None)
    handlers.render(first, None)  # redelivered after the newer batch
    explore = page(s3, "explore/index.html")[0]
    assert "The first post" in explore and "The second post" in explore
    assert "The second post" in page(s3, "u/ann/index.html")[0]


def test_a_bad_record_is_reported_and_the_others_are_rendered(s3, app, stream):
    ann = app.register("ann", "ann@example.com", "secret-password")
    post = app.create_post(ann, "Still published")
    records = lambda_event(stream.new_records())["Records"]
    poison = {"eventID": "x", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "42"}}
    answer = handlers.render({"Records": [records[0], poison, *records[1:]]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "42"}]}
    assert "Still published" in page(s3, f"p/{post.id}/index.html")[0]


def test_a_failed_render_hands_the_whole_batch_back(s3, app, stream, monkeypatch):
    ann = app.register("ann", "ann@example.com", "secret-password")
    app.create_post(ann, "Retry me")
    event = lambda_event(stream.new_records())
    builder = handlers._render_builder()
    monkeypatch.setattr(builder, "apply", lambda *a, **k: (_ for _ in ()).throw(OSError("S3")))
    first = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert handlers.render(event, None) == {"batchItemFailures": [{"itemIdentifier": first}]}


def test_the_render_function_will_not_start_without_its_bucket(s3, monkeypatch):
    monkeypatch.delenv("SITE_BUCKET")
    handlers._render_builder.cache_clear()
    with pytest.raises(RuntimeError, match="SITE_BUCKET"):
        handlers.render({"Records": []}, None)


def test_posts_invalidate_nothing_and_a_delete_invalidates_once(s3, app, stream):
    ann = app.register("ann", "ann@example.com", "secret-password")
    posts = [app.create_post(ann, f"Post {n}") for n in range(27)]  # a second page starts
    handlers.render(lambda_event(stream.new_records()), None)
    assert invalidated() == []  # fresh pages expire by themselves; new ones were never cached
    archive = page(s3, "u/ann/page/1/index.html")[1]
    assert archive["CacheControl"] == CACHE_STABLE  # full, and a newer page exists

    app.delete_post(ann, posts[3].id)  # on the stable page 1
    handlers.render(lambda_event(stream.new_records()), None)
    (paths,) = invalidated()  # one invalidation for the batch
    assert f"/p/{posts[3].id}/*" in paths and "/u/ann/page/1/*" in paths
    assert "/u/ann/*" not in paths and "/explore/*" not in paths  # fresh: never invalidated


def test_a_last_seen_change_writes_no_file(s3, app, stream, table):
    ann = app.register("ann", "ann@example.com", "secret-password")
    handlers.render(lambda_event(stream.new_records()), None)
    table.update_user(ann.id, {"last_seen": ann.last_seen - timedelta(hours=1)})
    app.touch(table.get_user(ann.id))
    records = stream.new_records()
    assert len(records) == 2  # the two last_seen writes
    puts = puts_counter()
    assert handlers.render(lambda_event(records), None) == {"batchItemFailures": []}
    assert puts == [] and invalidated() == []
