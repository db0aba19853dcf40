"""The workflow runner against moto: hook transactions, object events and calls go through the
workflow-runs FIFO queue to the workflows function; runs happen once, objects are never doubled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from switchboard import services, wiring
from tests.integration.conftest import ApiClient, load_handler
from tests.integration.test_hooks import Receiver
from tests.support import stream_records
from tests.support.workflows import callable_one_step

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "order-sync"


class Runs:
    """The workflow-runs queue and the functions around it, driven by hand."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=wiring.WORKFLOW_RUNS_QUEUE.local_name)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.workflows = load_handler(wiring.WORKFLOWS)
        self.events = load_handler(wiring.EVENTS)
        self.hooks = Receiver(load_handler(wiring.HOOKS))

    def receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            page = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not page:
                return messages
            messages += page

    def run(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        records = [stream_records.queue_record(m, self.arn) for m in messages]
        result = self.workflows({"Records": records}, None)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def drain(self) -> list[dict[str, Any]]:
        messages = self.receive()
        if messages:
            assert self.run(messages) == {"batchItemFailures": []}
        return messages


@pytest.fixture
def runs(aws: Any) -> Runs:
    return Runs()


def order_sync(api: ApiClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The example's klass, hook and workflow, as its setup script creates them."""
    assert api.post("/v1/klasses", json.loads((EXAMPLE / "klass.json").read_text())).status == 201
    hook = api.post("/v1/hooks/web", json.loads((EXAMPLE / "hook.json").read_text())).json["data"]
    text = (EXAMPLE / "workflow.json").read_text().replace("{{hookId}}", hook["id"])
    reply = api.post("/v1/workflows", json.loads(text))
    assert reply.status == 201, reply.json
    return hook, reply.json["data"]


def order(number: int, email: str, status: str, updated_at: str) -> dict[str, Any]:
    return {
        "id": f"ORD-{number}",
        "number": number,
        "status": status,
        "total": 42.5,
        "currency": "EUR",
        "placed_at": "2026-11-01T09:00:00Z",
        "updated_at": updated_at,
        "customer": {"email": email, "name": "Ada Lovelace"},
        "line_items": [{"sku": "MUG-01", "title": "Enamel mug", "quantity": 1, "price": 42.5}],
        "shipments": [],
    }


def orders_of(api: ApiClient) -> list[dict[str, Any]]:
    return api.get("/v1/klasses/order").json["data"]


def test_a_hook_transaction_runs_the_order_workflow(api: ApiClient, runs: Runs) -> None:
    hook, workflow = order_sync(api)
    url = hook["attributes"]["url"]
    assert (
        runs.hooks.post(
            url, json.dumps(order(1, "ada@example.com", "paid", "2026-11-01T09:00:00Z")), key=api.key
        )[0]
        == 202
    )
    runs.drain()
    [customer] = api.get("/v1/customers").json["data"]
    assert customer["attributes"]["emails"] == [{"email": "ada@example.com"}]
    [created] = orders_of(api)
    assert created["attributes"]["externalId"] == "ORD-1"
    assert created["attributes"]["title"] == "Order 1"
    assert created["attributes"]["custom"]["statusStr"] == "paid"
    assert created["relationships"]["customer"]["data"]["id"] == customer["id"]
    # The next version of the order updates it; an older version arriving late changes nothing.
    runs.hooks.post(
        url, json.dumps(order(1, "ada@example.com", "shipped", "2026-11-01T11:00:00Z")), key=api.key
    )
    runs.hooks.post(
        url, json.dumps(order(1, "ada@example.com", "pending", "2026-11-01T08:00:00Z")), key=api.key
    )
    runs.drain()
    [updated] = orders_of(api)
    assert updated["attributes"]["custom"]["statusStr"] == "shipped"
    assert updated["attributes"]["rev"] == 2
    assert len(api.get("/v1/customers").json["data"]) == 1
    listed = api.get(f"/v1/workflows/{workflow['id']}/runs").json["data"]
    assert [r["attributes"]["status"] for r in listed] == ["succeeded"] * 3
    one = api.get(f"/v1/workflows/{workflow['id']}/runs/{listed[0]['id']}").json["data"]["attributes"]
    assert [s["id"] for s in one["steps"]][:2] == ["findCustomer", "findOrder"]
    assert all("input" in s and "output" in s for s in one["steps"])


def test_the_same_transaction_twice_runs_once(api: ApiClient, runs: Runs) -> None:
    hook, workflow = order_sync(api)
    runs.hooks.post(
        hook["attributes"]["url"],
        json.dumps(order(2, "grace@example.com", "new", "2026-11-01T09:00:00Z")),
        key=api.key,
    )
    [message] = runs.receive()
    assert runs.run([message, message]) == {"batchItemFailures": []}  # a duplicate delivery
    assert runs.run([message]) == {"batchItemFailures": []}  # and a redelivery later
    assert len(api.get("/v1/customers").json["data"]) == 1
    assert len(orders_of(api)) == 1
    assert orders_of(api)[0]["attributes"]["rev"] == 1
    assert len(api.get(f"/v1/workflows/{workflow['id']}/runs").json["data"]) == 1


CREATE_TWICE = callable_one_step(
    "create without looking", "kustomer.customer.create", {"name": "/#steps.1.inputs.name"}, "create"
)


def test_a_run_retried_after_a_crash_creates_nothing_twice(api: ApiClient, runs: Runs) -> None:
    workflow = api.post("/v1/workflows", CREATE_TWICE).json["data"]
    reply = api.post(f"/v1/workflows/{workflow['id']}/call", {"inputs": {"name": "Once"}})
    assert reply.status == 202
    run_id = reply.json["data"]["id"]
    [message] = runs.receive()
    runs.run([message])
    # The crash: the run's record was never written, so the message comes back and runs again.
    store = services.automation_store()
    store.client.delete_item(
        TableName=store.table,
        Key={"pk": {"S": f"{api.org}#run#{workflow['id']}"}, "sk": {"S": run_id}},
    )
    runs.run([message])
    customers = api.get("/v1/customers").json["data"]
    assert [c["attributes"]["name"] for c in customers] == ["Once"]
    run = api.get(f"/v1/workflows/{workflow['id']}/runs/{run_id}").json["data"]["attributes"]
    assert run["status"] == "succeeded"
    assert run["steps"][0]["output"]["id"] == customers[0]["id"]


def test_a_call_runs_a_callable_workflow_and_logs_every_step(api: ApiClient, runs: Runs) -> None:
    definition = callable_one_step(
        "match",
        "kustomer.regex-match.generic",
        {"testString": "/#steps.1.inputs.text", "regex": "ORD-[0-9]+"},
    )
    workflow = api.post("/v1/workflows", definition).json["data"]
    assert workflow["attributes"]["trigger"]["eventName"] == f"kustomer.workflow.{workflow['id']}.call"
    run_id = api.post(f"/v1/workflows/{workflow['id']}/call", {"inputs": {"text": "see ORD-7 now"}}).json[
        "data"
    ]["id"]
    assert api.get(f"/v1/workflows/{workflow['id']}/runs/{run_id}").status == 404  # queued, not run
    runs.drain()
    run = api.get(f"/v1/workflows/{workflow['id']}/runs/{run_id}").json["data"]["attributes"]
    assert run["status"] == "succeeded"
    assert run["steps"][0]["input"] == {"testString": "see ORD-7 now", "regex": "ORD-[0-9]+"}
    assert run["steps"][0]["output"]["match"] in ("ORD-7", True, ["ORD-7"])


def test_a_workflow_that_cannot_be_called_now_is_a_conflict(api: ApiClient) -> None:
    """The body is valid; the workflow's state refuses the call: 409, not 400."""
    other = {
        "name": "on customers",
        "trigger": {"id": "1", "eventName": "kustomer.customer.create", "transitions": []},
        "steps": [],
    }
    not_callable = api.post("/v1/workflows", other).json["data"]["id"]
    reply = api.post(f"/v1/workflows/{not_callable}/call", {"inputs": {}})
    assert reply.status == 409, reply.json
    assert reply.json["errors"][0]["code"] == "conflict"
    assert "is not callable" in reply.json["errors"][0]["detail"]

    turned_off = {**callable_one_step("m", "kustomer.regex-match.generic", {"testString": "a", "regex": "a"})}
    turned_off["enabled"] = False
    off = api.post("/v1/workflows", turned_off).json["data"]["id"]
    reply = api.post(f"/v1/workflows/{off}/call", {"inputs": {}})
    assert reply.status == 409, reply.json
    assert reply.json["errors"][0]["detail"] == f"workflow {off} is disabled"


def test_a_workflow_beyond_the_orgs_limit_is_a_conflict(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchboard.pipeline import workflows

    monkeypatch.setattr(workflows, "MAX_PER_ORG", 1)
    definition = callable_one_step("m", "kustomer.regex-match.generic", {"testString": "a", "regex": "a"})
    assert api.post("/v1/workflows", definition).status == 201
    reply = api.post("/v1/workflows", definition)
    assert reply.status == 409, reply.json
    assert reply.json["errors"][0]["detail"] == "an org can have at most 1 workflows"


def test_an_object_event_triggers_its_workflows(api: ApiClient, runs: Runs) -> None:
    definition = {
        "name": "tag new customers",
        "trigger": {
            "id": "1",
            "eventName": "kustomer.customer.create",
            "transitions": [{"target": "update", "condition": {"op": "true", "values": [True]}}],
        },
        "steps": [
            {
                "id": "update",
                "action": "kustomer.customer.update",
                "params": {"id": "/#steps.1.id", "externalId": "welcomed-{{{steps.1.attributes.name}}}"},
                "transitions": [],
            }
        ],
    }
    assert api.post("/v1/workflows", definition).status == 201
    customer = api.post("/v1/customers", {"name": "Edsger"}).json["data"]
    item = services.objects().store.client.get_item(
        TableName=services.objects().store.table,
        Key={"pk": {"S": f"{api.org}#customer#{customer['id']}"}, "sk": {"S": "object"}},
    )["Item"]
    result = runs.events({"Records": [stream_records.insert(item)]}, None)
    assert result == {"batchItemFailures": []}
    [message] = runs.receive()
    assert message["Attributes"]["MessageGroupId"] == f"object:{customer['id']}"
    runs.run([message])
    changed = api.get(f"/v1/customers/{customer['id']}").json["data"]["attributes"]
    assert changed["externalId"] == "welcomed-Edsger"
    assert changed["rev"] == 2


def test_a_disabled_workflow_does_not_run(api: ApiClient, runs: Runs) -> None:
    hook, workflow = order_sync(api)
    assert (
        api.patch(f"/v1/workflows/{workflow['id']}", {"enabled": False}).json["data"]["attributes"]["enabled"]
        is False
    )
    runs.hooks.post(
        hook["attributes"]["url"],
        json.dumps(order(3, "ken@example.com", "new", "2026-11-01T09:00:00Z")),
        key=api.key,
    )
    runs.drain()
    assert api.get("/v1/customers").json["data"] == []


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (
            {"steps": [{"id": "x", "action": "kustomer.nothing", "params": {}, "transitions": []}]},
            "/steps/0/action",
        ),
        (
            {
                "trigger": {
                    "id": "1",
                    "eventName": "kustomer.hooks.web.000000000000000000000000.receive",
                    "transitions": CREATE_TWICE["trigger"]["transitions"],
                }
            },
            "/trigger/eventName",
        ),
    ],
)
def test_bad_definitions_are_refused_with_a_pointer(
    api: ApiClient, change: dict[str, Any], pointer: str
) -> None:
    reply = api.post("/v1/workflows", {**CREATE_TWICE, **change})
    assert reply.status == 400, reply.json
    assert reply.json["errors"][0]["source"]["pointer"] == pointer
    assert api.get("/v1/workflows").json["data"] == []
