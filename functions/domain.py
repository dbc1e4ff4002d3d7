"""The domain model: users, posts, follow edges, validation and change events.

Nothing here does I/O. Store adapters persist these objects; services build
them; the site build maps the change events to the pages they touch.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from .i18n import N_, Text

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 256  # checked before any hashing: a long password costs CPU
BODY_MAX = 500
ABOUT_ME_MAX = 140


class DomainError(Exception):
    """Base of the errors a use case reports to its caller."""

    def __init__(self, message: str, field: str | None = None, **params: object):
        message = Text(message, **params)  # English; translated where it is shown
        super().__init__(message)
        self.message = message
        self.field = field
        self.fields: dict[str, str] = {field: message} if field else {}
        """Every offending field's message (several for `validate_fields`)."""
        self.joined = False
        """Whether the message is the fields' messages joined (`ValidationError.of`)."""


class BadRequest(DomainError):
    """A request that makes no sense (following oneself, ...)."""


class ValidationError(DomainError):
    """Input that breaks a rule of the domain (length, format, ...)."""

    @classmethod
    def of(cls, fields: dict[str, str]) -> ValidationError:
        """One error naming several fields, each with its message."""
        error = cls(joined_fields(fields))
        error.fields = dict(fields)
        error.joined = True
        return error


def joined_fields(fields: dict[str, str]) -> str:
    """The message of an error about several fields: `name: message; ...`."""
    return "; ".join(f"{name}: {message}" for name, message in fields.items())


class Conflict(DomainError):
    """A uniqueness rule would be broken (username or e-mail taken)."""


class StaleUser(DomainError):
    """A conditional user update found another token version than expected:
    someone else changed the account's credentials first."""


class TooManyAttempts(DomainError):
    """Throttled: too many attempts (logins, reset mails, sign-ups) for this
    account or address in the current window; `retry_after` is in seconds."""

    def __init__(
        self,
        retry_after: int,
        message: str = N_("Too many failed login attempts; try again later."),
    ):
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(DomainError):
    """The thing asked for does not exist."""


class Forbidden(DomainError):
    """The caller may not do this (e.g. delete someone else's post)."""


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (what every store keeps exactly)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


_last_id = 0  # the last ULID handed out, as a number
_id_lock = threading.Lock()


def new_id(at: datetime | None = None) -> str:
    """A ULID: unique, immutable and sortable by creation time.

    Ids made without `at` are monotonic within the process, so two posts
    written in the same millisecond still sort in the order they were made.
    """
    # Imported here: python-ulid reads its package metadata when imported
    # (~20 ms), and most processes (a site build) never make an id.
    from ulid import ULID

    global _last_id
    if at is not None:
        return str(ULID.from_datetime(at))
    with _id_lock:
        candidate = int(ULID())
        if candidate <= _last_id:
            candidate = _last_id + 1
        _last_id = candidate
    return str(ULID.from_int(candidate))


