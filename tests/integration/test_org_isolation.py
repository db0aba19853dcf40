"""Org A's key never reads, lists or changes org B's objects, on every declared route."""

from __future__ import annotations

import json
import re

from switchboard.api import routing
from tests.integration.conftest import ApiClient
from tests.support.workflows import callable_one_step

BODIES = {
    "customers": {"name": "x"},
    "klasses": {"title": "x"},
    "conversations": {"name": "x"},
    "messages": {"channel": "email"},
}


CALLABLE_WORKFLOW = callable_one_step(
    "B check", "kustomer.regex-match.generic", {"testString": "/#steps.1.inputs.text", "regex": "b"}
)


def seed(client: ApiClient) -> dict[str, str]:
    customer = client.post(
        "/v1/customers", {"name": "B", "emails": [{"email": "b@example.com"}], "externalId": "b-1"}
    ).json["data"]["id"]
    klass = client.post("/v1/klasses", {"name": "order"}).json["data"]["id"]
    kobject = client.post(
        f"/v1/customers/{customer}/klasses/order", {"title": "B order", "externalId": "o-b"}
    ).json["data"]["id"]
    message = client.post(f"/v1/customers/{customer}/messages", {"channel": "email"}).json["data"]
    hook = client.post("/v1/hooks/web", {"title": "B orders", "debug": True}).json["data"]["id"]
    return {
        "customer": customer,
        "klass": klass,
        "kobject": kobject,
        "message": message["id"],
        "conversation": message["relationships"]["conversation"]["data"]["id"],
        "user": client.get("/v1/users/current").json["data"]["id"],
        "team": client.post("/v1/teams", {"name": "B team"}).json["data"]["id"],
        "tag": client.post("/v1/tags", {"name": "B tag"}).json["data"]["id"],
        "webhook": client.post(
            "/v1/outbound-webhooks",
            {"name": "B", "url": "https://hooks.example.com/b", "events": ["kustomer.customer.create"]},
        ).json["data"]["id"],
        "hook": hook,
        "workflow": client.post("/v1/workflows", CALLABLE_WORKFLOW).json["data"]["id"],
        "puller": client.post(
            "/v1/pullers",
            {
                "name": "B feed",
                "url": "https://feed.example.com/orders",
                "hookId": hook,
                "itemsPath": "data",
                "idField": "id",
                "cursorParam": "after",
                "nextCursorPath": "meta.next",
            },
        ).json["data"]["id"],
    }


def concrete(path: str, ids: dict[str, str]) -> str:
    """Fill a declared path's parameters with org B's ids."""
    kind_of = {
        "customers": "customer",
        "conversations": "conversation",
        "messages": "message",
        "users": "user",
        "teams": "team",
        "tags": "tag",
    }
    parts = path.split("/")
    for position, part in enumerate(parts):
        if not part.startswith("<"):
            continue
        previous = parts[position - 1]
        if part == "<klass_name>":
            parts[position] = "order"
        elif part == "<reference>":
            parts[position] = ids["klass"]
        elif part == "<customer_id>":
            parts[position] = ids["customer"]
        elif part == "<webhook_id>":
            parts[position] = ids["webhook"]
        elif part == "<hook_type>":
            parts[position] = "web"
        elif part == "<hook_id>":
            parts[position] = ids["hook"]
        elif part == "<stream_id>":
            parts[position] = ids["workflow"]  # B has no data stream; any id of B's must miss too
        elif part == "<puller_id>":
            parts[position] = ids["puller"]
        elif part == "<workflow_id>":
            parts[position] = ids["workflow"]
        elif part == "<run_id>":
            parts[position] = ids["workflow"]  # any id: A must not learn whether B has it
        elif part == "<conversation_id>":
            parts[position] = ids["conversation"]
        elif previous == "order":
            parts[position] = ids["kobject"]
        else:
            parts[position] = ids[kind_of[previous]]
    return "/".join(parts)


def test_every_route_keeps_orgs_apart(api: ApiClient, other: ApiClient) -> None:
    api.post("/v1/klasses", {"name": "order"})  # A has a klass of the same name
    b_ids = seed(other)
    before = {
        path: other.get(path).json
        for path in (
            f"/v1/customers/{b_ids['customer']}",
            f"/v1/klasses/order/{b_ids['kobject']}",
            f"/v1/conversations/{b_ids['conversation']}",
            f"/v1/messages/{b_ids['message']}",
            f"/v1/teams/{b_ids['team']}",
            f"/v1/tags/{b_ids['tag']}",
            f"/v1/klasses/{b_ids['klass']}",
            f"/v1/users/{b_ids['user']}",
            f"/v1/outbound-webhooks/{b_ids['webhook']}",
            f"/v1/hooks/web/{b_ids['hook']}",
            f"/v1/workflows/{b_ids['workflow']}",
            f"/v1/pullers/{b_ids['puller']}",
        )
    }
    checked = 0
    for endpoint in list(routing.ENDPOINTS):
        if endpoint.permission is routing.PUBLIC or endpoint.path == "/v1/users/current":
            continue
        path = concrete(endpoint.path, b_ids)
        collection = path.split("/")[2]
        body = BODIES.get(collection, {}) if endpoint.method in ("POST", "PUT", "PATCH") else None
        if path.startswith("/v1/klasses/order") and endpoint.method == "POST":
            body = {"title": "x"}
        reply = api.call(endpoint.method, path, body)
        if any(i in path for i in b_ids.values()):
            assert reply.status in (400, 404), (endpoint.method, path, reply.status, reply.json)
        else:
            assert reply.status in (200, 201, 400), (endpoint.method, path, reply.status)
            assert reply.json is not None
            text = json.dumps(reply.json)
            leaked = [i for i in b_ids.values() if i in text]
            assert not leaked, (endpoint.method, path, leaked)
        checked += 1
    assert checked >= 45
    # Lookups by B's identifiers miss from A.
    for path in (
        "/v1/customers/email=b@example.com",
        "/v1/customers/externalId=b-1",
        "/v1/klasses/order/externalId=o-b",
    ):
        assert api.get(path).status == 404, path
    assert api.get("/v1/klasses/order", query={"externalId": "o-b"}).status == 404
    # Nothing of B changed.
    for path, document in before.items():
        assert other.get(path).json == document, path
    assert re.fullmatch(r"[0-9a-f]{24}", b_ids["customer"])
