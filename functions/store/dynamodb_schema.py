"""The DynamoDB table: its key schema, indexes and item layout, in one place.

The store adapter (`dynamodb.py`), the stream decoder (`functions.stream`) and
the SAM template's test all read this module, so the table they describe is
the same table.

Item layout (keys are strings, except LSI1SK and GSI3SK, which are numbers; `type`
names the item kind, for the stream handler; GSI1, GSI3 and LSI1 project ALL
attributes, GSI2 KEYS_ONLY; <page> is the explore archive page of the post's
explore_seq, `explore_page`):

| item            | PK                    | SK                   | index keys                      |
| --------------- | --------------------- | -------------------- | ------------------------------- |
| user            | `USER#<id>`           | `PROFILE`            | GSI2: `USERS` / `<id>`          |
| username marker | `USERNAME#<key>`      | `USERNAME`           |                                 |
| e-mail marker   | `EMAIL#<key>`         | `EMAIL`              |                                 |
| post            | `USER#<author id>`    | `POST#<post id>`     | LSI1: seq (number),             |
|                 |                       |                      | GSI3: `XSEQ#<page>` /           |
|                 |                       |                      |       explore_seq (number),     |
|                 |                       |                      |       once numbered             |
| post pointer    | `POST#<post id>`      | `POST`               |                                 |
| follow edge     | `USER#<follower>`     | `FOLLOWS#<followed>` | GSI1: `FOLLOWING#<follower>`,   |
|                 |                       |                      | GSI2: `FOLLOWERS#<followed>`,   |
|                 |                       |                      | both sorted by the edge id      |
| timeline entry  | `TL#<reader id>`      | `<post id>`          |                                 |
| explore counter | `COUNTER#EXPLORE_SEQ` | `COUNTER`            |                                 |
| former username | `FORMER_NAMES`        | `<username key>`     |                                 |
| idempotency key | `IDEM#<scope>#<key>`  | `IDEM`               | (TTL: a day)                    |
| task            | `TASK#<user id>`      | `<task name>`        |                                 |
| message         | `INBOX#<recipient>`   | `<message id>`       |                                 |
| notification    | `NOTE#<user id>`      | `<name>`             |                                 |

Number attributes: the user item's `post_seq` (last `Post.seq` handed out to
it), the counter's `value` (last `Post.explore_seq`), and a post's `seq` and
`explore_seq` (copied into its timeline entries, as every post field is).

Messages are in their recipient's inbox partition, newest first by id (one
Query a page); the unread count is the recipient's `unread_message_count`
notification (`data`, a number; `timestamp`, seconds since the epoch), added
to in each send's transaction (one GetItem to read). Neither is a page item:
the stream filters keep both away from the render and fan-out functions, and
the user item (which re-renders profiles when it changes) is never touched.

A post is written without `explore_seq` (and without GSI3 keys): the fan-out
function numbers it off the request (`DynamoStore.number_posts`), which sets
both. GSI1 holds only follow edges.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ..domain import (
    IDEMPOTENCY_TTL,
    Idempotency,
    Message,
    Notification,
    Post,
    Task,
    User,
    email_key,
    format_time,
    parse_time,
    username_key,
)

PK, SK = "PK", "SK"
GSI1, GSI1PK, GSI1SK = "GSI1", "GSI1PK", "GSI1SK"
GSI2, GSI2PK, GSI2SK = "GSI2", "GSI2PK", "GSI2SK"
GSI3, GSI3PK, GSI3SK = "GSI3", "GSI3PK", "GSI3SK"  # GSI3SK is a number
LSI1, LSI1SK = "LSI1", "LSI1SK"  # on PK; LSI1SK is a number
TTL_ATTRIBUTE = "expires_at"
TYPE = "type"  # item kind: see ItemType

USER_PK = "USER#"  # + user id: the user's partition (profile, posts, edges it made)
USER_SK = "PROFILE"
USERNAME_PK, USERNAME_SK = "USERNAME#", "USERNAME"  # + domain.username_key
EMAIL_PK, EMAIL_SK = "EMAIL#", "EMAIL"  # + domain.email_key
POST_SK = "POST#"  # + post id, in the author's partition
POST_REF_PK, POST_REF_SK = "POST#", "POST"  # + post id: pointer to the author
FOLLOWS_SK = "FOLLOWS#"  # + followed id, in the follower's partition
TIMELINE_PK = "TL#"  # + user id; SK = post id
FOLLOWING_PK = "FOLLOWING#"  # + follower id: GSI1 partition of its edges
FOLLOWERS_PK = "FOLLOWERS#"  # + followed id: GSI2 partition of its edges
USERS_PK = "USERS"  # GSI2 partition of every user
EXPLORE_SEQ_PK = "XSEQ#"  # + explore_page(explore_seq): GSI3 partition
# Explore numbers per GSI3 partition: one explore archive page
# (sitegen.pages.POSTS_PER_PAGE), so a partition takes at most 25 writes,
# ever. Fixed once posts exist (changing it means rewriting every GSI3PK).
EXPLORE_SEQ_PAGE = 25
COUNTER_PK, COUNTER_SK = "COUNTER#", "COUNTER"  # + counter name; its value is VALUE
IDEMPOTENCY_PK, IDEMPOTENCY_SK = "IDEM#", "IDEM"  # + scope#key: a write's Idempotency-Key
THROTTLE_PK = "THROTTLE#"  # + key: failed logins of an account or address (TTL item)
THROTTLE_SK = "THROTTLE"
# A name left by a rename (SK = its username_key): one partition, read whole
# by a full build; renames are rare, so it is neither big nor hot.
FORMER_NAMES_PK = "FORMER_NAMES"
EXPLORE_SEQ_COUNTER = "EXPLORE_SEQ"  # the last Post.explore_seq handed out
TASK_PK = "TASK#"  # + user id; SK = the task's name: the user's latest task of that name
VALUE = "value"
INBOX_PK = "INBOX#"  # + recipient id; SK = message id
NOTIFICATION_PK = "NOTE#"  # + user id; SK = the notification's name


class ItemType:
    USER = "user"
    USERNAME = "username"
    EMAIL = "email"
    POST = "post"
    POST_REF = "post_ref"
    EDGE = "edge"
    TIMELINE = "timeline"
    COUNTER = "counter"
    THROTTLE = "throttle"
    FORMER_NAME = "former_name"
    IDEMPOTENCY = "idempotency"
    TASK = "task"  # export: a user's background task (touches no page)
    MESSAGE = "message"
    NOTIFICATION = "notification"


def _key(name: str, kind: str = "S") -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": kind}


TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        *(_key(n) for n in (PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK)),
        _key(GSI3SK, "N"),
        _key(LSI1SK, "N"),
    ],
    "KeySchema": [
        {"AttributeName": PK, "KeyType": "HASH"},
        {"AttributeName": SK, "KeyType": "RANGE"},
    ],
    # An LSI can only be made with the table, and caps each PK's items
    # (table + index) at 10 GB: see the module docstring.
    "LocalSecondaryIndexes": [
        {
            "IndexName": LSI1,
            "KeySchema": [
                {"AttributeName": PK, "KeyType": "HASH"},
                {"AttributeName": LSI1SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": GSI1,
            "KeySchema": [
                {"AttributeName": GSI1PK, "KeyType": "HASH"},
                {"AttributeName": GSI1SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": GSI2,
            "KeySchema": [
                {"AttributeName": GSI2PK, "KeyType": "HASH"},
                {"AttributeName": GSI2SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        {
            "IndexName": GSI3,
            "KeySchema": [
                {"AttributeName": GSI3PK, "KeyType": "HASH"},
                {"AttributeName": GSI3SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}
"""`create_table` kwargs (without TableName); CloudFormation uses the same names,
except that its StreamSpecification has only StreamViewType."""

TIME_TO_LIVE = {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def explore_page(explore_seq: int) -> int:
    """The explore archive page of a number (1-25: page 1); 0 for no number."""
    return (explore_seq - 1) // EXPLORE_SEQ_PAGE + 1 if explore_seq > 0 else 0


def explore_seq_partition(explore_seq: int) -> str:
    """The GSI3 partition of a numbered post: its explore page."""
    return f"{EXPLORE_SEQ_PK}{explore_page(explore_seq)}"


def explore_keys(explore_seq: int) -> dict[str, Any]:
    """What numbering sets on a post item: its number and its GSI3 keys."""
    return {
        "explore_seq": explore_seq,
        GSI3PK: explore_seq_partition(explore_seq),
        GSI3SK: explore_seq,
    }


def counter_key(name: str) -> dict[str, str]:
    return {PK: COUNTER_PK + name, SK: COUNTER_SK}


def user_key(user_id: str) -> dict[str, str]:
    return {PK: USER_PK + user_id, SK: USER_SK}


def post_key(author_id: str, post_id: str) -> dict[str, str]:
    return {PK: USER_PK + author_id, SK: POST_SK + post_id}


def edge_key(follower_id: str, followed_id: str) -> dict[str, str]:
    return {PK: USER_PK + follower_id, SK: FOLLOWS_SK + followed_id}


def user_from_item(item: dict[str, Any]) -> User:
    """A User from a deserialized user item (also for stream images)."""
    return User(
        id=item["id"],
        username=item["username"],
        email=item["email"],
        password_hash=item["password_hash"],
        about_me=item.get("about_me", ""),
        created=parse_time(item["created"]),
        last_seen=parse_time(item["last_seen"]),
        token_version=int(item.get("token_version", 0)),
        post_count=int(item.get("post_count", 0)),
        follower_count=int(item.get("follower_count", 0)),
        followed_count=int(item.get("followed_count", 0)),
        post_seq=int(item.get("post_seq", 0)),
    )


def post_from_item(item: dict[str, Any]) -> Post:
    """A Post from a deserialized post or timeline item (also for stream images)."""
    return Post(
        id=item["id"],
        author_id=item["author_id"],
        body=item["body"],
        body_html=item["body_html"],
        language=item["language"],
        timestamp=parse_time(item["timestamp"]),
        seq=int(item.get("seq", 0)),
        explore_seq=int(item.get("explore_seq", 0)),
    )


POST_FIELD_NAMES = (
    "id",
    "author_id",
    "body",
    "body_html",
    "language",
    "timestamp",
    "seq",
    "explore_seq",
)


def post_fields(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "author_id": post.author_id,
        "body": post.body,
        "body_html": post.body_html,
        "language": post.language,
        "timestamp": format_time(post.timestamp),
        "seq": post.seq,
        "explore_seq": post.explore_seq,
    }


# ------------------------------------------------------------ items


def user_item(user: User) -> dict[str, Any]:
    """A new user's item (its counters start at 0; the store keeps them)."""
    return {
        **user_key(user.id),
        TYPE: ItemType.USER,
        GSI2PK: USERS_PK,
        GSI2SK: user.id,
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "password_hash": user.password_hash,
        "about_me": user.about_me,
        "created": format_time(user.created),
        "last_seen": format_time(user.last_seen),
        "token_version": user.token_version,
        "post_count": 0,
        "follower_count": 0,
        "followed_count": 0,
        "post_seq": 0,
    }


