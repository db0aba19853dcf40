"""A data stream backfill against moto, page by page: it reports `running` while pages remain,
and `done` with its end time and counts once every kind is sent; a page of a replaced backfill
does not count toward the new one."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from switchboard import services, wiring
from tests.integration.conftest import ApiClient, load_handler
from tests.integration.test_data_streams import Customer, register
from tests.support import stream_records

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:backfill"


@pytest.fixture
def customer(aws: Any) -> Customer:
    return Customer()


@pytest.fixture
def forward(aws: Any) -> Any:
    return load_handler(wiring.FORWARD)


def backfill_messages() -> list[dict[str, Any]]:
    """Every queued backfill page message, taken off the queue."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=wiring.BACKFILL_QUEUE.local_name)["QueueUrl"]
    taken: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        taken += messages
    return taken


def run(forward: Any, message: dict[str, Any]) -> None:
    assert forward({"Records": [stream_records.queue_record(message, QUEUE_ARN)]}, None) == {
        "batchItemFailures": []
    }


def progress(api: ApiClient, stream_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/data-streams/{stream_id}")
    assert reply.status == 200, reply.json
    return reply.json["data"]["attributes"]["backfill"]


def test_a_backfill_whose_every_kind_is_sent_is_done(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    for n in range(3):
        assert api.post("/v1/customers", {"name": f"C{n}"}).status == 201
    stream = register(api, customer)
    assert api.post(f"/v1/data-streams/{stream['id']}/backfill").status == 202
    started = progress(api, stream["id"])
    assert started["status"] == "running" and started["finishedAt"] is None
    messages = backfill_messages()
    assert len(messages) == len(started["kinds"])
    # Every kind but the last: still running.
    for message in messages[:-1]:
        run(forward, message)
    midway = progress(api, stream["id"])
    assert midway["status"] == "running" and midway["finishedAt"] is None
    assert len(midway["kindsDone"]) == len(midway["kinds"]) - 1
    run(forward, messages[-1])
    while more := backfill_messages():  # later pages, if a kind had more than one
        for message in more:
            run(forward, message)

    done = progress(api, stream["id"])
    assert done["status"] == "done"
    assert done["finishedAt"] is not None and done["finishedAt"] >= done["startedAt"]
    assert done["kindsDone"] == sorted(done["kinds"])
    assert done["sent"] == len(customer.read()) >= 3
    # The same last page again (SQS delivers at least once): done stays done, at the same time.
    run(forward, messages[-1])
    again = progress(api, stream["id"])
    assert again["status"] == "done" and again["finishedAt"] == done["finishedAt"]
    # Done is not running: a new backfill may start.
    assert api.post(f"/v1/data-streams/{stream['id']}/backfill").status == 202
    assert progress(api, stream["id"])["status"] == "running"


def test_a_page_of_a_replaced_backfill_does_not_count(
    api: ApiClient, customer: Customer, forward: Any
) -> None:
    assert api.post("/v1/customers", {"name": "Only"}).status == 201
    stream = register(api, customer)
    assert api.post(f"/v1/data-streams/{stream['id']}/backfill").status == 202
    first = backfill_messages()
    for message in first:
        run(forward, message)
    assert progress(api, stream["id"])["status"] == "done"
    assert api.post(f"/v1/data-streams/{stream['id']}/backfill").status == 202
    second = backfill_messages()
    for message in first:  # late redeliveries of the first backfill's pages
        run(forward, message)
    current = progress(api, stream["id"])
    assert current["status"] == "running" and current["sent"] == 0 and current["kindsDone"] == []
    for message in second:
        run(forward, message)
    assert progress(api, stream["id"])["status"] == "done"


def test_the_store_reports_done_for_an_older_progress_item(api: ApiClient, aws: Any) -> None:
    """Progress written before `done` existed: every kind done reads as done (no end time known)."""
    store = services.datastream_store()
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": f"{api.org}#datastream"},
            "sk": {"S": "backfill"},
            "doc": {
                "S": '{"id": "b1", "status": "running", "startedAt": "2026-01-01T00:00:00.000Z", '
                '"kinds": ["customer", "team"]}'
            },
            "sent": {"N": "4"},
            "kindsDone": {"SS": ["customer", "team"]},
        },
    )
    found = store.backfill(api.org)
    assert found is not None
    assert found["status"] == "done" and found["sent"] == 4 and found["finishedAt"] is None
