"""What only the DynamoDB adapter has: the table it creates, explore by page,
numbering off the request, marker items, fan-out in batches, and retries of
lost transaction races.

Runs against DynamoDB Local (tests/dynamodb_local.py), never AWS.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from functions.domain import Conflict, NotFound, Post, TimelineJob, User, new_id, utcnow
from functions.sitegen.pages import POSTS_PER_PAGE
from functions.store import InvalidCursor
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


# ------------------------------------------------------------ explore (GSI3, by page)


@pytest.fixture
def small_pages(monkeypatch):
    """GSI3 partitions of 3 explore numbers, so a few posts span many pages."""
    monkeypatch.setattr(schema, "EXPLORE_SEQ_PAGE", 3)


def numbered(store, posts: list[Post]) -> list[Post]:
    """What the fan-out does with a batch of new posts."""
    return store.number_posts([p.id for p in posts])


def test_a_gsi3_partition_is_one_explore_archive_page():
    assert schema.EXPLORE_SEQ_PAGE == POSTS_PER_PAGE
    assert [schema.explore_page(n) for n in (0, 1, 25, 26, 50, 51)] == [0, 1, 1, 2, 2, 3]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_explore_walks_every_post_once_across_pages(store, small_pages, limit):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = numbered(store, [post_at(store, [ann, bob][n % 2], 0, f"p{n}") for n in range(10)])
    pages = {item[GSI3PK]["S"] for item in index_items(store, GSI3)}
    assert pages == {"XSEQ#1", "XSEQ#2", "XSEQ#3", "XSEQ#4"}  # 1-3, 4-6, 7-9, 10
    assert walk(store.explore, limit) == [p.id for p in reversed(posts)]


def test_explore_reads_the_pages_it_needs_and_passes_emptied_ones(store, small_pages, monkeypatch):
    ann = make_user(store, "ann")
    posts = numbered(store, [post_at(store, ann, 0, f"p{n}") for n in range(9)])
    for post in posts[3:6]:  # page 2, emptied
        store.delete_post(post.id)
    counter = QueryCounter(store, monkeypatch)
    page = store.explore(limit=2)
    assert [p.id for p in page.items] == [posts[8].id, posts[7].id]
    assert len(counter.calls) == 1  # the newest page had 3
    assert walk(store.explore, 2) == [p.id for p in reversed(posts) if p not in posts[3:6]]


def test_a_post_is_in_explore_once_numbered(store):
    ann = make_user(store, "ann")
    first = post_at(store, ann, 0, "first")
    assert first.explore_seq == 0 and store.explore().items == []
    assert store.explore_by_seq(1, 25) == []
    second = post_at(store, ann, 0, "second")
    numbered(store, [first, second])
    assert [p.id for p in store.explore().items] == [second.id, first.id]


def test_a_cursor_only_works_for_its_own_collection(store):
    ann = make_user(store, "ann")
    numbered(store, [post_at(store, ann, days_ago) for days_ago in (2, 1, 0)])
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


class Writes:
    """The keys of every item a client's write requests name (a botocore hook)."""

    OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")

    def __init__(self, store: DynamoStore):
        self.keys: list[tuple[str, str]] = []
        self.updates = 0
        for operation in self.OPERATIONS:
            store.client.meta.events.register(
                f"before-parameter-build.dynamodb.{operation}", self._seen
            )

    def _seen(self, params: dict, model, **_) -> None:
        if model.name == "UpdateItem":
            self.updates += 1
        for key in _keys_in(params):
            self.keys.append((key["PK"]["S"], key["SK"]["S"]))


def _keys_in(params: dict) -> list[dict]:
    """The item keys a write request names, whatever its operation."""
    if "Key" in params:
        return [params["Key"]]
    if "Item" in params:
        return [params["Item"]]
    if "TransactItems" in params:
        return [
            body.get("Key") or body["Item"]
            for op in params["TransactItems"]
            for body in op.values()
        ]
    return [
        request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
        for requests in params.get("RequestItems", {}).values()
        for request in requests
    ]


COUNTER = (schema.COUNTER_PK + schema.EXPLORE_SEQ_COUNTER, schema.COUNTER_SK)


def test_the_request_writes_no_item_that_every_post_goes_through(store):
    ann = make_user(store, "ann")
    writes = Writes(store)
    posts = [post_at(store, ann, 0, f"p{n}") for n in range(3)]
    assert {p.explore_seq for p in posts} == {0}
    assert COUNTER not in writes.keys
    assert not any(pk.startswith("EXPLORE") for pk, _ in writes.keys)  # no directory
    item = store.client.get_item(
        TableName=store.table_name, Key=schema.dump(schema.post_key(ann.id, posts[0].id))
    )["Item"]
    assert not {"explore_seq", "GSI1PK", "GSI3PK", "GSI3SK"} & set(item)
    assert store.explore_seq() == 0