def username_marker(user: User) -> dict[str, str]:
    key = USERNAME_PK + username_key(user.username)
    return {PK: key, SK: USERNAME_SK, TYPE: ItemType.USERNAME, "user_id": user.id}


def idempotency_key(idempotency: Idempotency) -> dict[str, str]:
    return {PK: f"{IDEMPOTENCY_PK}{idempotency.scope}#{idempotency.key}", SK: IDEMPOTENCY_SK}


def idempotency_item(idempotency: Idempotency, post_id: str, now: datetime) -> dict[str, Any]:
    """What a key made (a post), kept a day by TTL."""
    expires = now + IDEMPOTENCY_TTL
    return {
        **idempotency_key(idempotency),
        TYPE: ItemType.IDEMPOTENCY,
        "fingerprint": idempotency.fingerprint,
        "post_id": post_id,
        "expires": format_time(expires),
        TTL_ATTRIBUTE: int(expires.timestamp()) + 1,
    }


def former_name_item(username: str, user_id: str) -> dict[str, str]:
    """`username`, left by `user_id` (who now holds another name)."""
    key = {PK: FORMER_NAMES_PK, SK: username_key(username)}
    return {**key, TYPE: ItemType.FORMER_NAME, "username": username, "user_id": user_id}


def email_marker(user: User) -> dict[str, str]:
    key = EMAIL_PK + email_key(user.email)
    return {PK: key, SK: EMAIL_SK, TYPE: ItemType.EMAIL, "user_id": user.id}


