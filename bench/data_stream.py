"""The data stream: records per PutRecords call and AWS calls per 1,000 forwarded events under
load (in-process moto, the real forward handler, the customer's stream in a second account),
and change-to-consumer latency on the local run.

    python -m bench.data_stream
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.moto_env import in_process_aws
from tests.e2e.conftest import launch, stop


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def forwarding(events: int = 10_000, batch: int = 1_000, objects: int = 500) -> dict[str, Any]:
    """`events` changes of `objects` customers, in stream batches of `batch` records: what 1,000
    events per second look like to the forward function (batch size 1,000, 1 s window)."""

    from emulator.customer_account import CUSTOMER_ACCOUNT_ID, create_onboarding_resources, customer_session
    from switchboard import services, wiring
    from switchboard.adapters.aws import client
    from switchboard.adapters.dynamo import to_item
    from switchboard.domain.records import Record
    from switchboard.entrypoints import forward
    from switchboard.pipeline.datastreams import RegistrationBody
    from tests.support import stream_records

    with in_process_aws() as org:
        session = customer_session()
        external_id = services.datastream_store().external_id(org)
        create_onboarding_resources(session, services.platform_account(), external_id)
        body = RegistrationBody(accountId=CUSTOMER_ACCOUNT_ID, region="us-east-1")
        services.data_streams().register(org, body)
        seen: Counter[str] = Counter()

        def count(event_name: str, **_: object) -> None:
            seen[event_name.split(".", 2)[1] + ":" + event_name.split(".")[-1]] += 1

        for service in ("dynamodb", "sqs", "sts"):
            client(service).meta.events.register(f"before-call.{service}.*", count)
        services.forwarder()  # built once per container
        kinesis_calls: Counter[str] = Counter()

        def count_kinesis(event_name: str, **_: object) -> None:
            kinesis_calls[event_name.split(".")[-1]] += 1

        # The writer's client (cached with the role's credentials) counts its own calls.
        writer_client = services.role_credentials().kinesis(CUSTOMER_ACCOUNT_ID, "us-east-1", external_id)
        writer_client.meta.events.register("before-call.kinesis.*", count_kinesis)
        arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{wiring.OBJECTS.local_name}/stream/x"
        revs: dict[int, int] = {}
        started = time.perf_counter()
        for start in range(0, events, batch):
            records = []
            for n in range(start, min(events, start + batch)):
                number = n % objects
                revs[number] = revs.get(number, 0) + 1
                record = Record(
                    org=org,
                    kind="customer",
                    id=f"{number:024x}",
                    rev=revs[number],
                    created_at="2030-01-01T00:00:00.000Z",
                    updated_at="2030-01-01T00:00:00.000Z",
                    attributes={"name": f"Customer {number} v{revs[number]}"},
                    list_key="customer",
                )
                item = to_item(record)
                records.append({**stream_records.insert(item), "eventSourceARN": arn})
            forward.handler({"Records": records}, None)
        elapsed = time.perf_counter() - started
        put_calls = kinesis_calls["PutRecords"]
        total_calls = sum(seen.values()) + sum(kinesis_calls.values())
        return {
            "events": events,
            "stream_batch": batch,
            "put_records_calls": put_calls,
            "records_per_put_records": round(events / put_calls, 1),
            "aws_calls_per_1000_events": round(total_calls * 1000 / events, 2),
            "calls_by_operation": {**dict(seen), **{f"kinesis:{k}": v for k, v in kinesis_calls.items()}},
            "events_per_s_in_process": round(events / elapsed),
        }


def latency(changes: int = 100) -> dict[str, Any]:
    """From a change's API answer to its record in the sample consumer's log (local run)."""
    with tempfile.TemporaryDirectory() as state_dir:
        run = launch(Path(state_dir))
        try:
            log = Path(run.state["dataStream"]["consumerLog"])
            answered: dict[str, float] = {}
            arrived: dict[str, float] = {}
            offset = 0

            def scan() -> None:
                nonlocal offset
                if not log.exists():
                    return
                with log.open() as handle:
                    handle.seek(offset)
                    text = handle.read()
                    offset = handle.tell()
                now = time.perf_counter()
                for line in text.splitlines():
                    if line.startswith("{") and '"dataId"' in line:
                        arrived.setdefault(json.loads(line)["dataId"], now)

            for n in range(changes):
                _, _, body = run.request("POST", "/customers", {"name": f"Latency {n}"})
                answered[body["data"]["id"]] = time.perf_counter()
                deadline = time.perf_counter() + 30
                while body["data"]["id"] not in arrived and time.perf_counter() < deadline:
                    scan()
                    time.sleep(0.005)
            waits = [(arrived[k] - answered[k]) * 1000 for k in answered if k in arrived]
            return {
                "changes": changes,
                "arrived": len(waits),
                "p50_ms": round(statistics.median(waits), 1),
                "p99_ms": round(_percentile(waits, 0.99), 1),
            }
        finally:
            stop(run.process)


def run() -> dict[str, Any]:
    return {"forwarding_under_load": forwarding(), "local_change_to_consumer": latency()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
