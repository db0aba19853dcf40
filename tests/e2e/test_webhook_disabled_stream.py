"""A webhook that turns itself off is an event of the org's data stream, end to end on the local
run: failing deliveries -> the webhook turned off -> webhooks table stream -> forward function ->
the customer's Kinesis stream -> the sample consumer's log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_data_stream_http import consumer_lines
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def test_a_webhook_turned_off_by_failures_reaches_the_data_stream(local_run: Any, receiver: Receiver) -> None:
    status, _, body = local_run.request(
        "POST",
        "/outbound-webhooks",
        {"name": "always failing", "url": receiver.url, "events": ["kustomer.team.create"]},
    )
    assert status == 201, body
    hook_id = body["data"]["id"]
    try:
        receiver.script.extend([Reply(status=503)] * 10)
        local_run.request("POST", "/teams", {"name": "Team of a failing webhook"})
        receiver.wait_for(10)

        def disabled_line() -> dict[str, Any] | None:
            for line in consumer_lines(local_run):
                if line["dataId"] == hook_id and line["name"] == "kustomer.outbound_webhook.disabled":
                    return line
            return None

        line = wait_until(disabled_line, timeout_s=60, what="the disabled event in the consumer's log")
        attributes = line["event"]["data"]["attributes"]
        assert attributes["enabled"] is False and attributes["isError"] is True
        assert "10 attempts" in attributes["disabledReason"]
        assert line["event"]["org"] == local_run.org_id
        assert "token" not in attributes and "headers" not in attributes
        status, _, streams = local_run.request("GET", "/data-streams")
        assert status == 200
        assert streams["data"][0]["attributes"]["counters"]["parked"] == 0
    finally:
        local_run.request("DELETE", f"/outbound-webhooks/{hook_id}")
