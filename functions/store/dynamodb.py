"""The AWS store: one DynamoDB table (single-table design), boto3's low-level client.

The table's key schema, indexes and item layout are in `dynamodb_schema.py`.

Why it is shaped like this:

- Ids are ULIDs, so "newest first" is "sort key descending" everywhere; edges get
  their own ULID so followers/followed list by when the edge was made.
- Uniqueness: the user and its two markers are written in one TransactWriteItems
  with `attribute_not_exists`; the index of the failed condition tells which
  field is taken. A rename deletes the old marker and puts the new one in the
  same transaction as the user update.
- Counters (`post_count`, `follower_count`, `followed_count`) live on the user
  item and change in the same transaction as the post or edge, so they always
  equal what exists. One edge item serves both directions: GSI1 lists whom a
  user follows, GSI2 who follows a user.
- `get_post` by id alone reads a tiny pointer item (written in the post's
  transaction, so it is strongly consistent, unlike a GSI) then the post.
- GSI2 is keys-only: user items change often (counters, last_seen) and a
  keys-only index is not rewritten by those changes; pages of users are
  resolved with one BatchGetItem. Its `USERS` partition is only written when
  someone registers.
- Explore: GSI3, read page by page (`XSEQ#<page>`, 25 explore numbers each)
  downward from the counter's page; a page emptied by deletes costs one empty
  Query. A post is in explore once it is numbered.
- Home feed: fan-out on write, off the request. A page of a feed is ONE Query
  of `TL#<id>` (posts are never edited, so the copies never go stale). The
  request does only what is bounded: `create_post` puts the author's own copy
  in the post's transaction, `follow` copies the followed user's newest
  FEED_BACKFILL posts (one feed page), `delete_post` removes the author's copy.
  The rest, whose size is the audience's (every follower's copy of a new or
  deleted post, an unfollowed user's posts in one feed), is `timeline_work`:
  steps of at most FANOUT_CHUNK feeds, run from the table's stream and an SQS
  queue on AWS (`functions.timelines`), in-process locally. So a post costs
  the same few requests with 0 or 100,000 followers.
- Cursors are url-safe base64 JSON of the last item's sort key (explore: its
  explore_seq), tagged with the collection; anything else raises
  InvalidCursor. Pages are read with limit+1 so an exactly-full last page has
  no next cursor.
- Numbering (archive pages): a transaction cannot return values, so
  `create_post` first takes the author's number with an UpdateItem that ADDs 1
  to `post_seq` on the user item and returns UPDATED_NEW (conditioned on the
  item existing: a missing author is NotFound before any number is spent).
  Then the usual transaction writes the post, its pointer and `post_count`.
  The explore number is not taken in the request: every post would go
  through the one counter item (one partition: ~1,000 posts/s for the whole
  site). `number_posts`, run by the fan-out function on each stream batch,
  numbers the batch's new posts with one `ADD k` on the counter (an atomic
  add: concurrent batches get disjoint ranges) and one conditional update per
  post (`attribute_not_exists(explore_seq)`: a batch delivered again numbers
  nothing twice). The counter takes one write per batch, not per post.
  Numbers are never reused: a failure after taking them (a lost transaction,
  a duplicate post id, a post deleted before its number was set, a crash)
  leaves a gap, which archive pages allow (the page holds one post fewer).
  Deletes leave both counters alone.
- `posts_by_seq`: LSI1 (same PK, sort key LSI1SK = seq): one strongly
  consistent Query on the author's partition. The index keys are attributes of
  their own, not `seq`/`explore_seq`, so the indexes stay sparse: only post
  items have them (timeline copies carry `seq`, and must not be indexed). An
  LSI must be made with the table and caps one PK's items (profile, posts and
  their LSI copies, the user's edges) at 10 GB: millions of posts per user,
  which is plenty here; past it, a GSI on the same keys (eventually consistent).
- `explore_by_seq`: GSI3 partitions numbered posts by explore page
  (`XSEQ#<page>`, EXPLORE_SEQ_PAGE numbers), sorted by explore_seq; a page is
  written by its own 25 posts and afterwards only by deletes, so no partition
  grows or stays hot, and a range of up to MAX_LIMIT numbers touches at most 5
  pages (5 Queries; an archive page, 1). Being a GSI it is eventually
  consistent: a post numbered a moment ago may be missing. EXPLORE_SEQ_PAGE is
  fixed once posts exist (changing it means rewriting every post's GSI3PK).
  `explore_seq()` is a strongly consistent GetItem of the counter (0 when
  missing).
- Transactions that lose a race (TransactionConflict) are retried with jittered
  backoff; a failed condition is an answer, not an error. So are the number
  UpdateItems (a plain write to an item a transaction holds is refused, and
  botocore does not retry that).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import math
import os
import random
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from ..domain import (
    REUSED_KEY,
    TASK_STALE,
    UNREAD_MESSAGE_COUNT,
    Conflict,
    Counts,
    FormerName,
    Idempotency,
    Message,
    NotFound,
    Notification,
    Post,
    StaleUser,
    Task,
    Throttle,
    TimelineJob,
    User,
    ValidationError,
    email_key,
    format_time,
    new_id,
    parse_time,
    username_key,
    utcnow,
)
from ..i18n import N_
from . import DEFAULT_LIMIT, InvalidCursor, Page, check_changes, clamp_limit
from .dynamodb_schema import (
    EMAIL_PK,
    EMAIL_SK,
    EXPLORE_SEQ_COUNTER,
    EXPLORE_SEQ_PK,
    FOLLOWERS_PK,
    FOLLOWING_PK,
    FOLLOWS_SK,
    FORMER_NAMES_PK,
    GSI1,
    GSI1PK,
    GSI1SK,
    GSI2,
    GSI2PK,
    GSI2SK,
    GSI3,
    GSI3PK,
    GSI3SK,
    INBOX_PK,
    LSI1,
    LSI1SK,
    NOTIFICATION_PK,
    PK,
    POST_REF_PK,
    POST_REF_SK,
    POST_SK,
    SK,
    TABLE_SCHEMA,
    THROTTLE_PK,
    THROTTLE_SK,
    TIME_TO_LIVE,
    TIMELINE_PK,
    TTL_ATTRIBUTE,
    TYPE,
    USER_PK,
    USERNAME_PK,
    USERNAME_SK,
    USERS_PK,
    VALUE,
    ItemType,
    counter_key,
    dump,
    edge_item,
    edge_key,
    email_marker,
    explore_keys,
    explore_page,
    former_name_item,
    idempotency_item,
    idempotency_key,
    load,
    message_from_item,
    message_item,
    notification_from_item,
    notification_key,
    post_from_item,
    post_item,
    post_key,
    post_ref_item,
    task_from_item,
    task_item,
    task_key,
    timeline_item,
    timeline_key,
    to_dynamo,
    user_from_item,
    user_item,
    user_key,
    username_marker,
)

ITEM_IS_NEW = f"attribute_not_exists({PK})"
ITEM_EXISTS = f"attribute_exists({PK})"

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
SEQ_RE = re.compile(r"^[1-9][0-9]{0,17}$")
BATCH_WRITE_MAX = 25
FANOUT_CHUNK = 500  # feeds (or posts) per timeline step: ~20 BatchWriteItem calls
FEED_BACKFILL = 25  # a follow copies the followed user's newest posts: one feed page
BATCH_GET_MAX = 100
MAX_ATTEMPTS = 10
CONDITION_FAILED = "ConditionalCheckFailed"
RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))


def _encode_cursor(kind: str, **fields: str) -> str:
    raw = json.dumps({"c": kind, **fields}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str, **patterns: re.Pattern) -> dict[str, str]:
    """The fields of a cursor we handed out for `kind`, each checked against its pattern."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise InvalidCursor("Invalid cursor.") from None
    if not isinstance(data, dict) or data.get("c") != kind or set(data) != {"c", *patterns}:
        raise InvalidCursor("Invalid cursor.")
    for name, pattern in patterns.items():
        if not isinstance(data[name], str) or not pattern.match(data[name]):
            raise InvalidCursor("Invalid cursor.")
    return data


