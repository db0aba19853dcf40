"""Cursors of the position-paged lists (webhook transactions and attempts, workflow runs).

Real cursors page through every item; anything a client makes up or edits (garbage, base64 of
something else, a cursor of another list or another org, extra or missing values, numbers,
a sort key of the wrong layout, a huge one) is a 400 naming the `cursor` parameter. moto accepts
start keys DynamoDB refuses, so `dynamodb_start_keys` checks them the way DynamoDB does: a cursor
that reached DynamoDB unchecked would be a 500 here, as it was in AWS.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from switchboard import services, wiring
from switchboard.adapters.aws import client
from tests.integration.conftest import ApiClient
from tests.support.workflows import callable_one_step

WORKFLOW = callable_one_step("runs", "kustomer.regex-match.generic", {"testString": "a", "regex": "a"})
COUNT = 3


def _key_schema(table: str, index: str | None) -> set[str]:
    spec = next(t for t in wiring.TABLES if table in (t.local_name, t.key))
    names = {spec.partition_key} | ({spec.sort_key} if spec.sort_key else set())
    for declared in spec.indexes:
        if declared.name == index:
            names |= {declared.partition_key, declared.sort_key}
    return names


@pytest.fixture(autouse=True)
def dynamodb_start_keys(aws: Any) -> Iterator[None]:
    """Refuse an ExclusiveStartKey as DynamoDB does: exact key attributes, non-empty strings."""

    def check(params: dict[str, Any], **_: Any) -> None:
        start = params.get("ExclusiveStartKey")
        if start is None:
            return
        expected = _key_schema(params["TableName"], params.get("IndexName"))
        valid = set(start) == expected and all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
            for v in start.values()
        )
        if not valid:
            error = {"Code": "ValidationException", "Message": "The provided starting key is invalid"}
            raise ClientError({"Error": error}, "Query")

    client("dynamodb").meta.events.register("provide-client-params.dynamodb.Query", check)
    yield
    client("dynamodb").meta.events.unregister("provide-client-params.dynamodb.Query", check)


def _event(n: int) -> dict[str, Any]:
    return {"id": f"{n:024x}", "name": "kustomer.customer.create", "createdAt": f"2026-01-0{n}T10:00:00.000Z"}


def seed_webhook(api: ApiClient) -> str:
    hook = api.post(
        "/v1/outbound-webhooks",
        {"name": "n", "url": "https://hooks.example.com/k", "events": ["kustomer.customer.create"]},
    ).json["data"]
    store = services.delivery_store()
    items = []
    for n in range(1, COUNT + 1):
        at = f"2026-01-0{n}T10:00:0{n}.000Z"
        items.append(store.state_item(api.org, hook["id"], _event(n), "failed", 1, at, 7))
        items.append(
            store.attempt_item(
                api.org, hook["id"], _event(n), {"attempt": 1, "at": at, "eventId": _event(n)["id"]}, 7
            )
        )
    store.put_items(items)
    return hook["id"]


def seed_workflow(api: ApiClient) -> str:
    workflow = api.post("/v1/workflows", WORKFLOW).json["data"]
    for n in range(1, COUNT + 1):
        run = {"id": f"{n:024x}", "workflowId": workflow["id"], "startedAt": f"2026-01-0{n}T10:00:00.000Z"}
        services.automation_store().put_run(api.org, workflow["id"], run)
    return workflow["id"]


def follow(api: ApiClient, path: str) -> tuple[list[str], list[str]]:
    """Every id of a list paged one by one, and the cursors it handed out."""
    ids: list[str] = []
    cursors: list[str] = []
    query = {"pageSize": "1"}
    while True:
        reply = api.get(path, query=query)
        assert reply.status == 200, reply.json
        ids += [row["id"] for row in reply.json["data"]]
        following = reply.json["links"]["next"]
        if not following:
            return ids, cursors
        (cursor,) = parse_qs(urlsplit(following).query)["cursor"]
        cursors.append(cursor)
        query = {"pageSize": "1", "cursor": cursor}


def unpack(cursor: str) -> list[Any]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def pack(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def assert_refused(api: ApiClient, path: str, cursor: str) -> None:
    reply = api.get(path, query={"cursor": cursor})
    assert reply.status == 400, (cursor, reply.status, reply.json)
    (error,) = reply.json["errors"]
    assert error["source"] == {"parameter": "cursor"}, error


@pytest.fixture
def lists(api: ApiClient, other: ApiClient) -> dict[str, Any]:
    """The three lists in two orgs, each paged through once: their paths and real cursors."""
    found: dict[str, Any] = {}
    for name, who in (("a", api), ("b", other)):
        hook = seed_webhook(who)
        workflow = seed_workflow(who)
        for kind, path in (
            ("transactions", "/v1/outbound-webhooks/transactions"),
            ("attempts", f"/v1/outbound-webhooks/{hook}/attempts"),
            ("runs", f"/v1/workflows/{workflow}/runs"),
        ):
            ids, cursors = follow(who, path)
            assert len(ids) == COUNT and len(set(ids)) == COUNT, ids
            found[f"{name}.{kind}"] = {"path": path, "cursors": cursors, "org": who.org}
    return found


KINDS = ("transactions", "attempts", "runs")


def test_real_cursors_page_through_every_item(lists: dict[str, Any]) -> None:
    for kind in KINDS:
        assert len(lists[f"a.{kind}"]["cursors"]) == COUNT - 1
        assert all(len(c) < 400 for c in lists[f"a.{kind}"]["cursors"])


def _edits(real: str, org: str, other_org: str) -> dict[str, str]:
    document = unpack(real)
    values = document[1:]

    def edited(change: Callable[[list[Any]], list[Any]]) -> str:
        return pack(change(list(document)))

    return {
        "garbage": "!!not a cursor!!",
        "base64 of text": base64.urlsafe_b64encode(b"hello there").decode(),
        "base64 of a number": pack(7),
        "base64 of an object": pack({"pk": {"S": values[0]}}),
        "the old DynamoDB JSON form": pack({n: {"S": v} for n, v in zip(("pk", "sk"), values, strict=False)}),
        "an extra value": edited(lambda d: [*d, "x"]),
        "a missing value": edited(lambda d: d[:-1]),
        "a number for a value": edited(lambda d: [d[0], 1, *d[2:]]),
        "null for a value": edited(lambda d: [*d[:-1], None]),
        "an empty value": edited(lambda d: [*d[:-1], ""]),
        "a control character": edited(lambda d: [*d[:-1], d[-1] + "\n"]),
        "another tag": edited(lambda d: ["zz", *d[1:]]),
        "another org in the key": edited(lambda d: [d[0], *(v.replace(org, other_org) for v in d[1:])]),
        "a sort key of another layout": edited(lambda d: [*d[:-1], "zzz#" + d[-1]]),
        "huge": pack([document[0], *values[:-1], values[-1] + "0" * 5000]),
        "huge garbage": "A" * 100_000,
        "padding and spaces": real + "== ",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_made_up_and_edited_cursors_are_400(api: ApiClient, lists: dict[str, Any], kind: str) -> None:
    mine = lists[f"a.{kind}"]
    for why, cursor in _edits(mine["cursors"][0], api.org, lists[f"b.{kind}"]["org"]).items():
        try:
            assert_refused(api, mine["path"], cursor)
        except AssertionError as failure:
            raise AssertionError(f"{kind}: {why}: {failure}") from None


@pytest.mark.parametrize("kind", KINDS)
def test_another_orgs_cursor_is_400(api: ApiClient, lists: dict[str, Any], kind: str) -> None:
    for cursor in lists[f"b.{kind}"]["cursors"]:
        assert_refused(api, lists[f"a.{kind}"]["path"], cursor)


def test_a_cursor_of_one_list_is_400_on_another(api: ApiClient, lists: dict[str, Any]) -> None:
    for kind in KINDS:
        for source in KINDS:
            if kind != source:
                assert_refused(api, lists[f"a.{kind}"]["path"], lists[f"a.{source}"]["cursors"][0])


def test_a_cursor_of_one_webhook_or_workflow_is_400_on_another(api: ApiClient, lists: dict[str, Any]) -> None:
    hook = seed_webhook(api)
    workflow = seed_workflow(api)
    assert_refused(api, f"/v1/outbound-webhooks/{hook}/attempts", lists["a.attempts"]["cursors"][0])
    assert_refused(api, f"/v1/workflows/{workflow}/runs", lists["a.runs"]["cursors"][0])
