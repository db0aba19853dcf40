"""The order-system integration end to end on the local run: examples/order-sync's setup, then
its partner simulator posting 200 orders (new, updated, repeated) to the web hook; the
workflow runner turns them into one customer per email and one order per externalId."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.receiver import Receiver
from tests.support.waiting import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "order-sync"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"order_sync_{name}", EXAMPLE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def order_run(tmp_path: Path, launch_local_run: Any) -> Iterator[Any]:
    """A local run of its own, without the data stream: this load test measures hooks and
    workflows, undisturbed by what earlier tests left running (retries, pullers, forwarding)."""
    launch, stop = launch_local_run
    run = launch(tmp_path, "--no-data-stream")
    yield run
    stop(run.process)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def all_pages(local_run: Any, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        status, _, body = local_run.request("GET", f"{path}?page={page}&pageSize=100")
        assert status == 200, body
        rows += body["data"]
        if not body.get("links", {}).get("next"):
            return rows
        page += 1


def test_two_hundred_orders_become_one_customer_per_email_and_one_order_per_id(
    order_run: Any, receiver: Receiver
) -> None:
    local_run = order_run
    setup, simulate = load("setup"), load("simulate")
    ids = setup.setup(setup.Api(local_run.api_url, local_run.api_key))
    # Outbound webhooks see the customers appear, once each.
    status, _, hook = local_run.request(
        "POST",
        "/outbound-webhooks",
        {
            "name": "order-sync e2e",
            "url": receiver.url,
            "events": ["kustomer.customer.create", "kustomer.customer.update"],
        },
    )
    assert status == 201, hook
    try:
        posts = simulate.stream(200, seed=11)
        statuses = simulate.send_all(ids["hookUrl"], local_run.api_key, posts)
        assert statuses == [202] * len(posts)
        expected = simulate.expected(posts)

        def orders_settled() -> list[dict[str, Any]] | None:
            orders = all_pages(local_run, "/klasses/order")
            by_id = {o["attributes"]["externalId"]: o for o in orders}
            done = len(by_id) == len(expected["orders"]) and all(
                by_id[k]["attributes"]["custom"]["shopUpdatedAt"].startswith(v["updated_at"][:19])
                for k, v in expected["orders"].items()
            )
            return orders if done else None

        orders = wait_until(orders_settled, timeout_s=300, what="every order in its latest state")
        # One order per externalId, holding the latest state, with one rev per version posted.
        assert len({o["attributes"]["externalId"] for o in orders}) == len(orders) == len(expected["orders"])
        versions: dict[str, set[str]] = {}
        for post in posts:
            versions.setdefault(post["id"], set()).add(post["updated_at"])
        for order in orders:
            attributes = order["attributes"]
            latest = expected["orders"][attributes["externalId"]]
            assert attributes["custom"]["statusStr"] == latest["status"]
            assert attributes["custom"]["totalNum"] == latest["total"]
            assert attributes["data"]["lineItems"] == latest["line_items"]
            assert attributes["data"]["shipments"] == latest["shipments"]
            assert attributes["rev"] == len(versions[attributes["externalId"]]), attributes
        # One customer per email, each order on its customer's timeline.
        customers = all_pages(local_run, "/customers")
        emails = [c["attributes"]["emails"][0]["email"] for c in customers]
        assert sorted(emails) == expected["emails"]
        by_email = {c["attributes"]["emails"][0]["email"]: c["id"] for c in customers}
        for order in orders:
            owner = expected["orders"][order["attributes"]["externalId"]]["customer"]["email"]
            assert order["relationships"]["customer"]["data"]["id"] == by_email[owner]
        # Every run succeeded; repeats made no runs of their own.
        status, _, runs = local_run.request("GET", f"/workflows/{ids['workflowId']}/runs?pageSize=100")
        assert status == 200
        assert {r["attributes"]["status"] for r in runs["data"]} == {"succeeded"}
        # Outbound webhooks: one customer.create per customer, no updates (nothing about them changed).
        wait_until(lambda: len(receiver.received) >= len(expected["emails"]), timeout_s=60, what="deliveries")
        names = [json.loads(r.body)["name"] for r in receiver.received]
        assert names.count("kustomer.customer.create") == len(expected["emails"])
        created = {json.loads(r.body)["data"]["id"] for r in receiver.received}
        assert created == set(by_email.values())
    finally:
        local_run.request("DELETE", f"/outbound-webhooks/{hook['data']['id']}")


README_KLASS = {
    "name": "order",
    "displayName": "Order",
    "icon": "cart",
    "metadata": {
        "properties": {
            "orderNumberStr": {"displayName": "Order number"},
            "statusStr": {},
            "totalNum": {},
            "placedAt": {},
        }
    },
}


def test_setup_gives_an_existing_order_klass_the_properties_it_lacks(order_run: Any) -> None:
    """The README's own `order` klass exists first (other properties): setup adds the ones its
    workflow writes, keeps the others, and the simulated orders all succeed."""
    local_run = order_run
    status, _, created = local_run.request("POST", "/klasses", README_KLASS)
    assert status == 201, created
    setup, simulate = load("setup"), load("simulate")
    ids = setup.setup(setup.Api(local_run.api_url, local_run.api_key))

    status, _, klass = local_run.request("GET", f"/klasses/{created['data']['id']}")
    assert status == 200, klass
    properties = klass["data"]["attributes"]["metadata"]["properties"]
    wanted = json.loads((EXAMPLE / "klass.json").read_text())["metadata"]["properties"]
    assert set(properties) == set(wanted) | set(README_KLASS["metadata"]["properties"])
    assert properties["orderNumberStr"] == {"displayName": "Order number"}
    assert klass["data"]["attributes"]["rev"] == 2
    setup.setup(setup.Api(local_run.api_url, local_run.api_key))  # nothing is missing: no write
    status, _, again = local_run.request("GET", f"/klasses/{created['data']['id']}")
    assert again["data"]["attributes"]["rev"] == 2

    posts = simulate.stream(20, seed=5)
    assert simulate.send_all(ids["hookUrl"], local_run.api_key, posts) == [202] * len(posts)
    expected = simulate.expected(posts)

    def settled() -> list[dict[str, Any]] | None:
        status, _, runs = local_run.request("GET", f"/workflows/{ids['workflowId']}/runs?pageSize=100")
        assert status == 200, runs
        if any(r["attributes"]["status"] == "failed" for r in runs["data"]):
            return runs["data"]
        done = len(all_pages(local_run, "/klasses/order")) == len(expected["orders"])
        return runs["data"] if done else None

    runs = wait_until(settled, timeout_s=120, what="every order, or a failed run")
    assert "failed" not in {r["attributes"]["status"] for r in runs}, runs
