"""Managing outbound webhooks through the api function: what is refused, and why.

Every refusal is a 400 JSON:API error whose detail says why and whose pointer names the field;
each case has an accepted neighbour, so a rule that refused everything would fail too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from switchboard import services
from switchboard.domain.events import SUBSCRIBABLE
from switchboard.ids import now_iso
from tests.integration.conftest import ApiClient, Reply

BASE = "/v1/outbound-webhooks"
GOOD_URL = "https://hooks.example.com/switchboard"


@pytest.fixture(autouse=True)
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the local run unless a test says otherwise."""
    monkeypatch.delenv("SWITCHBOARD_LOCAL", raising=False)


def body(**changes: Any) -> dict[str, Any]:
    return {"name": "Order sync", "url": GOOD_URL, "events": ["kustomer.customer.create"], **changes}


def refusal(reply: Reply, pointer: str) -> str:
    """The reason of a 400 that points at `pointer`."""
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["status"] == "400"
    assert error["source"] == {"pointer": pointer}
    assert error["detail"]
    return error["detail"]


def test_an_org_may_have_five_webhooks(api: ApiClient) -> None:
    created = [api.post(BASE, body(name=f"hook {n}")) for n in range(5)]
    assert [reply.status for reply in created] == [201] * 5

    sixth = api.post(BASE, body(name="sixth"))
    assert sixth.status == 409, sixth.json
    assert sixth.json["errors"][0]["code"] == "conflict"
    assert sixth.json["errors"][0]["detail"] == "an org may have at most 5 outbound webhooks"
    assert api.get(BASE).json["meta"]["total"] == 5

    assert api.delete(f"{BASE}/{created[0].json['data']['id']}").status == 204
    assert api.post(BASE, body(name="sixth")).status == 201, "a deleted webhook frees its place"


def test_http_is_refused_outside_the_local_run(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = refusal(api.post(BASE, body(url="http://hooks.example.com/plain")), "/url")
    assert reason == "url: the scheme must be https, not http"

    monkeypatch.setenv("SWITCHBOARD_LOCAL", "1")
    assert api.post(BASE, body(url="http://hooks.example.com/plain")).status == 201


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://localhost/hook", "localhost is a loopback name"),
    ],
)
def test_private_loopback_and_metadata_destinations_are_refused(api: ApiClient, url: str, why: str) -> None:
    reason = refusal(api.post(BASE, body(url=url)), "/url")
    assert why in reason
    assert api.get(BASE).json["meta"]["total"] == 0


