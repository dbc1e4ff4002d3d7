"""The user's card on S3 (moto, real boto3 calls): JSON, cached like the
profile it goes with (a few seconds at the edge, never invalidated), gone
from the bucket with the old name after a rename."""

from __future__ import annotations

import json

import boto3
import pytest

from functions.domain import Followed, User, UserUpdated
from functions.sitegen.builder import SiteBuilder
from functions.sitegen.s3 import CACHE_FRESH, S3Publisher
from functions.store.sqlite import SQLiteStore
from functions.wiring import make_renderer
from tests.cloudfront import create_distribution
from tests.conftest import SITE_BUCKET as BUCKET

HASH = "pbkdf2:sha256:1$salt$" + "0" * 64


@pytest.fixture
def store(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite3")
    yield store
    store.close()


@pytest.fixture
def site(settings, store, s3):
    """The site built into the bucket, with a distribution to invalidate."""
    distribution = create_distribution(BUCKET)
    publisher = lambda: S3Publisher(BUCKET, distribution_id=distribution, s3_client=s3)  # noqa: E731
    builder = SiteBuilder(store, make_renderer(settings), publisher, workers=1)
    return builder, distribution


def add_user(store, name: str) -> User:
    user = User.new(name, f"{name}@example.com", HASH)
    store.create_user(user)
    return store.get_user(user.id)


def invalidated(distribution: str) -> list[str]:
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    listing = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    paths = []
    for item in listing.get("Items", []):
        found = cloudfront.get_invalidation(DistributionId=distribution, Id=item["Id"])
        paths += found["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
    return paths


def test_the_card_is_json_cached_like_the_profile(s3, store, site):
    builder, _ = site
    ann = add_user(store, "ann")
    builder.build_all()
    card = s3.get_object(Bucket=BUCKET, Key="u/ann/card.json")
    profile = s3.head_object(Bucket=BUCKET, Key="u/ann/index.html")
    assert card["ContentType"] == "application/json"
    assert card["CacheControl"] == profile["CacheControl"] == CACHE_FRESH
    assert json.loads(card["Body"].read())["id"] == ann.id


def test_a_follow_rewrites_the_cards_and_invalidates_nothing(s3, store, site):
    builder, distribution = site
    ann, bob = add_user(store, "ann"), add_user(store, "bob")
    builder.build_all()
    store.follow(bob.id, ann.id)
    stats = builder.apply([Followed(bob.id, ann.id)])
    assert {"u/ann/card.json", "u/bob/card.json"} <= set(stats.changed)
    card = json.loads(s3.get_object(Bucket=BUCKET, Key="u/ann/card.json")["Body"].read())
    assert card["follower_count"] == 1
    assert not any(path.endswith("card.json") for path in invalidated(distribution))


def test_a_rename_removes_the_old_card_from_the_bucket(s3, store, site):
    builder, _ = site
    ann = add_user(store, "ann")
    builder.build_all()
    renamed = store.update_user(ann.id, {"username": "annie"})
    builder.apply([UserUpdated.of(renamed, ann)])
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "u/annie/card.json" in keys and "u/ann/card.json" not in keys
