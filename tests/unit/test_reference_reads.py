"""The batch read behind reference checks: one BatchGetItem, unprocessed keys asked for again."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.adapters import dynamo
from switchboard.adapters.dynamo import DynamoObjectStore

ORG = "a" * 24
USER = "1" * 24
TEAM = "2" * 24


class Client:
    """Answers BatchGetItem from a set of pks, leaving the first `unprocessed` calls' keys undone."""

    def __init__(self, stored: set[str], unprocessed: int = 0) -> None:
        self.stored = stored
        self.unprocessed = unprocessed
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        if self.unprocessed:
            self.unprocessed -= 1
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        keys = RequestItems["t"]["Keys"]
        return {"Responses": {"t": [{"pk": k["pk"]} for k in keys if k["pk"]["S"] in self.stored]}}


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda _: None)


def test_one_read_for_every_key_with_duplicates_once() -> None:
    client = Client({f"{ORG}#user#{USER}"})
    store = DynamoObjectStore(client, "t")
    assert store.existing(ORG, [("user", USER), ("team", USER), ("user", USER)]) == {("user", USER)}
    (request,) = client.requests
    assert [k["pk"]["S"] for k in request["t"]["Keys"]] == [f"{ORG}#user#{USER}", f"{ORG}#team#{USER}"]
    assert request["t"]["ConsistentRead"] is True


def test_unprocessed_keys_are_asked_for_again() -> None:
    client = Client({f"{ORG}#user#{USER}", f"{ORG}#team#{TEAM}"}, unprocessed=2)
    store = DynamoObjectStore(client, "t")
    assert store.existing(ORG, [("user", USER), ("team", TEAM)]) == {("user", USER), ("team", TEAM)}
    assert len(client.requests) == 3


def test_keys_left_unprocessed_for_good_are_an_error_not_a_miss() -> None:
    store = DynamoObjectStore(Client(set(), unprocessed=100), "t")
    with pytest.raises(RuntimeError):
        store.existing(ORG, [("user", USER)])


def test_no_keys_no_read() -> None:
    client = Client(set())
    assert DynamoObjectStore(client, "t").existing(ORG, []) == set()
    assert client.requests == []
