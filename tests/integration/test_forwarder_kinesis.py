"""The forwarder against moto: events of the objects table's stream go, through the customer's
KustomerDataStreamRole (AssumeRole with the ExternalId), into `kustomer-data-stream` in the
customer's own account, and are read back there with GetRecords.

moto maps the credentials AssumeRole returns to the role's account, so the stream is created
and read in a second account (210987654321) while the platform runs in moto's default one.
moto never throttles Kinesis: throttling is injected at the boto3 client (put_records refuses
some entries, as Kinesis does for a hot shard) and every record must still arrive in per-object
order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from switchboard.adapters.dynamo import to_item
from switchboard.adapters.kinesis import RoleCredentials, StreamWriter
from switchboard.domain.records import Record
from switchboard.pipeline.fanout import stream_events
from switchboard.pipeline.forwarder import Forwarder, ForwardResult, Registration
from tests.support.stream_records import insert, modify

PLATFORM_ACCOUNT = "123456789012"  # moto's default account
CUSTOMER_ACCOUNT = "210987654321"
REGION = "eu-west-1"
EXTERNAL_ID = "sb-0123456789abcdef0123456789abcdef"
STREAM = "kustomer-data-stream"
SHARDS = 4
ORG = "0" * 23 + "1"
OBJECTS, REVISIONS = 50, 24  # 1,200 events
ENVELOPE_KEYS = {
    "id",
    "name",
    "org",
    "partition",
    "data",
    "changes",
    "createdAt",
    "dataId",
    "persist",
    "client",
}


@dataclass
class Customer:
    """The customer's account, as the customer sees it (their own credentials)."""

    kinesis: Any
    stream_arn: str

    def read_all(self) -> list[tuple[str, dict[str, Any]]]:
        """(partition key, envelope) of every record, shard by shard, in each shard's order."""
        found: list[tuple[str, dict[str, Any]]] = []
        for shard in self.kinesis.list_shards(StreamARN=self.stream_arn)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamARN=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = self.kinesis.get_records(StreamARN=self.stream_arn, ShardIterator=iterator, Limit=1000)
                found += [(r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"]]
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return found


@pytest.fixture
def customer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Customer]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        # The customer's own admin session in their account (what the onboarding stack does).
        admin = boto3.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/OrganizationAccountAccessRole",
            RoleSessionName="customer-admin",
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=admin["AccessKeyId"],
            aws_secret_access_key=admin["SecretAccessKey"],
            aws_session_token=admin["SessionToken"],
            region_name=REGION,
        )
        assert session.client("sts").get_caller_identity()["Account"] == CUSTOMER_ACCOUNT
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{PLATFORM_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
                }
            ],
        }
        session.client("iam").create_role(
            RoleName="KustomerDataStreamRole", AssumeRolePolicyDocument=json.dumps(trust)
        )
        kinesis = session.client("kinesis")
        kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
        assert arn == f"arn:aws:kinesis:{REGION}:{CUSTOMER_ACCOUNT}:stream/{STREAM}"
        yield Customer(kinesis, arn)


REGISTRATION = Registration(
    org=ORG,
    id="f" * 24,
    accountId=CUSTOMER_ACCOUNT,
    region=REGION,
    externalId=EXTERNAL_ID,
    streamArn=f"arn:aws:kinesis:{REGION}:{CUSTOMER_ACCOUNT}:stream/{STREAM}",
    status="active",
    activatedAt="2026-01-01T00:00:00.000Z",
)


class OneRegistration:
    def active(self, org: str) -> Registration | None:
        return REGISTRATION if org == ORG else None


class ListParking:
    def __init__(self) -> None:
        self.parked: list[dict[str, Any]] = []

    def park(self, org: str, registration_id: str, events: list[dict[str, Any]], reason: str) -> None:
        self.parked += events


