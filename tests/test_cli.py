"""The command line: build, publish (to S3 through moto), help."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

import build
from functions.services import new_post
from functions.store.sqlite import SQLiteStore
from tests.server import ROOT


@pytest.mark.parametrize("command", ["build", "serve", "seed", "publish"])
def test_every_command_has_help(command):
    result = subprocess.run(
        [sys.executable, "build.py", command, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage:" in result.stdout


def test_build_without_a_command_builds_the_site(settings, capsys):
    assert build.main([]) == 0
    assert "pages rendered" in capsys.readouterr().out
    assert (settings.site_dir / "explore" / "index.html").exists()


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
