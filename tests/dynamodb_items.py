"""Set-up for a DynamoStore, shared by tests and benchmarks: users with a
cheap password hash, and items written straight into the table (what
thousands of follows or posts leave) in a fraction of the use cases' time.

    from tests.dynamodb_items import add_followers, bulk_write, make_user
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from functions.domain import User, new_id
from functions.store.dynamodb_schema import dump, edge_item

# A well-formed hash that no password matches, made in no time (hashing a
# real password costs about 100 ms on purpose).
CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def make_user(store, name: str, password_hash: str = CHEAP_HASH) -> User:
    user = User.new(name, f"{name}@example.com", password_hash)
    store.create_user(user)
    return user


def bulk_write(store, items: Iterable[dict[str, Any]]) -> None:
    """Items straight into the table, in batches: no use case, no counters."""
    store._batch_write({"PutRequest": {"Item": dump(item)}} for item in items)


def add_followers(store, user: User, count: int) -> list[str]:
    """`count` follow edges to `user` from new ids (followers with no user item)."""
    ids = [new_id() for _ in range(count)]
    bulk_write(store, (edge_item(fan, user.id, new_id()) for fan in ids))
    return ids
