"""Inbound hooks: AWS calls per accepted request, ack latency, and orders per second from hook
to stored order, on the local run (real HTTP, the hooks function, the FIFO queue, the runner).

    python -m bench.hooks
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.moto_env import in_process_aws
from tests.e2e.conftest import launch, stop

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "order-sync"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_order_sync_{name}", EXAMPLE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def aws_calls() -> dict[str, dict[str, int]]:
    """Calls per accepted request, counted at the botocore clients against in-process moto."""
    from switchboard import services
    from switchboard.adapters.aws import client
    from switchboard.domain.hooks import HookBody

    with in_process_aws() as org:
        hook = services.hooks().create(org, "form", HookBody(title="orders", idempotencyKey=["id"]))
        seen: Counter[str] = Counter()

        def count(event_name: str, **_: object) -> None:
            seen[event_name.split(".")[-1]] += 1

        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(f"before-call.{service}.*", count)
        results: dict[str, dict[str, int]] = {}
        headers = {"Content-Type": "application/json"}
        for label, body in (
            ("new transaction", b'{"id": 1}'),
            ("partner retry (same key)", b'{"id": 1}'),
            ("another transaction", b'{"id": 2}'),
        ):
            seen.clear()
            services.hooks().receive(org, "form", hook.hash, headers, body)
            results[label] = dict(seen)
        return results


def local(acks: int = 300, orders: int = 200) -> dict[str, Any]:
    """Ack latency of hook posts, and orders per second until every order is stored."""
    setup, simulate = _load("setup"), _load("simulate")
    with tempfile.TemporaryDirectory() as state_dir:
        run = launch(Path(state_dir))
        try:
            ids = setup.setup(setup.Api(run.api_url, run.api_key))
            # Ack latency: the demo hook (no workflow), one client.
            latencies: list[float] = []
            for n in range(acks):
                started = time.perf_counter()
                status, _, _ = run.request(
                    "POST",
                    run.state["hookUrl"],
                    raw=json.dumps({"n": n}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                assert status == 202
            # Orders: only new orders, many customers (so FIFO groups run in parallel).
            posts = [order for order in simulate.stream(orders * 3, seed=3) if order["status"] == "pending"][
                :orders
            ]
            started = time.perf_counter()
            statuses = simulate.send_all(ids["hookUrl"], run.api_key, posts, clients=4)
            posted_s = time.perf_counter() - started
            assert set(statuses) == {202}
            wanted = len({p["id"] for p in posts})
            while True:
                stored = _count(run)
                if stored >= wanted:
                    break
                if time.perf_counter() - started > 600:
                    raise TimeoutError(f"{stored} of {wanted} orders stored after 600 s")
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            return {
                "ack": {
                    "requests": acks,
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p99_ms": round(_percentile(latencies, 0.99), 1),
                },
                "orders": {
                    "orders": wanted,
                    "posting_s": round(posted_s, 2),
                    "hook_to_stored_s": round(elapsed, 2),
                    "orders_per_s": round(wanted / elapsed, 1),
                },
            }
        finally:
            stop(run.process)


def _count(run: Any) -> int:
    total, page = 0, 1
    while True:
        _, _, body = run.request("GET", f"/klasses/order?page={page}&pageSize=100")
        total += len(body["data"])
        if not body.get("links", {}).get("next"):
            return total
        page += 1


def run() -> dict[str, Any]:
    return {"aws_calls_per_accepted_request": aws_calls(), "local_run": local()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
