"""A release's full rebuild on AWS, run by Step Functions.

`sam deploy` with new code, templates or content updates the stack's
`Custom::SiteBuild` resource, and CloudFormation calls the build function
(`on_release`), which starts the release state machine (`template.yaml`,
ReleaseStateMachine) and returns. The state machine then:

1. pauses the render function's stream mapping, so no stream batch renders
   a page while the shards do (the records wait in the stream);
2. `plan`: checks the store (a wrong, empty table must not unpublish the
   site), publishes the assets (before any page that names them) and lists
   the shards, 1..BUILD_SHARDS;
3. a Distributed Map runs `shard` for each, in parallel: each renders its
   share of the pages to the site's bucket (`SiteBuilder.build_shard`) and
   writes the list of the pages it published, and of those it changed, to the
   build bucket;
4. `finish`: the removal of what no shard published, one CloudFront flush;
5. resumes the stream mapping (the waiting records render on top), and
6. `answer`s CloudFormation: SUCCESS, or FAILED with the reason. Every
   failure path resumes the stream and answers, so a stack update never
   waits for its timeout.

Each step is this module's function for an event {"step": name, ...}; the
state machine passes the CloudFormation request along as "request".
"""

from __future__ import annotations

import json
import logging
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .sitegen.builder import SiteBuilder, Stats
from .sitegen.shards import Shard

log = logging.getLogger(__name__)

# The physical id of the release's build resource: the same on every update,
# so CloudFormation never thinks it was replaced (and never deletes it).
BUILD_RESOURCE_ID = "microblog-site-build"
MANIFESTS = "releases/"  # key prefix of the shards' lists in the build bucket
KINDS = ("published", "changed")  # a shard's two lists of paths


def is_release(event: dict[str, Any]) -> bool:
    """A CloudFormation custom resource request."""
    return "RequestType" in event and "ResponseURL" in event


def on_release(request: dict[str, Any], start_execution: Callable[[dict], object]) -> None:
    """CloudFormation's request: a full build on Create and Update, answered
    by the state machine when it is done; nothing on Delete (the site stays)."""
    if request["RequestType"] == "Delete":
        answer_cloudformation(request, "SUCCESS", "The site stays.")
        return
    try:
        start_execution({"request": request})
    except Exception as error:
        log.exception("could not start the release's build")
        answer_cloudformation(request, "FAILED", f"The build did not start: {error}")


def plan(builder: SiteBuilder, shards: int) -> dict[str, Any]:
    """Check the store and publish the assets, then the shards for the Map to run."""
    builder.prepare()
    return {"shards": [{"index": i, "count": shards} for i in range(1, shards + 1)]}


def shard(event: dict[str, Any], builder: SiteBuilder, manifests: Manifests) -> dict[str, Any]:
    """Render one shard to the site's bucket; keep its lists for `finish`
    (written to /tmp part by part as the shard goes, then uploaded: the
    function's memory holds a part, not the shard)."""
    release, which = event["release"], Shard(event["index"], event["count"])
    with tempfile.TemporaryDirectory() as folder:
        lists = {kind: Path(folder, kind) for kind in KINDS}
        with lists["published"].open("w") as published, lists["changed"].open("w") as changed:

            def keep(part: Stats) -> None:
                published.writelines(path + "\n" for path in part.published)
                changed.writelines(path + "\n" for path in part.changed)

            stats = builder.build_shard(which, on_part=keep)
        for kind, path in lists.items():
            manifests.put(release, which, kind, path)
    log.info("shard %s: %s", which, stats.summary())
    return {"shard": str(which), "rendered": stats.rendered, "written": stats.written}


def finish(event: dict[str, Any], builder: SiteBuilder, manifests: Manifests) -> dict[str, Any]:
    """The pages no shard published removed, one flush."""
    release, count = event["release"], event["count"]
    shards = [Shard(i, count) for i in range(1, count + 1)]
    published = (p for s in shards for p in manifests.get(release, s, "published"))
    changed = [p for s in shards for p in manifests.get(release, s, "changed")]
    stats = builder.finish(published, changed)
    manifests.delete(release)
    log.info("release %s finished: %s", release, stats.summary())
    return {"removed": stats.removed, "changed": len(stats.changed)}


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """Tell CloudFormation how the release's build went."""
    if "error" in event:
        error = event["error"] or {}
        reason = f"The site's build failed: {error.get('Error')}: {error.get('Cause', '')}"
        return answer_cloudformation(event["request"], "FAILED", reason)
    return answer_cloudformation(event["request"], "SUCCESS", "The site is built.")


def answer_cloudformation(request: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
    """PUT the custom resource's answer to CloudFormation's pre-signed S3 URL
    (an empty Content-Type: the URL was signed without one)."""
    response = {
        "Status": status,
        "Reason": reason[:1000] or "ok",
        "PhysicalResourceId": request.get("PhysicalResourceId") or BUILD_RESOURCE_ID,
        "StackId": request["StackId"],
        "RequestId": request["RequestId"],
        "LogicalResourceId": request["LogicalResourceId"],
    }
    body = json.dumps(response).encode()
    put = urllib.request.Request(
        request["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": len(body)},
    )
    with urllib.request.urlopen(put, timeout=30) as answered:
        answered.read()
    return response


class Manifests:
    """The shards' lists of paths, one object per shard and kind, in the
    build bucket (which expires them); deleted when the release finishes."""

    def __init__(self, bucket: str, client: Any):
        self.bucket, self.client = bucket, client

    def _key(self, release: str, shard: Shard, kind: str) -> str:
        return f"{MANIFESTS}{release}/{shard.index}-of-{shard.count}.{kind}"

    def put(self, release: str, shard: Shard, kind: str, lines: Path) -> None:
        """Upload the file `lines` (one path a line) as the shard's list."""
        with lines.open("rb") as body:
            key = self._key(release, shard, kind)
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, release: str, shard: Shard, kind: str) -> Iterator[str]:
        """The list, a line at a time. KeyError when the shard never wrote it."""
        key = self._key(release, shard, kind)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise KeyError(f"shard {shard} of release {release} left no list") from None
        for line in body.iter_lines():
            if line:
                yield line.decode()

    def delete(self, release: str) -> None:
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=f"{MANIFESTS}{release}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})


def handle(
    event: dict[str, Any],
    builder: Callable[[], SiteBuilder],
    manifests: Callable[[], Manifests],
    shards: int,
    start_execution: Callable[[dict], object],
) -> dict[str, Any] | None:
    """The build function: CloudFormation's request, or a state machine step."""
    if is_release(event):
        return on_release(event, start_execution)
    step = event.get("step")
    if step == "plan":
        return plan(builder(), shards)
    if step == "shard":
        return shard(event, builder(), manifests())
    if step == "finish":
        return finish(event, builder(), manifests())
    if step == "answer":
        return answer(event)
    raise ValueError(f"not a release step: {step!r}")
