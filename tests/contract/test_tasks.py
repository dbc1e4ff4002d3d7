"""Background tasks in the Store (export): one current task per user and
name, started by a conditional write, so two starts never make two tasks;
a dead one (not updated for TASK_STALE) gives way."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.domain import TASK_STALE, Task, User, new_id, utcnow

EXPORT = "export_posts"


@pytest.fixture
def ann(store) -> User:
    user = User.new("ann", "ann@example.com", "pbkdf2:sha256:1$salt$" + "0" * 64)
    store.create_user(user)
    return user


def a_task(user: User, at=None, name: str = EXPORT) -> Task:
    at = at or utcnow()
    return Task(new_id(at), user.id, name, "Exporting posts...", started=at, updated=at)


def test_a_started_task_is_read_back_whole(store, ann):
    task = a_task(ann)
    assert store.get_task(ann.id, EXPORT) is None
    assert store.start_task(task) is True
    assert store.get_task(ann.id, EXPORT) == task
    assert store.get_task(ann.id, "other") is None


def test_a_running_task_refuses_a_second_start(store, ann):
    first = a_task(ann)
    assert store.start_task(first)
    assert store.start_task(a_task(ann, first.started + timedelta(seconds=1))) is False
    assert store.get_task(ann.id, EXPORT) == first
    assert store.start_task(a_task(ann, name="another_job"))  # other names are not blocked


def test_progress_is_written_while_the_task_is_current(store, ann):
    task = a_task(ann)
    store.start_task(task)
    later = task.updated + timedelta(seconds=3)
    assert store.update_task(task.replace(progress=40, updated=later))
    assert store.get_task(ann.id, EXPORT) == task.replace(progress=40, updated=later)
    done = task.replace(progress=100, complete=True, updated=later)
    assert store.update_task(done)
    assert store.get_task(ann.id, EXPORT) == done


def test_a_finished_task_takes_no_more_writes_and_lets_a_new_one_start(store, ann):
    task = a_task(ann)
    store.start_task(task)
    store.update_task(task.replace(progress=100, complete=True, error="too big"))
    assert store.update_task(task.replace(progress=50)) is False  # a late or duplicate job
    assert store.get_task(ann.id, EXPORT).error == "too big"
    second = a_task(ann)
    assert store.start_task(second)
    assert store.get_task(ann.id, EXPORT) == second


def test_a_dead_task_gives_way_and_its_job_can_no_longer_write(store, ann):
    crashed = a_task(ann, utcnow() - TASK_STALE - timedelta(seconds=1))
    store.start_task(crashed)
    assert not crashed.running(utcnow())
    fresh = a_task(ann)
    assert store.start_task(fresh)  # not updated for TASK_STALE: dead
    assert store.update_task(crashed.replace(progress=90, updated=utcnow())) is False
    assert store.get_task(ann.id, EXPORT) == fresh


def test_a_task_updated_recently_is_alive_however_old(store, ann):
    old = a_task(ann, utcnow() - 3 * TASK_STALE)
    store.start_task(old)
    store.update_task(old.replace(progress=10, updated=utcnow()))  # its heartbeat
    assert store.start_task(a_task(ann)) is False


def test_concurrent_starts_make_exactly_one_task(store, ann):
    workers = 8
    barrier = threading.Barrier(workers)
    tasks = [a_task(ann) for _ in range(workers)]

    def start(task: Task) -> bool:
        barrier.wait()
        return store.start_task(task)

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(start, tasks))
    assert results.count(True) == 1
    (winner,) = [task for task, won in zip(tasks, results, strict=True) if won]
    assert store.get_task(ann.id, EXPORT) == winner


def test_concurrent_starts_after_a_dead_task_make_exactly_one_task(store, ann):
    store.start_task(a_task(ann, utcnow() - 2 * TASK_STALE))
    workers = 6
    barrier = threading.Barrier(workers)

    def start(_: int) -> bool:
        task = a_task(ann)
        barrier.wait()
        return store.start_task(task)

    with ThreadPoolExecutor(workers) as pool:
        assert list(pool.map(start, range(workers))).count(True) == 1