def object_events() -> list[dict[str, Any]]:
    """1,200 changes of 50 customers (24 revisions each, interleaved as they would happen),
    as DynamoDB stream records turned into envelopes by the fan-out's own decoder."""
    records: list[dict[str, Any]] = []
    previous: dict[str, dict[str, Any]] = {}
    for rev in range(1, REVISIONS + 1):
        for n in range(OBJECTS):
            object_id = f"{n:024x}"
            item = to_item(
                Record(
                    org=ORG,
                    kind="customer",
                    id=object_id,
                    rev=rev,
                    created_at="2026-02-01T00:00:00.000Z",
                    updated_at=f"2026-02-01T{rev:02d}:00:{n % 60:02d}.000Z",
                    attributes={"name": f"Customer {n}", "visits": rev},
                    list_key="customer",
                )
            )
            records.append(insert(item) if rev == 1 else modify(previous[object_id], item))
            previous[object_id] = item
    return [event for _, event in stream_events(records)]


def forwarder(
    roles: RoleCredentials, parking: ListParking, wrap: Callable[[Any], None] | None = None
) -> Forwarder:
    def writers(registration: Registration) -> StreamWriter:
        client = roles.kinesis(registration.accountId, registration.region, registration.externalId)
        if wrap is not None:
            wrap(client)
        return StreamWriter(client, sleep=lambda s: None)

    return Forwarder(OneRegistration(), writers, parking)


def assert_every_event_arrived_in_order(
    read: list[tuple[str, dict[str, Any]]], sent: list[dict[str, Any]]
) -> None:
    """Each record is an envelope with `rev`, keyed by its object; per object, the last copy
    of each event comes in revision order (a retried record may also appear earlier)."""
    assert {envelope["id"] for _, envelope in read} == {e["id"] for e in sent}
    last = {envelope["id"]: position for position, (_, envelope) in enumerate(read)}
    revisions: dict[str, list[int]] = {}
    for position, (key, envelope) in enumerate(read):
        assert set(envelope) == ENVELOPE_KEYS and envelope["org"] == ORG
        assert key == envelope["dataId"] == envelope["data"]["id"]
        assert envelope["name"] in {"kustomer.customer.create", "kustomer.customer.update"}
        rev = envelope["data"]["attributes"]["rev"]
        assert isinstance(rev, int)
        if last[envelope["id"]] == position:
            revisions.setdefault(key, []).append(rev)
    assert len(revisions) == OBJECTS
    assert all(revs == list(range(1, REVISIONS + 1)) for revs in revisions.values())


def report(label: str, result: ForwardResult, events: int, roles: RoleCredentials) -> dict[str, float]:
    numbers = {
        "events": events,
        "put_records_calls": result.calls,
        "records_per_call": round(result.records_per_call, 1),
        "aws_calls_per_1000_events": round((result.calls + roles.assume_calls) * 1000 / events, 2),
    }
    print(f"\n{label}: {numbers}")
    return numbers


def test_forwards_1200_events_into_the_customers_stream(customer: Customer) -> None:
    events = object_events()
    assert len(events) == OBJECTS * REVISIONS
    roles = RoleCredentials(boto3.client("sts"))
    parking = ListParking()
    result = forwarder(roles, parking).handle(events)

    assert result.forwarded == 1200 and result.parked == 0 and not parking.parked
    assert roles.assume_calls == 1
    read = customer.read_all()
    assert len(read) == 1200  # no retries: no copies
    assert_every_event_arrived_in_order(read, events)
    assert read_keys_per_shard(read) == SHARDS  # one object's records all sit in one shard
    assert json.loads(json.dumps(read[0][1])) == next(e for e in events if e["id"] == read[0][1]["id"])

    numbers = report("forward 1,200 events", result, len(events), roles)
    assert numbers["put_records_calls"] == 3  # 500 + 500 + 200
    assert numbers["records_per_call"] == 400.0
    # the platform account holds no stream: the records went to the customer's
    assert boto3.client("kinesis", region_name=REGION).list_streams()["StreamNames"] == []

    # a second batch reuses the cached role credentials
    forwarder(roles, parking).handle(object_events()[:10])
    assert roles.assume_calls == 1


