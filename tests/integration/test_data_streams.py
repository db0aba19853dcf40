"""Data streams against moto: registration through the API (assuming the customer's role in a
second account), the forward function on stream records of the three tables and on backfill
pages, parking and redrive. Records are read back from the customer's stream."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from emulator.customer_account import CUSTOMER_ACCOUNT_ID, create_onboarding_resources, customer_session
from switchboard import admin, services, wiring
from switchboard.pipeline.datastreams import STREAM_NAME
from tests.integration.conftest import ApiClient, load_handler
from tests.support import stream_records


class Customer:
    """The customer's account: their stream, read with their own credentials."""

    def __init__(self) -> None:
        self.session = customer_session()
        self.kinesis = self.session.client("kinesis")

    def create(self, external_id: str) -> None:
        create_onboarding_resources(self.session, "123456789012", external_id)

    def read(self) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        for shard in self.kinesis.list_shards(StreamName=STREAM_NAME)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamName=STREAM_NAME, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=1000)
                found += [(r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"]]
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return found


@pytest.fixture
def customer(aws: Any) -> Customer:
    return Customer()


@pytest.fixture
def forward(aws: Any) -> Any:
    return load_handler(wiring.FORWARD)


def register(api: ApiClient, customer: Customer) -> dict[str, Any]:
    external_id = services.datastream_store().external_id(api.org)
    customer.create(external_id)
    reply = api.post("/v1/data-streams", {"accountId": CUSTOMER_ACCOUNT_ID, "region": "us-east-1"})
    assert reply.status == 201, reply.json
    return reply.json["data"]


def object_item(org: str, kind: str, object_id: str) -> dict[str, Any]:
    store = services.objects().store
    return store.client.get_item(
        TableName=store.table, Key={"pk": {"S": f"{org}#{kind}#{object_id}"}, "sk": {"S": "object"}}
    )["Item"]


def stream_arn(table_key: str) -> str:
    name = wiring.table(table_key).local_name
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}/stream/2026-01-01T00:00:00.000"


def on_table(table_key: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": [{**r, "eventSourceARN": stream_arn(table_key)} for r in records]}


def test_register_then_every_change_reaches_the_customers_stream(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    before = api.post("/v1/customers", {"name": "Before"}).json["data"]
    early = stream_records.insert(object_item(api.org, "customer", before["id"]))
    stream = register(api, customer)
    assert stream["attributes"]["status"] == "active"
    assert stream["attributes"]["streamArn"].endswith(f":{CUSTOMER_ACCOUNT_ID}:stream/{STREAM_NAME}")
    created = api.post("/v1/customers", {"name": "Ada"}).json["data"]
    first = object_item(api.org, "customer", created["id"])
    api.patch(f"/v1/customers/{created['id']}", {"name": "Ada L."})
    second = object_item(api.org, "customer", created["id"])
    records = [early, stream_records.insert(first), stream_records.modify(first, second)]
    assert forward(on_table("objects", records), None) == {"batchItemFailures": []}
    read = customer.read()
    # Only after activation (the seed): the change made before registering is not sent.
    assert [(key, event["name"], event["data"]["attributes"]["rev"]) for key, event in read] == [
        (created["id"], "kustomer.customer.create", 1),
        (created["id"], "kustomer.customer.update", 2),
    ]
    counters = api.get(f"/v1/data-streams/{stream['id']}").json["data"]["attributes"]["counters"]
    assert (counters["forwarded"], counters["parked"]) == (2, 0)


def test_hook_receipts_workflow_runs_and_webhooks_turned_off_are_events_too(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    register(api, customer)
    hook = api.post("/v1/hooks/form", {"title": "orders"}).json["data"]
    from tests.integration.test_hooks import Receiver

    Receiver(load_handler(wiring.HOOKS)).post(hook["attributes"]["url"], '{"id": 9}')
    store = services.automation_store()
    items = store.client.scan(TableName=store.table)["Items"]
    [tx] = [i for i in items if "#tx#" in i["pk"]["S"]]
    webhook = api.post(
        "/v1/outbound-webhooks",
        {"name": "w", "url": "https://hooks.example.com/x", "events": ["kustomer.customer.create"]},
    ).json["data"]
    hooks_store = services.webhook_store()
    key = {"org": {"S": api.org}, "id": {"S": webhook["id"]}}
    on = hooks_store.client.get_item(TableName=hooks_store.table, Key=key)["Item"]
    api.patch(f"/v1/outbound-webhooks/{webhook['id']}", {"enabled": False})
    off = hooks_store.client.get_item(TableName=hooks_store.table, Key=key)["Item"]
    assert forward(on_table("automation", [stream_records.insert(tx)]), None) == {"batchItemFailures": []}
    turned_off = stream_records.modify(on, off, ("org", "id"))
    assert forward(on_table("webhooks", [turned_off]), None) == {"batchItemFailures": []}
    names = [event["name"] for _, event in customer.read()]
    assert names == [f"kustomer.hooks.form.{hook['id']}.receive", "kustomer.outbound_webhook.disabled"]
    receipt = customer.read()[0][1]
    assert receipt["data"]["attributes"]["data"] == {"id": 9}


def test_no_registration_no_records_and_bad_registrations_are_refused(
    api: ApiClient, customer: Customer, forward: Any, handler: Any
) -> None:
    created = api.post("/v1/customers", {"name": "Quiet"}).json["data"]
    record = stream_records.insert(object_item(api.org, "customer", created["id"]))
    assert forward(on_table("objects", [record]), None) == {"batchItemFailures": []}
    for body, pointer in (
        ({"accountId": "123", "region": "us-east-1"}, "/accountId"),
        ({"accountId": CUSTOMER_ACCOUNT_ID, "region": "mars"}, "/region"),
        ({"accountId": CUSTOMER_ACCOUNT_ID, "region": "us-east-1", "x": 1}, "/x"),
    ):
        reply = api.post("/v1/data-streams", body)
        assert reply.status == 400 and reply.json["errors"][0]["source"]["pointer"] == pointer, reply.json
    # No stream in that account yet: the check fails with the reason, nothing is registered.
    reply = api.post("/v1/data-streams", {"accountId": CUSTOMER_ACCOUNT_ID, "region": "us-east-1"})
    assert reply.status == 400 and "kustomer-data-stream" in reply.json["errors"][0]["detail"]
    assert api.get("/v1/data-streams").json["data"] == []
    # Admins only.
    reader = ApiClient(
        handler, admin.issue_key(api.org, "r", ["org.permission.customer.read"])["key"], api.org
    )
    assert (
        reader.post("/v1/data-streams", {"accountId": CUSTOMER_ACCOUNT_ID, "region": "us-east-1"}).status
        == 403
    )
    stream = register(api, customer)
    assert (
        api.post("/v1/data-streams", {"accountId": CUSTOMER_ACCOUNT_ID, "region": "us-east-1"}).status == 409
    )
    assert api.delete(f"/v1/data-streams/{stream['id']}").json["data"]["attributes"]["status"] == "inactive"
    later = api.post("/v1/customers", {"name": "After delete"}).json["data"]
    record = stream_records.insert(object_item(api.org, "customer", later["id"]))
    assert forward(on_table("objects", [record]), None) == {"batchItemFailures": []}
    assert customer.read() == []


def test_backfill_sends_the_current_state_of_every_object_once(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    ids = [api.post("/v1/customers", {"name": f"C{n}"}).json["data"]["id"] for n in range(3)]
    api.post("/v1/klasses", {"name": "order"})
    order = api.post(f"/v1/customers/{ids[0]}/klasses/order", {"title": "O1"}).json["data"]
    stream = register(api, customer)
    assert api.post(f"/v1/data-streams/{stream['id']}/backfill").status == 202
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=wiring.BACKFILL_QUEUE.local_name)["QueueUrl"]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            record = stream_records.queue_record(message, "arn:aws:sqs:us-east-1:123456789012:backfill")
            assert forward({"Records": [record]}, None) == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sent = {(event["data"]["type"], key) for key, event in customer.read()}
    assert {("customer", i) for i in ids} | {("kobject.order", order["id"])} <= sent
    assert all(event["name"].endswith(".backfill") for _, event in customer.read())
    progress = api.get(f"/v1/data-streams/{stream['id']}").json["data"]["attributes"]["backfill"]
    assert progress["kindsDone"] == sorted(progress["kinds"])
    assert progress["sent"] == len(customer.read())


def test_a_stream_that_cannot_be_written_parks_events_and_a_redrive_sends_them(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    stream = register(api, customer)
    customer.kinesis.delete_stream(StreamName=STREAM_NAME)
    created = api.post("/v1/customers", {"name": "Parked"}).json["data"]
    record = stream_records.insert(object_item(api.org, "customer", created["id"]))
    assert forward(on_table("objects", [record]), None) == {"batchItemFailures": []}
    counters = api.get(f"/v1/data-streams/{stream['id']}").json["data"]["attributes"]["counters"]
    assert counters["parked"] == 1
    customer.kinesis.create_stream(StreamName=STREAM_NAME, ShardCount=1)
    reply = api.post(f"/v1/data-streams/{stream['id']}/redrive")
    assert reply.json["data"]["attributes"] == {"redriven": 1, "stillParked": 0}
    assert [event["dataId"] for _, event in customer.read()] == [created["id"]]
    assert api.post(f"/v1/data-streams/{stream['id']}/redrive").json["data"]["attributes"]["redriven"] == 0
