"""Outbound webhooks end to end on the local run: object changes -> stream -> events -> queue ->
deliver -> a receiver on loopback. Signatures are checked by independent verifiers.

The local run's retry schedule is compressed by configuration (WEBHOOK_RETRY_SCHEDULE_S, set in
conftest); the code path is the one deployed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from switchboard.domain.events import SUBSCRIBABLE
from tests.support.receiver import Receiver, Reply
from tests.support.verify import kustomer_signatures_valid, standard_webhook_valid
from tests.support.waiting import wait_until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def webhook(local_run) -> Iterator:
    """Create webhooks for a test and delete them afterwards (an org may have five)."""
    created: list[str] = []

    def make(url: str, events: list[str], **extra) -> dict:
        status, _, body = local_run.request(
            "POST", "/outbound-webhooks", {"name": "e2e", "url": url, "events": events, **extra}
        )
        assert status == 201, body
        created.append(body["data"]["id"])
        return body["data"]

    yield make
    for webhook_id in created:
        local_run.request("DELETE", f"/outbound-webhooks/{webhook_id}")


def attempts(local_run, webhook_id: str) -> list[dict]:
    status, _, body = local_run.request("GET", f"/outbound-webhooks/{webhook_id}/attempts?pageSize=100")
    assert status == 200, body
    return [row["attributes"] for row in reversed(body["data"])]  # oldest first


def test_all_ten_trigger_events_arrive_signed(local_run, receiver, webhook) -> None:
    hook = webhook(receiver.url, list(SUBSCRIBABLE), headers=[{"name": "X-Source", "value": "e2e"}])
    token = hook["attributes"]["token"]
    call = local_run.request
    customer = call("POST", "/customers", {"name": "Ten Events"})[2]["data"]["id"]
    call("PATCH", f"/customers/{customer}", {"name": "Ten Events, renamed"})
    conversation = call("POST", "/conversations", {"customer": customer, "name": "Help"})[2]["data"]["id"]
    call("PATCH", f"/conversations/{conversation}", {"status": "done"})
    message = call(
        "POST", f"/conversations/{conversation}/messages", {"channel": "email", "preview": "Grüße"}
    )
    call("PATCH", f"/messages/{message[2]['data']['id']}", {"status": "read"})
    team = call("POST", "/teams", {"name": "Ten Events team"})[2]["data"]["id"]
    call("PATCH", f"/teams/{team}", {"displayName": "Team"})
    user = call("POST", "/users", {"name": "Ten Events user"})[2]["data"]["id"]
    call("PATCH", f"/users/{user}", {"displayName": "User"})

    deliveries = receiver.wait_for(10)
    names = [json.loads(d.body)["name"] for d in deliveries]
    assert sorted(names) == sorted(SUBSCRIBABLE)
    assert all(kustomer_signatures_valid(token, deliveries))
    for delivery in deliveries:
        event = json.loads(delivery.body)
        assert delivery.headers["x-kustomer-webhook-event"] == event["name"]
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["x-source"] == "e2e"
        assert delivery.headers["webhook-id"] == event["id"]
        assert standard_webhook_valid(token, delivery)
        assert event["org"] == local_run.org_id and event["data"]["attributes"]["rev"] >= 1
        if event["name"].endswith(".update"):
            assert event["changes"]["attributes"]["rev"]["op"] == "replace"
        else:
            assert event["changes"] is None
    # A tampered body fails both checks.
    forged = deliveries[0]
    forged.body = forged.body.replace(b'"rev"', b'"rav"')
    assert kustomer_signatures_valid(token, [forged]) == [False]
    assert not standard_webhook_valid(token, forged)


def test_three_failures_then_delivered(local_run, receiver, webhook) -> None:
    hook = webhook(receiver.url, ["kustomer.customer.create"], timeoutSeconds=1)
    receiver.script.extend([Reply(status=500), Reply(delay_s=5, then=receiver.close_listener)])
    local_run.request("POST", "/customers", {"name": "Flaky receiver"})
    receiver.wait_for(2)
    # Attempt 3 finds nothing listening; then the receiver comes back.
    wait_until(lambda: len(attempts(local_run, hook["id"])) >= 3, what="a third attempt")
    receiver.start()
    log = wait_until(
        lambda: (rows := attempts(local_run, hook["id"])) and len(rows) >= 4 and rows, what="4 attempts"
    )
    assert [row["attempt"] for row in log] == [1, 2, 3, 4]
    assert log[0]["status"] == 500
    assert log[1]["status"] is None and "time" in log[1]["error"].lower()
    assert log[2]["status"] is None and "refused" in log[2]["error"].lower()
    assert log[3]["status"] == 200 and log[3]["outcome"] == "delivered"
    received = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in received}) == 1  # the same event every time


def test_always_failing_turns_off_keeps_the_event_and_redrive_delivers(local_run, receiver, webhook) -> None:
    hook = webhook(receiver.url, ["kustomer.team.create"])
    receiver.script.extend([Reply(status=503)] * 10)
    since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 5))
    local_run.request("POST", "/teams", {"name": "Unlucky team"})
    receiver.wait_for(10)

    def turned_off():
        body = local_run.request("GET", f"/outbound-webhooks/{hook['id']}")[2]["data"]["attributes"]
        return body if not body["enabled"] else None

    state = wait_until(turned_off, what="the webhook turned off")
    assert state["isError"] is True and "10 attempts" in state["disabledReason"]
    status, _, body = local_run.request("POST", f"/outbound-webhooks/{hook['id']}/redrive", {"since": since})
    assert status == 409  # off: turn it on first
    local_run.request("PATCH", f"/outbound-webhooks/{hook['id']}", {"enabled": True})
    status, _, body = local_run.request("POST", f"/outbound-webhooks/{hook['id']}/redrive", {"since": since})
    assert status == 202 and body["data"]["attributes"]["queued"] == 1
    received = receiver.wait_for(11)
    assert received[-1].headers["webhook-id"] == received[0].headers["webhook-id"]
    hook_now = local_run.request("GET", f"/outbound-webhooks/{hook['id']}")[2]["data"]["attributes"]
    assert hook_now["enabled"] is True and hook_now["isError"] is False


def test_events_while_off_are_held_and_redriven(local_run, receiver, webhook) -> None:
    hook = webhook(receiver.url, ["kustomer.user.create"], enabled=False)
    since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 5))
    local_run.request("POST", "/users", {"name": "Held user"})

    def held():
        rows = local_run.request("GET", "/outbound-webhooks/transactions?pageSize=100")[2]["data"]
        return [
            r
            for r in rows
            if r["attributes"]["webhookId"] == hook["id"] and r["attributes"]["status"] == "held"
        ]

    wait_until(held, what="a held delivery")
    assert receiver.received == []
    local_run.request("PATCH", f"/outbound-webhooks/{hook['id']}", {"enabled": True})
    local_run.request("POST", f"/outbound-webhooks/{hook['id']}/redrive", {"since": since})
    (delivery,) = receiver.wait_for(1)
    assert json.loads(delivery.body)["data"]["attributes"]["name"] == "Held user"


def test_retry_after_is_honoured(local_run, receiver, webhook) -> None:
    webhook(receiver.url, ["kustomer.conversation.create"])
    receiver.script.append(Reply(status=429, headers={"Retry-After": "2"}))
    customer = local_run.request("POST", "/customers", {"name": "Busy receiver"})[2]["data"]["id"]
    local_run.request("POST", "/conversations", {"customer": customer})
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 1.9


def test_gone_turns_the_webhook_off_at_once(local_run, receiver, webhook) -> None:
    hook = webhook(receiver.url, ["kustomer.message.create"])
    receiver.script.append(Reply(status=410))
    customer = local_run.request("POST", "/customers", {"name": "Gone"})[2]["data"]["id"]
    local_run.request("POST", f"/customers/{customer}/messages", {"channel": "chat"})
    receiver.wait_for(1)
    state = wait_until(
        lambda: (
            (a := local_run.request("GET", f"/outbound-webhooks/{hook['id']}")[2]["data"]["attributes"])
            and not a["enabled"]
            and a
        ),
        what="the webhook turned off",
    )
    assert state["isError"] is True and "410" in state["disabledReason"]
    assert len(attempts(local_run, hook["id"])) == 1