def format_time(at: datetime) -> str:
    """ISO 8601 in UTC with a Z, the form used in JSON and `<time datetime>`."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------- validation


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError(
            N_("Username must be 3 to 32 letters, digits, '_', '-' or '.'."), "username"
        )
    return username


def normalize_email(email: str) -> str:
    """The validated address; compare addresses with `email_key`."""
    # Imported here: it compiles large patterns when imported (~20 ms), which
    # only registration and profile edits need.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            N_("Invalid email address: %(reason)s"), "email", reason=str(exc)
        ) from None
    return result.normalized


def validate_password(password: str) -> str:
    if len(password or "") < PASSWORD_MIN:
        raise ValidationError(
            N_("Password must be at least %(min)d characters."), "password", min=PASSWORD_MIN
        )
    if len(password) > PASSWORD_MAX:
        raise ValidationError(
            N_("Password must be at most %(max)d characters."), "password", max=PASSWORD_MAX
        )
    return password


def validate_fields(**fields: tuple[Callable[[str], str], str | None]) -> dict[str, str]:
    """Each given field (`name=(check, value)`, skipped when the value is None)
    through its check; the checked values. Every field is checked before
    failing, so one ValidationError names every offending field at once and a
    form shows them all together, not one per attempt."""
    checked: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, (check, value) in fields.items():
        if value is None:
            continue
        try:
            checked[name] = check(value)
        except ValidationError as exc:
            errors.update(exc.fields or {name: exc.message})
    if errors:
        raise ValidationError.of(errors)
    return checked


# Characters XML 1.0 cannot hold (C0 controls but tab, newline and return;
# lone surrogates; U+FFFE, U+FFFF): one in a post would make every Atom feed
# that lists it malformed. Stripped from text at the edge; the feed writer
# strips them again whatever the store holds (`sitegen.render`).
NOT_XML_CHARS = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


@functools.cache
def _not_xml_chars() -> re.Pattern:
    """NOT_XML_CHARS compiled on first use (it costs ~5 ms: not at a cold start)."""
    return re.compile(NOT_XML_CHARS)


def clean_text(text: str) -> str:
    """`text` without the characters no page or feed may carry (NOT_XML_CHARS)."""
    return _not_xml_chars().sub("", text)


def validate_body(body: str) -> str:
    body = clean_text(body or "").strip()
    if not body:
        raise ValidationError(N_("Say something: a post cannot be empty."), "body")
    if len(body) > BODY_MAX:
        raise ValidationError(N_("A post has at most %(max)d characters."), "body", max=BODY_MAX)
    return body


def validate_about_me(about_me: str) -> str:
    about_me = clean_text(about_me or "").strip()
    if len(about_me) > ABOUT_ME_MAX:
        raise ValidationError(
            N_("About me has at most %(max)d characters."), "about_me", max=ABOUT_ME_MAX
        )
    return about_me


def username_key(username: str) -> str:
    """What makes two usernames the same: case is ignored."""
    return username.casefold()


def email_key(email: str) -> str:
    """What makes two e-mail addresses the same: case is ignored."""
    return email.casefold()


# ---------------------------------------------------------------- entities


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    password_hash: str
    about_me: str = ""
    created: datetime = field(default_factory=utcnow)
    last_seen: datetime = field(default_factory=utcnow)
    token_version: int = 0
    # Counters are kept by the store; they are read-only here.
    post_count: int = 0
    follower_count: int = 0
    followed_count: int = 0
    post_seq: int = 0  # the highest `Post.seq` handed out to this user

    @classmethod
    def new(cls, username: str, email: str, password_hash: str) -> User:
        now = utcnow()
        return cls(
            id=new_id(now),
            username=validate_username(username),
            email=normalize_email(email),
            password_hash=password_hash,
            created=now,
            last_seen=now,
        )

    def avatar(self, size: int = 128) -> str:
        """The Gravatar URL, as in the tutorial (identicon when none is set)."""
        return f"https://www.gravatar.com/avatar/{self._email_digest}?d=identicon&s={size}"

    @functools.cached_property
    def _email_digest(self) -> str:
        return hashlib.md5(self.email.lower().encode("utf-8")).hexdigest()

    def replace(self, **changes) -> User:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Post:
    id: str
    author_id: str
    body: str
    body_html: str
    language: str
    timestamp: datetime
    # Numbered by the store, from 1, never reused: the post's place among its
    # author's posts and among everyone's. Archive pages are cut from these,
    # so page k always holds the same posts.
    seq: int = 0
    explore_seq: int = 0

    @classmethod
    def new(cls, author_id: str, body: str, body_html: str, language: str) -> Post:
        return cls(new_id(), author_id, body, body_html, language, utcnow())

    def replace(self, **changes) -> Post:
        return dataclasses.replace(self, **changes)


IDEMPOTENCY_TTL = timedelta(hours=24)
REUSED_KEY = "This Idempotency-Key was used for another request."


@dataclass(frozen=True)
class Idempotency:
    """A client's `Idempotency-Key` for one write: a retry with the same key
    gets the first write's result, never a second write, for IDEMPOTENCY_TTL.
    The fingerprint (a digest of what was asked) tells a retry from another
    request reusing the key, which is refused."""

    scope: str  # whose keys these are (the author): keys of two users never meet
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Throttle:
    """Attempts counted for one key (an account, an address, both) in the
    current fixed window, and when that window ends; `allowed` is False when
    the attempt asked for was refused (the limit was reached: not counted)."""

    count: int = 0
    until: datetime | None = None
    allowed: bool = True


@dataclass(frozen=True)
class FormerName:
    """A username a user left by renaming: its old pages redirect to the
    user's current ones, for as long as nobody else holds the name."""

    username: str
    user_id: str


