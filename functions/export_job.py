"""The export job (the tutorial's `export_posts` task): every post of a user,
as JSON, mailed to them as the attachment posts.json.

It runs off the request: on a worker thread of the local server, or in the
export function on AWS (`functions.handlers.export`, invoked asynchronously).
Posts are read oldest first, a range of MAX_LIMIT numbers at a time
(`Store.posts_by_seq`), and streamed into a file under a temporary folder,
so the reading holds one page in memory whatever the count; the progress is
posts done / post count, written when the percentage changes (and at least
every TASK_HEARTBEAT, so a live job never looks dead).

Size: SES v2 takes messages of at most 40 MB. A file over
`mail.ATTACHMENT_MAX` (28 MB) is attached gzipped as posts.json.gz (posts
compress several times over); if even that is too big, the task fails with
TOO_BIG and no mail is sent.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import shutil
import tempfile
import textwrap
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from .domain import TASK_HEARTBEAT, Task, User, format_time, utcnow
from .exports import EXPORT_POSTS
from .i18n import DEFAULT_LANGUAGE, N_, supported, translate
from .mail import ATTACHMENT_MAX, Attachment, Mailer, compose
from .store import MAX_LIMIT, Store

log = logging.getLogger(__name__)

SUBJECT = N_("Your blog posts")  # after "[Microblog] ", as the reset mail's
FILENAME = "posts.json"
TOO_BIG = N_("Your posts are too many to mail, even compressed (SES takes 40 MB at most).")
FAILED = N_("The export failed; please try again later.")
GONE = N_("Your account no longer exists.")


class Superseded(Exception):
    """The task is no longer current (a newer one replaced it, or it was
    finished): this job stops without mailing."""


class Progress:
    """The task's progress, written to the store when it changes or when a
    heartbeat is due; raises Superseded when the store refuses the write."""

    def __init__(self, store: Store, task: Task):
        self.store, self.task = store, task
        self._written = time.monotonic()

    def advance(self, percent: int) -> None:
        due = time.monotonic() - self._written >= TASK_HEARTBEAT.total_seconds()
        if percent != self.task.progress or due:
            self._write(self.task.replace(progress=percent, updated=utcnow()))

    def finish(self, error: str = "") -> Task:
        self._write(self.task.replace(progress=100, complete=True, error=error, updated=utcnow()))
        return self.task

    def _write(self, task: Task) -> None:
        if not self.store.update_task(task):
            raise Superseded(task.id)
        self.task, self._written = task, time.monotonic()


def write_posts(out: TextIO, posts: Iterable[dict[str, Any]]) -> int:
    """`{"posts": [...]}` written post by post, laid out as json.dumps(indent=4)
    would; the number of posts written."""
    out.write('{\n    "posts": [')
    count = 0
    for post in posts:
        out.write(",\n" if count else "\n")
        out.write(textwrap.indent(json.dumps(post, indent=4), " " * 8))
        count += 1
    out.write("\n    ]\n}\n" if count else "]\n}\n")
    return count


def post_record(post) -> dict[str, Any]:
    """One post as the export shows it (the tutorial's body and timestamp)."""
    return {
        "body": post.body,
        "timestamp": format_time(post.timestamp),
        "language": post.language,
        "id": post.id,
    }


class PostsExport:
    """The job, given what it reads from and mails with; `templates` is
    anything with a Jinja2 `env` (the site's renderer)."""

    def __init__(
        self,
        store: Store,
        mailer: Mailer,
        templates,
        sender: str,
        attachment_max: int = ATTACHMENT_MAX,
        scratch: Path | None = None,
    ):
        self.store, self.mailer, self.templates, self.sender = store, mailer, templates, sender
        self.attachment_max = attachment_max
        self.scratch = scratch  # None: the system's temporary folder (/tmp on Lambda)

    def run(self, user_id: str, task_id: str, language: str = DEFAULT_LANGUAGE) -> Task | None:
        """Export and mail (in `language`, the reader's when they asked; an
        unknown one is English); the finished task, or None when this task is not
        the current one (replaced, or done already: a duplicate delivery).
        An unexpected error marks the task failed, then is raised again."""
        task = self.store.get_task(user_id, EXPORT_POSTS)
        if task is None or task.id != task_id or task.complete:
            log.info("export task %s of %s is not current: nothing to do", task_id, user_id)
            return None
        progress = Progress(self.store, task)
        try:
            return self._run(progress, supported(language) or DEFAULT_LANGUAGE)
        except Superseded:
            log.info("export task %s was replaced: stopped", task_id)
            return None
        except Exception:
            with contextlib.suppress(Superseded):  # replaced meanwhile: nothing to mark
                progress.finish(FAILED)
            raise

    def _run(self, progress: Progress, language: str) -> Task:
        user = self.store.get_user(progress.task.user_id)
        if user is None:
            return progress.finish(GONE)
        with tempfile.TemporaryDirectory(prefix="export-", dir=self.scratch) as scratch:
            path = Path(scratch) / FILENAME
            with path.open("w", encoding="utf-8") as out:
                write_posts(out, self._posts(user, progress))
            attachment = self._attachment(path)
            if attachment is None:
                return progress.finish(TOO_BIG)
            progress.advance(progress.task.progress)  # a heartbeat before the mail
            self._mail(user, attachment, language)
        return progress.finish()

    def _posts(self, user: User, progress: Progress) -> Iterator[dict[str, Any]]:
        """Oldest first: ranges of seq numbers upwards, each read newest first."""
        total, done = max(user.post_count, 1), 0
        for first in range(1, user.post_seq + 1, MAX_LIMIT):
            page = self.store.posts_by_seq(user.id, first, first + MAX_LIMIT - 1)
            yield from (post_record(post) for post in reversed(page))
            done += len(page)
            progress.advance(min(99, 100 * done // total))  # 100: once it is mailed

    def _attachment(self, path: Path) -> Attachment | None:
        """posts.json, or posts.json.gz when too big to mail as it is; None
        when even that is too big."""
        if path.stat().st_size <= self.attachment_max:
            return Attachment(FILENAME, "application/json", path.read_bytes())
        packed = path.with_name(FILENAME + ".gz")
        with path.open("rb") as source, gzip.open(packed, "wb") as target:
            shutil.copyfileobj(source, target)
        if packed.stat().st_size <= self.attachment_max:
            return Attachment(packed.name, "application/gzip", packed.read_bytes())
        return None

    def _mail(self, user: User, attachment: Attachment, language: str) -> None:
        env = self.templates.env
        context = {
            "user": user,
            "compressed": attachment.filename != FILENAME,
            "filename": attachment.filename,
            "lang": language,
        }
        message = compose(
            self.sender,
            user.email,
            "[Microblog] " + translate(SUBJECT, language),
            env.get_template("email/export_posts.txt").render(**context),
            env.get_template("email/export_posts.html").render(**context),
            [attachment],
        )
        self.mailer.send(message)  # not quietly: a failed mail fails the task