def post_item(post: Post) -> dict[str, Any]:
    """A post in its author's partition, keyed in LSI1 by its seq. Without an
    explore number (0) it has no `explore_seq` and no GSI3 keys: numbering
    adds them (`explore_keys`), conditioned on `explore_seq` being absent."""
    fields = post_fields(post)
    del fields["explore_seq"]
    item = {**post_key(post.author_id, post.id), TYPE: ItemType.POST, LSI1SK: post.seq, **fields}
    if post.explore_seq:
        item.update(explore_keys(post.explore_seq))
    return item


def post_ref_item(post: Post) -> dict[str, str]:
    """The pointer from a post id to its author's partition."""
    key = {PK: POST_REF_PK + post.id, SK: POST_REF_SK}
    return {**key, TYPE: ItemType.POST_REF, "author_id": post.author_id}


def edge_item(follower_id: str, followed_id: str, edge_id: str) -> dict[str, str]:
    """One follow edge, listed both ways (GSI1: whom one follows; GSI2: who follows one)."""
    return {
        **edge_key(follower_id, followed_id),
        TYPE: ItemType.EDGE,
        GSI1PK: FOLLOWING_PK + follower_id,
        GSI1SK: edge_id,
        GSI2PK: FOLLOWERS_PK + followed_id,
        GSI2SK: edge_id,
        "id": edge_id,
        "follower_id": follower_id,
        "followed_id": followed_id,
    }