@dataclass(frozen=True)
class Counts:
    posts: int
    followers: int
    followed: int


# ---------------------------------------------------------------- events
# What a write use case changed: ids, numbers and names, exactly what the page
# model needs to tell the pages a change touches, so that an event is cheap to
# make (no store reads) and can be rebuilt from a DynamoDB stream record
# (`functions.stream`). The site build maps each to the pages it touches.


@dataclass(frozen=True)
class _PostChange:
    """A post and its places (its numbers): what its pages are cut from."""

    post_id: str
    author_id: str
    seq: int
    explore_seq: int

    @classmethod
    def of(cls, post: Post) -> Self:
        return cls(post.id, post.author_id, post.seq, post.explore_seq)


class PostCreated(_PostChange):
    pass


@dataclass(frozen=True)
class PostDeleted(_PostChange):
    """The post is gone from the store by the time its pages are rebuilt:
    its words travel with the event (the services hold the post; the
    stream's REMOVE record has its old image), so the search index can
    withdraw them. Not part of what makes two events equal."""

    body: str = field(default="", compare=False, repr=False)
    language: str = field(default="", compare=False)

    @classmethod
    def of(cls, post: Post) -> PostDeleted:
        return cls(post.id, post.author_id, post.seq, post.explore_seq, post.body, post.language)


@dataclass(frozen=True)
class UserCreated:
    user_id: str


# The user fields pages show: name and avatar (the e-mail's Gravatar) on
# every page with the user's posts, about me on the profile and the card. A
# change of any other field (counters, password, token version, last seen:
# the profile gets that from the API) re-renders nothing, but for last seen's
# day, on the card (`UserSeen`).
SHOWN_USER_FIELDS = ("username", "email", "about_me")


@dataclass(frozen=True)
class UserUpdated:
    """A change of what pages show about a user. `shown_everywhere` when the
    name or the avatar changed: every page with the user's posts shows those;
    about me is on the profile only."""

    user_id: str
    username: str
    previous_username: str
    shown_everywhere: bool
    post_seq: int  # the user's posts are numbered 1..post_seq

    @classmethod
    def of(cls, user: User, previous: User) -> UserUpdated:
        return cls(
            user.id,
            user.username,
            previous.username,
            (user.username, user.email) != (previous.username, previous.email),
            user.post_seq,
        )

    @classmethod
    def between(cls, user: User, previous: User) -> UserUpdated | None:
        """The change pages see from `previous` to `user`; None when no page
        shows what changed. The services and the stream decoder both ask."""
        if all(getattr(user, f) == getattr(previous, f) for f in SHOWN_USER_FIELDS):
            return None
        return cls.of(user, previous)


@dataclass(frozen=True)
class Followed:
    follower_id: str
    followed_id: str


@dataclass(frozen=True)
class Unfollowed:
    follower_id: str
    followed_id: str


def seen_day(at: datetime) -> date:
    """The day (UTC) a last-seen time falls on: what the user's card shows."""
    return at.astimezone(UTC).date()


@dataclass(frozen=True)
class UserSeen:
    """The user's last-seen day (UTC) moved on. Last seen changes at most once
    a minute, and no page shows the time (the profile gets it from the API),
    but the user's card (the popup on hover, a static file) shows the day:
    coarsening the time to a day bounds the card's rewrites to one a user a
    day, and the day's change alone writes no other file."""

    user_id: str


