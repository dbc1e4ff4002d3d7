"""What the search index needs of the publishers: reading a shard back
(read-modify-write), its content type and lifetime, and one writer at a time."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import threading
from datetime import timedelta

from functions.domain import PostCreated, User, utcnow
from functions.services import new_post
from functions.sitegen.publish import LocalPublisher
from functions.sitegen.s3 import CACHE_FRESH, S3Publisher, cache_control_for, content_type_for
from functions.store.sqlite import SQLiteStore
from functions.wiring import local_builder
from tests.conftest import SITE_BUCKET as BUCKET


def test_the_s3_publisher_reads_back_what_it_wrote_and_none_where_nothing_is(s3):
    publisher = S3Publisher(BUCKET, prefix="live", s3_client=s3)
    assert publisher.read("search/t/1.json") is None
    publisher.write("search/t/1.json", b'{"en:run":{"n":[3],"w":{"run":1}}}')
    assert publisher.read("search/t/1.json") == b'{"en:run":{"n":[3],"w":{"run":1}}}'
    stored = s3.head_object(Bucket=BUCKET, Key="live/search/t/1.json")
    assert stored["ContentType"] == "application/json"
    assert stored["CacheControl"] == CACHE_FRESH  # rewritten by posts, like a listing


def test_index_shards_are_json_with_a_listings_short_lifetime():
    assert content_type_for("search/w/12.json") == "application/json"
    assert cache_control_for("search/w/12.json") == CACHE_FRESH


def test_the_local_publisher_reads_back_what_it_wrote(tmp_path):
    publisher = LocalPublisher(tmp_path)
    assert publisher.read("search/w/0.json") is None
    publisher.write("search/w/0.json", b"{}")
    assert publisher.read("search/w/0.json") == b"{}"


def test_concurrent_writes_leave_the_index_a_full_build_makes(settings, tmp_path):
    """The API's worker threads each rebuild after their write: the builder's
    lock keeps their read-modify-writes of the same shards from losing any."""
    store = SQLiteStore(settings.database)
    user = User.new("ann", "ann@example.com", "pbkdf2:sha256:1$salt$" + "0" * 64)
    store.create_user(user)
    builder = local_builder(settings, store, workers=1)
    builder.build_all()
    base = utcnow() - timedelta(days=1)

    def write(n: int) -> None:
        body = f"shared words and word{n}"
        post = store.create_post(new_post(user.id, body, "en", base + timedelta(seconds=n)))
        builder.apply([PostCreated.of(post)])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = dataclasses.replace(settings, site_dir=tmp_path / "fresh")
    local_builder(fresh, store, workers=1).build_all()

    def index(root):
        return {p.relative_to(root): p.read_bytes() for p in (root / "search").rglob("*.json")}

    assert index(settings.site_dir) == index(fresh.site_dir)
    store.close()


def test_a_rebuild_waits_for_a_build_in_another_process(settings):
    """`build.py build` beside the local server: the lock file in VAR_DIR
    (an flock, which another open of the file contends for as another
    process would) holds the server's rebuild until the build ends."""
    store = SQLiteStore(settings.database)
    user = User.new("ann", "ann@example.com", "pbkdf2:sha256:1$salt$" + "0" * 64)
    store.create_user(user)
    builder = local_builder(settings, store, workers=1)
    post = store.create_post(new_post(user.id, "waiting", "en"))
    other = os.open(settings.var_dir / "build.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    rebuild = threading.Thread(target=builder.apply, args=([PostCreated.of(post)],))
    rebuild.start()
    rebuild.join(0.5)
    assert rebuild.is_alive()  # held
    assert not (settings.site_dir / "p" / post.id / "index.html").exists()
    os.close(other)
    rebuild.join(10)
    assert not rebuild.is_alive()
    assert (settings.site_dir / "p" / post.id / "index.html").exists()
    store.close()