def timeline_key(reader_id: str, post_id: str) -> dict[str, str]:
    """The key of a post's copy in a reader's home feed."""
    return {PK: TIMELINE_PK + reader_id, SK: post_id}


def timeline_item(reader_id: str, post: Post | dict[str, Any]) -> dict[str, Any]:
    """A copy of a post in a reader's home feed (a post item not numbered yet
    has no `explore_seq`: nor has its copy)."""
    fields = post_fields(post) if isinstance(post, Post) else post
    return {
        **timeline_key(reader_id, fields["id"]),
        TYPE: ItemType.TIMELINE,
        **{name: fields[name] for name in POST_FIELD_NAMES if name in fields},
    }


# ------------------------------------------------------------ export (background tasks)


def task_key(user_id: str, name: str) -> dict[str, str]:
    return {PK: TASK_PK + user_id, SK: name}


def task_item(task: Task) -> dict[str, Any]:
    """A user's current task of its name (one item, overwritten by the next)."""
    return {
        **task_key(task.user_id, task.name),
        TYPE: ItemType.TASK,
        "id": task.id,
        "user_id": task.user_id,
        "name": task.name,
        "description": task.description,
        "progress": task.progress,
        "complete": task.complete,
        "error": task.error,
        "started": format_time(task.started),
        "updated": format_time(task.updated),
    }


def task_from_item(item: dict[str, Any]) -> Task:
    return Task(
        id=item["id"],
        user_id=item["user_id"],
        name=item["name"],
        description=item["description"],
        started=parse_time(item["started"]),
        updated=parse_time(item["updated"]),
        progress=int(item.get("progress", 0)),
        complete=bool(item.get("complete", False)),
        error=item.get("error", ""),
    )


def message_item(message: Message) -> dict[str, Any]:
    """A message in its recipient's inbox."""
    return {
        PK: INBOX_PK + message.recipient_id,
        SK: message.id,
        TYPE: ItemType.MESSAGE,
        "id": message.id,
        "sender_id": message.sender_id,
        "recipient_id": message.recipient_id,
        "body": message.body,
        "timestamp": format_time(message.timestamp),
    }


def message_from_item(item: dict[str, Any]) -> Message:
    return Message(
        id=item["id"],
        sender_id=item["sender_id"],
        recipient_id=item["recipient_id"],
        body=item["body"],
        timestamp=parse_time(item["timestamp"]),
    )


def notification_key(user_id: str, name: str) -> dict[str, str]:
    return {PK: NOTIFICATION_PK + user_id, SK: name}


def notification_from_item(item: dict[str, Any]) -> Notification:
    return Notification(item[SK], _plain(item["data"]), float(item["timestamp"]))


def _plain(value: Any) -> Any:
    """A deserialized value as JSON holds it (DynamoDB numbers are Decimals)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def to_dynamo(value: Any) -> Any:
    """A JSON value as boto3 serializes it (floats as Decimals)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


# ------------------------------------------------------------ the stream

PAGE_ITEM_TYPES = (ItemType.USER, ItemType.POST, ItemType.EDGE)
"""The item kinds whose changes can touch a page; every other kind (markers,
timeline copies, counters, throttle rows, idempotency keys, export tasks,
messages and notifications, which no page may show) touches none."""

STREAM_FILTERS: list[dict[str, Any]] = [
    {"dynamodb": {"NewImage": {TYPE: {"S": list(PAGE_ITEM_TYPES)}}}},
    {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {TYPE: {"S": list(PAGE_ITEM_TYPES)}}}},
]
"""The render function's event source mapping filters (Lambda event filtering
patterns, OR-ed): inserts and updates of page items, and their removals. The
template's FilterCriteria must equal these (a test compares them)."""

FANOUT_FILTERS: list[dict[str, Any]] = [
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {TYPE: {"S": [ItemType.POST]}}}},
    {
        "eventName": ["REMOVE"],
        "dynamodb": {"OldImage": {TYPE: {"S": [ItemType.POST, ItemType.EDGE]}}},
    },
]
"""The fan-out function's filters: the records that start home-feed jobs
(`timelines.jobs_for`): a new post, a deleted post, an unfollow. The
template's FilterCriteria must equal these (a test compares them)."""
