"""Publish the site to an S3 bucket behind CloudFront.

Each built file becomes one object, with a content type and a Cache-Control
that fit how it changes, so CloudFront stays fresh without an invalidation
per write (invalidations cost money per path, and at most 3,000 paths may be
in progress):

- content-hashed assets under `static/`: a year everywhere (a new version
  gets a new name);
- pages that change with ordinary writes (indexes, the newest archive pages,
  feeds, sitemaps): a few seconds at the edge (`s-maxage`), then served
  stale while CloudFront fetches the new copy (`stale-while-revalidate`);
  browsers revalidate each time. Never invalidated: a post is at the edge
  within FRESH_SECONDS of its page's write, whatever the write rate;
- stable pages (`Output.stable`: permalinks, full archive pages, content
  pages, app shells), which change only on rare events (a deleted post, a
  rename, a release): a year at the edge, a minute in browsers, and when
  such an object that existed is replaced or removed, `flush` invalidates its
  paths: one invalidation per build or stream batch, "/*" past
  WILDCARD_THRESHOLD paths (cheaper than listing them). A new post invalidates nothing.

Skipping unchanged bytes, without a request per file where it matters:

- Every PUT stores the body's SHA-256 in the object's metadata
  (`x-amz-meta-sha256`). A publisher that has written only a few files (an
  incremental rebuild) HEADs each key and compares that digest, plus the
  content type and Cache-Control, so a change of headers is republished too.
- After `LIST_AFTER_HEADS` HEADs (a full build's worker; never with
  `list_after_heads=None`, as the render function's batches), or after `existing()`, it
  switches to one paginated ListObjectsV2 of the prefix and compares the
  body's MD5 with each key's ETag: S3's ETag of a single-part PUT is the
  MD5 of the body. Its caveats: a bucket encrypted with SSE-KMS (or objects
  uploaded in parts by another tool) has ETags that are not MD5s, so those
  files are simply rewritten each build; and header changes are not seen,
  so pass `force=True` to republish everything after changing the constants.
- The listing is trusted for one build only (`flush` forgets it): another
  process may publish the same paths later (the render function on AWS).
  Within a build, the worker processes write different paths, and each
  keeps its own listing up to date with its own writes.

Clients are made lazily, per process: the publisher is cheap to construct,
and a boto3 client never crosses a `fork` into a worker.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Assets whose name holds a digest of their bytes never change: cache them for
# a year. Pages, feeds, sitemaps and robots.txt change under the same address:
# cache them briefly, so a missed invalidation heals itself within a minute.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
FRESH_SECONDS = 5  # how long the edge serves a page that changes with writes
CACHE_FRESH = (
    f"public, max-age=0, must-revalidate, s-maxage={FRESH_SECONDS}, stale-while-revalidate=60"
)
CACHE_STABLE = "public, max-age=60, s-maxage=31536000"

# `static/style.1a2b3c4d5e.css` (see `render._hashed_name`). A file under
# `static/` without a digest in its name gets the short lifetime: promising a
# year of caching for bytes that may change under the same name is worse than
# a few extra requests.
HASHED_ASSET = re.compile(r"^static/(?:.+/)?[^/]+\.[0-9a-f]{8,}(?:\.[^./]+)?$")

FEED_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "json": "application/json",
    "map": "application/json",
    "xml": "application/xml; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "ico": "image/x-icon",
    "webmanifest": "application/manifest+json",
    "woff": "font/woff",
    "woff2": "font/woff2",
}

# CloudFront accepts at most 3000 non-wildcard paths per invalidation, and
# at most 3000 such paths in progress at once across all invalidations.
MAX_INVALIDATION_PATHS = 3000
# Above this many URL paths, invalidate "/*" once instead: CloudFront bills
# each path past the month's first 1,000 ($0.005; a wildcard counts as one),
# while emptying the edge costs only its refill from S3 ($0.0004 per 1,000
# GETs). A delete invalidates about 3 paths per language of the interface
# (one wildcard path per page, `url_paths`: with the /es/ pages, 6), a batch
# of a few deletes stays under this; a rename (tens of paths) or a release
# (all of them) goes "/*".
WILDCARD_THRESHOLD = 30
WILDCARD = "/*"

# HEADs a publisher makes before it lists the prefix once instead (see above).
LIST_AFTER_HEADS = 100

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})


def content_type_for(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name == "feed.xml":
        return FEED_CONTENT_TYPE
    _, dot, ext = name.rpartition(".")
    return CONTENT_TYPES.get(ext.lower(), DEFAULT_CONTENT_TYPE) if dot else DEFAULT_CONTENT_TYPE


def is_immutable(path: str) -> bool:
    """A content-hashed asset: its bytes never change under its name."""
    return HASHED_ASSET.match(path) is not None


def cache_control_for(path: str, stable: bool = False) -> str:
    if is_immutable(path):
        return CACHE_IMMUTABLE
    return CACHE_STABLE if stable else CACHE_FRESH


def url_paths(path: str) -> list[str]:
    """The URL paths to invalidate for a file. A folder's page is served as
    both `/p/1/` and `/p/1/index.html`: one wildcard path, `/p/1/*`, covers
    both (and any query string), billed as one path, where two paths cost
    twice; it also drops what is cached under the folder, which costs a
    cache miss at most. The home page keeps its two paths (`/*` would be
    everything). None for immutable assets: a new version has a new name,
    and dropping an old one from the cache early would only break pages
    still cached with a link to it."""
    if is_immutable(path):
        return []
    url = "/" + quote(path, safe="/%")
    if path == "index.html":
        return ["/", url]
    if path.endswith("/index.html"):
        return [url.removesuffix("index.html") + "*"]
    return [url]


def invalidation_paths(changed: Iterable[str]) -> list[str]:
    """Sorted, de-duplicated URL paths to invalidate for these files."""
    return sorted({url for path in changed for url in url_paths(path)})


class S3Publisher:
    """Writes the site's files as objects under `prefix` in `bucket`."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        distribution_id: str | None = None,
        s3_client: Any = None,
        cloudfront_client: Any = None,
        force: bool = False,
        list_after_heads: int | None = LIST_AFTER_HEADS,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.distribution_id = distribution_id or None
        self.force = force  # rewrite even identical bytes (e.g. after changing headers)
        self._given = {"s3": s3_client, "cloudfront": cloudfront_client}
        self._made: dict[str, Any] = {}
        self._made_in = os.getpid()
        # relative path -> ETag (an MD5) from one listing; None until listed.
        self._etags: dict[str, str] | None = None
        self._heads = 0
        # A full build's worker lists the bucket after this many HEADs; None
        # (the render function's batches) never lists it: a batch costs its pages.
        self.list_after_heads = list_after_heads
        # Paths written or removed by this publisher since the last flush, and
        # those of them whose old copy a CDN may hold for long (to invalidate).
        self._mine: set[str] = set()
        self._stale: set[str] = set()

    # ------------------------------------------------------------ clients

    def _client(self, service: str) -> Any:
        """The given client, or one made in this process (boto3 clients must
        not be shared across a fork)."""
        if self._given[service] is not None:
            return self._given[service]
        if self._made_in != os.getpid():
            self._made, self._made_in = {}, os.getpid()
        if service not in self._made:
            self._made[service] = boto3.session.Session().client(service, config=CLIENT_CONFIG)
        return self._made[service]

    # ------------------------------------------------------------ objects

    def _key(self, path: str) -> str:
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"not a relative site path: {path!r}")
        return self.prefix + path

    def _head(self, path: str) -> dict[str, Any] | None:
        try:
            return self._client("s3").head_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def _list(self) -> dict[str, str]:
        """Relative path -> ETag of every object under the prefix (one paginated listing)."""
        etags = {}
        pages = self._client("s3").get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                path = item["Key"][len(self.prefix) :]
                if path and not path.endswith("/"):  # skip "folder" markers
                    etags[path] = item["ETag"].strip('"')
        return etags

    def _previous(self, path: str, md5: str, sha256: str, cache_control: str):
        """(is the same object already there, was there one the edge may keep
        long): from the build's listing, else one HEAD."""
        lists = self.list_after_heads is not None and self._heads >= self.list_after_heads
        if self._etags is None and lists:
            self._etags = self._list()
        if self._etags is not None:  # a full build: ETags only (see above)
            return self._etags.get(path) == md5, path in self._etags
        self._heads += 1
        head = self._head(path)
        if head is None:
            return False, False
        stored = head.get("Metadata", {}).get("sha256")
        same = stored == sha256 if stored else head.get("ETag", "").strip('"') == md5
        same = (
            same
            and head.get("ContentType") == content_type_for(path)
            and head.get("CacheControl") == cache_control
        )
        return same, head.get("CacheControl") not in (CACHE_FRESH, CACHE_IMMUTABLE)

    def write(self, path: str, body: bytes, stable: bool = False) -> bool:
        """Put `body` at `path`; False (and no PUT) when those bytes are already
        there. A stable page that replaces one the edge may keep is remembered
        for `flush` to invalidate; a new page is not (nothing cached it)."""
        key = self._key(path)
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        sha256 = hashlib.sha256(body).hexdigest()
        cache_control = cache_control_for(path, stable)
        same, cached_long = self._previous(path, md5, sha256, cache_control)
        if same and not self.force:
            return False
        self._client("s3").put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type_for(path),
            CacheControl=cache_control,
            Metadata={"sha256": sha256},
        )
        if self._etags is not None:
            self._etags[path] = md5
        self._mine.add(path)
        if cached_long:
            self._stale.add(path)
        return True

    def read(self, path: str) -> bytes | None:
        """The object's bytes at `path` (one GET), or None when there is none."""
        try:
            answer = self._client("s3").get_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return answer["Body"].read()

    def remove(self, path: str) -> bool:
        """Delete the object at `path`; False when there was none."""
        key = self._key(path)
        if self._etags is not None:
            if path not in self._etags:
                return False
        elif self._head(path) is None:
            return False
        self._client("s3").delete_object(Bucket=self.bucket, Key=key)
        if self._etags is not None:
            self._etags.pop(path, None)
        self._mine.add(path)
        self._stale.add(path)  # removals are rare (a deleted post, a rename)
        return True

    def existing(self) -> set[str]:
        """Every path under the prefix, relative to it; remembered for this build."""
        self._etags = self._list()
        return set(self._etags)

    # ------------------------------------------------------------ CloudFront

    def flush(self, changed: Iterable[str]) -> None:
        """One CloudFront invalidation for the objects the edge may hold for
        long that this build replaced or removed, plus the changed paths other
        processes wrote (a full build's workers: their history is unknown
        here); forget this build's listing."""
        stale = self._stale | (set(changed) - self._mine)
        self._etags, self._heads, self._mine, self._stale = None, 0, set(), set()
        if not self.distribution_id:
            return
        paths = invalidation_paths(stale)
        if not paths:
            return
        if len(paths) > WILDCARD_THRESHOLD:
            paths = [WILDCARD]
        for start in range(0, len(paths), MAX_INVALIDATION_PATHS):
            try:
                self._invalidate(paths[start : start + MAX_INVALIDATION_PATHS])
            except ClientError as error:
                # Too many paths still in progress (a burst of rebuilds): the
                # wildcard has its own, separate limit.
                code = error.response.get("Error", {}).get("Code")
                if code != "TooManyInvalidationsInProgress" or paths == [WILDCARD]:
                    raise
                self._invalidate([WILDCARD])
                return

    def _invalidate(self, paths: list[str]) -> None:
        self._client("cloudfront").create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"microblog-{uuid.uuid4().hex}",
            },
        )
