"""What pages exist, and which of them a change touches.

A page is named by what it shows (a user's profile by the user's immutable
id), not by its URL: the URL comes from `functions.urls` when it is rendered,
so a username change is one page with a new address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..domain import (
    Event,
    Followed,
    PostCreated,
    PostDeleted,
    Unfollowed,
    UserCreated,
    UserUpdated,
)
from ..store import Store


@dataclass(frozen=True)
class Home:
    """`/`: the newest posts of everyone."""


@dataclass(frozen=True)
class NotFoundPage:
    """`/404.html`."""


@dataclass(frozen=True)
class Profile:
    """`/u/<username>/`: a user, their counts and newest posts."""

    user_id: str


PageRef = Home | NotFoundPage | Profile


def all_pages(store: Store) -> Iterator[PageRef]:
    yield Home()
    yield NotFoundPage()
    cursor = None
    while True:
        page = store.list_users(cursor=cursor, limit=100)
        yield from (Profile(user.id) for user in page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def pages_for(event: Event) -> set[PageRef]:
    """The pages one change touches: a bounded set, whatever the corpus size."""
    match event:
        case PostCreated(author=author) | PostDeleted(author=author):
            return {Profile(author.id), Home()}
        case UserCreated(user=user):
            return {Profile(user.id)}
        case UserUpdated(user=user):
            # The home page shows authors' names and avatars.
            return {Profile(user.id), Home()}
        case Followed(follower=a, followed=b) | Unfollowed(follower=a, followed=b):
            return {Profile(a.id), Profile(b.id)}
    raise TypeError(f"not a change event: {event!r}")


def pages_for_all(events: Iterable[Event]) -> set[PageRef]:
    """The union of the pages of many changes: each page rendered once."""
    return set().union(*(pages_for(event) for event in events))
