"""Export your posts (the tutorial's chapter 22): what the API asks.

Starting an export stores the user's task (`Store.start_task`: one at a
time; a dead one gives way) and hands it to a `TaskRunner`, which runs the
job (`functions.export_job`) off the request: a worker thread locally, an
asynchronous invocation of the export function on AWS
(`functions.task_runners`). Reading the progress is one item read
(`Store.get_task`), so it can later be folded into a list of notifications
as a "task_progress" entry.
"""

from __future__ import annotations

import logging
from typing import Protocol

from .domain import Conflict, Task, User, new_id, utcnow
from .i18n import DEFAULT_LANGUAGE, N_
from .store import Store

log = logging.getLogger(__name__)

EXPORT_POSTS = "export_posts"  # the task's name (the tutorial's)
DESCRIPTION = N_("Exporting posts...")
IN_PROGRESS = N_("An export task is currently in progress")
NOT_STARTED = N_("The export could not be started; please try again later.")


class TaskRunner(Protocol):
    """Runs a stored task's job somewhere else than in the request."""

    def start(self, task: Task, language: str) -> None:
        """Run the task's job, which mails in `language`."""
        ...


class NotStarted(Exception):
    """The runner could not take the job; the task is marked failed."""


def start_export(
    store: Store, runner: TaskRunner, user: User, language: str = DEFAULT_LANGUAGE
) -> Task:
    """Start exporting the user's posts, mailed in `language` (the reader's);
    Conflict while an export runs. A runner that fails leaves the task
    failed (complete), not blocking."""
    now = utcnow()
    task = Task(new_id(now), user.id, EXPORT_POSTS, DESCRIPTION, started=now, updated=now)
    if not store.start_task(task):
        raise Conflict(IN_PROGRESS)
    try:
        runner.start(task, language)
    except Exception as exc:
        log.exception("could not start the export task %s", task.id)
        store.update_task(
            task.replace(progress=100, complete=True, error=NOT_STARTED, updated=utcnow())
        )
        raise NotStarted(NOT_STARTED) from exc
    return task


def current_export(store: Store, user: User) -> Task | None:
    """The user's latest export task, running or over (None before the first)."""
    return store.get_task(user.id, EXPORT_POSTS)
