"""moto's DynamoDB Streams, as the local run's stream poller needs them, match DynamoDB's documented
behaviour once `emulator.moto_fixes` is applied; stock moto is checked too, so a moto release that
fixes a gap shows up here and its fix can go.

Documented behaviour (DynamoDB developer guide, Streams; GetRecords/GetShardIterator API):
- one stream record per item-level change: an UpdateItem that creates its item is one INSERT
  with the whole new item;
- no record for a PutItem or UpdateItem that does not change the item;
- a shard iterator expires 15 minutes after it is returned (ExpiredIteratorException).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator, dynamodbstreams_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from emulator import moto_fixes

KEY = {"pk": {"S": "a"}}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def stock(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto as released (an earlier test may have applied the fixes process-wide)."""
    monkeypatch.setattr(StreamShard, "add", moto_fixes._stock_stream_add)
    monkeypatch.setattr(DynamoDBBackend, "update_item", moto_fixes._stock_update_item)
    monkeypatch.setattr(ShardIterator, "__init__", moto_fixes._stock_iterator_init)
    monkeypatch.setattr(DynamoDBStreamsBackend, "get_records", moto_fixes._stock_get_records)


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixes, undone afterwards so the stock test stays independent of the order."""
    for owner, name in (
        (StreamShard, "add"),
        (DynamoDBBackend, "update_item"),
        (DynamoDBBackend, "transact_write_items"),
        (ShardIterator, "__init__"),
        (DynamoDBStreamsBackend, "get_records"),
    ):
        monkeypatch.setattr(owner, name, getattr(owner, name))
    moto_fixes.apply()


@pytest.fixture
def clients(credentials: None) -> Iterator[tuple[Any, Any, str]]:
    """A moto server, as the local run uses (in-process mocking does not route DynamoDB Streams)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        dynamodb = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}")
        dynamodb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        yield dynamodb, boto3.client("dynamodbstreams", endpoint_url=f"http://{host}:{port}"), arn
    finally:
        server.stop()
        moto_api_backend.reset()


def records(streams: Any, arn: str) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def writes(dynamodb: Any) -> None:
    """An update that creates, a put and an update that change nothing, a real change, a delete."""
    set_v = {"UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}
    dynamodb.update_item(TableName="t", Key=KEY, **set_v)  # creates the item
    dynamodb.put_item(TableName="t", Item={**KEY, "v": {"S": "1"}})  # the same item again
    dynamodb.update_item(TableName="t", Key=KEY, **set_v)  # v is already 1
    dynamodb.update_item(
        TableName="t", Key=KEY, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "2"}}
    )
    dynamodb.delete_item(TableName="t", Key=KEY)


def summary(found: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    def v(image: dict[str, Any] | None) -> Any:
        return None if image is None else image.get("v", {}).get("S", "<no v>")

    return [
        (r["eventName"], v(r["dynamodb"].get("OldImage")), v(r["dynamodb"].get("NewImage"))) for r in found
    ]


def test_stock_moto_writes_extra_records(stock: None, clients: tuple[Any, Any, str]) -> None:
    dynamodb, streams, arn = clients
    writes(dynamodb)
    assert summary(records(streams, arn)) == [
        ("INSERT", None, "<no v>"),  # the bare key moto stores first
        ("INSERT", None, "1"),
        ("MODIFY", "1", "1"),  # the put that changed nothing
        ("MODIFY", "1", "1"),  # the update that changed nothing
        ("MODIFY", "1", "2"),
        ("REMOVE", "2", None),
    ]


def test_fixed_moto_writes_one_record_per_change(fixed: None, clients: tuple[Any, Any, str]) -> None:
    dynamodb, streams, arn = clients
    writes(dynamodb)
    found = records(streams, arn)
    assert summary(found) == [("INSERT", None, "1"), ("MODIFY", "1", "2"), ("REMOVE", "2", None)]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in found]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    # Reading on from the last record finds the next change, so positions stay consistent.
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    dynamodb.put_item(TableName="t", Item={**KEY, "v": {"S": "3"}})
    after = streams.get_shard_iterator(
        StreamArn=arn,
        ShardId=shard,
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=found[-1]["dynamodb"]["SequenceNumber"],
    )["ShardIterator"]
    assert summary(streams.get_records(ShardIterator=after)["Records"]) == [("INSERT", None, "3")]


def test_shard_iterators_expire_after_15_minutes(fixed: None, clients: tuple[Any, Any, str]) -> None:
    _, streams, arn = clients
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator() -> str:
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
            "ShardIterator"
        ]

    old = iterator()
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    for held in backend.shard_iterators.values():
        held.issued_at -= moto_fixes.ITERATOR_LIFETIME_S + 1
    with pytest.raises(ClientError) as raised:
        streams.get_records(ShardIterator=old)
    assert raised.value.response["Error"]["Code"] == "ExpiredIteratorException"
    fresh = streams.get_records(ShardIterator=iterator())
    assert fresh["Records"] == []
    # Each GetRecords hands out a new iterator; the expired ones are forgotten.
    assert old not in backend.shard_iterators
    assert fresh["NextShardIterator"] in backend.shard_iterators
