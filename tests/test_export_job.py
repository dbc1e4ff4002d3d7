"""The export job on both stores (SQLite, DynamoDB Local): every post, oldest
first, in posts.json mailed to the user; progress written as it goes; a
file too big is gzipped, or refused; a replaced or finished task is left alone."""

from __future__ import annotations

import email
import gzip
import json
from datetime import timedelta
from email import policy

import pytest

from functions.domain import TASK_STALE, User, utcnow
from functions.export_job import FAILED, TOO_BIG, PostsExport, write_posts
from functions.exports import EXPORT_POSTS, start_export
from functions.mail import OutboxMailer
from functions.services import new_post
from functions.wiring import make_renderer

CHEAP_HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


class Now:
    """A runner that runs nothing: the test runs the job itself."""

    def start(self, task, language):
        pass


class Recording:
    """The store, recording each task write the job makes."""

    def __init__(self, store):
        self._store = store
        self.writes = []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def update_task(self, task):
        self.writes.append(task)
        return self._store.update_task(task)


@pytest.fixture
def renderer(settings):
    return make_renderer(settings)


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox"


@pytest.fixture
def ann(store) -> User:
    user = User.new("ann", "ann@example.com", CHEAP_HASH)
    store.create_user(user)
    return user


def write(store, user: User, count: int, start: int = 0) -> list[str]:
    bodies = [f"post number {n}" for n in range(start, start + count)]
    for body in bodies:
        store.create_post(new_post(user.id, body, language="en"))
    return bodies


def job(store, renderer, outbox, **options) -> PostsExport:
    return PostsExport(store, OutboxMailer(outbox), renderer, "Microblog <x@localhost>", **options)


def mails(outbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def attachment_of(message):
    [attachment] = list(message.iter_attachments())
    return attachment


def test_every_post_is_exported_oldest_first_across_pages(store, ann, renderer, outbox):
    bodies = write(store, ann, 230)  # three ranges of seq numbers
    deleted = store.posts_by(ann.id, limit=1).items[0]
    store.delete_post(deleted.id)
    task = start_export(store, Now(), ann)
    recording = Recording(store)
    done = job(recording, renderer, outbox).run(ann.id, task.id)
    assert done.complete and done.progress == 100 and done.error == ""
    [message] = mails(outbox)
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "[Microblog] Your blog posts"
    html = message.get_body(("html",)).get_content()
    assert "Please find attached the archive of your posts that you requested." in html
    attachment = attachment_of(message)
    assert attachment.get_filename() == "posts.json"
    posts = json.loads(attachment.get_content())["posts"]
    assert [p["body"] for p in posts] == bodies[:-1]
    assert set(posts[0]) == {"body", "timestamp", "language", "id"}
    assert posts[0]["timestamp"].endswith("Z") and posts[0]["language"] == "en"
    # Progress: posts done / post count, rising, written as it changed; 100 once mailed.
    progress = [write.progress for write in recording.writes]
    assert progress == sorted(progress) and progress[-1] == 100
    assert 99 in progress and len(set(progress)) >= 3
    assert store.get_task(ann.id, EXPORT_POSTS) == done


def test_the_mail_is_in_the_language_the_export_was_asked_in(store, ann, renderer, outbox):
    task = start_export(store, Now(), ann, "es")
    job(store, renderer, outbox).run(ann.id, task.id, "es")
    job(store, renderer, outbox).run(ann.id, start_export(store, Now(), ann).id, "xx")
    spanish, unknown = mails(outbox)
    assert spanish["Subject"] == "[Microblog] Tus artículos"
    assert "Hola, ann:" in spanish.get_body(("plain",)).get_content()
    assert unknown["Subject"] == "[Microblog] Your blog posts"  # an unknown one: English


def test_a_user_without_posts_gets_an_empty_list(store, ann, renderer, outbox):
    task = start_export(store, Now(), ann)
    job(store, renderer, outbox).run(ann.id, task.id)
    assert json.loads(attachment_of(mails(outbox)[0]).get_content()) == {"posts": []}


def test_a_file_too_big_to_mail_goes_gzipped(store, ann, renderer, outbox):
    bodies = write(store, ann, 40)
    task = start_export(store, Now(), ann)
    job(store, renderer, outbox, attachment_max=2000).run(ann.id, task.id)  # ~4 kB of JSON
    message = mails(outbox)[0]
    attachment = attachment_of(message)
    assert attachment.get_filename() == "posts.json.gz"
    assert attachment.get_content_type() == "application/gzip"
    posts = json.loads(gzip.decompress(attachment.get_content()))["posts"]
    assert [p["body"] for p in posts] == bodies
    assert "compressed with gzip" in message.get_body(("plain",)).get_content()


def test_a_file_too_big_even_gzipped_fails_the_task_and_mails_nothing(store, ann, renderer, outbox):
    write(store, ann, 5)
    task = start_export(store, Now(), ann)
    done = job(store, renderer, outbox, attachment_max=50).run(ann.id, task.id)
    assert done.complete and done.error == TOO_BIG
    assert mails(outbox) == []


def test_a_mail_that_fails_fails_the_task_and_is_raised(store, ann, renderer):
    class Down:
        def send(self, message):
            raise OSError("mail server down")

    task = start_export(store, Now(), ann)
    export = PostsExport(store, Down(), renderer, "x@localhost")
    with pytest.raises(OSError):
        export.run(ann.id, task.id)
    failed = store.get_task(ann.id, EXPORT_POSTS)
    assert failed.complete and failed.error == FAILED


def test_a_finished_or_replaced_task_is_not_run_again(store, ann, renderer, outbox):
    task = start_export(store, Now(), ann)
    export = job(store, renderer, outbox)
    assert export.run(ann.id, task.id).complete
    assert export.run(ann.id, task.id) is None  # delivered twice: mailed once
    assert len(mails(outbox)) == 1
    assert export.run(ann.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV") is None  # not the current task


def test_a_job_thought_dead_stops_once_a_new_task_replaced_it(store, ann, renderer, outbox):
    write(store, ann, 3)
    old = start_export(store, Now(), ann)
    replaced = []

    class Replacing(Recording):
        """The old job's first progress write comes after it was thought dead
        and a new task took its place."""

        def update_task(self, task):
            if not replaced:
                long_ago = utcnow() - TASK_STALE - timedelta(seconds=1)
                self._store.update_task(old.replace(updated=long_ago))
                replaced.append(start_export(self._store, Now(), ann))
            return super().update_task(task)

    assert job(Replacing(store), renderer, outbox).run(ann.id, old.id) is None
    assert mails(outbox) == []
    assert store.get_task(ann.id, EXPORT_POSTS) == replaced[0]  # untouched by the old job


def test_the_file_is_laid_out_as_json_dumps_with_indent_4(tmp_path):
    posts = [{"body": 'a\n"quoted" ü', "timestamp": "2024-01-01T00:00:00.000Z"}, {"body": "b"}]
    for items in (posts, []):
        path = tmp_path / "posts.json"
        with path.open("w", encoding="utf-8") as out:
            assert write_posts(out, iter(items)) == len(items)
        assert path.read_text() == json.dumps({"posts": items}, indent=4) + "\n"
