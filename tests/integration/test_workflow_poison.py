"""A payload that makes a step raise must not hold up its FIFO group: the run is recorded as
failed (a generic message, no traceback) and its message is done, so the next message of the
group runs at once. Only infrastructure trouble (AWS throttling...) leaves messages to retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from switchboard.domain import attributes
from tests.integration.conftest import ApiClient
from tests.integration.test_workflow_runner import Runs
from tests.support.workflows import callable_one_step

BEFORE_YEAR_1 = "0001-01-01T00:00:00+01:00"


@pytest.fixture
def queue(aws: Any) -> Runs:
    return Runs()


def hook_workflow(api: ApiClient) -> tuple[str, str]:
    """A web hook without groupBy (one FIFO group for all its payloads) and a workflow on it
    that creates a customer whose whenAt comes from the payload."""
    reply = api.post("/v1/hooks/web", {"title": "Partner"})
    assert reply.status == 201, reply.json
    hook = reply.json["data"]
    definition = {
        "name": "partner customers",
        "trigger": {
            "id": "1",
            "eventName": f"kustomer.hooks.web.{hook['id']}.receive",
            "transitions": [{"target": "create", "condition": {"op": "true", "values": [True]}}],
        },
        "steps": [
            {
                "id": "create",
                "action": "kustomer.customer.create",
                "params": {
                    "name": "/#steps.1.attributes.data.name",
                    "custom": {"whenAt": "/#steps.1.attributes.data.when"},
                },
                "transitions": [],
            }
        ],
    }
    reply = api.post("/v1/workflows", definition)
    assert reply.status == 201, reply.json
    return hook["attributes"]["url"], reply.json["data"]["id"]


def post_two(api: ApiClient, queue: Runs, url: str, first: str) -> list[dict[str, Any]]:
    """The poison payload, then a good one: both in the hook's one group, in one batch."""
    for body in ({"name": "Poison", "when": first}, {"name": "Next", "when": "2026-01-02T03:04:05Z"}):
        assert queue.hooks.post(url, json.dumps(body), key=api.key)[0] == 202
    messages = queue.receive()
    assert len(messages) == 2
    assert len({m["Attributes"]["MessageGroupId"] for m in messages}) == 1
    return messages


def runs_of(api: ApiClient, workflow_id: str) -> list[dict[str, Any]]:
    listed = api.get(f"/v1/workflows/{workflow_id}/runs").json["data"]
    return sorted((r["attributes"] for r in listed), key=lambda r: r["startedAt"])


def customer_names(api: ApiClient) -> list[str]:
    return sorted(c["attributes"]["name"] for c in api.get("/v1/customers").json["data"])


def test_a_date_out_of_range_fails_its_run_and_the_next_payload_runs(api: ApiClient, queue: Runs) -> None:
    url, workflow_id = hook_workflow(api)
    messages = post_two(api, queue, url, BEFORE_YEAR_1)
    assert queue.run(messages) == {"batchItemFailures": []}
    poison, good = runs_of(api, workflow_id)
    assert poison["status"] == "failed"
    assert poison["steps"][0]["error"]["pointer"] == "/custom/whenAt"
    assert "out of range" in poison["steps"][0]["error"]["message"]
    assert good["status"] == "succeeded"
    assert customer_names(api) == ["Next"]


def raising(exc: Exception) -> Any:
    """A date check that raises `exc` for year 1: a stand-in for any code path a payload breaks."""
    check = attributes.CHECKS["At"]

    def check_or_raise(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("0001"):
            raise exc
        return check(value)

    return check_or_raise


UNEXPECTED = [
    OverflowError("date value out of range"),
    TypeError("unsupported operand"),
    RecursionError("maximum recursion depth exceeded"),
    ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "PutItem"),
    ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}}, "PutItem"),
]


@pytest.mark.parametrize("exc", UNEXPECTED, ids=lambda e: type(e).__name__ + str(e)[:12])
def test_an_unexpected_exception_in_a_step_is_the_runs_failure_not_a_retry(
    api: ApiClient, queue: Runs, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    monkeypatch.setitem(attributes.CHECKS, "At", raising(exc))
    url, workflow_id = hook_workflow(api)
    messages = post_two(api, queue, url, "0001-06-01T00:00:00Z")
    assert queue.run(messages) == {"batchItemFailures": []}
    assert queue.receive() == []  # both messages are done
    poison, good = runs_of(api, workflow_id)
    assert poison["status"] == "failed"
    error = poison["steps"][0]["error"]
    assert error["code"] == "internal_error" and error["status"] == 500
    assert type(exc).__name__ in error["message"]
    assert str(exc) not in json.dumps(poison)  # the exception's text stays in the logs
    assert "Traceback" not in json.dumps(poison)
    assert poison["error"]["step"] == "create"
    assert good["status"] == "succeeded"
    assert customer_names(api) == ["Next"]


THROTTLED = ClientError(
    {
        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    },
    "PutItem",
)


def test_throttling_leaves_the_message_and_the_rest_of_its_group_for_a_retry(
    api: ApiClient, queue: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(attributes.CHECKS, "At", raising(THROTTLED))
    url, workflow_id = hook_workflow(api)
    messages = post_two(api, queue, url, "0001-06-01T00:00:00Z")
    failed = {f["itemIdentifier"] for f in queue.run(messages)["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in messages}  # the second waits behind the first
    assert runs_of(api, workflow_id) == []
    assert customer_names(api) == []
    monkeypatch.undo()  # the throttling passes: the retry runs both, in order
    assert queue.run(messages) == {"batchItemFailures": []}
    assert [r["status"] for r in runs_of(api, workflow_id)] == ["succeeded", "succeeded"]
    assert customer_names(api) == ["Next", "Poison"]


def test_a_call_with_a_date_out_of_range_is_recorded_failed(api: ApiClient, queue: Runs) -> None:
    definition = callable_one_step(
        "call", "kustomer.customer.create", {"name": "Called", "custom": {"whenAt": "/#steps.1.inputs.when"}}
    )
    workflow_id = api.post("/v1/workflows", definition).json["data"]["id"]
    run_id = api.post(f"/v1/workflows/{workflow_id}/call", {"inputs": {"when": BEFORE_YEAR_1}}).json["data"][
        "id"
    ]
    assert queue.run(queue.receive()) == {"batchItemFailures": []}
    run = api.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").json["data"]["attributes"]
    assert run["status"] == "failed"
    assert "out of range" in run["steps"][0]["error"]["message"]
