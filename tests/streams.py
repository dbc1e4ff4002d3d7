"""Read a table's real stream on DynamoDB Local, as the render function would get it.

    reader = StreamReader(store)      # a DynamoStore whose table has a stream
    ...writes...
    records = reader.new_records()    # what the writes put on the stream, in order

`lambda_event(records)` wraps records in the shape Lambda's event source
mapping delivers (`sqs_event(messages)` does the same for SQS messages), and
`matches(pattern, record)` applies a Lambda event filter pattern (the subset
the template uses: nested keys and lists of exact values), so tests can
check what the filters let through.
"""

from __future__ import annotations

import time
from typing import Any

import boto3


class StreamReader:
    def __init__(self, store):
        self.client = boto3.client(
            "dynamodbstreams",
            endpoint_url=store.client.meta.endpoint_url,
            region_name=store.client.meta.region_name,
        )
        table = store.client.describe_table(TableName=store.table_name)["Table"]
        self.arn = table["LatestStreamArn"]
        self.iterators: dict[str, str | None] = {}

    def new_records(self, settle: float = 0.3) -> list[dict[str, Any]]:
        """The records written since the last call, oldest first. Records can
        reach DynamoDB Local's stream a moment after the write: read until
        none has come for `settle` seconds."""
        records: list[dict[str, Any]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle:
            found = self._poll()
            if found:
                records += found
                quiet_since = time.monotonic()
            else:
                time.sleep(0.05)
        return sorted(records, key=lambda r: int(r["dynamodb"]["SequenceNumber"]))

    def _poll(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        description = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.client.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            while self.iterators[shard_id]:
                answer = self.client.get_records(ShardIterator=self.iterators[shard_id])
                self.iterators[shard_id] = answer.get("NextShardIterator")
                if not answer["Records"]:
                    break
                records.extend(answer["Records"])
        return records


def lambda_event(records: list[dict[str, Any]], arn: str = "arn:aws:dynamodb:x") -> dict:
    """Records as Lambda's DynamoDB event source mapping delivers them."""
    wrapped = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, int | float):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        wrapped.append(
            {**record, "dynamodb": dynamodb, "eventSource": "aws:dynamodb", "eventSourceARN": arn}
        )
    return {"Records": wrapped}


def sqs_event(messages: list[dict[str, Any]]) -> dict:
    """Messages (as ReceiveMessage answers them) as Lambda's SQS event source
    mapping delivers them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout",
            }
            for m in messages
        ]
    }


def matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering for the pattern subset the template uses."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches(sub, value[key]) for key, sub in pattern.items()
        )
    if isinstance(pattern, list):
        return value in pattern
    raise TypeError(f"unsupported filter pattern: {pattern!r}")


def passes(filters: list[dict], record: dict) -> bool:
    """Filters are OR-ed: a record passes when one of them matches."""
    return any(matches(pattern, record) for pattern in filters)
