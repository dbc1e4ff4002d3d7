"""DynamoDB stream records -> the change events the services emit.

On AWS nothing calls the site build after a write: the table's stream
(`NEW_AND_OLD_IMAGES`) delivers every item change to the render function,
and this module turns each record back into the same events
(`functions.domain.Event`) that the use cases hand to the local build, so
one mapping (`sitegen.pages.pages_for`) serves both transports.

Pure: no I/O, no clients. Records of items that touch no page (uniqueness
markers, timeline copies, counters, throttle rows, idempotency keys, export
tasks, private messages and notifications, which no page may ever show) and
user changes that pages do not show (counters, password, token version) give
no event; a change of `last_seen` alone gives one only when it moves to a
new day (UTC), which the user's card shows (`domain.UserSeen`). The event
source mapping's filters (`STREAM_FILTERS`) already keep most of them away;
this is the rule, the filters are the saving.

A post reaches the stream twice: its INSERT, without an explore number
(PostCreated with explore_seq 0: the fan-out numbers it and fills the feeds;
it touches no page), then the numbering's MODIFY, which sets `explore_seq`
(PostCreated with the numbers: the record its pages are rendered from).

A batch also carries the posts and users it wrote, as images: the renderer
lays them over the store's answers (`sitegen.data.Overlay`), so a post that a
lagging index does not show yet still appears on the pages its record
re-renders. Only numbered posts are laid over: an unnumbered one has no
place in explore yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .domain import (
    Event,
    Followed,
    Post,
    PostCreated,
    PostDeleted,
    Unfollowed,
    User,
    UserCreated,
    user_changes,
)
from .store.dynamodb_schema import TYPE, ItemType, load, post_from_item, user_from_item

INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"


class UndecodableRecord(ValueError):
    """A record that is not a DynamoDB stream record of this table's items."""


@dataclass
class Change:
    """What one record means: its events, and the images it carries."""

    events: list[Event] = field(default_factory=list)
    post: Post | None = None  # a numbered post written (INSERT or numbering MODIFY)
    removed_post: str | None = None  # the id of a post deleted (REMOVE)
    user: User | None = None  # a user's new image


@dataclass
class Batch:
    """What a batch of records means, with the images to overlay on the store."""

    events: list[Event] = field(default_factory=list)
    posts: dict[str, Post] = field(default_factory=dict)
    removed_posts: set[str] = field(default_factory=set)
    users: dict[str, User] = field(default_factory=dict)

    def add(self, change: Change) -> None:
        self.events.extend(change.events)
        if change.post is not None:
            self.posts[change.post.id] = change.post
        if change.removed_post is not None:
            self.removed_posts.add(change.removed_post)
        if change.user is not None:
            self.users[change.user.id] = change.user


def sequence_number(record: dict[str, Any]) -> str:
    """The record's place in its shard: what `batchItemFailures` reports."""
    try:
        return record["dynamodb"]["SequenceNumber"]
    except (KeyError, TypeError):
        raise UndecodableRecord("a stream record without dynamodb.SequenceNumber") from None


def decode(record: dict[str, Any]) -> Change:
    """The meaning of one stream record (the Lambda event's or GetRecords' shape)."""
    try:
        name = record["eventName"]
        images = record["dynamodb"]
        new = load(images["NewImage"]) if "NewImage" in images else None
        old = load(images["OldImage"]) if "OldImage" in images else None
    except (KeyError, TypeError, ValueError) as error:
        raise UndecodableRecord(f"not a DynamoDB stream record: {error!r}") from None
    if name not in (INSERT, MODIFY, REMOVE) or (new is None and old is None):
        raise UndecodableRecord(f"unexpected stream record: event {name!r} without images")
    kind = (new or old).get(TYPE)
    try:
        return _meaning(name, kind, new, old)
    except (KeyError, TypeError, ValueError) as error:
        raise UndecodableRecord(f"a {kind} item this code cannot read: {error!r}") from None


def _meaning(name: str, kind: str | None, new: dict | None, old: dict | None) -> Change:
    if kind == ItemType.POST:
        if name == INSERT or (name == MODIFY and _numbered(new, old)):
            post = post_from_item(new)
            return Change([PostCreated.of(post)], post=post if post.explore_seq else None)
        if name == REMOVE:
            post = post_from_item(old)
            return Change([PostDeleted.of(post)], removed_post=post.id)
        return Change()  # posts are never edited, only numbered once
    if kind == ItemType.USER:
        if name == INSERT:
            user = user_from_item(new)
            return Change([UserCreated(user.id)], user=user)
        if name == MODIFY:
            user = user_from_item(new)
            return Change(user_changes(user, user_from_item(old)), user=user)
        return Change()
    if kind == ItemType.EDGE:
        if name == INSERT:
            return Change([Followed(new["follower_id"], new["followed_id"])])
        if name == REMOVE:
            return Change([Unfollowed(old["follower_id"], old["followed_id"])])
        return Change()
    return Change()  # markers, timeline copies, counters, throttle rows, keys, messages


def _numbered(new: dict, old: dict) -> bool:
    """Whether a post's update is its numbering (it had no explore number)."""
    return "explore_seq" not in old and "explore_seq" in new


def decode_all(records: Iterable[dict[str, Any]]) -> Batch:
    """The meaning of many records, in order (raises on the first bad one)."""
    batch = Batch()
    for record in records:
        batch.add(decode(record))
    return batch