def user_changes(user: User, previous: User) -> list[UserUpdated | UserSeen]:
    """What pages see of a user's write from `previous` to `user`: a change
    pages show (`UserUpdated.between`), else a new last-seen day, else
    nothing. The one rule of both transports: the services and the stream
    decoder both ask."""
    event = UserUpdated.between(user, previous)
    if event is not None:
        return [event]  # re-renders the card too
    if seen_day(user.last_seen) != seen_day(previous.last_seen):
        return [UserSeen(user.id)]
    return []


Event = PostCreated | PostDeleted | UserCreated | UserUpdated | Followed | Unfollowed | UserSeen


# ---------------------------------------------------------------- timelines


@dataclass(frozen=True)
class TimelineJob:
    """One bounded step of home-feed upkeep that must not run inside a request:
    copying a new post into every follower's feed (`deliver`), taking a deleted
    post out of them (`retract`), or taking an unfollowed user's posts out of
    one feed (`withdraw`). `cursor` says where the previous step stopped; a
    step is idempotent, so a step run twice changes nothing more."""

    action: str  # DELIVER, RETRACT or WITHDRAW
    subject: str  # the post (deliver, retract) or the unfollowed user (withdraw)
    owner: str  # the post's author (deliver, retract) or the follower (withdraw)
    cursor: str | None = None

    DELIVER = "deliver"
    RETRACT = "retract"
    WITHDRAW = "withdraw"


# ---------------------------------------------------------------- tasks

# A task whose job has not written for this long is dead (its process
# crashed, timed out or was stopped): it no longer blocks a new one. Jobs
# write at least every TASK_HEARTBEAT while they run.
TASK_STALE = timedelta(minutes=5)
TASK_HEARTBEAT = timedelta(seconds=30)


@dataclass(frozen=True)
class Task:
    """A user's background job (the tutorial's Task): its progress in
    percent, whether it is over, and why it failed ("" when it did not).
    The store keeps one per user and job name, the latest."""

    id: str
    user_id: str
    name: str
    description: str
    started: datetime
    updated: datetime
    progress: int = 0
    complete: bool = False
    error: str = ""

    def running(self, now: datetime) -> bool:
        """Not over, and its job wrote recently enough to be alive."""
        return not self.complete and now - self.updated < TASK_STALE

    def replace(self, **changes) -> Task:
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- messages
# Private messages (the tutorial's chapter 21): never on a page, never in the
# stream's events; the recipient's unread count is a notification.

MESSAGE_MAX = 140  # the tutorial's MessageForm: Length(min=0, max=140)
UNREAD_MESSAGE_COUNT = "unread_message_count"  # the notification of unread messages


def validate_message(body: str) -> str:
    """The tutorial's checks and messages (DataRequired, Length(max=140))."""
    body = clean_text(body or "").strip()
    if not body:
        raise ValidationError(N_("This field is required."), "body")
    if len(body) > MESSAGE_MAX:
        raise ValidationError(
            N_("Field must be between 0 and %(max)d characters long."), "body", max=MESSAGE_MAX
        )
    return body


@dataclass(frozen=True)
class Message:
    """A private message: only its sender and its recipient may read it."""

    id: str  # a ULID: the inbox's order
    sender_id: str
    recipient_id: str
    body: str  # plain text, shown as text (never as HTML)
    timestamp: datetime

    @classmethod
    def new(cls, sender_id: str, recipient_id: str, body: str) -> Message:
        return cls(new_id(), sender_id, recipient_id, validate_message(body), utcnow())


@dataclass(frozen=True)
class Notification:
    """The tutorial's Notification: the latest value of one named thing a
    user's pages show live (`unread_message_count`, a task's progress...), and
    when it changed (seconds since the epoch: what `?since=` compares)."""

    name: str
    data: Any
    timestamp: float
