"""The search index on AWS's path: DynamoDB Local's stream records -> the render
function -> index shards in moto's S3, creates and deletes; the same bytes as a
full build of the table."""

from __future__ import annotations

import json

from functions import handlers
from functions.domain import PostDeleted
from functions.sitegen.s3 import CACHE_FRESH
from functions.sitegen.search import build_index, lexicon_path, numbered_posts
from functions.sitegen.terms import LEXICON_SHARDS, shard_of
from functions.stream import decode
from tests.streams import lambda_event
from tests.test_render_function import BUCKET, app, s3, stream, table  # noqa: F401 (fixtures)


def index_in_bucket(s3) -> dict[str, bytes]:  # noqa: F811
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="search/").get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
        if item["Key"].endswith(".json")
    }


def full_build(table) -> dict[str, bytes]:  # noqa: F811
    outputs = build_index(numbered_posts(table, table.explore_seq()))
    return {output.path: output.body for output in outputs if output.body is not None}


def lexicon(s3, word: str) -> list[str]:  # noqa: F811
    path = lexicon_path(shard_of(word, LEXICON_SHARDS))
    found = index_in_bucket(s3).get(path)
    return json.loads(found).get(word, []) if found else []


def test_the_stream_files_new_posts_and_withdraws_deleted_ones(s3, app, stream, table):  # noqa: F811
    ann = app.register("ann", "ann@example.com", "secret-password")
    first = app.create_post(ann, "Quokkas jumping over the garden fence")
    app.create_post(ann, "A quokka in the garden")
    assert handlers.render(lambda_event(stream.new_records()), None) == {"batchItemFailures": []}
    assert lexicon(s3, "quokkas") and lexicon(s3, "fence")
    assert index_in_bucket(s3) == full_build(table)
    shard = s3.get_object(Bucket=BUCKET, Key=lexicon_path(shard_of("fence", LEXICON_SHARDS)))
    assert shard["ContentType"] == "application/json"
    assert shard["CacheControl"] == CACHE_FRESH  # changes with writes, like a listing

    app.delete_post(ann, first.id)
    records = stream.new_records()
    # The post is gone from the table; its REMOVE record's old image has its words.
    (deleted,) = [e for r in records for e in decode(r).events if isinstance(e, PostDeleted)]
    assert deleted.body == first.body and deleted.language == first.language
    assert handlers.render(lambda_event(records), None) == {"batchItemFailures": []}
    assert lexicon(s3, "quokkas") == [] and lexicon(s3, "fence") == []
    assert lexicon(s3, "garden")  # the other post still has it
    assert index_in_bucket(s3) == full_build(table)
