"""Deterministic demo data: users, follows and posts, written through the Store port.

The same arguments (`users`, `posts`, `seed`, `now`) give the same usernames,
e-mails, "about me" lines, follow graph, post bodies, languages and
timestamps in a fresh store, on any adapter. Names and sentences come from
Faker, every other choice from one `random.Random(seed)`.

Every demo user's password is `DEMO_PASSWORD`: the data is for demos and
development only, never for a public deployment.

Seeding again into a store that already has users adds a new batch: names or
e-mails that are taken get a numeric suffix (`mrosello` -> `mrosello2`), the
new users only follow each other, and the new posts are all dated after the
newest post already there, so the store's creation order (which archive pages
are cut from) still matches time.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from faker import Faker
from tqdm import tqdm

from . import auth
from .domain import (
    ABOUT_ME_MAX,
    BODY_MAX,
    Conflict,
    PostCreated,
    User,
    email_key,
    new_id,
    username_key,
)
from .services import new_post
from .store import Store
from .timelines import Fanout

DEMO_PASSWORD = "microblog-demo"
"""The password of every demo user (demo data only)."""

# Faker locale -> (ISO 639-1 code, share of posts). English is ~85%, so the
# "Translate" feature has something to show.
LOCALES = {
    "en_US": ("en", 85),
    "es_ES": ("es", 5),
    "fr_FR": ("fr", 4),
    "de_DE": ("de", 3),
    "it_IT": ("it", 2),
    "nl_NL": ("nl", 1),
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved (RFC 2606)
POST_WINDOW = timedelta(days=90)  # posts are spread over this span before `now`
SIGNUP_LEAD = timedelta(days=30)  # users may have joined this long before the window
ACTIVITY_SKEW = 1.2  # Pareto shape: a few users post (and are followed) a lot
MAX_FOLLOWS = 50
MS = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeedStats:
    users: int
    posts: int
    follows: int
    seconds: float
    demo_user: str | None = None
    """A new user to log in as: the one who follows the most others (a full
    home feed), then posts the most; None when no user was made."""


@dataclass
class _Person:
    """A demo user being planned, before it is written."""

    base: str  # username before any suffix
    about_me: str
    weight: float  # how active (and popular) they are
    first_ms: int = 0  # first post, 0 when none
    last_ms: int = 0  # last post, then last seen
    created_ms: int = 0
    user: User | None = None


def seed(
    store: Store,
    users: int,
    posts: int,
    *,
    seed: int = 1,
    progress: bool = True,
    now: datetime | None = None,
    fanout: Fanout | None = None,
) -> SeedStats:
    """Add `users` demo users, their follows and `posts` posts to `store`.

    `fanout` fills the followers' home feeds with each post, as the local
    stack does after a write (on AWS the table's stream does it: pass none).

    `now` (timezone-aware; default: the current time) ends the 90-day span
    the posts are spread over; pass it to get the same timestamps twice.
    """
    started = time.perf_counter()
    if users < 1 and posts > 0:
        raise ValueError("posts need at least one user")
    rng = random.Random(seed)
    fakers = {}
    for locale in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed)
    locales = list(LOCALES)
    shares = [share for _, share in LOCALES.values()]
    now = now or datetime.now(UTC)

    # --- plan everything in memory first: a function of the arguments alone
    # (and, on a re-run, of the newest post already stored: see `_window`)
    people = []
    for _ in range(users):
        fake = fakers[rng.choices(locales, shares)[0]]
        base = _clean_username(fake.user_name())
        about = _truncate(fake.sentence(nb_words=rng.randint(4, 12)), ABOUT_ME_MAX)
        people.append(_Person(base, about if rng.random() < 0.8 else "", _weight(rng)))
    weights = [p.weight for p in people]

    edges = _plan_follows(rng, weights)

    start_ms, end_ms = _window(store, now)
    times = _distinct_sorted(rng, start_ms, end_ms, posts)
    authors = rng.choices(range(users), weights, k=posts) if posts else []
    for t, a in zip(times, authors, strict=True):
        p = people[a]
        p.first_ms = p.first_ms or t  # times are sorted
        p.last_ms = t
    joined_from = start_ms - int(SIGNUP_LEAD.total_seconds() * MS)
    for p in people:
        joined_by = (p.first_ms or end_ms) - 60 * MS  # a minute before the first post
        p.created_ms = rng.randint(joined_from, max(joined_from, joined_by))
        p.last_ms = max(p.last_ms, p.created_ms)

    # --- write: users, then follows, then posts (oldest first)
    bar = tqdm(total=users + len(edges) + posts, desc="seed", unit="op", disable=_quiet(progress))
    password_hash = auth.hash_password(DEMO_PASSWORD)  # scrypt costs ~50-100 ms: hash once
    taken: set[str] = set()
    for p in sorted(people, key=lambda p: p.created_ms):
        p.user = _create_user(store, p, password_hash, taken, rng)
        bar.update()

    # Follows go in BEFORE posts: the fan-out copies each new post into its
    # followers' timelines once, instead of back-filling every followed
    # user's existing posts on each `follow`.
    for follower, followed in edges:
        store.follow(people[follower].user.id, people[followed].user.id)
        bar.update()

    for t, a in zip(times, authors, strict=True):
        locale = rng.choices(locales, shares)[0]
        body = _body(rng, fakers[locale])
        at = _time(t)
        post = store.create_post(new_post(people[a].user.id, body, LOCALES[locale][0], at))
        if fanout is not None:
            fanout.start([PostCreated.of(post)])
        bar.update()
    bar.close()
    seconds = round(time.perf_counter() - started, 3)
    return SeedStats(users, posts, len(edges), seconds, _demo_user(people, edges, authors))


def _demo_user(people: list[_Person], edges: list[tuple[int, int]], authors: list[int]):
    if not people:
        return None
    follows, posts = Counter(a for a, _ in edges), Counter(authors)
    best = max(range(len(people)), key=lambda n: (follows[n], posts[n], -n))
    return people[best].user.username


# ---------------------------------------------------------------- planning


def _weight(rng: random.Random) -> float:
    """Pareto-ish activity: most users post a little, a few a lot."""
    return rng.paretovariate(ACTIVITY_SKEW)


def _plan_follows(rng: random.Random, weights: list[float]) -> list[tuple[int, int]]:
    """Each user follows a handful of others, preferring the active ones
    (so popular users get many followers); no self-follows."""
    n = len(weights)
    cumulative = list(accumulate(weights))  # computed once: choices() is O(n) without
    edges = []
    for follower in range(n):
        want = min(n - 1, MAX_FOLLOWS, int(rng.paretovariate(1.5) * 2))
        chosen: dict[int, None] = {}  # insertion-ordered, so deterministic
        for _ in range(want * 4):  # bounded: weighted picks repeat
            if len(chosen) == want:
                break
            target = rng.choices(range(n), cum_weights=cumulative)[0]
            if target != follower:
                chosen[target] = None
        edges.extend((follower, target) for target in chosen)
    return edges


def _window(store: Store, now: datetime) -> tuple[int, int]:
    """The span of post times in ms: the last 90 days before `now`, but after
    the newest post already stored, so creation order keeps matching time."""
    end = int(now.timestamp() * MS) - 1
    start = end - int(POST_WINDOW.total_seconds() * MS)
    newest = store.explore(limit=1).items
    if newest:
        start = max(start, int(newest[0].timestamp.timestamp() * MS) + 1)
    return start, end


def _distinct_sorted(rng: random.Random, start: int, end: int, k: int) -> list[int]:
    """`k` distinct millisecond times, ascending. Distinct because a post id is
    a ULID of its time with a random tail: equal times would sort at random."""
    end = max(end, start + k - 1)  # a crowded window stretches (past `now`)
    return sorted(rng.sample(range(start, end + 1), k))


def _clean_username(name: str) -> str:
    """A Faker user name reduced to what `validate_username` accepts and what
    also reads as an e-mail local part (no leading, trailing or double dots)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "", name)
    name = re.sub(r"\.{2,}", ".", name).strip(".")
    return (name or "user").ljust(3, "0")[:28]  # room for a numeric suffix


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _body(rng: random.Random, fake: Faker) -> str:
    sentences = rng.choices((1, 2, 3), (6, 3, 1))[0]
    text = " ".join(fake.sentence(nb_words=rng.randint(5, 16)) for _ in range(sentences))
    return _truncate(text, BODY_MAX)


