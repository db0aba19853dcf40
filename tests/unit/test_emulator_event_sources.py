"""The local run's event-source events and function environments, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from emulator.functions import HIDDEN, function_environment
from emulator.pollers import FACTORIES, queue_record, stream_record
from switchboard import wiring

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def boto3_stream_record() -> dict[str, Any]:
    """A GetRecords record as boto3 returns it: datetimes parsed, binaries decoded to bytes."""
    return {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {
                "pk": {"S": "a"},
                "n": {"N": "1.50"},
                "blob": {"B": b"\x00\xff"},
                "blobs": {"BS": [b"\x01"]},
                "nested": {"M": {"inner": {"L": [{"B": b"\x02"}, {"BOOL": True}, {"NULL": True}]}}},
            },
            "OldImage": {"pk": {"S": "a"}},
            "SequenceNumber": "100",
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_a_stream_record_has_lambdas_shape_and_json_types() -> None:
    record = stream_record(boto3_stream_record(), STREAM_ARN)
    json.dumps(record)  # everything is JSON, as Lambda delivers it
    assert record["eventSourceARN"] == STREAM_ARN
    assert record["eventSource"] == "aws:dynamodb"
    change = record["dynamodb"]
    assert change["ApproximateCreationDateTime"] == int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    image = change["NewImage"]
    assert image["n"] == {"N": "1.50"}  # numbers stay strings
    assert image["blob"] == {"B": "AP8="}
    assert image["blobs"] == {"BS": ["AQ=="]}
    assert image["nested"] == {"M": {"inner": {"L": [{"B": "Ag=="}, {"BOOL": True}, {"NULL": True}]}}}
    assert change["OldImage"] == {"pk": {"S": "a"}}
    assert (change["SequenceNumber"], change["SizeBytes"]) == ("100", 42)


def test_a_queue_record_has_lambdas_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "MD5OfBody": "md5",
        "MD5OfMessageAttributes": "md5a",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1"},
        "MessageAttributes": {
            "s": {"DataType": "String", "StringValue": "v"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00"},
        },
    }
    record = queue_record(message, QUEUE_ARN)
    assert record == {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1"},
        "messageAttributes": {
            "s": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "b": {
                "binaryValue": "AA==",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "md5",
        "md5OfMessageAttributes": "md5a",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def test_every_declared_kind_of_trigger_has_a_poller() -> None:
    kinds = {type(trigger) for spec in wiring.FUNCTIONS for trigger in spec.triggers}
    assert kinds
    assert kinds <= set(FACTORIES)


def test_a_function_sees_only_its_tables_and_queues() -> None:
    tables = {table.key: table.local_name for table in wiring.TABLES}
    queues = {queue.key: f"http://127.0.0.1:1/123456789012/{queue.local_name}" for queue in wiring.QUEUES}
    for spec in wiring.FUNCTIONS:
        env = function_environment(spec, tables, queues)
        for queue in wiring.QUEUES:
            expected = queues[queue.key] if queue.key in spec.queues else HIDDEN
            assert env[queue.env_var] == expected, (spec.name, queue.key)
        for table in wiring.TABLES:
            expected = table.local_name if table.key in spec.tables else HIDDEN
            assert env[table.env_var] == expected, (spec.name, table.key)
