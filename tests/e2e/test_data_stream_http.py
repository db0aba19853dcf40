"""The data stream on the local run: the demo org's stream lives in a second (customer) account
of the moto server, and the sample consumer's log is what an analyst reads in CloudWatch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until


def consumer_lines(local_run: Any) -> list[dict[str, Any]]:
    path = Path(local_run.state["dataStream"]["consumerLog"])
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if "dataId" in line and "rev" in line]


def test_every_change_reaches_the_sample_consumer_in_order(local_run: Any) -> None:
    stream = local_run.state["dataStream"]
    assert stream["accountId"] == "210987654321"
    status, _, customer = local_run.request("POST", "/customers", {"name": "Stream 0"})
    assert status == 201
    customer_id = customer["data"]["id"]
    for n in range(1, 6):
        assert local_run.request("PATCH", f"/customers/{customer_id}", {"name": f"Stream {n}"})[0] == 200
    status, _, conversation = local_run.request(
        "POST", f"/customers/{customer_id}/conversations", {"name": "About my order"}
    )
    assert status == 201

    def seen() -> list[dict[str, Any]] | None:
        lines = [line for line in consumer_lines(local_run) if line["dataId"] == customer_id]
        return lines if len(lines) >= 6 else None

    lines = wait_until(seen, timeout_s=60, what="six customer events in the consumer's log")
    assert [line["rev"] for line in lines] == [1, 2, 3, 4, 5, 6]  # one object's records in order
    assert [line["name"] for line in lines] == ["kustomer.customer.create"] + ["kustomer.customer.update"] * 5
    assert not any(line["stale"] for line in lines)
    conversation_id = conversation["data"]["id"]
    wait_until(
        lambda: any(line["dataId"] == conversation_id for line in consumer_lines(local_run)),
        timeout_s=60,
        what="the conversation event",
    )
    status, _, streams = local_run.request("GET", "/data-streams")
    assert status == 200
    [registered] = streams["data"]
    assert registered["attributes"]["status"] == "active"
    assert registered["attributes"]["counters"]["forwarded"] >= 7
    assert registered["attributes"]["counters"]["parked"] == 0