def test_only_the_local_run_accepts_loopback_and_never_metadata(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_LOCAL", "1")
    assert api.post(BASE, body(url="https://127.0.0.1/hook")).status == 201
    assert api.post(BASE, body(url="https://localhost/hook")).status == 201
    reason = refusal(api.post(BASE, body(url="https://169.254.169.254/")), "/url")
    assert "cloud metadata" in reason


def test_a_host_name_is_accepted_when_saved_and_vetted_at_delivery(api: ApiClient) -> None:
    # Names are not resolved when a webhook is saved (an answer could change by the delivery);
    # every delivery resolves and vets them: see test_webhook_pipeline.
    assert api.post(BASE, body(url="https://intranet.example.com/hook")).status == 201


def test_a_changed_url_is_checked_too(api: ApiClient) -> None:
    hook = api.post(BASE, body()).json["data"]
    reason = refusal(api.patch(f"{BASE}/{hook['id']}", {"url": "https://192.168.1.10/"}), "/url")
    assert "private address" in reason
    assert api.get(f"{BASE}/{hook['id']}").json["data"]["attributes"]["url"] == GOOD_URL


def test_an_unknown_event_is_refused(api: ApiClient) -> None:
    for name in ("kustomer.customer.delete", "kustomer.kobject.order.create", "customer.create"):
        reason = refusal(api.post(BASE, body(events=["kustomer.customer.create", name])), "/events")
        assert repr(name) in reason, reason
    assert "kustomer.customer.update" in reason, "the reason lists what may be subscribed to"


def test_at_most_twelve_events(api: ApiClient) -> None:
    thirteen = [*SUBSCRIBABLE, *(f"kustomer.other.{n}" for n in range(3))]
    reason = refusal(api.post(BASE, body(events=thirteen)), "/events")
    assert "at most 12" in reason

    # Duplicates are dropped before the limit applies: thirteen names, ten distinct.
    accepted = api.post(BASE, body(events=[*SUBSCRIBABLE, *SUBSCRIBABLE[:3]]))
    assert accepted.status == 201, accepted.json
    assert accepted.json["data"]["attributes"]["events"] == list(SUBSCRIBABLE), "duplicates are dropped"


def test_a_name_has_at_most_255_characters(api: ApiClient) -> None:
    reason = refusal(api.post(BASE, body(name="n" * 256)), "/name")
    assert "at most 255" in reason
    assert api.post(BASE, body(name="n" * 255)).status == 201


def test_transactions_list_deliveries_while_an_attempt_holds_them(api: ApiClient) -> None:
    """A delivery being attempted carries its claim's deadline (a fraction of a second): listing
    it, and paging past it, is a 200, not a server error."""
    hook_id = api.post(BASE, body()).json["data"]["id"]
    store = services.delivery_store()
    for n in range(3):
        event = {"id": f"{n:024x}", "name": "kustomer.customer.create", "createdAt": now_iso()}
        store.put_items([store.state_item(api.org, hook_id, event, "pending", 0, now_iso(), 14)])
        assert store.claim(api.org, hook_id, event, 1, 30.25)
        assert store.state(api.org, hook_id, event["createdAt"], event["id"])["claimUntil"] % 1
    seen: list[str] = []
    query = {"pageSize": "2"}
    while query:
        reply = api.get(f"{BASE}/transactions", query=query)
        assert reply.status == 200, reply.json
        seen += [row["attributes"]["eventId"] for row in reply.json["data"]]
        after = reply.json["links"]["next"]
        query = dict(parse_qsl(urlsplit(after).query)) if after else None
    assert sorted(seen) == [f"{n:024x}" for n in range(3)]


def test_a_header_named_twice_is_one_header_with_both_values(api: ApiClient) -> None:
    """Any list the document allows is accepted: names repeated in any case are combined as
    RFC 9110 combines field lines, under the first spelling."""
    headers = [
        {"name": "X-Tag", "value": "a"},
        {"name": "x-tag", "value": ""},
        {"name": "X-TAG", "value": "b"},
        {"name": "X-Other", "value": ""},
        {"name": "x-other", "value": ""},
    ]
    reply = api.post(BASE, body(headers=headers))
    assert reply.status == 201, reply.json
    assert reply.json["data"]["attributes"]["headers"] == [
        {"name": "X-Tag", "value": "a, b"},
        {"name": "X-Other", "value": ""},
    ]


def test_a_redrive_answers_since_in_the_wire_form_and_refuses_one_older_than_retention(
    api: ApiClient,
) -> None:
    hook = api.post(BASE, body()).json["data"]
    hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    wire = hour_ago.strftime("%Y-%m-%dT%H:%M:%S") + ".123Z"
    for sent in (
        hour_ago.strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z",
        (hour_ago + timedelta(hours=14)).strftime("%Y-%m-%dT%H:%M:%S") + ".123+14:00",
        hour_ago.strftime("%Y-%m-%dT%H:%M:%S") + ".123",
    ):
        reply = api.post(f"{BASE}/{hook['id']}/redrive", {"since": sent})
        assert reply.status == 202, reply.json
        assert reply.json["data"]["attributes"] == {"since": wire, "queued": 0}, sent

    old = (datetime.now(UTC) - timedelta(days=14, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refusal(api.post(f"{BASE}/{hook['id']}/redrive", {"since": old}), "/since")
