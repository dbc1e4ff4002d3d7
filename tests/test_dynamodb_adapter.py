"""What only the DynamoDB adapter has: the table it creates, explore buckets,
marker items, fan-out in batches, and retries of lost transaction races.

Runs against DynamoDB Local (tests/dynamodb_local.py), never AWS.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from functions.domain import Conflict, NotFound, Post, TimelineJob, User, new_id, utcnow
from functions.store import InvalidCursor
from functions.store import dynamodb as adapter
from functions.store import dynamodb_schema as schema
from functions.store.dynamodb import (
    EMAIL_PK,
    EMAIL_SK,
    FEED_BACKFILL,
    GSI1,
    GSI2,
    GSI3,
    GSI3PK,
    LSI1,
    TTL_ATTRIBUTE,
    USERNAME_PK,
    USERNAME_SK,
    DynamoStore,
    explore_bucket,
)

CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


@pytest.fixture
def store(dynamodb_endpoint):
    store = DynamoStore(f"adapter-{uuid.uuid4().hex[:12]}", endpoint_url=dynamodb_endpoint)
    store.create_table()
    yield store
    store.delete_table()


def make_user(store, username: str, email: str | None = None) -> User:
    user = User.new(username, email or f"{username}@example.com", CHEAP_HASH)
    store.create_user(user)
    return user


def post_at(store, author: User, days_ago: float, body: str = "hi") -> Post:
    at = utcnow() - timedelta(days=days_ago)
    post = Post(new_id(at), author.id, body, f"<p>{body}</p>", "en", at)
    return store.create_post(post)


def walk(fetch, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=limit)
        assert len(page.items) <= limit
        seen += [item.id for item in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


class QueryCounter:
    """Counts the Query calls a store makes (wraps its client's method)."""

    def __init__(self, store: DynamoStore, monkeypatch):
        self.calls: list[dict] = []
        real = store.client.query

        def query(**kwargs):
            self.calls.append(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(store.client, "query", query)


# ------------------------------------------------------------ the table


def test_create_table_is_idempotent_with_streams_ttl_and_indexes(store):
    store.create_table()  # a second time: no error, same table
    table = store.client.describe_table(TableName=store.table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {gsi["IndexName"]: gsi for gsi in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {GSI1, GSI2, GSI3}
    assert indexes[GSI2]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert indexes[GSI3]["Projection"]["ProjectionType"] == "ALL"
    [lsi] = table["LocalSecondaryIndexes"]
    assert (lsi["IndexName"], lsi["Projection"]["ProjectionType"]) == (LSI1, "ALL")
    ttl = store.client.describe_time_to_live(TableName=store.table_name)
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE


def test_delete_table_twice_is_harmless(dynamodb_endpoint):
    store = DynamoStore(f"adapter-{uuid.uuid4().hex[:12]}", endpoint_url=dynamodb_endpoint)
    store.create_table()
    store.delete_table()
    store.delete_table()
    with pytest.raises(ClientError):
        store.client.describe_table(TableName=store.table_name)


# ------------------------------------------------------------ explore buckets


def test_posts_fall_in_the_utc_day_of_their_id():
    post_id = new_id(utcnow().replace(year=2024, month=2, day=29, hour=23, minute=59))
    assert explore_bucket(post_id) == "2024-02-29"


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_explore_walks_every_post_once_across_days(store, limit):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    days = [40, 12, 12, 3, 1.5, 1, 0.001, 0.0005, 0]
    posts = [
        post_at(store, [ann, bob][n % 2], days_ago, f"p{n}") for n, days_ago in enumerate(days)
    ]
    assert len({explore_bucket(p.id) for p in posts}) >= 5
    newest_first = [p.id for p in sorted(posts, key=lambda p: p.id, reverse=True)]
    assert walk(store.explore, limit) == newest_first


def test_explore_skips_empty_days_without_querying_them(store, monkeypatch):
    ann = make_user(store, "ann")
    old = post_at(store, ann, 30)
    new = post_at(store, ann, 0)
    counter = QueryCounter(store, monkeypatch)
    page = store.explore(limit=2)
    assert [p.id for p in page.items] == [new.id, old.id] and page.next_cursor is None
    on_index = [c for c in counter.calls if c.get("IndexName") == GSI1]
    assert len(on_index) == 2  # today and 30 days ago, none of the 29 days between
    assert len(counter.calls) <= 3  # plus one read of the bucket directory


def test_explore_pages_past_a_day_emptied_by_deletes(store):
    ann = make_user(store, "ann")
    oldest = post_at(store, ann, 5)
    gone = post_at(store, ann, 3)
    newest = post_at(store, ann, 0)
    store.delete_post(gone.id)
    assert walk(store.explore, 1) == [newest.id, oldest.id]


def test_a_cursor_only_works_for_its_own_collection(store):
    ann = make_user(store, "ann")
    for days_ago in (2, 1, 0):
        post_at(store, ann, days_ago)
    explore_cursor = store.explore(limit=1).next_cursor
    feed_cursor = store.home_feed(ann.id, limit=1).next_cursor
    assert explore_cursor and feed_cursor
    with pytest.raises(InvalidCursor):
        store.home_feed(ann.id, cursor=explore_cursor)
    with pytest.raises(InvalidCursor):
        store.explore(cursor=feed_cursor)
    with pytest.raises(InvalidCursor):
        store.list_users(cursor=feed_cursor)


# ------------------------------------------------------------ numbering


def index_items(store, index: str) -> list[dict]:
    scan = store.client.scan(TableName=store.table_name, IndexName=index)
    return scan["Items"]


def test_only_post_items_are_in_the_number_indexes(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.follow(bob.id, ann.id)  # an edge, and timeline copies that carry seq
    posts = [post_at(store, ann, 0, f"p{n}") for n in range(3)]
    for post in posts:
        run_job(store, TimelineJob(TimelineJob.DELIVER, post.id, ann.id), chunk=10)
    for index in (LSI1, GSI3):
        indexed = index_items(store, index)
        assert sorted(item["id"]["S"] for item in indexed) == sorted(p.id for p in posts)
    assert {p.seq for p in store.home_feed(bob.id).items} == {1, 2, 3}


def test_explore_range_across_blocks(store, monkeypatch):
    monkeypatch.setattr(adapter, "EXPLORE_SEQ_BLOCK", 3)  # the queries
    monkeypatch.setattr(schema, "EXPLORE_SEQ_BLOCK", 3)  # the items
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = [post_at(store, [ann, bob][n % 2], 0, f"p{n}") for n in range(8)]
    blocks = {item[GSI3PK]["S"] for item in index_items(store, GSI3)}
    assert blocks == {"XSEQ#0", "XSEQ#1", "XSEQ#2"}  # 1-2, 3-5, 6-8
    store.delete_post(posts[3].id)  # explore_seq 4: a hole inside block 1
    newest_first = [p.id for p in reversed(posts)]
    counter = QueryCounter(store, monkeypatch)
    got = [p.id for p in store.explore_by_seq(2, 7)]
    assert got == [i for i in newest_first if i != posts[3].id][1:6]
    assert len(counter.calls) == 3  # one Query per block touched
    assert [p.id for p in store.explore_by_seq(1, 8)] == [
        i for i in newest_first if i != posts[3].id
    ]
    assert [p.id for p in store.explore_by_seq(3, 5)] == [posts[4].id, posts[2].id]
    assert store.explore_by_seq(9, 20) == []
    assert store.explore_by_seq(5, 4) == []
    assert store.explore_by_seq(-5, 0) == []


def test_a_missing_author_spends_no_explore_number(store):
    ann = make_user(store, "ann")
    post_at(store, ann, 0)
    ghost = User.new("ghost", "ghost@example.com", CHEAP_HASH)
    with pytest.raises(NotFound):
        post_at(store, ghost, 0)
    assert store.explore_seq() == 1
    assert post_at(store, ann, 0).explore_seq == 2


def test_a_post_that_fails_after_numbering_leaves_a_gap(store):
    ann = make_user(store, "ann")
    first = post_at(store, ann, 0)
    with pytest.raises(Conflict):
        store.create_post(first.replace(seq=0, explore_seq=0))  # same id again
    second = post_at(store, ann, 0)
    assert (second.seq, second.explore_seq) == (3, 3)
    assert store.get_user(ann.id).post_count == 2
    assert [p.id for p in store.posts_by_seq(ann.id, 1, 3)] == [second.id, first.id]


def test_taking_a_number_is_retried_while_a_transaction_holds_the_item(store, monkeypatch):
    ann = make_user(store, "ann")
    real = store.client.update_item
    refused = []

    def busy(**kwargs):
        if len(refused) < 2:
            refused.append(1)
            raise store.client.exceptions.TransactionConflictException(
                {"Error": {"Code": "TransactionConflictException", "Message": "busy"}},
                "UpdateItem",
            )
        return real(**kwargs)

    monkeypatch.setattr(store.client, "update_item", busy)
    post = post_at(store, ann, 0)
    assert len(refused) == 2
    assert (post.seq, post.explore_seq) == (1, 1)


# ------------------------------------------------------------ uniqueness markers


def marker(store, pk: str, sk: str) -> dict | None:
    key = {"PK": {"S": pk}, "SK": {"S": sk}}
    return store.client.get_item(TableName=store.table_name, Key=key).get("Item")


def test_when_both_are_taken_the_username_is_reported(store):
    make_user(store, "alice", "alice@example.com")
    with pytest.raises(Conflict) as err:
        make_user(store, "Alice", "ALICE@example.com")
    assert err.value.field == "username"
    assert err.value.message == "Please use a different username."


def test_email_conflict_wording_and_nothing_half_written(store):
    make_user(store, "alice", "alice@example.com")
    with pytest.raises(Conflict) as err:
        make_user(store, "bob", "Alice@Example.com")
    assert (err.value.field, err.value.message) == (
        "email",
        "Please use a different email address.",
    )
    assert marker(store, USERNAME_PK + "bob", USERNAME_SK) is None


def test_a_refused_rename_keeps_the_old_markers(store):
    make_user(store, "taken", "taken@example.com")
    user = make_user(store, "mine", "mine@example.com")
    with pytest.raises(Conflict) as err:
        store.update_user(user.id, {"username": "brand_new", "email": "TAKEN@example.com"})
    assert err.value.field == "email"
    assert marker(store, USERNAME_PK + "mine", USERNAME_SK)["user_id"]["S"] == user.id
    assert marker(store, EMAIL_PK + "mine@example.com", EMAIL_SK)["user_id"]["S"] == user.id
    assert marker(store, USERNAME_PK + "brand_new", USERNAME_SK) is None
    assert store.get_user_by_username("brand_new") is None


def test_update_user_returns_the_counters_it_keeps(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.follow(bob.id, ann.id)
    updated = store.update_user(ann.id, {"about_me": "hello"})
    assert (updated.follower_count, updated.post_count, updated.about_me) == (1, 0, "hello")


# ------------------------------------------------------------ transactions and fan-out


def test_a_transaction_that_loses_a_race_is_retried(store, monkeypatch):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    real = store.client.transact_write_items
    lost = []

    def flaky(**kwargs):
        if len(lost) < 2:
            lost.append(1)
            reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * 2
            raise store.client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(store.client, "transact_write_items", flaky)
    assert store.follow(ann.id, bob.id) is True
    assert len(lost) == 2
    assert store.counts(bob.id).followers == 1


def test_fan_out_reaches_more_followers_than_one_step(store):
    star = make_user(store, "star")
    fans = [make_user(store, f"fan{n:02}") for n in range(30)]
    for fan in fans:
        store.follow(fan.id, star.id)
    post = post_at(store, star, 0)
    assert store.home_feed(star.id).items == [post]  # one's own feed: in the request
    steps = run_job(store, TimelineJob(TimelineJob.DELIVER, post.id, star.id), chunk=7)
    assert steps == 5  # 30 feeds, 7 a step
    assert all([p.id for p in store.home_feed(f.id).items] == [post.id] for f in fans)
    store.delete_post(post.id)
    assert store.home_feed(star.id).items == []
    run_job(store, TimelineJob(TimelineJob.RETRACT, post.id, star.id), chunk=7)
    assert all(store.home_feed(f.id).items == [] for f in fans)


def test_a_follow_back_fills_one_feed_page_and_an_unfollow_withdraws_all(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = [post_at(store, bob, 0, f"b{n}") for n in range(30)]
    store.follow(ann.id, bob.id)
    newest = [p.id for p in reversed(posts)][:FEED_BACKFILL]
    assert walk(lambda **kw: store.home_feed(ann.id, **kw), 7) == newest
    store.unfollow(ann.id, bob.id)
    run_job(store, TimelineJob(TimelineJob.WITHDRAW, bob.id, ann.id), chunk=4)
    assert store.home_feed(ann.id).items == []


def run_job(store, job, chunk: int) -> int:
    """Every step of `job`; how many there were."""
    steps = 0
    while job is not None:
        job = store.timeline_work(job, chunk=chunk)
        steps += 1
    return steps


def test_following_oneself_counts_once_and_keeps_own_posts(store):
    ann = make_user(store, "ann")
    own = post_at(store, ann, 0)
    assert store.follow(ann.id, ann.id) is True
    assert store.get_user(ann.id).follower_count == 1
    assert store.get_user(ann.id).followed_count == 1
    assert store.unfollow(ann.id, ann.id) is True
    assert [p.id for p in store.home_feed(ann.id).items] == [own.id]
    assert store.counts(ann.id).followers == 0
