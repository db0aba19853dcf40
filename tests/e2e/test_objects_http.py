"""Over HTTP against the local run: the seed's order-system path and concurrent updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote


def test_seed_order_system_path_over_http(local_run) -> None:
    call = local_run.request
    email = "order.path@example.com"
    status, _, body = call("GET", f"/customers/email={quote(email)}")
    assert status == 404 and body["errors"][0]["status"] == "404"

    status, _, body = call(
        "POST",
        "/customers",
        {
            "name": "Order Path",
            "emails": [{"email": email}],
            "phones": [{"phone": "+442071838750"}],
            "externalId": "shop-order-path",
        },
    )
    assert status == 201, body
    customer_id = body["data"]["id"]

    status, _, body = call(
        "POST",
        "/klasses",
        {
            "name": "order",
            "displayName": "Order",
            "metadata": {"properties": {"orderNumberStr": {}, "statusStr": {}, "totalNum": {}}},
        },
    )
    assert status in (201, 409), body  # the demo org may already have it from another test

    status, _, body = call(
        "POST",
        f"/customers/{customer_id}/klasses/order",
        {
            "title": "Order #77",
            "externalId": "order-path-77",
            "custom": {"orderNumberStr": "77", "statusStr": "placed", "totalNum": 12.5},
            "data": {"lineItems": [{"sku": "X", "qty": 1}]},
        },
    )
    assert status == 201, body
    order_id = body["data"]["id"]
    assert body["data"]["attributes"]["rev"] == 1

    status, _, body = call("GET", "/klasses/order?externalId=order-path-77")
    assert status == 200 and body["data"]["id"] == order_id

    status, _, body = call("PUT", f"/klasses/order/{order_id}", {"custom": {"statusStr": "shipped"}})
    assert status == 200 and body["data"]["attributes"]["rev"] == 2
    assert body["data"]["attributes"]["custom"]["statusStr"] == "shipped"

    status, _, body = call("GET", f"/customers/phone={quote('+442071838750')}")
    assert status == 200 and body["data"]["id"] == customer_id
    status, _, body = call("GET", "/customers/externalId=shop-order-path")
    assert status == 200 and body["data"]["id"] == customer_id


def test_twenty_concurrent_updates_all_apply(local_run) -> None:
    call = local_run.request
    status, _, body = call("POST", "/customers", {"name": "Busy"})
    assert status == 201
    customer_id = body["data"]["id"]

    def update(n: int) -> int:
        status, _, _ = call("PATCH", f"/customers/{customer_id}", {"custom": {f"field{n:02d}Str": str(n)}})
        return status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(update, range(20)))
    assert statuses == [200] * 20
    status, _, body = call("GET", f"/customers/{customer_id}")
    attributes = body["data"]["attributes"]
    assert attributes["rev"] == 21
    assert attributes["custom"] == {f"field{n:02d}Str": str(n) for n in range(20)}
