"""Home feeds filled off the request path, on DynamoDB Local: a post costs the
same whatever the audience, and the steps that fill the feeds are bounded and
idempotent."""

from __future__ import annotations

import pytest

from functions.domain import Post, PostCreated, TimelineJob, new_id
from functions.store.dynamodb import FANOUT_CHUNK
from functions.store.dynamodb_schema import (
    GSI1PK,
    GSI1SK,
    GSI3PK,
    GSI3SK,
    LSI1SK,
    PK,
    SK,
    TIMELINE_PK,
    dump,
    post_item,
)
from functions.timelines import Fanout, dumps, handle_stream, jobs_for, loads
from tests.dynamodb_items import add_followers, bulk_write, make_user


@pytest.fixture
def store(dynamo_store):
    return dynamo_store


class Requests:
    """Counts the DynamoDB requests a client makes."""

    def __init__(self, store):
        self.count = 0
        store.client.meta.events.register("before-call.dynamodb", self._seen)

    def _seen(self, **kwargs):
        self.count += 1


def feeds_holding(store, post_id: str) -> int:
    """How many timeline entries of this post exist (a full scan: tests only)."""
    total, kwargs = 0, {}
    while True:
        page = store.client.scan(
            TableName=store.table_name,
            FilterExpression=f"{SK} = :post AND begins_with({PK}, :tl)",
            ExpressionAttributeValues=dump({":post": post_id, ":tl": TIMELINE_PK}),
            Select="COUNT",
            **kwargs,
        )
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.timeout(300)  # 20,000 items written on DynamoDB Local
def test_a_post_costs_the_same_requests_with_10000_followers_as_with_none(store):
    quiet, star = make_user(store, "quiet"), make_user(store, "star")
    fans = add_followers(store, star, 10_000)
    requests = Requests(store)
    store.create_post(Post.new(quiet.id, "nobody reads me", "<p>x</p>", "en"))
    alone = requests.count
    requests.count = 0
    post = store.create_post(Post.new(star.id, "everybody reads me", "<p>x</p>", "en"))
    assert requests.count == alone == 2  # the author's number and one transaction
    assert feeds_holding(store, post.id) == 1  # the author's own, in the request

    steps, job = 0, TimelineJob(TimelineJob.DELIVER, post.id, star.id)
    while job is not None:  # what the queue does: one message body, one step
        job = store.timeline_work(loads(dumps(job)))
        steps += 1
    assert feeds_holding(store, post.id) == 1 + len(fans)
    # Steps of FANOUT_CHUNK feeds (one more when the last one ends exactly full).
    assert steps <= len(fans) // FANOUT_CHUNK + 1
    assert [p.id for p in store.home_feed(fans[1234]).items] == [post.id]


def test_a_step_delivered_twice_leaves_each_feed_entry_once(store):
    star = make_user(store, "star")
    fans = add_followers(store, star, 30)
    post = store.create_post(Post.new(star.id, "hello", "<p>hello</p>", "en"))
    first = TimelineJob(TimelineJob.DELIVER, post.id, star.id)
    second = store.timeline_work(first, chunk=20)
    store.timeline_work(first, chunk=20)  # the same message, redelivered
    assert store.timeline_work(second, chunk=20) is None
    assert store.timeline_work(second, chunk=20) is None
    assert feeds_holding(store, post.id) == 1 + len(fans)
    assert all([p.id for p in store.home_feed(fan).items] == [post.id] for fan in fans)


def test_following_a_user_with_1000_posts_costs_a_few_requests(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = [
        Post(new_id(), bob.id, f"b{n}", f"<p>b{n}</p>", "en", bob.created, n + 1, n + 1)
        for n in range(1000)
    ]
    # Only what a follow reads (the author's partition), without index keys: fast to write.
    indexed = {GSI1PK, GSI1SK, GSI3PK, GSI3SK, LSI1SK}
    bulk_write(store, ({k: v for k, v in post_item(p).items() if k not in indexed} for p in posts))
    requests = Requests(store)
    assert store.follow(ann.id, bob.id)
    assert requests.count <= 4  # the edge's transaction, one query, two batch writes
    feed = store.home_feed(ann.id, limit=100).items
    assert [p.id for p in feed] == [p.id for p in reversed(posts)][:25]


def test_a_deleted_post_is_not_delivered(store):
    star = make_user(store, "star")
    add_followers(store, star, 3)
    post = store.create_post(Post.new(star.id, "oops", "<p>oops</p>", "en"))
    store.delete_post(post.id)
    Fanout(store).start([PostCreated.of(post)])  # the delivery comes late
    assert feeds_holding(store, post.id) == 0


def test_the_fanout_numbers_a_batch_of_new_posts_before_its_jobs(store):
    star = make_user(store, "star")
    fans = add_followers(store, star, 3)
    posts = [store.create_post(Post.new(star.id, f"p{n}", "<p>p</p>", "en")) for n in range(3)]
    fanout, requests = Fanout(store), Requests(store)
    events = fanout.number([PostCreated.of(p) for p in posts])
    assert requests.count == 6  # 2 batch reads, the counter's one ADD, 3 numbers
    assert [e.explore_seq for e in events] == [1, 2, 3]
    assert [e.post_id for e in events] == [p.id for p in posts]
    assert fanout.start([PostCreated.of(p) for p in posts]) == events  # again: the same
    delivered = store.home_feed(fans[0]).items
    assert [p.explore_seq for p in delivered] == [3, 2, 1]  # the copies carry the numbers


def test_a_batch_whose_numbering_fails_is_handed_back_whole(store, monkeypatch):
    star = make_user(store, "star")
    add_followers(store, star, 3)
    post = store.create_post(Post.new(star.id, "hello", "<p>hello</p>", "en"))
    images = {"SequenceNumber": "7", "NewImage": dump(post_item(post))}
    records = [{"eventID": "7", "eventName": "INSERT", "dynamodb": images}]

    def unavailable(post_ids):
        raise OSError("DynamoDB is unavailable")

    monkeypatch.setattr(store, "number_posts", unavailable)
    answer = handle_stream({"Records": records}, Fanout(store))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "7"}]}
    assert feeds_holding(store, post.id) == 1  # no job started: the retry does them


def test_the_jobs_of_changes():
    post = Post.new("A" * 26, "b", "<p>b</p>", "en")
    assert jobs_for([PostCreated.of(post)]) == [
        TimelineJob(TimelineJob.DELIVER, post.id, post.author_id)
    ]
    with pytest.raises(ValueError):
        loads('{"action": "explode", "subject": "x", "owner": "y", "cursor": null}')