def read_keys_per_shard(read: list[tuple[str, dict[str, Any]]]) -> int:
    """How many shards the 50 keys spread over (each key's records are contiguous per shard)."""
    shards = {int(hashlib.md5(key.encode()).hexdigest(), 16) * SHARDS >> 128 for key, _ in read}  # noqa: S324
    return len(shards)


def hot_shard_throttling(failing_calls: int, per_call_allowance: int) -> Callable[[Any], None]:
    """Wrap a boto3 Kinesis client: for the first `failing_calls` PutRecords, the entries of
    shard 0 beyond `per_call_allowance` per call, and every 13th entry, are refused
    (ProvisionedThroughputExceeded / InternalFailure) and not written; the rest is written by
    the real call. Entries are answered in request order, as Kinesis does."""
    state = {"calls": 0}

    def wrap(client: Any) -> None:
        if getattr(client, "_throttling", False):
            return
        real = client.put_records

        def put_records(**request: Any) -> dict[str, Any]:
            call = state["calls"]
            state["calls"] += 1
            if call >= failing_calls:
                return real(**request)
            refused: dict[int, str] = {}
            shard0 = 0
            for position, entry in enumerate(request["Records"]):
                shard = int(hashlib.md5(entry["PartitionKey"].encode()).hexdigest(), 16) * SHARDS >> 128  # noqa: S324
                if shard == 0:
                    shard0 += 1
                    if shard0 > per_call_allowance:
                        refused[position] = "ProvisionedThroughputExceededException"
                if position % 13 == 12:
                    refused.setdefault(position, "InternalFailure")
            kept = [e for p, e in enumerate(request["Records"]) if p not in refused]
            written = iter(real(**{**request, "Records": kept})["Records"]) if kept else iter(())
            results = [
                {"ErrorCode": refused[p], "ErrorMessage": "Rate exceeded for shard"}
                if p in refused
                else next(written)
                for p in range(len(request["Records"]))
            ]
            return {"FailedRecordCount": len(refused), "Records": results}

        client.put_records = put_records
        client._throttling = True

    return wrap


def test_throttled_entries_are_retried_and_every_record_arrives_in_per_object_order(
    customer: Customer,
) -> None:
    events = object_events()
    roles = RoleCredentials(boto3.client("sts"))
    parking = ListParking()
    result = forwarder(roles, parking, hot_shard_throttling(failing_calls=4, per_call_allowance=40)).handle(
        events
    )

    assert result.forwarded == 1200 and result.parked == 0 and not parking.parked
    read = customer.read_all()
    assert len(read) > 1200  # held records that had been written went again behind the retried one
    assert_every_event_arrived_in_order(read, events)
    numbers = report("forward 1,200 events, throttled", result, len(events), roles)
    numbers["copies"] = len(read) - 1200
    print(f"copies written: {numbers['copies']}")
    assert numbers["put_records_calls"] <= 10


def test_a_stream_that_stays_throttled_parks_the_rest_in_order(customer: Customer) -> None:
    events = object_events()[:200]
    roles = RoleCredentials(boto3.client("sts"))
    parking = ListParking()
    result = forwarder(
        roles, parking, hot_shard_throttling(failing_calls=10**6, per_call_allowance=5)
    ).handle(events)
    assert result.parked == len(parking.parked) > 0
    assert result.forwarded + result.parked == 200
    # what is parked is whole per object from its first failure on, in order: a redrive appends it
    parked_revs: dict[str, list[int]] = {}
    for event in parking.parked:
        parked_revs.setdefault(event["dataId"], []).append(event["data"]["attributes"]["rev"])
    for object_id, revs in parked_revs.items():
        newest = max(e["data"]["attributes"]["rev"] for e in events if e["dataId"] == object_id)
        assert revs == list(range(revs[0], newest + 1))
