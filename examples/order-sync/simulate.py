"""A partner's order system: posts a realistic stream of orders to a Switchboard web hook.

New orders, updates (paid, shipped with tracking, delivered, refunded) and exact repeats of
earlier posts (a partner retrying after a timeout), in an order a real shop would send them.
Prints, as JSON, the state Switchboard should end up holding: the latest version of each order
and one customer per email.

    python examples/order-sync/simulate.py --url <hook url> --key <api key> [--count 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCTS = [
    ("MUG-01", "Enamel mug", 14.0),
    ("TEE-02", "Organic tee", 29.0),
    ("CAP-03", "Canvas cap", 22.5),
    ("BAG-04", "Tote bag", 18.0),
    ("PEN-05", "Brass pen", 35.0),
]
FLOW = ["pending", "paid", "shipped", "delivered"]
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]


def _order(number: int, customer: dict[str, str], rng: random.Random, at: datetime) -> dict[str, Any]:
    lines = []
    for sku, title, price in rng.sample(PRODUCTS, rng.randint(1, 3)):
        lines.append({"sku": sku, "title": title, "quantity": rng.randint(1, 3), "price": price})
    total = round(sum(line["quantity"] * line["price"] for line in lines), 2)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"ORD-{number}",
        "number": number,
        "status": "pending",
        "total": total,
        "currency": "EUR",
        "placed_at": stamp,
        "updated_at": stamp,
        "customer": dict(customer),
        "line_items": lines,
        "shipments": [],
    }


def _advance(order: dict[str, Any], rng: random.Random, at: datetime) -> dict[str, Any] | None:
    """The order's next state, or None when it has none."""
    if order["status"] in ("delivered", "refunded"):
        return None
    changed = json.loads(json.dumps(order))
    if order["status"] == "paid" and rng.random() < 0.1:
        changed["status"] = "refunded"
    else:
        changed["status"] = FLOW[FLOW.index(order["status"]) + 1]
    if changed["status"] == "shipped":
        carrier = rng.choice(["DHL", "UPS", "PostNL"])
        changed["shipments"] = [{"carrier": carrier, "tracking": f"{carrier}{rng.randint(10**8, 10**9)}"}]
    changed["updated_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return changed


def stream(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` posts: new orders, their updates and exact repeats, in sending order."""
    rng = random.Random(seed)
    customers = [
        {"email": f"{name.lower()}.{n}@example.com", "name": f"{name} {chr(65 + n)}."}
        for n, name in enumerate(FIRST_NAMES)
    ]
    clock = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    latest: dict[str, dict[str, Any]] = {}
    sent: list[dict[str, Any]] = []
    number = 1000
    while len(sent) < count:
        clock += timedelta(minutes=rng.randint(1, 30))
        roll = rng.random()
        if sent and roll < 0.15:
            sent.append(rng.choice(sent[-20:]))  # an exact repeat (a partner retry)
            continue
        open_orders = [o for o in latest.values() if o["status"] not in ("delivered", "refunded")]
        if open_orders and roll < 0.6:
            order = _advance(rng.choice(open_orders), rng, clock)
            if order is not None:
                latest[order["id"]] = order
                sent.append(order)
                continue
        number += 1
        order = _order(number, rng.choice(customers), rng, clock)
        latest[order["id"]] = order
        sent.append(order)
    return sent


def expected(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """What Switchboard should hold once every post has run."""
    orders: dict[str, dict[str, Any]] = {}
    for post in posts:
        if post["id"] not in orders or post["updated_at"] >= orders[post["id"]]["updated_at"]:
            orders[post["id"]] = post
    emails = sorted({post["customer"]["email"] for post in posts})
    return {"orders": orders, "emails": emails}


def post(url: str, key: str, order: dict[str, Any], timeout_s: float = 30.0) -> int:
    body = json.dumps(order).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": f"{order['id']}@{order['updated_at']}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def send_all(url: str, key: str, posts: list[dict[str, Any]], clients: int = 1) -> list[int]:
    """Post in order from one client (a shop's queue), or from several at once."""
    if clients <= 1:
        return [post(url, key, order) for order in posts]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda order: post(url, key, order), posts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the web hook's URL")
    parser.add_argument("--key", required=True, help="an API key with org.hooks (or org.admin)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    posts = stream(args.count, args.seed)
    statuses = send_all(args.url, args.key, posts)
    refused = [s for s in statuses if s != 202]
    summary = expected(posts)
    print(
        json.dumps(
            {
                "posted": len(posts),
                "accepted": len(statuses) - len(refused),
                "orders": len(summary["orders"]),
                "customers": len(summary["emails"]),
            }
        )
    )
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
