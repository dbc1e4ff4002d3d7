"""The fan-out function, driven as Lambda drives it: real stream records of
DynamoDB Local start a job, its next steps travel through moto's SQS, and
every follower's feed ends up holding the post."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from functions import handlers
from functions.domain import Post, TimelineJob, new_id
from functions.store.dynamodb_schema import COUNTER_PK, EXPLORE_SEQ_COUNTER
from functions.timelines import dumps
from tests.dynamodb_items import add_followers, make_user
from tests.streams import StreamReader, lambda_event, sqs_event

COUNTER = COUNTER_PK + EXPLORE_SEQ_COUNTER


@pytest.fixture
def table(dynamo_store):
    return dynamo_store


@pytest.fixture
def queue(table, monkeypatch):
    """The fan-out function's environment on Lambda; its queue in moto."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="fanout")["QueueUrl"]
        for name, value in {
            "AWS_LAMBDA_FUNCTION_NAME": "fanout",
            "TABLE_NAME": table.table_name,
            "AWS_ENDPOINT_URL_DYNAMODB": table.client.meta.endpoint_url,
            "FANOUT_QUEUE_URL": url,
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        handlers._fanout.cache_clear()
        yield sqs, url
        handlers._fanout.cache_clear()


def drain(sqs, url: str) -> int:
    """Run the function on every message until the queue is empty; the steps run."""
    steps = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        assert handlers.fanout(sqs_event(messages), None) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        steps += len(messages)
    return steps


def test_a_post_reaches_every_follower_through_the_stream_and_the_queue(table, queue):
    sqs, url = queue
    star = make_user(table, "star")
    handlers._fanout().store.fanout_chunk = 10  # the steps of a big audience, kept small
    fans = add_followers(table, star, 25)
    reader = StreamReader(table)
    reader.new_records()
    post = table.create_post(Post.new(star.id, "to all of you", "<p>to all of you</p>", "en"))

    answer = handlers.fanout(lambda_event(reader.new_records()), None)
    assert answer == {"batchItemFailures": []}
    assert drain(sqs, url) == 2  # the rest: 10 feeds a message
    numbered = post.replace(explore_seq=1)  # the function numbered it first
    assert table.get_post(post.id) == numbered
    for fan in fans:
        assert table.home_feed(fan).items == [numbered]


def test_a_batch_of_posts_is_numbered_with_one_counter_write_and_once(table, queue):
    star = make_user(table, "star")
    reader = StreamReader(table)
    reader.new_records()
    posts = [table.create_post(Post.new(star.id, f"p{n}", "<p>p</p>", "en")) for n in range(3)]
    event = lambda_event(reader.new_records())
    assert handlers.fanout(event, None) == {"batchItemFailures": []}
    assert [table.get_post(p.id).explore_seq for p in posts] == [1, 2, 3]
    counter = [r for r in reader.new_records() if r["dynamodb"]["Keys"]["PK"]["S"] == COUNTER]
    assert len(counter) == 1  # one ADD for the batch
    assert handlers.fanout(event, None) == {"batchItemFailures": []}  # delivered again
    assert reader.new_records() == [] and table.explore_seq() == 3


def test_a_bad_message_is_handed_back_and_the_others_done(table, queue):
    sqs, url = queue
    good = sqs.send_message(
        QueueUrl=url,
        MessageBody=dumps(TimelineJob(TimelineJob.WITHDRAW, new_id(), new_id())),
    )
    bad = sqs.send_message(QueueUrl=url, MessageBody="not json")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert {m["MessageId"] for m in messages} == {good["MessageId"], bad["MessageId"]}
    answer = handlers.fanout(sqs_event(messages), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}


def test_the_fanout_function_will_not_start_without_its_queue(table, queue, monkeypatch):
    monkeypatch.delenv("FANOUT_QUEUE_URL")
    handlers._fanout.cache_clear()
    with pytest.raises(RuntimeError, match="FANOUT_QUEUE_URL"):
        handlers.fanout({"Records": []}, None)
