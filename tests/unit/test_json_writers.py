"""Nothing non-standard is written onward: queue bodies, stream records and webhook bodies are
written under the one JSON policy, so a NaN or Infinity raises instead of being carried."""

from __future__ import annotations

import math
from typing import Any

import pytest

from switchboard.adapters.queues import SqsQueue
from switchboard.pipeline import forwarder
from switchboard.pipeline.delivery import body_bytes


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        return {}

    def send_message_batch(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        return {}


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_queue_refuses_a_non_finite_number(number: float) -> None:
    client = FakeSqs()
    queue = SqsQueue(client, "https://sqs.example/q")
    with pytest.raises(ValueError):
        queue.send({"a": number})
    with pytest.raises(ValueError):
        queue.send_many([{"a": 1}, {"b": [number]}])
    assert client.sent == []


def test_a_queue_writes_compact_standard_json() -> None:
    client = FakeSqs()
    SqsQueue(client, "https://sqs.example/q").send({"a": [1, 2.5]}, group="g", dedupe="d")
    assert client.sent[0]["MessageBody"] == '{"a":[1,2.5]}'


def test_a_webhook_body_refuses_a_non_finite_number() -> None:
    assert body_bytes({"id": "e1", "data": {"total": 1.5, "name": "é"}}) == (
        '{"id":"e1","data":{"total":1.5,"name":"é"}}'.encode()
    )
    with pytest.raises(ValueError):
        body_bytes({"id": "e1", "data": {"total": math.nan}})


def test_a_stream_record_refuses_a_non_finite_number() -> None:
    assert forwarder.encode({"id": "e1", "n": 1}) == b'{"id":"e1","n":1}'
    with pytest.raises(ValueError):
        forwarder.encode({"id": "e1", "n": math.inf})


def test_a_non_standard_event_is_parked_not_written_and_does_not_stop_the_batch() -> None:
    """The forwarder reports the org's events as failed (parked) instead of crashing."""

    class Registrations:
        def active(self, org: str) -> Any:
            return forwarder.Registration(
                org=org,
                id="r1",
                accountId="210987654321",
                region="eu-west-1",
                externalId="x",
                streamArn="arn:aws:kinesis:eu-west-1:210987654321:stream/s",
                status="active",
                activatedAt="2026-01-01T00:00:00.000Z",
            )

    class Parking:
        def __init__(self) -> None:
            self.parked: list[tuple[str, int, str]] = []

        def park(self, org: str, registration_id: str, events: list[dict[str, Any]], reason: str) -> None:
            self.parked.append((org, len(events), reason))

    def writers(registration: Any) -> Any:
        raise AssertionError("nothing is written")

    parking = Parking()
    event = {"id": "e1", "org": "o1", "dataId": "c1", "createdAt": "2026-02-01T00:00:00.000Z", "n": math.nan}
    result = forwarder.Forwarder(Registrations(), writers, parking).handle([event])
    assert result.orgs["o1"].parked == 1 and result.orgs["o1"].forwarded == 0
    assert parking.parked and "ValueError" in parking.parked[0][2]


def test_a_workflow_call_with_non_standard_inputs_is_400_and_queues_nothing() -> None:
    from switchboard.domain.workflows.definition import callable_event
    from switchboard.errors import BadRequest
    from switchboard.pipeline.workflows import WorkflowService

    workflow_id = "f" * 24
    workflow = {"id": workflow_id, "trigger": {"eventName": callable_event(workflow_id)}, "enabled": True}

    class Store:
        def get_workflow(self, org: str, wanted: str) -> dict[str, Any] | None:
            return workflow if wanted == workflow_id else None

    client = FakeSqs()
    service = WorkflowService(Store(), SqsQueue(client, "q"), lambda *_: True)  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="standard JSON"):
        service.call("a" * 24, workflow_id, {"total": math.nan})
    assert client.sent == []
    assert service.call("a" * 24, workflow_id, {"total": 1.5})
    assert '"total":1.5' in client.sent[0]["MessageBody"]