# ---------------------------------------------------------------- writing


def _candidates(base: str) -> Iterator[str]:
    yield base
    n = 2
    while True:
        yield f"{base}{n}"
        n += 1


def _create_user(
    store: Store, p: _Person, password_hash: str, taken: set[str], rng: random.Random
) -> User:
    """Create the user under the first free name: free in this run (`taken`)
    and in the store (a `Conflict` moves on to the next suffix)."""
    domain = EMAIL_DOMAINS[rng.randrange(len(EMAIL_DOMAINS))]
    created, last_seen = _time(p.created_ms), _time(p.last_ms)
    for name in _candidates(p.base):
        email = f"{name.lower()}@{domain}"
        if username_key(name) in taken or email_key(email) in taken:
            continue
        taken.update((username_key(name), email_key(email)))
        user = User.new(name, email, password_hash).replace(
            id=new_id(created), about_me=p.about_me, created=created, last_seen=last_seen
        )
        try:
            store.create_user(user)
        except Conflict:
            continue  # taken by an earlier run or a real user
        return user
    raise AssertionError("unreachable")


def _time(ms: int) -> datetime:
    """Milliseconds since the epoch as an exact UTC datetime (no float rounding)."""
    return EPOCH + timedelta(milliseconds=ms)


def _quiet(progress: bool) -> bool | None:
    """tqdm's `disable`: None shows the bar only when stderr is a terminal."""
    return None if progress else True
