"""Idempotency keys on posts, on every adapter: a retried write never doubles."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.domain import Idempotency, NotFound, Post, User, ValidationError

CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def make_user(store, name: str) -> User:
    user = User.new(name, f"{name}@example.com", CHEAP_HASH)
    store.create_user(user)
    return user


def a_post(author: User, body: str = "hello") -> Post:
    return Post.new(author.id, body, f"<p>{body}</p>", "en")


def test_a_retry_with_the_same_key_returns_the_first_post(store):
    ann = make_user(store, "ann")
    key = Idempotency(ann.id, "k-1", "digest-of-hello")
    first = store.create_post(a_post(ann), key)
    again = store.create_post(a_post(ann), key)
    assert again == first
    assert [p.id for p in store.posts_by(ann.id).items] == [first.id]
    assert store.get_user(ann.id).post_count == 1


def test_the_same_key_with_another_request_is_refused(store):
    ann = make_user(store, "ann")
    store.create_post(a_post(ann), Idempotency(ann.id, "k-1", "digest-of-hello"))
    with pytest.raises(ValidationError):
        store.create_post(a_post(ann, "other"), Idempotency(ann.id, "k-1", "digest-of-other"))
    assert len(store.posts_by(ann.id).items) == 1


def test_keys_of_two_users_never_meet(store):
    ann, bob = make_user(store, "ann"), make_user(store, "bob")
    store.create_post(a_post(ann), Idempotency(ann.id, "same", "d"))
    store.create_post(a_post(bob), Idempotency(bob.id, "same", "d"))
    assert len(store.posts_by(ann.id).items) == len(store.posts_by(bob.id).items) == 1


def test_a_retry_after_the_post_was_deleted_makes_no_new_post(store):
    ann = make_user(store, "ann")
    key = Idempotency(ann.id, "k-1", "d")
    first = store.create_post(a_post(ann), key)
    store.delete_post(first.id)
    with pytest.raises(NotFound):
        store.create_post(a_post(ann), key)
    assert store.explore().items == []


def test_racing_retries_make_one_post(store):
    ann = make_user(store, "ann")
    key = Idempotency(ann.id, "k-race", "d")
    with ThreadPoolExecutor(8) as pool:
        posts = list(pool.map(lambda _: store.create_post(a_post(ann), key), range(8)))
    assert len({p.id for p in posts}) == 1
    assert [p.id for p in store.posts_by(ann.id).items] == [posts[0].id]
