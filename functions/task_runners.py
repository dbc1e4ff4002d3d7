"""Where background tasks run (`exports.TaskRunner`).

- `ThreadRunner` (the local stack): on a worker thread of the server
  process, so the request that started the task answers at once;
- `LambdaRunner` (AWS): an asynchronous invocation (`InvocationType=Event`)
  of the export function with the task's ids. Lambda queues the event and
  answers 202 at once; it retries nothing here (the function's
  MaximumRetryAttempts is 0) and sends a failed event to the function's
  on-failure destination (see template.yaml).

Why not the fan-out queue: an export is one job per click that may run for
minutes; the queue's visibility timeout and batching are made for short
feed steps. An asynchronous invocation needs no queue of its own and has
Lambda's on-failure destination built in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from .domain import Task

log = logging.getLogger(__name__)


class ThreadRunner:
    """Each job on a thread of a small pool, made on first use."""

    def __init__(self, job: Callable[[str, str, str], object], workers: int = 2):
        self._job = job
        self._workers = workers
        self._pool = None

    def start(self, task: Task, language: str) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="task")
        self._pool.submit(self._run, task.user_id, task.id, language)

    def _run(self, user_id: str, task_id: str, language: str) -> None:
        try:
            self._job(user_id, task_id, language)
        except Exception:  # the job marked its task failed; nobody waits on the future
            log.exception("background task %s failed", task_id)

    def shutdown(self) -> None:
        """Wait for the running jobs (the server is stopping)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class LambdaRunner:
    """An asynchronous invocation of `function` (its name or ARN); the
    client is made on the first task, not at a cold start."""

    def __init__(self, function: str, client=None):
        self.function = function
        self.client = client

    def start(self, task: Task, language: str) -> None:
        if self.client is None:
            import boto3

            self.client = boto3.client("lambda")
        payload = {"user_id": task.user_id, "task_id": task.id, "language": language}
        self.client.invoke(
            FunctionName=self.function,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )


class NoRunner:
    """On Lambda without EXPORT_FUNCTION: every start fails (the API says 503)."""

    def start(self, task: Task, language: str) -> None:
        raise RuntimeError("EXPORT_FUNCTION is not set: no function runs background tasks")
