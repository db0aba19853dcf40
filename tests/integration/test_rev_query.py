"""`?rev=n` on PUT and PATCH: Kustomer's optimistic locking in the query string."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.conftest import ApiClient


def conflict(reply) -> None:
    assert reply.status == 409, reply.json
    (error,) = reply.json["errors"]
    assert error["code"] == "conflict"
    assert error["source"] == {"pointer": "/rev"}


def customer(api: ApiClient) -> tuple[str, dict]:
    reply = api.post("/v1/customers", {"name": "Jane"})
    assert reply.status == 201, reply.json
    return f"/v1/customers/{reply.json['data']['id']}", {"name": "Jane Roe"}


def kobject(api: ApiClient) -> tuple[str, dict]:
    assert api.post("/v1/klasses", {"name": "order"}).status == 201
    reply = api.post("/v1/klasses/order", {"title": "Order 1"})
    assert reply.status == 201, reply.json
    return f"/v1/klasses/order/{reply.json['data']['id']}", {"title": "Order 2"}


def klass(api: ApiClient) -> tuple[str, dict]:
    reply = api.post("/v1/klasses", {"name": "invoice"})
    assert reply.status == 201, reply.json
    return f"/v1/klasses/{reply.json['data']['id']}", {"displayName": "Invoice"}


def conversation(api: ApiClient) -> tuple[str, dict]:
    path, _ = customer(api)
    reply = api.post(f"{path}/conversations", {"name": "Hello"})
    assert reply.status == 201, reply.json
    return f"/v1/conversations/{reply.json['data']['id']}", {"name": "Hello again"}


def message(api: ApiClient) -> tuple[str, dict]:
    path, _ = customer(api)
    reply = api.post(f"{path}/messages", {"channel": "email", "preview": "hi"})
    assert reply.status == 201, reply.json
    return f"/v1/messages/{reply.json['data']['id']}", {"preview": "hello"}


def simple(kind: str, body: dict, change: dict) -> Callable[[ApiClient], tuple[str, dict]]:
    def make(api: ApiClient) -> tuple[str, dict]:
        reply = api.post(f"/v1/{kind}", body)
        assert reply.status == 201, reply.json
        return f"/v1/{kind}/{reply.json['data']['id']}", change

    make.__name__ = kind
    return make


MAKERS = [
    customer,
    kobject,
    klass,
    conversation,
    message,
    simple("users", {"name": "Agent", "email": "agent@example.com"}, {"name": "Agent Smith"}),
    simple("teams", {"name": "Support"}, {"name": "Support EU"}),
    simple("tags", {"name": "vip"}, {"name": "very-vip"}),
]


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_rev_in_the_query_must_be_the_current_rev(api: ApiClient, make, method: str) -> None:
    path, change = make(api)
    first = api.call(method, path, change, query={"rev": "1"})
    assert first.status == 200, first.json
    assert first.json["data"]["attributes"]["rev"] == 2

    conflict(api.call(method, path, change, query={"rev": "1"}))
    conflict(api.call(method, path, change, query={"rev": "7"}))
    assert api.get(path).json["data"]["attributes"]["rev"] == 2

    assert api.call(method, path, change, query={"rev": "2"}).status == 200


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", ""])
def test_a_rev_that_is_not_a_number_is_a_400_naming_the_parameter(api: ApiClient, value: str) -> None:
    path, change = customer(api)
    reply = api.patch(path, change, query={"rev": value})
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["source"] == {"parameter": "rev"}
    assert api.get(path).json["data"]["attributes"]["rev"] == 1


def test_query_and_body_rev_must_agree(api: ApiClient) -> None:
    path, _ = customer(api)
    conflict(api.patch(path, {"name": "X", "rev": 2}, query={"rev": "1"}))
    conflict(api.patch(path, {"name": "X", "rev": 1}, query={"rev": "2"}))
    assert api.patch(path, {"name": "X", "rev": 1}, query={"rev": "1"}).status == 200


def test_without_rev_updates_are_unconditional(api: ApiClient) -> None:
    path, change = customer(api)
    assert api.patch(path, change).status == 200
    assert api.patch(path, {"name": "Other"}).status == 200


# --- configuration objects: hooks, pullers, outbound webhooks, workflows ------------------------

WORKFLOW = {
    "name": "greet",
    "trigger": {"id": "1", "eventName": "kustomer.customer.create", "transitions": [{"target": "2"}]},
    "steps": [{"id": "2", "action": "kustomer.customer.update", "params": {"id": "/#steps.1.id"}}],
}


def form_hook(api: ApiClient) -> tuple[str, dict]:
    reply = api.post("/v1/hooks/form", {"title": "Orders"})
    assert reply.status == 201, reply.json
    return f"/v1/hooks/form/{reply.json['data']['id']}", {"title": "Orders EU"}


def web_hook(api: ApiClient) -> tuple[str, dict]:
    reply = api.post("/v1/hooks/web", {"title": "Orders"})
    assert reply.status == 201, reply.json
    return f"/v1/hooks/web/{reply.json['data']['id']}", {"title": "Orders EU"}


def puller(api: ApiClient) -> tuple[str, dict]:
    path, _ = web_hook(api)
    body = {
        "name": "Shop orders",
        "url": "https://shop.example.com/orders",
        "hookId": path.rsplit("/", 1)[1],
        "itemsPath": "data",
        "idField": "id",
        "cursorParam": "after",
        "nextCursorPath": "meta.next",
    }
    reply = api.post("/v1/pullers", body)
    assert reply.status == 201, reply.json
    return f"/v1/pullers/{reply.json['data']['id']}", {"name": "Shop orders EU"}


def outbound_webhook(api: ApiClient) -> tuple[str, dict]:
    body = {"name": "Sync", "url": "https://hooks.example.com/sync", "events": ["kustomer.customer.create"]}
    reply = api.post("/v1/outbound-webhooks", body)
    assert reply.status == 201, reply.json
    return f"/v1/outbound-webhooks/{reply.json['data']['id']}", {"name": "Sync EU"}


def workflow(api: ApiClient) -> tuple[str, dict]:
    reply = api.post("/v1/workflows", WORKFLOW)
    assert reply.status == 201, reply.json
    return f"/v1/workflows/{reply.json['data']['id']}", {}


def changes(make, method: str, change: dict) -> dict:
    """The body of a PATCH or PUT of this configuration object (a workflow's PUT is whole)."""
    if make is workflow:
        return {"enabled": False} if method == "PATCH" else {**WORKFLOW, "name": "greet again"}
    return change


CONFIGURATION = [form_hook, web_hook, puller, outbound_webhook, workflow]


@pytest.mark.parametrize("make", CONFIGURATION, ids=lambda m: m.__name__)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_configuration_object_is_written_only_at_the_rev_in_the_query(
    api: ApiClient, make, method: str
) -> None:
    path, change = make(api)
    body = changes(make, method, change)
    before = api.get(path).json["data"]["attributes"]
    assert before["rev"] == 1

    conflict(api.call(method, path, body, query={"rev": "999"}))
    assert api.get(path).json["data"]["attributes"] == before, "a stale rev writes nothing"

    first = api.call(method, path, body, query={"rev": "1"})
    assert first.status == 200, first.json
    assert first.json["data"]["attributes"]["rev"] == 2
    conflict(api.call(method, path, body, query={"rev": "1"}))
    assert api.call(method, path, body, query={"rev": "2"}).status == 200
    assert api.call(method, path, body).status == 200, "without rev the write is unconditional"


@pytest.mark.parametrize("make", CONFIGURATION, ids=lambda m: m.__name__)
@pytest.mark.parametrize("value", ["abc", "1.5", "0"])
def test_a_configuration_object_refuses_a_rev_that_is_not_a_number(api: ApiClient, make, value: str) -> None:
    path, change = make(api)
    reply = api.patch(path, changes(make, "PATCH", change), query={"rev": value})
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["source"] == {"parameter": "rev"}
    assert api.get(path).json["data"]["attributes"]["rev"] == 1
