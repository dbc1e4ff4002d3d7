"""The S3 publisher against moto's S3 and CloudFront (real boto3 calls, no AWS)."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.config import Settings
from functions.sitegen import s3 as s3_module
from functions.sitegen.s3 import (
    CACHE_FRESH,
    CACHE_IMMUTABLE,
    S3Publisher,
    content_type_for,
    invalidation_paths,
    is_immutable,
)
from functions.wiring import s3_publisher
from tests.cloudfront import create_distribution
from tests.conftest import SITE_BUCKET as BUCKET

ASSET = "static/style.1a2b3c4d5e.css"


@pytest.fixture
def cloudfront(s3):
    return boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture
def distribution_id(cloudfront):
    return create_distribution(BUCKET)


def count_calls(client) -> Counter:
    """Count the API operations a client makes, by name (PutObject, HeadObject...)."""
    calls: Counter = Counter()
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def invalidations(cloudfront, distribution_id: str) -> list[list[str]]:
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    batches = []
    for item in listing.get("Items", []):
        found = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        batches.append(found["Invalidation"]["InvalidationBatch"])
    return batches


def paths_of(batches) -> list[list[str]]:
    return [batch["Paths"]["Items"] for batch in batches]


# ------------------------------------------------------------ headers


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("u/ann/index.html", "text/html; charset=utf-8"),
        (ASSET, "text/css; charset=utf-8"),
        ("static/app.0123456789.js", "text/javascript; charset=utf-8"),
        ("u/ann/feed.xml", "application/atom+xml; charset=utf-8"),
        ("explore/feed.xml", "application/atom+xml; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("static/logo.0123456789.svg", "image/svg+xml"),
        ("static/icon.0123456789.png", "image/png"),
        ("favicon.ico", "image/x-icon"),
        ("static/site.0123456789.webmanifest", "application/manifest+json"),
        ("LICENSE", "application/octet-stream"),
    ],
)
def test_content_type_by_extension(path, content_type):
    assert content_type_for(path) == content_type


def test_only_hashed_static_assets_are_immutable():
    assert is_immutable(ASSET)
    assert is_immutable("static/img/logo.0123456789.svg")
    assert not is_immutable("static/favicon.ico")  # no digest in the name: may change
    assert not is_immutable("u/ann/index.html")
    assert not is_immutable("style.1a2b3c4d5e.css")  # not under static/


@pytest.mark.parametrize(
    ("path", "cache_control"),
    [
        ("u/ann/index.html", CACHE_FRESH),
        ("u/ann/feed.xml", CACHE_FRESH),
        ("robots.txt", CACHE_FRESH),
        ("sitemap.xml", CACHE_FRESH),
        (ASSET, CACHE_IMMUTABLE),
    ],
)
def test_write_puts_object_with_headers_and_digest(s3, path, cache_control):
    body = b"<p>hello</p>"
    assert S3Publisher(BUCKET).write(path, body) is True

    got = s3.get_object(Bucket=BUCKET, Key=path)
    assert got["Body"].read() == body
    assert got["ContentType"] == content_type_for(path)
    assert got["CacheControl"] == cache_control
    assert got["Metadata"] == {"sha256": hashlib.sha256(body).hexdigest()}


# ------------------------------------------------------------ skip unchanged


def test_same_bytes_are_skipped_without_a_put(s3):
    publisher = S3Publisher(BUCKET, s3_client=s3)
    assert publisher.write("u/ann/index.html", b"one") is True
    calls = count_calls(s3)

    assert publisher.write("u/ann/index.html", b"one") is False
    assert calls["PutObject"] == 0
    assert calls["HeadObject"] == 1

    assert publisher.write("u/ann/index.html", b"two") is True
    assert calls["PutObject"] == 1
    assert s3.get_object(Bucket=BUCKET, Key="u/ann/index.html")["Body"].read() == b"two"


def test_same_bytes_with_other_headers_are_rewritten(s3):
    s3.put_object(
        Bucket=BUCKET,
        Key="index.html",
        Body=b"home",
        ContentType="text/html; charset=utf-8",
        CacheControl="no-cache",
        Metadata={"sha256": hashlib.sha256(b"home").hexdigest()},
    )
    assert S3Publisher(BUCKET).write("index.html", b"home") is True
    assert s3.head_object(Bucket=BUCKET, Key="index.html")["CacheControl"] == CACHE_FRESH


def test_object_without_digest_is_compared_by_etag(s3):
    s3.put_object(
        Bucket=BUCKET,
        Key="robots.txt",
        Body=b"User-agent: *\n",
        ContentType=content_type_for("robots.txt"),
        CacheControl=CACHE_FRESH,
    )
    calls = count_calls(s3)
    assert S3Publisher(BUCKET, s3_client=s3).write("robots.txt", b"User-agent: *\n") is False
    assert calls["PutObject"] == 0


def test_force_rewrites_identical_bytes(s3):
    S3Publisher(BUCKET).write("index.html", b"home")
    calls = count_calls(s3)
    assert S3Publisher(BUCKET, s3_client=s3, force=True).write("index.html", b"home") is True
    assert calls["PutObject"] == 1


def test_many_writes_switch_from_heads_to_one_listing(s3):
    paths = [f"p/{n}/index.html" for n in range(5)]
    for path in paths:
        S3Publisher(BUCKET).write(path, path.encode())

    calls = count_calls(s3)
    publisher = S3Publisher(BUCKET, s3_client=s3, list_after_heads=2)
    assert [publisher.write(path, path.encode()) for path in paths] == [False] * 5
    assert calls == Counter({"HeadObject": 2, "ListObjectsV2": 1})

    # The listing follows this publisher's own writes.
    assert publisher.write("p/0/index.html", b"changed") is True
    assert publisher.write("p/0/index.html", b"changed") is False
    assert publisher.write("p/new/index.html", b"new") is True
    assert calls == Counter({"HeadObject": 2, "ListObjectsV2": 1, "PutObject": 2})


def test_existing_lets_writes_and_removes_skip_the_heads(s3):
    S3Publisher(BUCKET).write("a.html", b"a")
    S3Publisher(BUCKET).write("b.html", b"b")
    calls = count_calls(s3)
    publisher = S3Publisher(BUCKET, s3_client=s3)

    assert publisher.existing() == {"a.html", "b.html"}
    assert publisher.write("a.html", b"a") is False
    assert publisher.remove("b.html") is True
    assert publisher.remove("b.html") is False
    assert publisher.remove("never.html") is False
    assert calls == Counter({"ListObjectsV2": 1, "DeleteObject": 1})


def test_flush_forgets_the_listing(s3):
    """Another process may publish after this build's listing: don't trust it for the next."""
    publisher = S3Publisher(BUCKET)
    publisher.write("index.html", b"old")
    publisher.existing()
    S3Publisher(BUCKET).write("index.html", b"newer, from elsewhere")

    publisher.flush([])
    assert publisher.write("index.html", b"old") is True
    assert s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read() == b"old"


# ------------------------------------------------------------ remove, existing


def test_remove(s3):
    publisher = S3Publisher(BUCKET)
    publisher.write("u/ann/page/1/index.html", b"old page")

    assert publisher.remove("u/ann/page/1/index.html") is True
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    assert publisher.remove("u/ann/page/1/index.html") is False


def test_prefix_writes_and_lists_relative_keys(s3):
    publisher = S3Publisher(BUCKET, prefix="/site/")
    publisher.write("u/ann/index.html", b"ann")
    publisher.write("index.html", b"home")
    for key in ("site2/index.html", "other.html", "site/folder/"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")

    assert s3.get_object(Bucket=BUCKET, Key="site/u/ann/index.html")["Body"].read() == b"ann"
    assert publisher.existing() == {"u/ann/index.html", "index.html"}
    assert publisher.remove("other.html") is False
    assert publisher.remove("index.html") is True
    assert S3Publisher(BUCKET, prefix="site").existing() == {"u/ann/index.html"}


def test_existing_pages_through_more_than_1000_keys(s3):
    publisher = S3Publisher(BUCKET)
    for n in range(1005):
        s3.put_object(Bucket=BUCKET, Key=f"p/{n}/index.html", Body=b"")
    assert len(publisher.existing()) == 1005


@pytest.mark.parametrize("path", ["", "/index.html", "../index.html", "u/../../x"])
def test_rejects_paths_that_are_not_relative(path):
    with pytest.raises(ValueError):
        S3Publisher(BUCKET).write(path, b"x")


# ------------------------------------------------------------ CloudFront


def test_invalidation_paths_cover_a_folder_with_one_wildcard_and_skip_hashed_assets():
    changed = ["u/ann/index.html", "index.html", ASSET, "u/ann/feed.xml", "u/ann/index.html"]
    assert invalidation_paths(changed) == [
        "/",  # the home page: `/*` would be the whole site
        "/index.html",
        "/u/ann/*",  # `/u/ann/` and `/u/ann/index.html`, billed as one path
        "/u/ann/feed.xml",
    ]


def test_flush_invalidates_changed_pages(s3, cloudfront, distribution_id):
    publisher = S3Publisher(BUCKET, distribution_id=distribution_id)
    publisher.flush(["u/ann/index.html", "index.html", ASSET, "sitemap.xml", "404.html"])

    assert paths_of(invalidations(cloudfront, distribution_id)) == [
        ["/", "/404.html", "/index.html", "/sitemap.xml", "/u/ann/*"]
    ]


def test_flush_batches_paths_with_unique_references(s3, cloudfront, distribution_id, monkeypatch):
    monkeypatch.setattr(s3_module, "MAX_INVALIDATION_PATHS", 2)
    changed = ["a.xml", "b.xml", "c.xml", "d.xml", "e.xml"]
    S3Publisher(BUCKET, distribution_id=distribution_id).flush(changed)

    batches = invalidations(cloudfront, distribution_id)
    assert sorted(len(paths) for paths in paths_of(batches)) == [1, 2, 2]
    assert sorted(p for paths in paths_of(batches) for p in paths) == [f"/{c}" for c in changed]
    assert len({batch["CallerReference"] for batch in batches}) == 3


def test_flush_invalidates_everything_once_above_the_threshold(
    s3, cloudfront, distribution_id, monkeypatch
):
    monkeypatch.setattr(s3_module, "WILDCARD_THRESHOLD", 3)
    S3Publisher(BUCKET, distribution_id=distribution_id).flush(["index.html", "robots.txt"])
    assert len(invalidations(cloudfront, distribution_id)) == 1  # 3 paths: at the threshold

    changed = [f"u/user{n}/index.html" for n in range(4)]  # 4 URL paths
    S3Publisher(BUCKET, distribution_id=distribution_id).flush(changed)
    assert ["/*"] in paths_of(invalidations(cloudfront, distribution_id))
    assert len(invalidations(cloudfront, distribution_id)) == 2


def test_flush_without_distribution_or_pages_calls_no_cloudfront(s3, cloudfront, distribution_id):
    calls = count_calls(cloudfront)
    S3Publisher(BUCKET, cloudfront_client=cloudfront).flush(["index.html"])
    S3Publisher(BUCKET, distribution_id=distribution_id, cloudfront_client=cloudfront).flush(
        [ASSET]
    )
    S3Publisher(BUCKET, distribution_id=distribution_id, cloudfront_client=cloudfront).flush([])
    assert calls == Counter()


class BusyCloudFront:
    """Refuses path invalidations as CloudFront does when 3000 paths are in progress."""

    def __init__(self):
        self.created: list[list[str]] = []

    def create_invalidation(self, DistributionId, InvalidationBatch):
        paths = InvalidationBatch["Paths"]["Items"]
        if paths != ["/*"]:
            error = {"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "busy"}}
            raise ClientError(error, "CreateInvalidation")
        self.created.append(paths)


def test_flush_falls_back_to_wildcard_when_too_many_are_in_progress():
    cloudfront = BusyCloudFront()
    S3Publisher(BUCKET, distribution_id="E1", cloudfront_client=cloudfront).flush(["index.html"])
    assert cloudfront.created == [["/*"]]


# ------------------------------------------------------------ construction


def publisher_from(environ: dict) -> S3Publisher:
    """The publisher the wiring makes from these environment variables."""
    return s3_publisher(Settings.from_env(environ))()


def test_the_environment_names_bucket_prefix_and_distribution():
    environ = {"SITE_BUCKET": BUCKET, "DISTRIBUTION_ID": "E123", "SITE_PREFIX": "site"}
    publisher = publisher_from(environ)
    assert (publisher.bucket, publisher.prefix, publisher.distribution_id) == (
        BUCKET,
        "site/",
        "E123",
    )

    publisher = publisher_from({"SITE_BUCKET": BUCKET})
    assert (publisher.prefix, publisher.distribution_id) == ("", None)


def test_publishing_requires_site_bucket():
    with pytest.raises(RuntimeError, match="SITE_BUCKET"):
        publisher_from({})
    with pytest.raises(RuntimeError, match="SITE_BUCKET"):
        publisher_from({"SITE_BUCKET": " ", "DISTRIBUTION_ID": "E1"})


def test_a_forked_process_makes_its_own_client(s3, monkeypatch):
    publisher = S3Publisher(BUCKET)
    client = publisher._client("s3")
    assert publisher._client("s3") is client
    monkeypatch.setattr(s3_module.os, "getpid", lambda: -1)  # as in a forked worker
    assert publisher._client("s3") is not client


def _construct_in_child(bucket: str) -> S3Publisher:
    return S3Publisher(bucket, prefix="site", distribution_id="E1")


def test_constructs_in_a_spawned_process_without_clients():
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        publisher = pool.submit(_construct_in_child, BUCKET).result(timeout=60)
    assert (publisher.bucket, publisher.prefix) == (BUCKET, "site/")
    assert publisher._made == {}
