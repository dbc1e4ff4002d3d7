"""The storage port: one `Store` protocol in domain terms, and its adapters.

Adapters: `sqlite` (embedded default) and `dynamodb` (AWS, single table).
Both pass the same contract suite in `tests/contract/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from ..domain import (
    Counts,
    FormerName,
    Idempotency,
    Message,
    Notification,
    Post,
    Task,
    Throttle,
    TimelineJob,
    User,
)

T = TypeVar("T")

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

# What `Store.update_user` may change; counters are kept by the store itself.
EDITABLE_FIELDS = frozenset(
    {"username", "email", "about_me", "password_hash", "token_version", "last_seen"}
)


def check_changes(changes: Mapping[str, Any]) -> None:
    """Refuse a field `update_user` may not write (a programming error)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a collection, newest first.

    `next_cursor` is opaque: pass it back to get the following page; it is
    None on the last page. A page may be empty only when the whole
    collection is empty or the cursor pointed past the end.
    """

    items: list[T]
    next_cursor: str | None = None


class InvalidCursor(ValueError):
    """A cursor that this store did not hand out (or that was tampered with)."""


class Store(Protocol):
    """Everything the use cases need from storage, in domain terms.

    Rules every adapter keeps (the contract tests check them):
    - usernames and e-mails are unique case-insensitively (`domain.username_key`,
      `domain.email_key`); a breach raises `domain.Conflict` with `field` set to
      "username" or "email", also when two writers race;
    - `follow`/`unfollow` are idempotent and keep both users' counters equal
      to the number of edges, under concurrency;
    - collections are newest first and a walk over `next_cursor` sees every
      item exactly once; `limit` is clamped to 1..MAX_LIMIT; a bad cursor
      raises `InvalidCursor`;
    - User objects come back with `post_count`, `follower_count` and
      `followed_count` filled in.
    """

    # users
    def create_user(self, user: User) -> None: ...

    def get_user(self, user_id: str) -> User | None: ...

    def get_user_by_username(self, username: str) -> User | None: ...

    def get_user_by_email(self, email: str) -> User | None: ...

    def get_users(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The users that exist among `user_ids`, by id (one round trip or few)."""
        ...

    def update_user(
        self, user_id: str, changes: Mapping[str, Any], if_token_version: int | None = None
    ) -> User:
        """Write only the fields in `changes` (keys from EDITABLE_FIELDS) and
        return the stored user, so concurrent writers of other fields keep their
        work (a last_seen touch never undoes a profile edit or a logout).

        With `if_token_version`, the write happens only while the stored token
        version is that one, else StaleUser: a reset link is spent exactly once.
        Raises Conflict when the new username or e-mail is taken, NotFound when
        the user does not exist. A new username records the old one as a
        `FormerName` in the same write (see `former_names`).
        """
        ...

    def former_names(self) -> list[FormerName]:
        """Every username left by a rename (also a change of case only), each
        with the user who left it last (names compare case-insensitively, so a
        name appears once). Kept for ever: the site's redirects are built from
        these, so a full build keeps them. Renames are rare: one read of all."""
        ...

    def list_users(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[User]:
        """All users, newest first."""
        ...

    # posts
    def create_post(self, post: Post, idempotency: Idempotency | None = None) -> Post:
        """Store the post, count it on its author, put it in its author's home
        feed (followers' feeds: `timeline_work`). Return it with `seq`
        assigned: one more than the last number given to the author's posts,
        never reused after a delete. `explore_seq` is assigned here too (SQLite,
        in its transaction) or left 0 until `number_posts` (DynamoDB: off the
        request, so no item takes a write per post); a post is in explore once
        numbered. Raises NotFound when the author does not exist.

        With `idempotency`, a key used in the last IDEMPOTENCY_TTL returns the
        post it made (nothing new is stored), or raises ValidationError when
        it came with another request; the key is kept in the post's write."""
        ...

    def number_posts(self, post_ids: Iterable[str]) -> list[Post]:
        """Give the posts that have no `explore_seq` yet the next explore
        numbers, densely and in id order; a post already numbered keeps its
        number (a batch delivered again numbers nothing twice), a missing post
        is skipped. Returns the existing posts, numbered, in id order."""
        ...

    def unnumbered_posts(self) -> Iterator[Post]:
        """Posts that have no explore number yet, however long they waited:
        for a repair after the numbering failed for good (it may read the
        whole store)."""
        ...

    def get_post(self, post_id: str) -> Post | None: ...

    def delete_post(self, post_id: str) -> Post | None:
        """Remove the post everywhere (author, explore, feeds); return it,
        or None when there was none."""
        ...

    def posts_by(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]: ...

    def explore(self, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[Post]:
        """Everyone's posts."""
        ...

    def posts_by_seq(self, user_id: str, first: int, last: int) -> list[Post]:
        """The author's posts with `first <= seq <= last`, newest first
        (an archive page; at most MAX_LIMIT numbers are asked for at once)."""
        ...

    def explore_by_seq(self, first: int, last: int) -> list[Post]:
        """Everyone's posts with `first <= explore_seq <= last`, newest first."""
        ...

    def explore_seq(self) -> int:
        """The highest `explore_seq` handed out so far (0 before the first post)."""
        ...

    def home_feed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Post]:
        """The posts of the users `user_id` follows, and its own."""
        ...

    # follows
    def follow(self, follower_id: str, followed_id: str) -> bool:
        """Add the edge; True when it was added, False when it existed.
        Raises NotFound when either user is missing."""
        ...

    def unfollow(self, follower_id: str, followed_id: str) -> bool:
        """Remove the edge; True when it was removed, False when there was none."""
        ...

    def is_following(self, follower_id: str, followed_id: str) -> bool: ...

    def timeline_work(self, job: TimelineJob) -> TimelineJob | None:
        """One bounded step of home-feed upkeep (see `functions.timelines`);
        the next step, or None when the job is done. Idempotent."""
        ...

    def followers(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        """Users following `user_id`, most recent edge first."""
        ...

    def followed(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[User]:
        """Users `user_id` follows, most recent edge first."""
        ...

    def counts(self, user_id: str) -> Counts: ...

    # throttles (kept here so they hold across processes and Lambda instances)
    def take_attempt(self, key: str, limit: int, window: timedelta, now: datetime) -> Throttle:
        """Count one attempt for `key`, unless `limit` attempts are counted in
        its current window already: then nothing is counted and the answer is
        `allowed=False`. The window is fixed: it starts with the first attempt
        and lasts `window`. Atomic (a conditional increment): of any number of
        concurrent calls, at most `limit` are allowed per window. Rows of
        ended windows are swept (SQLite) or expire (DynamoDB's TTL)."""
        ...

    def refund_attempt(self, key: str, now: datetime) -> None:
        """Take one attempt back from `key`'s current window (a login that
        turned out right counts against no limit but its own)."""
        ...

    def clear_attempts(self, key: str) -> None: ...

    def close(self) -> None: ...

    # Whether `reopen` can give a second handle on the same data (not so for
    # an in-memory database).
    reopenable: bool

    def reopen(self) -> Store:
        """A new handle on the same data, with its own connections or
        clients: for a forked worker process, which must not use its parent's."""
        ...

    # export (background tasks)
    def start_task(self, task: Task) -> bool:
        """Make `task` its user's current task of its name, unless the current
        one is running: not complete and updated less than TASK_STALE before
        `task.started` (so a crashed job blocks no one for ever). True when
        stored. Atomic (a conditional write): of concurrent starts, one wins."""
        ...

    def get_task(self, user_id: str, name: str) -> Task | None:
        """The user's current (latest) task of that name: one item read."""
        ...

    def update_task(self, task: Task) -> bool:
        """Write `task`'s progress, complete, error and updated, while it is
        still the current task and not complete; False otherwise (a newer
        task replaced it, or it was finished already): its job should stop."""
        ...

    # messages
    def send_message(self, message: Message) -> Message:
        """Put the message in its recipient's inbox and count it in the
        recipient's `unread_message_count` notification, in one atomic write
        (concurrent sends all count). Raises NotFound when the recipient (or,
        on SQLite, the sender) does not exist."""
        ...

    def messages_received(
        self, user_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[Message]:
        """The messages sent to `user_id`, newest first (one read)."""
        ...

    def unread_message_count(self, user_id: str) -> int:
        """Messages received since the last `mark_messages_read` (one read)."""
        ...

    def mark_messages_read(self, user_id: str) -> int:
        """Set the unread count to 0 (the tutorial's last_message_read_time);
        returns how many it cleared. Atomic with sends: each send is counted
        either here or in the count left after, never in both nor in neither.
        Nothing is written when the count is 0 already."""
        ...

    def notifications(self, user_id: str, since: float = 0) -> list[Notification]:
        """The user's notifications changed after `since`, oldest change first (one read)."""
        ...

    def set_notification(self, user_id: str, name: str, data: Any) -> Notification:
        """Replace the user's notification `name` (any JSON value) and stamp it now."""
        ...


def clamp_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))
