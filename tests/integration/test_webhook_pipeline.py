"""Outbound webhooks from a stream record to a POST: the events and deliver functions with moto as
AWS in-process and a real receiver on loopback.

In-process moto does not invoke functions from the objects stream or the deliveries queue, so
each test plays the event source mappings: it builds the stream records of a change from the
items the api function wrote, calls the events function with them, receives the queued
messages and calls the deliver function with them. The last tests drive FanOut and Deliverer
with in-memory stores and no AWS.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from switchboard import wiring
from switchboard.adapters.dynamo import OBJECT_SK, object_pk, to_item
from switchboard.adapters.dynamo_webhooks import StaleWebhook
from switchboard.adapters.http_sender import PostResult
from switchboard.domain import signing
from switchboard.domain.records import Record
from switchboard.domain.webhooks import Secret, Webhook
from switchboard.ids import format_iso, new_id
from switchboard.pipeline.delivery import Deliverer
from switchboard.pipeline.fanout import FanOut
from switchboard.pipeline.webhooks import WebhookService
from tests.integration.conftest import ApiClient, load_handler
from tests.support.receiver import Receiver, Reply
from tests.support.stream_records import insert, modify, queue_record
from tests.support.verify import standard_webhook_valid

Handler = Callable[[dict[str, Any], object], dict[str, Any]]
Item = dict[str, dict[str, Any]]
NO_FAILURES: dict[str, Any] = {"batchItemFailures": []}


@dataclass
class Pipeline:
    """The two functions behind the api, and the AWS resources between them."""

    dynamodb: Any
    sqs: Any
    events: Handler
    deliver: Handler
    objects_table: str
    queue_url: str
    queue_arn: str

    def item(self, org: str, kind: str, object_id: str) -> Item:
        """An object's item as stored: what the stream carries as its image."""
        key = {"pk": {"S": object_pk(org, kind, object_id)}, "sk": {"S": OBJECT_SK}}
        return self.dynamodb.get_item(TableName=self.objects_table, Key=key, ConsistentRead=True)["Item"]

    def written_for(self, org: str, object_id: str) -> list[Item]:
        """The items one create wrote: the object and the guards of its identifiers."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.objects_table,
            FilterExpression="org = :org AND (id = :id OR ownerId = :id)",
            ExpressionAttributeValues={":org": {"S": org}, ":id": {"S": object_id}},
        )
        return [item for page in pages for item in page["Items"]]

    def fan_out(self, records: list[dict[str, Any]]) -> None:
        """One invocation of the events function, as the stream's event source mapping makes it."""
        assert self.events({"Records": records}, None) == NO_FAILURES

    def receive(self) -> list[dict[str, Any]]:
        """Every message visible on the deliveries queue now (each is then in flight)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages += batch

    def deliver_batch(self, messages: list[dict[str, Any]]) -> None:
        """One invocation of the deliver function; handled messages are deleted, as Lambda does."""
        result = self.deliver({"Records": [queue_record(m, self.queue_arn) for m in messages]}, None)
        assert result == NO_FAILURES
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def pipeline(aws: Any) -> Pipeline:
    sqs = boto3.client("sqs")
    url = os.environ[wiring.DELIVERY_QUEUE.env_var]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Pipeline(
        dynamodb=aws,
        sqs=sqs,
        events=load_handler(wiring.EVENTS),
        deliver=load_handler(wiring.DELIVER),
        objects_table=os.environ[wiring.OBJECTS.env_var],
        queue_url=url,
        queue_arn=arn,
    )


@pytest.fixture
def local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in `make run`: webhooks may point at loopback (the receiver)."""
    monkeypatch.setenv("SWITCHBOARD_LOCAL", "1")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def create_webhook(api: ApiClient, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    reply = api.post("/v1/outbound-webhooks", {"name": "pipeline", "url": url, "events": events, **extra})
    assert reply.status == 201, reply.json
    return reply.json["data"]


def attempt_log(api: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"/v1/outbound-webhooks/{webhook_id}/attempts", query={"pageSize": "100"})
    assert reply.status == 200, reply.json
    return [row["attributes"] for row in reply.json["data"]]


def transactions_of(api: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    reply = api.get("/v1/outbound-webhooks/transactions", query={"pageSize": "100"})
    assert reply.status == 200, reply.json
    return [row["attributes"] for row in reply.json["data"] if row["attributes"]["webhookId"] == webhook_id]


def create_customer(api: ApiClient, pipeline: Pipeline, name: str) -> tuple[str, list[dict[str, Any]]]:
    """Create a customer through the api; its id and the stream records of that create."""
    email = name.lower().replace(" ", ".") + "@example.com"
    reply = api.post("/v1/customers", {"name": name, "emails": [{"email": email}]})
    assert reply.status == 201, reply.json
    customer = reply.json["data"]["id"]
    items = pipeline.written_for(api.org, customer)
    assert len(items) >= 2, "the customer and the guard of its email"
    return customer, [insert(item) for item in items]


def hold_until_requests(receiver: Receiver, count: int, timeout_s: float = 3.0) -> Callable[[], None]:
    """A reply hook that keeps a request unanswered until `count` requests arrived (or time ran out)."""

    def hold() -> None:
        with contextlib.suppress(AssertionError):
            receiver.wait_for(count, timeout_s)

    return hold


# -- A stream record processed twice ------------------------------------------------------------


def test_a_create_record_processed_twice_is_posted_once(
    local_run: None, api: ApiClient, pipeline: Pipeline, receiver: Receiver
) -> None:
    hook = create_webhook(api, receiver.url, ["kustomer.customer.create"])
    customer, records = create_customer(api, pipeline, "Twice Seen")

    pipeline.fan_out(records)
    pipeline.fan_out(records)  # the stream hands the same batch over again

    messages = pipeline.receive()
    assert len(messages) == 2, "one message per fan-out: the duplicate is absorbed later"
    first, second = (json.loads(m["Body"]) for m in messages)
    assert first == second
    assert second["event"]["name"] == "kustomer.customer.create"
    assert second["event"]["dataId"] == customer
    for message in messages:  # in separate invocations, as two receives would bring them
        pipeline.deliver_batch([message])

    (delivery,) = receiver.received
    assert delivery.headers["webhook-id"] == second["event"]["id"]
    assert json.loads(delivery.body) == second["event"]
    (attempt,) = attempt_log(api, hook["id"])
    assert (attempt["attempt"], attempt["status"], attempt["outcome"]) == (1, 200, "delivered")
    (state,) = transactions_of(api, hook["id"])
    assert (state["status"], state["attempts"]) == ("delivered", 1)
    assert pipeline.receive() == [], "nothing was re-enqueued"


def test_an_update_record_processed_twice_is_posted_once(
    local_run: None, api: ApiClient, pipeline: Pipeline, receiver: Receiver
) -> None:
    customer = api.post("/v1/customers", {"name": "Before"}).json["data"]["id"]
    old = pipeline.item(api.org, "customer", customer)
    hook = create_webhook(api, receiver.url, ["kustomer.customer.update"])
    assert api.patch(f"/v1/customers/{customer}", {"name": "After"}).status == 200
    record = modify(old, pipeline.item(api.org, "customer", customer))

    pipeline.fan_out([record])
    pipeline.fan_out([record])
    messages = pipeline.receive()
    assert len(messages) == 2
    for message in messages:
        pipeline.deliver_batch([message])

    (delivery,) = receiver.received
    event = json.loads(delivery.body)
    assert event["name"] == "kustomer.customer.update"
    assert event["changes"]["attributes"]["name"] == {"op": "replace", "before": "Before", "after": "After"}
    assert {json.loads(m["Body"])["event"]["id"] for m in messages} == {delivery.headers["webhook-id"]}
    assert len(attempt_log(api, hook["id"])) == 1


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process moto evaluates a condition and writes without a lock, so two threads can both
    pass one condition; DynamoDB (and the local run's serialized moto server) never let them.
    One request at a time restores that guarantee for tests with parallel writers."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    dispatch = BotocoreStubber.__call__

    def one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return dispatch(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_at_a_time)


def test_duplicate_messages_in_one_batch_are_posted_once(
    local_run: None, api: ApiClient, pipeline: Pipeline, receiver: Receiver, atomic_requests: None
) -> None:
    create_webhook(api, receiver.url, ["kustomer.customer.create"])
    _, records = create_customer(api, pipeline, "Same Batch")
    pipeline.fan_out(records)
    pipeline.fan_out(records)
    messages = pipeline.receive()
    assert len(messages) == 2
    # The first POST is answered once a second one arrived (or after 3 s if none comes).
    receiver.script.append(Reply(then=hold_until_requests(receiver, 2)))

    pipeline.deliver_batch(messages)  # both copies in one invocation, as one receive brings them

    assert len(receiver.received) == 1


def test_a_host_name_resolving_to_a_private_address_is_refused_at_delivery(
    monkeypatch: pytest.MonkeyPatch, api: ApiClient, pipeline: Pipeline
) -> None:
    monkeypatch.delenv("SWITCHBOARD_LOCAL", raising=False)
    system_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "intranet.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return system_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    # Saving checks the URL's form only; the name is resolved and vetted at every delivery.
    hook = create_webhook(api, "https://intranet.example.com/hook", ["kustomer.customer.create"])
    _, records = create_customer(api, pipeline, "Rebound")
    pipeline.fan_out(records)
    pipeline.deliver_batch(pipeline.receive())

    (attempt,) = attempt_log(api, hook["id"])
    assert attempt["status"] is None
    assert attempt["error"] == "refused: intranet.example.com resolves to 10.1.2.3, a private address"
    assert attempt["outcome"].startswith("retry in ")


# -- Secret rotation ----------------------------------------------------------------------------


def test_after_rotation_both_tokens_verify_and_kustomer_signs_with_the_new(
    local_run: None, api: ApiClient, pipeline: Pipeline, receiver: Receiver
) -> None:
    hook = create_webhook(api, receiver.url, ["kustomer.customer.create"])
    old_token = hook["attributes"]["token"]
    reply = api.post(f"/v1/outbound-webhooks/{hook['id']}/rotate-secret")
    assert reply.status == 200, reply.json
    new_token = reply.json["data"]["attributes"]["token"]
    assert new_token != old_token
    assert api.get(f"/v1/outbound-webhooks/{hook['id']}").json["data"]["attributes"]["token"] == new_token

    _, records = create_customer(api, pipeline, "Rotated")
    pipeline.fan_out(records)
    pipeline.deliver_batch(pipeline.receive())

    (delivery,) = receiver.received
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert standard_webhook_valid(old_token, delivery)
    assert standard_webhook_valid(new_token, delivery)
    assert not standard_webhook_valid(signing.new_secret(), delivery)
    # Kustomer's header has room for one signature: the newest token's, over the raw body.
    expected = hmac.new(new_token.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-kustomer-webhook-signature"] == expected
    assert expected != hmac.new(old_token.encode(), delivery.body, hashlib.sha256).hexdigest()


# -- Held while off, then redriven --------------------------------------------------------------


def test_events_for_an_off_webhook_are_held_and_a_redrive_delivers_them_once(
    local_run: None, api: ApiClient, pipeline: Pipeline, receiver: Receiver
) -> None:
    hook = create_webhook(api, receiver.url, ["kustomer.customer.create"])
    path = f"/v1/outbound-webhooks/{hook['id']}"
    off = api.patch(path, {"enabled": False})
    assert off.status == 200 and off.json["data"]["attributes"]["enabled"] is False
    since = format_iso(datetime.now(UTC) - timedelta(seconds=1))

    _, records = create_customer(api, pipeline, "Held Back")
    pipeline.fan_out(records)

    assert pipeline.receive() == [], "nothing is queued for an off webhook"
    assert receiver.received == []
    assert attempt_log(api, hook["id"]) == []
    (held,) = transactions_of(api, hook["id"])
    assert (held["status"], held["attempts"], held["eventName"]) == ("held", 0, "kustomer.customer.create")
    assert api.post(f"{path}/redrive", {"since": since}).status == 409, "an off webhook is not redriven"

    assert api.put(path, {"enabled": True}).json["data"]["attributes"]["enabled"] is True
    redrive = api.post(f"{path}/redrive", {"since": since})
    assert redrive.status == 202 and redrive.json["data"]["attributes"]["queued"] == 1
    pipeline.deliver_batch(pipeline.receive())

    (delivery,) = receiver.received
    assert delivery.headers["webhook-id"] == held["eventId"]
    assert json.loads(delivery.body)["data"]["attributes"]["name"] == "Held Back"
    (state,) = transactions_of(api, hook["id"])
    assert (state["status"], state["attempts"]) == ("delivered", 1)
    assert api.post(f"{path}/redrive", {"since": since}).json["data"]["attributes"]["queued"] == 0
    assert pipeline.receive() == []


# -- FanOut and Deliverer with in-memory stores (no AWS) ----------------------------------------

NOW = "2026-11-27T10:00:00.000Z"
ORG = "0000000000000000000000aa"


class MemoryHooks:
    def __init__(self, *hooks: Webhook) -> None:
        self.hooks = {(h.org, h.id): h for h in hooks}

    def get(self, org: str, webhook_id: str) -> Webhook | None:
        return self.hooks.get((org, webhook_id))

    def list(self, org: str) -> list[Webhook]:
        return sorted((h for h in self.hooks.values() if h.org == org), key=lambda h: h.created_at)

    def replace(self, hook: Webhook, expected_rev: int) -> None:
        current = self.hooks.get((hook.org, hook.id))
        if current is None or current.rev != expected_rev:
            raise StaleWebhook()
        self.hooks[(hook.org, hook.id)] = hook


@dataclass
class MemoryDeliveries:
    states: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    claims: dict[tuple[str, str, str, str], int] = field(default_factory=dict)

    def claim(self, org: str, webhook_id: str, event: dict[str, Any], attempt: int, hold_s: float) -> bool:
        """As the table's conditional update: not delivered, attempt not made, no live claim."""
        key = (org, webhook_id, event["createdAt"], event["id"])
        state = self.states.get(key)
        if state and (state["status"] == "delivered" or state["attempts"] >= attempt):
            return False
        if self.claims.get(key, 0) >= attempt:
            return False
        self.claims[key] = attempt
        return True

    def state_item(
        self,
        org: str,
        webhook_id: str,
        event: dict[str, Any],
        status: str,
        attempts: int,
        now: str,
        retention_days: int,
        last: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        key = (org, webhook_id, event["createdAt"], event["id"])
        return {"key": key, "status": status, "attempts": attempts, "event": event, "last": last}

    def attempt_item(
        self, org: str, webhook_id: str, event: dict[str, Any], attempt: dict[str, Any], retention_days: int
    ) -> dict[str, Any]:
        return {"attempt": attempt}

    def put_items(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            if "key" in item:
                self.states[item["key"]] = item
                self.claims.pop(item["key"], None)
            else:
                self.attempts.append(item["attempt"])


@dataclass
class MemoryQueue:
    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    refuse: bool = False

    def send(self, body: dict[str, Any], delay_s: int = 0) -> None:
        self.sent.append((body, delay_s))

    def send_many(self, bodies: list[dict[str, Any]]) -> None:
        if self.refuse:
            raise RuntimeError("SQS refused 1 messages")
        self.sent += [(body, 0) for body in bodies]


@dataclass
class ScriptedSender:
    """Answers each POST with the next status of its script."""

    statuses: list[int]
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float | None = None
    ) -> PostResult:
        self.posts.append((url, body, headers))
        return PostResult(self.statuses.pop(0), 1.0)


def memory_hook(created_at: str = "2026-11-27T09:00:00.000Z", **changes: Any) -> Webhook:
    values: dict[str, Any] = {
        "org": ORG,
        "id": new_id(),
        "name": "memory",
        "url": "https://hooks.example.com/memory",
        "events": ["kustomer.customer.create"],
        "headers": [],
        "enabled": True,
        "is_error": False,
        "secrets": [Secret(signing.new_secret(), created_at)],
        "created_at": created_at,
        "updated_at": created_at,
    }
    values.update(changes)
    return Webhook(**values)


def customer_record(kind: str = "customer") -> dict[str, Any]:
    record = Record(ORG, kind, new_id(), 1, NOW, NOW, {"name": "Memory"}, list_key=kind)
    return insert(to_item(record))


def test_fan_out_queues_for_on_webhooks_and_holds_for_off_ones() -> None:
    on, off = memory_hook(), memory_hook(enabled=False)
    other_event = memory_hook(events=["kustomer.customer.update"])
    newer = memory_hook(created_at="2026-11-27T11:00:00.000Z")  # created after the change
    deliveries, queue = MemoryDeliveries(), MemoryQueue()
    fanout = FanOut(MemoryHooks(on, off, other_event, newer), deliveries, queue, clock=lambda: NOW)

    assert fanout.handle([customer_record()]) == []

    ((message, delay),) = queue.sent
    assert (message["webhookId"], message["attempt"], delay) == (on.id, 1, 0)
    assert message["event"]["name"] == "kustomer.customer.create"
    (held,) = deliveries.states.values()
    assert held["key"][1] == off.id and (held["status"], held["attempts"]) == ("held", 0)


def test_fan_out_reports_the_first_record_with_messages_when_the_queue_refuses() -> None:
    hook = memory_hook()
    fanout = FanOut(MemoryHooks(hook), MemoryDeliveries(), MemoryQueue(refuse=True), clock=lambda: NOW)
    team, customer = customer_record("team"), customer_record()  # nobody subscribes to teams

    assert fanout.handle([team, customer]) == [customer["dynamodb"]["SequenceNumber"]]


def test_deliverer_retries_a_failure_and_skips_duplicates() -> None:
    hook = memory_hook(headers=[{"name": "X-Source", "value": "memory"}])
    deliveries, queue = MemoryDeliveries(), MemoryQueue()
    service = WebhookService(MemoryHooks(hook), deliveries, queue, check_url=lambda url: None)
    sender = ScriptedSender([500, 200])
    deliverer = Deliverer(service, sender, clock=lambda: NOW, epoch=lambda: 1_790_000_000.0)
    FanOut(service.hooks, deliveries, queue, clock=lambda: NOW).handle([customer_record()])
    ((first, _),) = queue.sent
    queue.sent.clear()

    assert deliverer.deliver(first) == "pending: attempt 1"
    ((retry, delay),) = queue.sent
    assert retry == {**first, "attempt": 2} and 48 <= delay <= 72  # 60 s, +-20 %
    assert deliverer.deliver(first).startswith("skipped")
    assert deliverer.deliver(retry) == "delivered: attempt 2"
    assert deliverer.deliver(retry).startswith("skipped")

    assert len(sender.posts) == 2
    (_, body, headers), _ = sender.posts
    assert headers["X-Source"] == "memory" and headers["webhook-id"] == first["event"]["id"]
    assert json.loads(body) == first["event"]
    assert [a["status"] for a in deliveries.attempts] == [500, 200]


def test_deliverer_turns_the_webhook_off_when_the_receiver_is_gone() -> None:
    hook = memory_hook()
    hooks, queue = MemoryHooks(hook), MemoryQueue()
    service = WebhookService(hooks, MemoryDeliveries(), queue, check_url=lambda url: None)
    FanOut(hooks, service.deliveries, queue, clock=lambda: NOW).handle([customer_record()])
    ((message, _),) = queue.sent
    queue.sent.clear()

    deliverer = Deliverer(service, ScriptedSender([410]), clock=lambda: NOW)
    assert deliverer.deliver(message) == "failed: attempt 1"

    stored = hooks.get(ORG, hook.id)
    assert stored is not None and stored.enabled is False and stored.is_error is True
    assert stored.disabled_reason is not None and "410" in stored.disabled_reason
    assert queue.sent == [], "no retry after 410"
