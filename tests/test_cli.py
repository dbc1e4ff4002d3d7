"""The command line: build, publish (to S3 through moto), help."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import boto3
import httpx
import pytest
from moto import mock_aws

import build
from functions.services import new_post
from functions.store.sqlite import SQLiteStore
from tests.server import ROOT, serving


@pytest.mark.parametrize("command", ["build", "serve", "seed", "publish", "repair"])
def test_every_command_has_help(command):
    result = subprocess.run(
        [sys.executable, "build.py", command, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage:" in result.stdout


def test_build_without_a_command_builds_the_site(settings, capsys):
    assert build.main([]) == 0
    assert "pages rendered" in capsys.readouterr().out
    assert (settings.site_dir / "explore" / "index.html").exists()


def test_seed_names_a_demo_user_and_the_next_command_as_the_shell_runs_it(
    settings, capsys, monkeypatch
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "executable", str(ROOT / ".venv" / "bin" / "python"))
    assert build.main(["seed", "--users", "3", "--posts", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Seeded 3 users, 5 posts, ")
    name = re.search(r"^Log in as (\S+), password microblog-demo ", out, re.M).group(1)
    assert "Now `.venv/bin/python build.py serve` builds the site" in out
    store = SQLiteStore(settings.database)
    assert store.get_user_by_username(name) is not None
    store.close()


def test_publish_needs_a_bucket(settings, monkeypatch, capsys):
    monkeypatch.delenv("SITE_BUCKET", raising=False)
    assert build.main(["publish"]) == 2
    assert "SITE_BUCKET" in capsys.readouterr().err


@mock_aws
def test_publish_uploads_the_whole_site_to_s3(settings, capsys):
    store = SQLiteStore(settings.database)
    from functions.domain import User

    ann = User.new("ann", "ann@example.com", "x$y")
    store.create_user(ann)
    post = store.create_post(new_post(ann.id, "Hello S3", "en"))
    store.close()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="site")

    # one worker: moto's fake S3 lives in this process only
    assert build.main(["publish", "--bucket", "site", "--workers", "1"]) == 0
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket="site")["Contents"]}
    assert {"index.html", "u/ann/index.html", f"p/{post.id}/index.html", "sitemap.xml"} <= keys
    page = s3.get_object(Bucket="site", Key="u/ann/index.html")
    assert page["ContentType"].startswith("text/html")
    assert b"Hello S3" in page["Body"].read()
    assert "Published to s3://site" in capsys.readouterr().out

    assert build.main(["publish", "--bucket", "site", "--workers", "1"]) == 0
    assert " 0 written" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        ("seed --users -5 --posts 10", "argument --users: must be at least 0, not -5"),
        ("seed --users -5 --posts 0", "argument --users: must be at least 0, not -5"),
        ("seed --posts -3", "argument --posts: must be at least 0, not -3"),
        ("seed --users 0 --posts 3", "--posts needs at least one user"),
        ("seed --users many", "argument --users: 'many' is not a whole number"),
        ("serve --port 70000", "argument --port: a port is 1 to 65535, not 70000"),
        ("serve --port 0", "argument --port: must be at least 1, not 0"),
        ("build --workers 0", "argument --workers: must be at least 1, not 0"),
        ("build --workers -1", "argument --workers: must be at least 1, not -1"),
        ("publish --bucket b --workers 0", "argument --workers: must be at least 1, not 0"),
    ],
)
def test_bad_numbers_get_a_one_line_usage_error(argv, message, settings, capsys):
    with pytest.raises(SystemExit) as exit_:
        build.main(argv.split())
    assert exit_.value.code == 2
    usage, *_, error = capsys.readouterr().err.strip().splitlines()
    assert usage.startswith("usage: build.py ") and message in error
    assert error.startswith(f"build.py {argv.split()[0]}: error: ")
    assert not settings.site_dir.exists() and not settings.database.exists()


def test_serve_on_a_busy_port_fails_at_once_without_building(settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "build.py", "serve", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == f"serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert result.stdout == "" and not settings.site_dir.exists()


def test_serve_shows_the_build_then_its_address_when_ready(settings, tmp_path):
    log = tmp_path / "serve.log"
    with serving({}, log) as base:
        assert httpx.get(f"{base}/explore/").status_code == 200
    output = log.read_text()
    building = output.index(f"Building {settings.site_dir} (store: sqlite)")
    built = output.index(f"Built {settings.site_dir}: ")
    assert building < built < output.index(f"Microblog is ready on {base}/")


def test_repair_numbers_the_posts_a_failed_fanout_left_and_fills_their_feeds(
    settings, dynamo_store, monkeypatch, capsys
):
    """On DynamoDB the fan-out numbers new posts for explore; a batch that
    failed for good leaves them unnumbered, out of explore and of the feeds."""
    from functions.domain import User

    monkeypatch.setenv("STORE", "dynamodb")
    monkeypatch.setenv("TABLE_NAME", dynamo_store.table_name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamo_store.client.meta.endpoint_url)
    ann, bob = (User.new(n, f"{n}@example.com", "plain$x") for n in ("ann", "bob"))
    for user in (ann, bob):
        dynamo_store.create_user(user)
    dynamo_store.follow(bob.id, ann.id)
    posts = [dynamo_store.create_post(new_post(ann.id, f"Lost {n}", "en")) for n in range(3)]
    assert [p.explore_seq for p in posts] == [0, 0, 0]  # as the request leaves them
    assert len(list(dynamo_store.unnumbered_posts())) == 3

    assert build.main(["repair"]) == 0
    assert "Repaired 3 of 3 posts" in capsys.readouterr().out
    assert list(dynamo_store.unnumbered_posts()) == []
    assert [p.body for p in dynamo_store.explore().items] == ["Lost 2", "Lost 1", "Lost 0"]
    assert len(dynamo_store.home_feed(bob.id).items) == 3
    assert build.main(["repair"]) == 0  # nothing left: nothing done twice
    assert "Repaired 0 of 0 posts" in capsys.readouterr().out
    assert dynamo_store.explore_seq() == 3


def test_repair_has_nothing_to_do_on_sqlite(settings, capsys):
    assert build.main(["repair"]) == 0
    assert "Repaired 0 of 0 posts left unnumbered (sqlite)" in capsys.readouterr().out
