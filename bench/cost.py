#!/usr/bin/env python3
"""What each action costs on DynamoDB: counted, not estimated.

    .venv/bin/python bench/cost.py

Runs the use cases on the DynamoDB adapter against DynamoDB Local (AWS's own
emulator, started here) and meters the real boto3 calls: every call asks for
`ReturnConsumedCapacity`, and the requests and the read and write units
DynamoDB reports are summed per action. The request path (what the API
function does before it answers) and the work off it (the fan-out steps that
fill followers' feeds) are counted apart, so the request path's flatness in
the audience shows: a post by someone with 0, 1,000 or 10,000 followers.
Then the units become dollars for a stated month, at on-demand prices.

Needs Java and DynamoDB Local's npm package (`infra/test` installs both).
Not counted yet: Lambda time, S3 requests and CloudFront (see docs/scale.md).
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions import auth
from functions.domain import Post, TimelineJob, new_id
from functions.services import Microblog
from functions.store.dynamodb import DynamoStore
from functions.store.dynamodb_schema import post_item
from tests.dynamodb_items import add_followers, bulk_write, make_user
from tests.dynamodb_local import dummy_aws_env, running

# On-demand prices, us-east-1 (AWS price list, since November 2024).
PRICE_PER_MILLION_WRITES = 0.625  # write request units
PRICE_PER_MILLION_READS = 0.125  # read request units

# The month priced (30 days): 10,000 daily users, 1,000 posts a day.
MONTH = {
    "log in": 10_000 * 30,  # each daily user once a day
    "home feed page": 10_000 * 30 * 5,  # five pages a day
    "explore page": 10_000 * 30,
    "post, 100 followers: request": 1_000 * 30,
    "post, 100 followers: fan-out": 1_000 * 30,
    "follow (user with 1,000 posts)": 300 * 30,
}


@dataclass
class Count:
    requests: int = 0
    reads: float = 0.0
    writes: float = 0.0


@dataclass
class Meter:
    """Sums what DynamoDB reports for each call made through `client`."""

    client: object
    count: Count = field(default_factory=Count)

    def __post_init__(self):
        events = self.client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask)
        events.register("after-call.dynamodb.*", self._add)

    @staticmethod
    def _ask(params, model, **_):
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _add(self, parsed, model, **_):
        self.count.requests += 1
        consumed = parsed.get("ConsumedCapacity") or []
        for item in consumed if isinstance(consumed, list) else [consumed]:
            units = item.get("CapacityUnits", 0.0)
            writes = item.get("WriteCapacityUnits")
            reads = item.get("ReadCapacityUnits")
            if writes is None and reads is None:  # only a total: by the operation
                is_write = model.name.startswith(("Put", "Update", "Delete", "Batch", "Trans"))
                is_write = is_write and model.name not in ("BatchGetItem", "TransactGetItems")
                writes, reads = (units, 0.0) if is_write else (0.0, units)
            self.count.writes += writes or 0.0
            self.count.reads += reads or 0.0

    def measure(self, action) -> Count:
        """What `action` costs (calls made outside a measure count nowhere)."""
        self.count = Count()
        action()
        counted, self.count = self.count, Count()
        return counted


def run_job(store, job) -> None:
    while job is not None:
        job = store.timeline_work(job)


def main() -> int:
    os.environ.update(dummy_aws_env())
    rows: dict[str, Count] = {}
    with running() as endpoint:
        store = DynamoStore(f"cost-{uuid.uuid4().hex[:8]}", endpoint_url=endpoint)
        store.create_table()
        meter = Meter(store.client)
        app = Microblog(store, auth.Tokens("k" * 48))
        reader = make_user(store, "reader")
        for followers in (0, 100, 1_000, 10_000):
            author = make_user(store, f"author{followers}")
            add_followers(store, author, followers)
            store.create_post(Post.new(author.id, "warm", "<p>warm</p>", "en"))  # the day's bucket
            post = Post.new(author.id, "counted", "<p>counted</p>", "en")
            rows[f"post, {followers:,} followers: request"] = meter.measure(
                lambda post=post: store.create_post(post)
            )
            job = TimelineJob(TimelineJob.DELIVER, post.id, author.id)
            rows[f"post, {followers:,} followers: fan-out"] = meter.measure(
                lambda job=job: run_job(store, job)
            )
        prolific = make_user(store, "prolific")
        at = prolific.created
        posts = (
            Post(new_id(), prolific.id, "b", "<p>b</p>", "en", at, n, n) for n in range(1, 1001)
        )
        bulk_write(store, map(post_item, posts))
        rows["follow (user with 1,000 posts)"] = meter.measure(
            lambda: store.follow(reader.id, prolific.id)
        )
        rows["unfollow: request"] = meter.measure(lambda: store.unfollow(reader.id, prolific.id))
        rows["unfollow: withdraw steps"] = meter.measure(
            lambda: run_job(store, TimelineJob(TimelineJob.WITHDRAW, prolific.id, reader.id))
        )
        store.follow(reader.id, prolific.id)
        rows["home feed page"] = meter.measure(lambda: store.home_feed(reader.id))
        rows["explore page"] = meter.measure(lambda: store.explore())
        auth_hash = auth.hash_password("secret-password")
        store.update_user(reader.id, {"password_hash": auth_hash})
        rows["log in"] = meter.measure(
            lambda: app.log_in("reader", "secret-password", "203.0.113.9")
        )
        store.delete_table()

    print("DynamoDB per action (DynamoDB Local, ReturnConsumedCapacity):\n")
    print("| action | requests | read units | write units |")
    print("| --- | ---: | ---: | ---: |")
    for name, c in rows.items():
        print(f"| {name} | {c.requests} | {c.reads:g} | {c.writes:g} |")
    print(
        "\nA month of 10,000 daily users (a login, 5 feed pages and an explore page a day), "
        "1,000 posts a day to 100 followers each, 300 follows a day; on-demand us-east-1 "
        f"(${PRICE_PER_MILLION_READS}/million reads, ${PRICE_PER_MILLION_WRITES}/million writes):\n"
    )
    print("| action | a month | read units | write units | dollars |")
    print("| --- | ---: | ---: | ---: | ---: |")
    total = 0.0
    for name, times in MONTH.items():
        c = rows[name]
        reads, writes = c.reads * times, c.writes * times
        dollars = reads / 1e6 * PRICE_PER_MILLION_READS + writes / 1e6 * PRICE_PER_MILLION_WRITES
        total += dollars
        print(f"| {name} | {times:,} | {reads:,.0f} | {writes:,.0f} | {dollars:.2f} |")
    print(f"| **DynamoDB, all** | | | | **{total:.2f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