class DynamoStore:
    def __init__(self, table_name: str = "microblog", client=None, endpoint_url: str | None = None):
        self.table_name = table_name
        if client is None:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            client = boto3.client(
                "dynamodb",
                endpoint_url=endpoint_url,
                region_name=region or ("us-east-1" if endpoint_url else None),
                config=Config(
                    max_pool_connections=50, retries={"mode": "standard", "max_attempts": 5}
                ),
            )
        self.client = client
        self.fanout_chunk = FANOUT_CHUNK  # feeds (or posts) per `timeline_work` step

    # ------------------------------------------------------------ table

    def create_table(self) -> None:
        """Create the table (if missing), wait until active, then turn TTL on."""
        with contextlib.suppress(self.client.exceptions.ResourceInUseException):
            self.client.create_table(TableName=self.table_name, **TABLE_SCHEMA)
        self.client.get_waiter("table_exists").wait(
            TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        ttl = self.client.describe_time_to_live(TableName=self.table_name)
        if ttl["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            self.client.update_time_to_live(
                TableName=self.table_name, TimeToLiveSpecification=TIME_TO_LIVE
            )

    def delete_table(self) -> None:
        try:
            self.client.delete_table(TableName=self.table_name)
        except self.client.exceptions.ResourceNotFoundException:
            return
        self.client.get_waiter("table_not_exists").wait(
            TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )

    reopenable = True

    def reopen(self) -> DynamoStore:
        meta = self.client.meta
        client = boto3.client(
            "dynamodb",
            endpoint_url=meta.endpoint_url,
            region_name=meta.region_name,
            config=meta.config,
        )
        store = DynamoStore(self.table_name, client=client)
        store.fanout_chunk = self.fanout_chunk
        return store

    def close(self) -> None:
        pass

    # ------------------------------------------------------------ plumbing

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=dump(key), ConsistentRead=True
        )
        return load(response["Item"]) if "Item" in response else None

    def _transact(self, operations: list[dict[str, Any]]) -> list[str] | None:
        """Run one TransactWriteItems; None when it committed, else the cancellation
        code of each operation (some condition failed). Lost races are retried."""
        for operation in operations:
            next(iter(operation.values()))["TableName"] = self.table_name
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=operations)
                return None
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons", [])
                codes = [reason.get("Code", "None") for reason in reasons]
                if CONDITION_FAILED in codes:
                    return codes
                if attempt == MAX_ATTEMPTS - 1 or not RETRYABLE.intersection(codes):
                    raise
            _backoff(attempt)
        raise AssertionError("unreachable")

    def _batch_get(
        self, keys: list[dict[str, str]], consistent: bool = True
    ) -> list[dict[str, Any]]:
        """The existing items of `keys` (unique), in any order: BatchGetItem in
        chunks of 100, retrying unprocessed keys."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_MAX):
            chunk = [dump(key) for key in keys[start : start + BATCH_GET_MAX]]
            pending: dict[str, Any] = {
                self.table_name: {"Keys": chunk, "ConsistentRead": consistent}
            }
            for attempt in range(MAX_ATTEMPTS):
                response = self.client.batch_get_item(RequestItems=pending)
                items += map(load, response["Responses"].get(self.table_name, []))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise RuntimeError("DynamoDB left reads unprocessed; try again later.")
        return items

    def _put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"Item": dump(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def _counters(self, deltas: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
        """ADD the deltas to each user's counters; the user must exist."""
        updates = []
        for user_id, changes in deltas.items():
            names = {f"#c{i}": name for i, name in enumerate(changes)}
            values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(changes.values())}
            adds = ", ".join(f"#c{i} :c{i}" for i in range(len(changes)))
            updates.append(
                {
                    "Update": {
                        "Key": dump(user_key(user_id)),
                        "UpdateExpression": f"ADD {adds}",
                        "ConditionExpression": ITEM_EXISTS,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return updates

    def _query(self, want: int, **kwargs: Any) -> list[dict[str, Any]]:
        """Up to `want` items of a Query, newest first (follows 1 MB pages)."""
        kwargs = {"TableName": self.table_name, "ScanIndexForward": False, **kwargs}
        items: list[dict[str, Any]] = []
        while len(items) < want:
            response = self.client.query(Limit=want - len(items), **kwargs)
            items.extend(load(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items

    def _newest(
        self,
        keys: tuple[str, str],
        partition: str,
        kind: str,
        cursor: str | None,
        limit: int,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Up to `limit` + 1 items of `partition` (`keys`: its key and sort key
        attributes), newest first, below the sort key of a `kind` cursor
        (the one more tells that a next page exists)."""
        pk, sk = keys
        condition, values = f"{pk} = :pk", {":pk": partition}
        if cursor:
            values[":k"] = _decode_cursor(cursor, kind, k=ULID_RE)["k"]
            condition += f" AND {sk} < :k"
        return self._query(
            limit + 1,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=dump(values),
            **kwargs,
        )

    def _query_all(self, page_size: int | None = None, **kwargs: Any) -> Iterator[dict]:
        """Every item of a Query, lazily, page by page."""
        kwargs = {"TableName": self.table_name, "ScanIndexForward": False, **kwargs}
        if page_size:
            kwargs["Limit"] = page_size
        while True:
            response = self.client.query(**kwargs)
            yield from (load(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_write(self, requests: Iterable[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25 (one request per key), retrying unprocessed ones."""
        unique: dict[tuple, dict[str, Any]] = {}
        for request in requests:
            body = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
            unique[(body[PK]["S"], body[SK]["S"])] = request
        pending_all = list(unique.values())
        for start in range(0, len(pending_all), BATCH_WRITE_MAX):
            pending = {self.table_name: pending_all[start : start + BATCH_WRITE_MAX]}
            for attempt in range(MAX_ATTEMPTS):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise RuntimeError("DynamoDB left writes unprocessed; try again later.")

    # ------------------------------------------------------------ users

    def create_user(self, user: User) -> None:
        item = user_item(user)
        new = ITEM_IS_NEW
        codes = self._transact(
            [
                self._put(item, new),
                self._put(username_marker(user), new),
                self._put(email_marker(user), new),
            ]
        )
        if codes:
            raise _conflict(codes, [None, "username", "email"])

    def get_user(self, user_id: str) -> User | None:
        item = self._get(user_key(user_id))
        return user_from_item(item) if item else None

    def get_user_by_username(self, username: str) -> User | None:
        marker = self._get({PK: USERNAME_PK + username_key(username), SK: USERNAME_SK})
        return self.get_user(marker["user_id"]) if marker else None

    def get_user_by_email(self, email: str) -> User | None:
        marker = self._get({PK: EMAIL_PK + email_key(email), SK: EMAIL_SK})
        return self.get_user(marker["user_id"]) if marker else None

    def get_users(self, user_ids: Iterable[str]) -> dict[str, User]:
        ids = list(dict.fromkeys(user_ids))
        items = self._batch_get([user_key(i) for i in ids], consistent=False)
        return {user.id: user for user in map(user_from_item, items)}

    def update_user(
        self, user_id: str, changes: Mapping[str, Any], if_token_version: int | None = None
    ) -> User:
        """Optimistic: only the fields in `changes` are set, conditioned on the
        username, e-mail and token version read first, so the uniqueness markers
        moved are the ones the user really holds; a lost race reads again."""
        check_changes(changes)
        for _attempt in range(MAX_ATTEMPTS):
            current = self.get_user(user_id)
            if current is None:
                raise NotFound("User not found.")
            if if_token_version is not None and current.token_version != if_token_version:
                raise StaleUser(N_("The account changed meanwhile."))
            if not changes:
                return current
            values = {
                f":{name}": format_time(value) if name == "last_seen" else value
                for name, value in changes.items()
            }
            condition = ITEM_EXISTS
            for name in ("username", "email", "token_version"):
                if name in changes or (name == "token_version" and if_token_version is not None):
                    condition += f" AND {name} = :old_{name}"
                    values[f":old_{name}"] = getattr(current, name)
            operations: list[dict[str, Any]] = [
                {
                    "Update": {
                        "Key": dump(user_key(user_id)),
                        "UpdateExpression": "SET "
                        + ", ".join(f"{name} = :{name}" for name in changes),
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": dump(values),
                    }
                }
            ]
            fields: list[str | None] = [None]
            moves = [
                ("username", username_key, username_marker),
                ("email", email_key, email_marker),
            ]
            for field, key_of, marker_of in moves:
                if field in changes and key_of(changes[field]) != key_of(getattr(current, field)):
                    old = marker_of(current)
                    operations.append({"Delete": {"Key": dump({PK: old[PK], SK: old[SK]})}})
                    operations.append(self._put(marker_of(current.replace(**changes)), ITEM_IS_NEW))
                    fields += [None, field]
            if changes.get("username", current.username) != current.username:
                # The old name is kept, in the same write: its redirects outlive rebuilds.
                operations.append(self._put(former_name_item(current.username, user_id)))
                fields.append(None)
            codes = self._transact(operations)
            if codes is None:
                return self.get_user(user_id)
            if any(c == CONDITION_FAILED and f for c, f in zip(codes, fields, strict=False)):
                raise _conflict(codes, fields)
            # The user changed under us (or vanished): read it again and retry.
        raise RuntimeError("The user kept changing; try again.")

    def former_names(self) -> list[FormerName]:
        items = self._query_all(
            KeyConditionExpression=f"{PK} = :pk",
            ExpressionAttributeValues=dump({":pk": FORMER_NAMES_PK}),
            ConsistentRead=True,
        )
        return [FormerName(item["username"], item["user_id"]) for item in items]

    def list_users(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[User]:
        limit = clamp_limit(limit)
        keys = self._newest((GSI2PK, GSI2SK), USERS_PK, "users", cursor, limit, IndexName=GSI2)
        ids = [key[GSI2SK] for key in keys]
        more = len(ids) > limit
        ids = ids[:limit]
        users = self.get_users(ids)
        return Page(
            [users[i] for i in ids if i in users],
            _encode_cursor("users", k=ids[-1]) if more else None,
        )

    # ------------------------------------------------------------ posts

    def create_post(self, post: Post, idempotency: Idempotency | None = None) -> Post:
        """Take the author's number (`post_seq`), then write the post in one
        transaction; see "Numbering" in the module docstring. The post has no
        explore number yet (0): the fan-out gives it one (`number_posts`), so
        the request writes no item that every post goes through. A failure
        after taking the number leaves a gap, never a reuse. With an
        idempotency key, a key already used answers with its post, and the key
        is written in the post's transaction (two racing retries: one post,
        the loser's number a gap)."""
        if idempotency is not None:
            first = self._replayed(idempotency)
            if first is not None:
                return first
        seq = self._increment(user_key(post.author_id), "post_seq", must_exist=True)
        if seq is None:
            raise NotFound("User not found.")
        post = post.replace(seq=seq, explore_seq=0)
        item = post_item(post)
        ref = post_ref_item(post)
        new = ITEM_IS_NEW
        codes = self._transact(
            [
                self._put(item, new),
                self._put(ref, new),
                *self._counters({post.author_id: {"post_count": 1}}),
                self._put(timeline_item(post.author_id, post)),  # one's own feed, now
                *(
                    [self._put(idempotency_item(idempotency, post.id, utcnow()), ITEM_IS_NEW)]
                    if idempotency is not None
                    else []
                ),
            ]
        )
        if codes:
            if codes[2] == CONDITION_FAILED:
                raise NotFound("User not found.")
            if idempotency is not None and codes[-1] == CONDITION_FAILED:
                return self._replayed(idempotency)  # a racing retry made it first
            raise Conflict("This post already exists.")
        return post  # the followers' feeds are filled by `timeline_work`, off the request

    def number_posts(self, post_ids: Iterable[str]) -> list[Post]:
        """Give the posts that have no explore number yet the next numbers, in
        id order (creation order), with one ADD on the counter for all of them;
        see "Numbering" in the module docstring. Returns every existing post
        of `post_ids`, with its number, in id order."""
        posts = self._get_posts(sorted(set(post_ids)))
        new = [post for post in posts if not post.explore_seq]
        if not new:
            return posts
        last = self._increment(counter_key(EXPLORE_SEQ_COUNTER), VALUE, by=len(new))
        numbers = dict(zip((p.id for p in new), range(last - len(new) + 1, last + 1), strict=True))
        numbered = []
        for post in posts:
            if post.id not in numbers:
                numbered.append(post)  # numbered before (a batch delivered again)
            elif self._set_explore_seq(post, numbers[post.id]):
                numbered.append(post.replace(explore_seq=numbers[post.id]))
            # else: deleted (or numbered by a racing call) meanwhile. Its number
            # stays unused, a hole: that archive page holds one post fewer.
        return numbered

    def unnumbered_posts(self) -> Iterator[Post]:
        """The posts the fan-out has not numbered (a stream batch that failed
        for good, in its dead-letter queue): one Scan of the whole table, for
        `build.py repair` only, never on a request path."""
        scan = self.client.get_paginator("scan").paginate(
            TableName=self.table_name,
            FilterExpression="#t = :post AND attribute_not_exists(explore_seq)",
            ExpressionAttributeNames={"#t": TYPE},
            ExpressionAttributeValues=dump({":post": ItemType.POST}),
        )
        for page in scan:
            yield from (post_from_item(load(item)) for item in page["Items"])

    def _set_explore_seq(self, post: Post, explore_seq: int) -> bool:
        """Set a post's explore number and GSI3 keys, unless it is gone or numbered."""
        keys = explore_keys(explore_seq)
        names = {f"#k{i}": name for i, name in enumerate(keys)}
        values = {f":k{i}": value for i, value in enumerate(keys.values())}
        sets = ", ".join(f"#k{i} = :k{i}" for i in range(len(keys)))
        update = {
            "TableName": self.table_name,
            "Key": dump(post_key(post.author_id, post.id)),
            "UpdateExpression": f"SET {sets}",
            "ConditionExpression": f"{ITEM_EXISTS} AND attribute_not_exists(explore_seq)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dump(values),
        }
        return self._update(update) is not None

    def _get_posts(self, post_ids: list[str]) -> list[Post]:
        """The existing posts of `post_ids`, in that order: their pointers,
        then the posts, each with consistent BatchGetItem reads."""
        pointers = self._batch_get([{PK: POST_REF_PK + i, SK: POST_REF_SK} for i in post_ids])
        authors = {item[PK].removeprefix(POST_REF_PK): item["author_id"] for item in pointers}
        keys = [post_key(authors[i], i) for i in post_ids if i in authors]
        found = {item["id"]: post_from_item(item) for item in self._batch_get(keys)}
        return [found[i] for i in post_ids if i in found]

    def _replayed(self, idempotency: Idempotency) -> Post | None:
        """The post a live key already made; None for a new (or expired) key."""
        item = self._get(idempotency_key(idempotency))
        if item is None or parse_time(item["expires"]) <= utcnow():
            return None  # TTL deletes lazily: the time decides
        if item["fingerprint"] != idempotency.fingerprint:
            raise ValidationError(REUSED_KEY, "Idempotency-Key")
        first = self.get_post(item["post_id"])
        if first is None:
            raise NotFound("Post not found.")  # made, then deleted
        return first

    def _increment(
        self, key: dict[str, str], attribute: str, must_exist: bool = False, by: int = 1
    ) -> int | None:
        """ADD `by` to a number attribute and return the new value (the item and
        attribute are created at `by` unless `must_exist`; then None when the
        item is missing)."""
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": dump(key),
            "UpdateExpression": "ADD #v :by",
            "ExpressionAttributeNames": {"#v": attribute},
            "ExpressionAttributeValues": {":by": {"N": str(by)}},
            "ReturnValues": "UPDATED_NEW",
        }
        if must_exist:
            update["ConditionExpression"] = ITEM_EXISTS
        else:  # a counter item: give it its kind (SET happens with the ADD)
            update["UpdateExpression"] += " SET #t = :t"
            update["ExpressionAttributeNames"]["#t"] = TYPE
            update["ExpressionAttributeValues"][":t"] = {"S": ItemType.COUNTER}
        response = self._update(update)
        return None if response is None else int(response["Attributes"][attribute]["N"])

    def _update(self, update: dict[str, Any]) -> dict[str, Any] | None:
        """One UpdateItem; None when its condition failed. Retried while a
        transaction holds the item (botocore does not retry that)."""
        errors = self.client.exceptions
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self.client.update_item(**update)
            except errors.ConditionalCheckFailedException:
                return None
            except errors.TransactionConflictException:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
            _backoff(attempt)
        raise AssertionError("unreachable")

    def get_post(self, post_id: str) -> Post | None:
        ref = self._get({PK: POST_REF_PK + post_id, SK: POST_REF_SK})
        item = ref and self._get(post_key(ref["author_id"], post_id))
        return post_from_item(item) if item else None

    def delete_post(self, post_id: str) -> Post | None:
        post = self.get_post(post_id)
        if post is None:
            return None
        codes = self._transact(
            [
                {
                    "Delete": {
                        "Key": dump(post_key(post.author_id, post.id)),
                        "ConditionExpression": ITEM_EXISTS,
                    }
                },
                {"Delete": {"Key": dump({PK: POST_REF_PK + post.id, SK: POST_REF_SK})}},
                *self._counters({post.author_id: {"post_count": -1}}),
                {"Delete": {"Key": dump(timeline_key(post.author_id, post.id))}},
            ]
        )
        if codes:
            return None  # someone else deleted it first
        return post  # the followers' copies are taken out by `timeline_work`

    def _post_page(self, items: list[dict], limit: int, kind: str) -> Page[Post]:
        more = len(items) > limit
        posts = [post_from_item(item) for item in items[:limit]]
        return Page(posts, _encode_cursor(kind, k=posts[-1].id) if more else None)

    def posts_by(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]:
        limit = clamp_limit(limit)
        kwargs: dict[str, Any] = {}
        if cursor:
            after = _decode_cursor(cursor, "posts", k=ULID_RE)["k"]
            kwargs["ExclusiveStartKey"] = dump(post_key(user_id, after))
        items = self._query(
            limit + 1,
            KeyConditionExpression=f"{PK} = :pk AND begins_with({SK}, :sk)",
            ExpressionAttributeValues=dump({":pk": USER_PK + user_id, ":sk": POST_SK}),
            **kwargs,
        )
        return self._post_page(items, limit, "posts")

    def explore(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[Post]:
        """Newest numbered posts first: GSI3 page by page, down from the
        counter's page (or the cursor's), past pages emptied by deletes."""
        limit = clamp_limit(limit)
        if cursor:
            below = int(_decode_cursor(cursor, "explore", s=SEQ_RE)["s"])
        else:
            below = self.explore_seq() + 1
        items: list[dict] = []
        for page in range(explore_page(below - 1), 0, -1):
            items += self._query(
                limit + 1 - len(items),
                IndexName=GSI3,
                KeyConditionExpression=f"{GSI3PK} = :pk AND {GSI3SK} < :below",
                ExpressionAttributeValues=dump({":pk": f"{EXPLORE_SEQ_PK}{page}", ":below": below}),
            )
            if len(items) > limit:
                break
        posts = [post_from_item(item) for item in items[:limit]]
        more = len(items) > limit
        next_cursor = _encode_cursor("explore", s=str(posts[-1].explore_seq)) if more else None
        return Page(posts, next_cursor)

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        """One strongly consistent Query on LSI1 (the author's partition by seq)."""
        if first > last:
            return []
        items = self._query_all(
            IndexName=LSI1,
            KeyConditionExpression=f"{PK} = :pk AND {LSI1SK} BETWEEN :first AND :last",
            ExpressionAttributeValues=dump(
                {":pk": USER_PK + user_id, ":first": first, ":last": last}
            ),
            ConsistentRead=True,
        )
        return [post_from_item(item) for item in items]

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        """One Query on GSI3 per explore page the range touches, newest first
        (an archive page's range is one page: one Query)."""
        first = max(first, 1)
        if first > last:
            return []
        posts: list[Post] = []
        for page in range(explore_page(last), explore_page(first) - 1, -1):
            items = self._query_all(
                IndexName=GSI3,
                KeyConditionExpression=f"{GSI3PK} = :pk AND {GSI3SK} BETWEEN :first AND :last",
                ExpressionAttributeValues=dump(
                    {":pk": f"{EXPLORE_SEQ_PK}{page}", ":first": first, ":last": last}
                ),
            )
            posts += (post_from_item(item) for item in items)
        return posts

    def explore_seq(self) -> int:
        item = self._get(counter_key(EXPLORE_SEQ_COUNTER))
        return int(item[VALUE]) if item else 0

    def home_feed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]:
        limit = clamp_limit(limit)
        items = self._newest((PK, SK), TIMELINE_PK + user_id, "feed", cursor, limit)
        return self._post_page(items, limit, "feed")

    # ------------------------------------------------------------ follows

    def follow(self, follower_id: str, followed_id: str) -> bool:
        edge = edge_item(follower_id, followed_id, new_id())
        codes = self._transact(
            [
                self._put(edge, ITEM_IS_NEW),
                *self._counters(_edge_deltas(follower_id, followed_id, +1)),
            ]
        )
        if codes:
            if CONDITION_FAILED in codes[1:]:
                raise NotFound("User not found.")
            return False  # the edge was there already
        if follower_id != followed_id:  # the first feed page's worth, not a whole history
            newest = self._query(
                FEED_BACKFILL,
                KeyConditionExpression=f"{PK} = :pk AND begins_with({SK}, :sk)",
                ExpressionAttributeValues=dump({":pk": USER_PK + followed_id, ":sk": POST_SK}),
            )
            self._batch_write(
                {"PutRequest": {"Item": dump(timeline_item(follower_id, item))}} for item in newest
            )
        return True

    def unfollow(self, follower_id: str, followed_id: str) -> bool:
        codes = self._transact(
            [
                {
                    "Delete": {
                        "Key": dump(edge_key(follower_id, followed_id)),
                        "ConditionExpression": ITEM_EXISTS,
                    }
                },
                *self._counters(_edge_deltas(follower_id, followed_id, -1)),
            ]
        )
        # The follower's feed is emptied of their posts by `timeline_work`, off the request.
        return not codes

    def is_following(self, follower_id: str, followed_id: str) -> bool:
        return self._get(edge_key(follower_id, followed_id)) is not None

    # ------------------------------------------------------------ home feeds, off the request

    def timeline_work(self, job: TimelineJob, chunk: int | None = None) -> TimelineJob | None:
        """One bounded step of `job`: at most `chunk` (default `fanout_chunk`)
        feeds (deliver, retract) or posts (withdraw), read with one Query and
        written with BatchWriteItem (25 a call). Returns the job's next step,
        or None when it is done.
        Writes are puts and deletes of whole items: a step run twice (a
        redelivered message) leaves each feed entry once."""
        if job.action == TimelineJob.WITHDRAW:  # the unfollowed user's posts, out of one feed
            query = {
                "KeyConditionExpression": f"{PK} = :pk AND begins_with({SK}, :sk)",
                "ExpressionAttributeValues": dump({":pk": USER_PK + job.subject, ":sk": POST_SK}),
                "ProjectionExpression": "id",
            }
        else:  # one post, into (or out of) the feed of each of its author's followers
            query = {
                "IndexName": GSI2,
                "KeyConditionExpression": f"{GSI2PK} = :pk",
                "ExpressionAttributeValues": dump({":pk": FOLLOWERS_PK + job.owner}),
            }
        post = None
        if job.action == TimelineJob.DELIVER:
            post = self.get_post(job.subject)
            if post is None:
                return None  # deleted meanwhile: nothing to deliver
        if job.cursor:
            query["ExclusiveStartKey"] = json.loads(job.cursor)
        limit = chunk or self.fanout_chunk
        response = self.client.query(TableName=self.table_name, Limit=limit, **query)
        items = [load(item) for item in response["Items"]]
        if job.action == TimelineJob.WITHDRAW:  # (this feed, each of their posts)
            entries = [(job.owner, item["id"]) for item in items]
        else:  # (each follower's feed, this post)
            entries = [(item[PK].removeprefix(USER_PK), job.subject) for item in items]
        if post is not None:
            requests = (
                {"PutRequest": {"Item": dump(timeline_item(reader, post))}} for reader, _ in entries
            )
        else:
            requests = (
                {"DeleteRequest": {"Key": dump(timeline_key(reader, post_id))}}
                for reader, post_id in entries
            )
        self._batch_write(requests)
        last = response.get("LastEvaluatedKey")
        return dataclasses.replace(job, cursor=json.dumps(last)) if last else None

    def _edges(
        self, index: str, partition: str, kind: str, cursor: str | None, limit: int
    ) -> Page[User]:
        limit = clamp_limit(limit)
        keys = (GSI1PK, GSI1SK) if index == GSI1 else (GSI2PK, GSI2SK)
        sk = keys[1]
        edges = self._newest(keys, partition, kind, cursor, limit, IndexName=index)
        more = len(edges) > limit
        edges = edges[:limit]
        # Both ids are in the table key, which every index projects.
        if index == GSI1:
            ids = [edge[SK].removeprefix(FOLLOWS_SK) for edge in edges]
        else:
            ids = [edge[PK].removeprefix(USER_PK) for edge in edges]
        users = self.get_users(ids)
        return Page(
            [users[i] for i in ids if i in users],
            _encode_cursor(kind, k=edges[-1][sk]) if more else None,
        )

    def followers(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        return self._edges(GSI2, FOLLOWERS_PK + user_id, "followers", cursor, limit)

    def followed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        return self._edges(GSI1, FOLLOWING_PK + user_id, "followed", cursor, limit)

    def counts(self, user_id: str) -> Counts:
        user = self.get_user(user_id)
        if user is None:
            raise NotFound("User not found.")
        return Counts(user.post_count, user.follower_count, user.followed_count)

    # ------------------------------------------------------------ throttles
    # One item per key: `count` attempts until `until` (ISO time, so it compares
    # as text), and `expires_at` for TTL to sweep it after the window. TTL
    # deletion is lazy, so the window's end is always checked in the condition.

    @staticmethod
    def _throttle_key(key: str) -> dict[str, str]:
        return {PK: THROTTLE_PK + key, SK: THROTTLE_SK}

    def take_attempt(self, key: str, limit: int, window: timedelta, now: datetime) -> Throttle:
        errors = self.client.exceptions
        names = {"#c": "count", "#u": "until"}
        for attempt in range(MAX_ATTEMPTS):
            try:  # one more in the current window, while under the limit
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=dump(self._throttle_key(key)),
                    UpdateExpression="ADD #c :one",
                    ConditionExpression=f"{ITEM_EXISTS} AND #u > :now AND #c < :limit",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=dump(
                        {":one": 1, ":now": format_time(now), ":limit": limit}
                    ),
                    ReturnValues="ALL_NEW",
                )
                item = load(response["Attributes"])
                return Throttle(int(item["count"]), parse_time(item["until"]))
            except errors.ConditionalCheckFailedException:
                pass
            current = self._get(self._throttle_key(key))  # consistent: which condition failed?
            if current is not None and parse_time(current["until"]) > now:
                if int(current["count"]) >= limit:
                    return Throttle(int(current["count"]), parse_time(current["until"]), False)
                continue  # refunded or cleared meanwhile: count again
            until = now + window
            item = {
                **self._throttle_key(key),
                TYPE: ItemType.THROTTLE,
                "count": 1,
                "until": format_time(until),
                TTL_ATTRIBUTE: math.ceil(until.timestamp()),
            }
            try:  # the first attempt of a new window (unless another writer won)
                self.client.put_item(
                    TableName=self.table_name,
                    Item=dump(item),
                    ConditionExpression=f"{ITEM_IS_NEW} OR #u <= :now",
                    ExpressionAttributeNames={"#u": "until"},
                    ExpressionAttributeValues=dump({":now": format_time(now)}),
                )
                return Throttle(1, until)
            except errors.ConditionalCheckFailedException:
                _backoff(attempt)
        raise AssertionError("unreachable: the window kept changing")

    def refund_attempt(self, key: str, now: datetime) -> None:
        # The window ended or was cleared: nothing to take back.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table_name,
                Key=dump(self._throttle_key(key)),
                UpdateExpression="ADD #c :minus",
                ConditionExpression=f"{ITEM_EXISTS} AND #u > :now AND #c > :zero",
                ExpressionAttributeNames={"#c": "count", "#u": "until"},
                ExpressionAttributeValues=dump(
                    {":minus": -1, ":zero": 0, ":now": format_time(now)}
                ),
            )

    def clear_attempts(self, key: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=dump(self._throttle_key(key)))

    # ------------------------------------------------------------ export (background tasks)
    # One item per user and task name (`TASK#<user>` / name), replaced by a
    # conditional put: the current task must be complete or not updated for
    # TASK_STALE (times are ISO text of one width, so they compare as text).

    def start_task(self, task: Task) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=dump(task_item(task)),
                ConditionExpression=f"{ITEM_IS_NEW} OR #complete = :true OR #updated < :stale",
                ExpressionAttributeNames={"#complete": "complete", "#updated": "updated"},
                ExpressionAttributeValues=dump(
                    {":true": True, ":stale": format_time(task.started - TASK_STALE)}
                ),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_task(self, user_id: str, name: str) -> Task | None:
        item = self._get(task_key(user_id, name))
        return task_from_item(item) if item else None

    def update_task(self, task: Task) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=dump(task_key(task.user_id, task.name)),
                UpdateExpression="SET progress = :progress, #complete = :complete,"
                " #error = :error, #updated = :updated",
                ConditionExpression="#id = :id AND #complete = :false",
                ExpressionAttributeNames={
                    "#id": "id",
                    "#complete": "complete",
                    "#error": "error",
                    "#updated": "updated",
                },
                ExpressionAttributeValues=dump(
                    {
                        ":id": task.id,
                        ":false": False,
                        ":progress": task.progress,
                        ":complete": task.complete,
                        ":error": task.error,
                        ":updated": format_time(task.updated),
                    }
                ),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------ messages
    # A message is one item in its recipient's inbox (`INBOX#<id>`, by id);
    # the unread count is the `unread_message_count` notification, ADDed to in
    # the message's transaction: a page of messages is one Query, the count
    # one GetItem, the poll of notifications one Query.

    def send_message(self, message: Message) -> Message:
        """One transaction: the message, +1 on the recipient's unread count
        (with the time of the change), and a check that the recipient exists."""
        codes = self._transact(
            [
                self._put(message_item(message), ITEM_IS_NEW),
                {
                    "Update": {
                        "Key": dump(notification_key(message.recipient_id, UNREAD_MESSAGE_COUNT)),
                        "UpdateExpression": "SET #t = :type, #ts = :now ADD #d :one",
                        "ExpressionAttributeNames": {"#t": TYPE, "#ts": "timestamp", "#d": "data"},
                        "ExpressionAttributeValues": dump(
                            {":type": ItemType.NOTIFICATION, ":now": _now(), ":one": 1}
                        ),
                    }
                },
                {
                    "ConditionCheck": {
                        "Key": dump(user_key(message.recipient_id)),
                        "ConditionExpression": ITEM_EXISTS,
                    }
                },
            ]
        )
        if codes:
            if codes[2] == CONDITION_FAILED:
                raise NotFound("User not found.")
            raise Conflict("This message already exists.")
        return message

    def messages_received(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Message]:
        limit = clamp_limit(limit)
        items = self._newest(
            (PK, SK),
            INBOX_PK + user_id,
            "messages",
            cursor,
            limit,
            ConsistentRead=True,  # a message sent a moment ago is listed
        )
        more = len(items) > limit
        messages = [message_from_item(item) for item in items[:limit]]
        return Page(messages, _encode_cursor("messages", k=messages[-1].id) if more else None)

    def unread_message_count(self, user_id: str) -> int:
        item = self._get(notification_key(user_id, UNREAD_MESSAGE_COUNT))
        return int(item["data"]) if item else 0

    def mark_messages_read(self, user_id: str) -> int:
        """One conditional UpdateItem (only when the count is above 0): sets
        it to 0 and answers with what it was, atomically with the sends' ADDs."""
        response = self._update(
            {
                "TableName": self.table_name,
                "Key": dump(notification_key(user_id, UNREAD_MESSAGE_COUNT)),
                "UpdateExpression": "SET #d = :zero, #ts = :now",
                "ConditionExpression": f"{ITEM_EXISTS} AND #d > :zero",
                "ExpressionAttributeNames": {"#d": "data", "#ts": "timestamp"},
                "ExpressionAttributeValues": dump({":zero": 0, ":now": _now()}),
                "ReturnValues": "UPDATED_OLD",
            }
        )
        return 0 if response is None else int(response["Attributes"]["data"]["N"])

    def notifications(self, user_id: str, since: float = 0) -> list[Notification]:
        items = self._query_all(
            KeyConditionExpression=f"{PK} = :pk",
            FilterExpression="#ts > :since",
            ExpressionAttributeNames={"#ts": "timestamp"},
            ExpressionAttributeValues=dump(
                {":pk": NOTIFICATION_PK + user_id, ":since": to_dynamo(float(since))}
            ),
            ConsistentRead=True,
        )
        found = [notification_from_item(item) for item in items]
        return sorted(found, key=lambda notification: notification.timestamp)

    def set_notification(self, user_id: str, name: str, data: Any) -> Notification:
        now = _now()
        item = {
            **notification_key(user_id, name),
            TYPE: ItemType.NOTIFICATION,
            "data": to_dynamo(data),
            "timestamp": now,
        }
        codes = self._transact(
            [
                self._put(item),
                {
                    "ConditionCheck": {
                        "Key": dump(user_key(user_id)),
                        "ConditionExpression": ITEM_EXISTS,
                    }
                },
            ]
        )
        if codes:
            raise NotFound("User not found.")
        return Notification(name, data, float(now))


def _now() -> Decimal:
    """Now, in seconds since the epoch, as a notification's timestamp."""
    return Decimal(repr(time.time()))


def _edge_deltas(follower_id: str, followed_id: str, delta: int) -> dict[str, dict[str, int]]:
    """Counter changes of an edge (one update when someone follows themselves:
    a transaction may touch an item only once)."""
    deltas: dict[str, dict[str, int]] = {follower_id: {"followed_count": delta}}
    deltas.setdefault(followed_id, {})["follower_count"] = delta
    return deltas


def _conflict(codes: list[str], fields: list[str | None]) -> Conflict:
    """The Conflict for the first failed uniqueness condition (username before e-mail)."""
    failed = {f for c, f in zip(codes, fields, strict=False) if c == CONDITION_FAILED}
    if "username" in failed:
        return Conflict(N_("Please use a different username."), "username")
    if "email" in failed:
        return Conflict(N_("Please use a different email address."), "email")
    return Conflict(N_("This user already exists."))
