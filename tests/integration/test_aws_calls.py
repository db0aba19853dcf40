"""The cost budget per request: AWS calls made by the api handler for the hot paths."""

from __future__ import annotations

from collections import Counter

import pytest

from switchboard.adapters.aws import client
from tests.integration.conftest import ApiClient


@pytest.fixture
def calls(api: ApiClient) -> Counter:
    api.get("/v1/users/current")  # the key's principal is now cached for this container
    seen: Counter = Counter()

    def count(event_name: str, **_: object) -> None:
        seen[event_name.split(".")[-1]] += 1

    client("dynamodb").meta.events.register("before-call.dynamodb.*", count)
    yield seen
    client("dynamodb").meta.events.unregister("before-call.dynamodb.*", count)


def test_create_customer_is_one_transaction(api: ApiClient, calls: Counter) -> None:
    api.post("/v1/customers", {"name": "A", "emails": [{"email": "a@example.com"}], "externalId": "a"})
    assert calls == Counter({"TransactWriteItems": 1})


def test_create_without_identifiers_is_one_put(api: ApiClient, calls: Counter) -> None:
    api.post("/v1/customers", {"name": "A"})
    assert calls == Counter({"PutItem": 1})


def test_lookup_by_email_is_two_reads(api: ApiClient, calls: Counter) -> None:
    api.post("/v1/customers", {"name": "A", "emails": [{"email": "a@example.com"}]})
    calls.clear()
    assert api.get("/v1/customers/email=a@example.com").status == 200
    assert calls == Counter({"GetItem": 2})


def test_update_is_one_read_and_one_conditional_write(api: ApiClient, calls: Counter) -> None:
    customer = api.post("/v1/customers", {"name": "A", "emails": [{"email": "a@example.com"}]}).json["data"]
    calls.clear()
    api.patch(f"/v1/customers/{customer['id']}", {"name": "B"})
    assert calls == Counter({"GetItem": 1, "PutItem": 1})
    calls.clear()
    api.patch(f"/v1/customers/{customer['id']}", {"emails": [{"email": "b@example.com"}]})
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})


def test_an_unchanged_update_writes_nothing(api: ApiClient, calls: Counter) -> None:
    customer = api.post("/v1/customers", {"name": "A", "emails": [{"email": "a@example.com"}]}).json["data"]
    calls.clear()
    reply = api.put(f"/v1/customers/{customer['id']}", {"name": "A"})
    assert reply.json["data"]["attributes"]["rev"] == 1
    assert calls == Counter({"GetItem": 1})


@pytest.fixture
def every_call(aws: object) -> Counter:
    """Calls to DynamoDB and SQS alike (a hook receive touches both)."""
    seen: Counter = Counter()

    def count(event_name: str, **_: object) -> None:
        seen[event_name.split(".")[-1]] += 1

    for service in ("dynamodb", "sqs"):
        client(service).meta.events.register(f"before-call.{service}.*", count)
    yield seen
    for service in ("dynamodb", "sqs"):
        client(service).meta.events.unregister(f"before-call.{service}.*", count)


def test_a_hook_receive_is_three_calls(api: ApiClient, every_call: Counter) -> None:
    from switchboard import wiring
    from tests.integration.conftest import load_handler
    from tests.integration.test_hooks import Receiver

    hook = api.post("/v1/hooks/form", {"title": "orders", "idempotencyKey": ["id"]}).json["data"]
    receiver = Receiver(load_handler(wiring.HOOKS))
    every_call.clear()
    assert receiver.post(hook["attributes"]["url"], '{"id": 1}')[0] == 202
    assert every_call == Counter({"GetItem": 1, "PutItem": 1, "SendMessage": 1})
    every_call.clear()
    assert receiver.post(hook["attributes"]["url"], '{"id": 1}')[0] == 202  # a partner's retry
    assert every_call == Counter({"GetItem": 1, "PutItem": 1, "SendMessage": 1})


def test_references_are_checked_with_one_batch_read(api: ApiClient, calls: Counter) -> None:
    customer = api.post("/v1/customers", {"name": "A"}).json["data"]["id"]
    users = [api.post("/v1/users", {"name": f"u{n}"}).json["data"]["id"] for n in range(2)]
    team = api.post("/v1/teams", {"name": "t"}).json["data"]["id"]
    tag = api.post("/v1/tags", {"name": "vip"}).json["data"]["id"]
    calls.clear()
    body = {"customer": customer, "assignedUsers": users, "assignedTeams": [team], "tags": [tag]}
    conversation = api.post("/v1/conversations", body).json["data"]["id"]
    assert calls == Counter({"BatchGetItem": 1, "PutItem": 1})
    calls.clear()
    api.post("/v1/teams", {"name": "support", "members": users})
    assert calls == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    calls.clear()
    # An update reads only the ids the object does not hold yet: none here.
    api.patch(f"/v1/conversations/{conversation}", {**body, "name": "n"})
    assert calls == Counter({"GetItem": 1, "PutItem": 1})