def test_number_posts_numbers_densely_in_id_order_with_one_counter_write(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = [post_at(store, [ann, bob][n % 2], days_ago) for n, days_ago in enumerate([1, 3, 2])]
    by_id = sorted(posts, key=lambda p: p.id)
    writes = Writes(store)
    got = store.number_posts([p.id for p in posts])
    assert [p.id for p in got] == [p.id for p in by_id]
    assert [p.explore_seq for p in got] == [1, 2, 3]
    assert writes.keys.count(COUNTER) == 1
    assert store.explore_seq() == 3
    assert store.explore_by_seq(1, 3) == got[::-1]
    assert store.get_post(by_id[0].id).explore_seq == 1


def test_numbering_a_batch_again_numbers_nothing(store):
    ann = make_user(store, "ann")
    posts = [post_at(store, ann, 0, f"p{n}") for n in range(3)]
    first = numbered(store, posts)
    writes = Writes(store)
    assert numbered(store, posts) == first  # the posts as they are
    assert writes.updates == 0 and store.explore_seq() == 3
    later = numbered(store, [*posts, post_at(store, ann, 0, "later")])
    assert [p.explore_seq for p in later] == [1, 2, 3, 4]


def test_concurrent_numberings_get_disjoint_dense_ranges(store):
    ann = make_user(store, "ann")
    batches = [[post_at(store, ann, 0, f"{b}.{n}") for n in range(5)] for b in range(8)]
    barrier = threading.Barrier(len(batches))

    def number(batch: list[Post]) -> list[Post]:
        barrier.wait()
        return store.reopen().number_posts([p.id for p in batch])

    with ThreadPoolExecutor(len(batches)) as pool:
        results = list(pool.map(number, batches))
    for got in results:  # each batch: one range, in id order
        seqs = [p.explore_seq for p in got]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert sorted(p.explore_seq for got in results for p in got) == list(range(1, 41))
    assert store.explore_seq() == 40


def test_a_post_deleted_before_numbering_is_skipped(store, monkeypatch):
    ann = make_user(store, "ann")
    posts = [post_at(store, ann, 0, f"p{n}") for n in range(4)]
    store.delete_post(posts[0].id)  # before the read: no number for it
    read = store._get_posts(sorted(p.id for p in posts))
    store.delete_post(posts[2].id)  # after the read: its number is a hole
    monkeypatch.setattr(store, "_get_posts", lambda ids: read)
    got = store.number_posts([p.id for p in posts])
    assert [(p.id, p.explore_seq) for p in got] == [(posts[1].id, 1), (posts[3].id, 3)]
    assert store.explore_seq() == 3
    assert [p.id for p in store.explore().items] == [posts[3].id, posts[1].id]


def test_only_post_items_are_in_the_number_indexes(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.follow(bob.id, ann.id)  # an edge, and timeline copies that carry seq
    posts = numbered(store, [post_at(store, ann, 0, f"p{n}") for n in range(3)])
    for post in posts:
        run_job(store, TimelineJob(TimelineJob.DELIVER, post.id, ann.id), chunk=10)
    for index in (LSI1, GSI3):
        indexed = index_items(store, index)
        assert sorted(item["id"]["S"] for item in indexed) == sorted(p.id for p in posts)
    assert {p.seq for p in store.home_feed(bob.id).items} == {1, 2, 3}
    assert not [i for i in index_items(store, GSI1) if i["type"]["S"] == "post"]


def test_explore_range_across_pages(store, small_pages, monkeypatch):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    posts = numbered(store, [post_at(store, [ann, bob][n % 2], 0, f"p{n}") for n in range(8)])
    store.delete_post(posts[4].id)  # explore_seq 5: a hole inside page 2
    newest_first = [p.id for p in reversed(posts) if p != posts[4]]
    counter = QueryCounter(store, monkeypatch)
    got = [p.id for p in store.explore_by_seq(2, 7)]
    assert got == newest_first[1:6]
    assert len(counter.calls) == 3  # one Query per page touched
    assert [p.id for p in store.explore_by_seq(1, 8)] == newest_first
    assert [p.id for p in store.explore_by_seq(4, 6)] == [posts[5].id, posts[3].id]
    assert store.explore_by_seq(9, 20) == []
    assert store.explore_by_seq(5, 4) == []
    assert store.explore_by_seq(-5, 0) == []


def test_a_missing_author_takes_no_number(store):
    ann = make_user(store, "ann")
    post_at(store, ann, 0)
    ghost = User.new("ghost", "ghost@example.com", CHEAP_HASH)
    with pytest.raises(NotFound):
        post_at(store, ghost, 0)
    assert store.explore_seq() == 0
    assert post_at(store, ann, 0).seq == 2


def test_a_post_that_fails_after_numbering_leaves_a_gap(store):
    ann = make_user(store, "ann")
    first = post_at(store, ann, 0)
    with pytest.raises(Conflict):
        store.create_post(first.replace(seq=0))  # same id again
    second = post_at(store, ann, 0)
    assert (second.seq, second.explore_seq) == (3, 0)
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
    assert (post.seq, post.explore_seq) == (1, 0)
    refused.clear()
    assert [p.explore_seq for p in numbered(store, [post])] == [1]
    assert len(refused) == 2  # the counter's ADD


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
