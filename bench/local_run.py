"""Local end-to-end throughput and latency: real HTTP to `python -m emulator` on loopback.

Creates and email lookups of customers, each from a pool of client threads; every request
goes through the API Gateway emulation, the real handler and the moto server.
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.e2e.conftest import launch, stop


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _drive(count: int, workers: int, one: Callable[[int], int]) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0

    def timed(n: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        status = one(n)
        latencies.append((time.perf_counter() - started) * 1000)
        if status >= 300:
            failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(timed, range(count)))
    elapsed = time.perf_counter() - started
    return {
        "requests": count,
        "workers": workers,
        "failures": failures,
        "rps": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
    }


def run(count: int = 400, workers: int = 8) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state_dir:
        local = launch(Path(state_dir))
        try:
            numbers = itertools.count()
            created: list[int] = []

            def create(_: int) -> int:
                n = next(numbers)  # unique across phases and threads
                created.append(n)
                email = f"bench{n}@example.com"
                body = {"name": f"Bench {n}", "emails": [{"email": email}], "externalId": f"b{n}"}
                return local.request("POST", "/customers", body)[0]

            def lookup(n: int) -> int:
                return local.request(
                    "GET", f"/customers/email=bench{created[n % len(created)]}%40example.com"
                )[0]

            results = {
                "create customer, 1 client": _drive(count // 4, 1, create),
                "lookup by email, 1 client": _drive(count // 2, 1, lookup),
            }
            results[f"create customer, {workers} clients"] = _drive(
                count, workers, lambda n: create(n + count)
            )
            results[f"lookup by email, {workers} clients"] = _drive(count * 2, workers, lookup)
        finally:
            stop(local.process)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
