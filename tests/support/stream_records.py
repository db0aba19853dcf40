"""Lambda event records built by hand, for driving the stream and queue functions in-process.

Lambda delivers a DynamoDB stream change as `{"eventID", "eventName", "dynamodb": {"Keys",
"NewImage", "OldImage", "SequenceNumber", "StreamViewType", ...}, ...}` with the images in
DynamoDB's typed JSON (`{"S": "..."}`, `{"N": "1"}`), exactly as the low-level client returns an
item, and an SQS message as `{"messageId", "receiptHandle", "body", "attributes", ...}`.
"""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from typing import Any, Literal

REGION = "us-east-1"
OBJECTS_STREAM_ARN = (
    f"arn:aws:dynamodb:{REGION}:123456789012:table/switchboard-objects/stream/2026-01-01T00:00:00.000"
)

Item = dict[str, dict[str, Any]]
_sequence = itertools.count(100_000_000_000_000_000_001)


def stream_record(
    event_name: Literal["INSERT", "MODIFY", "REMOVE"],
    keys: Item,
    new_image: Item | None = None,
    old_image: Item | None = None,
    sequence_number: str | None = None,
) -> dict[str, Any]:
    """One `Records[]` entry of a DynamoDB stream event (view type NEW_AND_OLD_IMAGES)."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": int(time.time()),
        "Keys": keys,
        "SequenceNumber": sequence_number or str(next(_sequence)),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        change["NewImage"] = lambda_image(new_image)
    if old_image is not None:
        change["OldImage"] = lambda_image(old_image)
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": change,
        "eventSourceARN": OBJECTS_STREAM_ARN,
    }


def lambda_image(item: Item) -> Item:
    """An image as Lambda's JSON event carries it: binary values base64-encoded."""

    def plain(value: dict[str, Any]) -> dict[str, Any]:
        if "B" in value:
            raw = value["B"]
            raw = raw.value if hasattr(raw, "value") else raw
            return {"B": base64.b64encode(raw).decode("ascii")}
        return value

    return {name: plain(value) for name, value in item.items()}


def insert(item: Item, key_names: tuple[str, str] = ("pk", "sk")) -> dict[str, Any]:
    """The record of an item written where none was."""
    return stream_record("INSERT", {k: item[k] for k in key_names}, new_image=item)


def modify(old: Item, new: Item, key_names: tuple[str, str] = ("pk", "sk")) -> dict[str, Any]:
    """The record of an item replaced by another with the same keys."""
    keys = {k: new[k] for k in key_names}
    assert keys == {k: old[k] for k in key_names}, "a MODIFY keeps the item's keys"
    return stream_record("MODIFY", keys, new_image=new, old_image=old)


def queue_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One `Records[]` entry of an SQS event, from a ReceiveMessage message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
