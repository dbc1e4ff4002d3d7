"""Private messages and notifications in the Store: the same contract on every adapter."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.domain import UNREAD_MESSAGE_COUNT, Message, NotFound, User, new_id
from functions.store import MAX_LIMIT, InvalidCursor

CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


def make_user(store, username: str) -> User:
    user = User.new(username, f"{username}@example.com", CHEAP_HASH)
    store.create_user(user)
    return user


@pytest.fixture
def ann(store) -> User:
    return make_user(store, "ann")


@pytest.fixture
def bob(store) -> User:
    return make_user(store, "bob")


def send(store, sender: User, recipient: User, body: str = "hi") -> Message:
    return store.send_message(Message.new(sender.id, recipient.id, body))


def walk(store, user_id: str, limit: int) -> list[Message]:
    messages, cursor = [], None
    while True:
        page = store.messages_received(user_id, cursor=cursor, limit=limit)
        messages += page.items
        if page.next_cursor is None:
            return messages
        cursor = page.next_cursor


def test_a_sent_message_is_in_the_recipients_inbox_only(store, ann, bob):
    carl = make_user(store, "carl")
    message = send(store, ann, bob, "Hello, Bob!")
    assert store.messages_received(bob.id).items == [message]
    assert store.messages_received(ann.id).items == []  # the sender's inbox
    assert store.messages_received(carl.id).items == []


def test_the_inbox_is_newest_first_and_a_walk_sees_each_message_once(store, ann, bob):
    sent = [send(store, ann, bob, f"message {n}") for n in range(7)]
    assert walk(store, bob.id, limit=3) == sent[::-1]
    first = store.messages_received(bob.id, limit=7)
    assert first.items == sent[::-1] and first.next_cursor is None  # an exactly full page


def test_the_inbox_limit_is_clamped_and_a_bad_cursor_refused(store, ann, bob):
    send(store, ann, bob)
    assert len(store.messages_received(bob.id, limit=0).items) == 1
    assert store.messages_received(bob.id, limit=MAX_LIMIT + 1).next_cursor is None
    for bad in ("nonsense", new_id().lower() + "!", ""):
        with pytest.raises(InvalidCursor):
            store.messages_received(bob.id, cursor=bad or "x")


def test_a_message_to_nobody_is_not_found_and_counts_nothing(store, ann):
    with pytest.raises(NotFound):
        store.send_message(Message.new(ann.id, new_id(), "anyone there?"))
    assert store.unread_message_count(ann.id) == 0


def test_sends_count_unread_until_marked_read(store, ann, bob):
    assert store.unread_message_count(bob.id) == 0
    assert store.mark_messages_read(bob.id) == 0
    for _ in range(3):
        send(store, ann, bob)
    assert store.unread_message_count(bob.id) == 3
    assert store.unread_message_count(ann.id) == 0
    assert store.mark_messages_read(bob.id) == 3
    assert store.unread_message_count(bob.id) == 0
    assert len(store.messages_received(bob.id).items) == 3  # read, not gone
    send(store, ann, bob)
    assert store.unread_message_count(bob.id) == 1


def test_the_unread_count_is_a_notification_with_the_time_it_changed(store, ann, bob):
    assert store.notifications(bob.id) == []
    before = time.time()
    send(store, ann, bob)
    [note] = store.notifications(bob.id)
    assert (note.name, note.data) == (UNREAD_MESSAGE_COUNT, 1)
    assert before - 1 < note.timestamp < time.time() + 1
    assert store.notifications(bob.id, since=note.timestamp) == []  # nothing newer
    time.sleep(0.01)
    store.mark_messages_read(bob.id)
    [cleared] = store.notifications(bob.id, since=note.timestamp)
    assert cleared.data == 0 and cleared.timestamp > note.timestamp


def test_marking_read_with_nothing_unread_changes_no_notification(store, ann, bob):
    send(store, ann, bob)
    store.mark_messages_read(bob.id)
    [note] = store.notifications(bob.id)
    assert store.mark_messages_read(bob.id) == 0
    assert store.notifications(bob.id) == [note]


def test_any_notification_can_be_set_and_is_listed_in_order_of_change(store, ann):
    progress = {"task_id": "abc", "description": "Exporting posts...", "progress": 37.5}
    first = store.set_notification(ann.id, "task_progress", progress)
    time.sleep(0.01)
    second = store.set_notification(ann.id, "other", 2)
    assert store.notifications(ann.id) == [first, second]
    assert first.data == progress
    assert store.notifications(ann.id, since=first.timestamp) == [second]
    with pytest.raises(NotFound):
        store.set_notification(new_id(), "task_progress", 1)


def test_concurrent_sends_and_reads_lose_no_message_and_count_each_once(store, ann, bob):
    """Every send is counted by exactly one reset or by the count left after
    them: what the resets cleared plus what is left is the number sent."""
    sends, readers = 24, 4
    barrier = threading.Barrier(sends + readers)
    cleared: list[int] = []

    def act(k: int) -> None:
        barrier.wait()
        if k < sends:
            send(store, ann, bob, f"message {k}")
        else:
            for _ in range(3):
                cleared.append(store.mark_messages_read(bob.id))

    with ThreadPoolExecutor(sends + readers) as pool:
        list(pool.map(act, range(sends + readers)))
    assert len(walk(store, bob.id, limit=10)) == sends
    assert sum(cleared) + store.unread_message_count(bob.id) == sends
