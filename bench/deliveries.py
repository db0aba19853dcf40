"""Outbound webhook delivery: deliver-path throughput against a bare POST loop, AWS calls per
delivered event, and change-to-delivery latency on the local run.

Throughput and AWS calls use moto in-process (`mock_aws`) and the real function handlers; the
latency drives `python -m emulator` over HTTP. Every POST goes to a loopback receiver answering
200, so the HTTP side costs the same in every measurement of a run.
"""

from __future__ import annotations

import contextlib
import cProfile
import dataclasses
import hashlib
import http.client
import json
import multiprocessing
import os
import pstats
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from unittest import mock

from bench.moto_env import in_process_aws
from switchboard.domain.records import Record

EVENTS = 300  # events per timed run of each loop
BATCH = 10  # the deliver function's batch size (wiring.DELIVER's queue trigger)
ROUNDS = 5  # each loop runs this many times, interleaved; medians are reported
LATENCY_CUSTOMERS = 100
EVENT_NAME = "kustomer.customer.create"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:switchboard-deliveries"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/switchboard-objects/stream/2026-01-01T00:00:00"
Handler = Callable[[dict[str, Any], object], dict[str, Any]]
BARE = "bare http.client keep-alive loop"
DELIVER = "deliver function (Deliverer, moto in-process)"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Receiver:
    """A webhook receiver on loopback that answers at once (200 unless `statuses` says
    otherwise) and keeps each body with the time it arrived. TCP_NODELAY: a reply written in two
    pieces would otherwise wait for the sender's delayed ACK (40 ms on Linux) before its second
    piece, and every number here would measure that stall."""

    def __init__(self) -> None:
        self.received: list[tuple[float, bytes]] = []
        self.statuses: deque[int] = deque()
        self._arrived = threading.Condition()
        self._first: dict[str, float] = {}  # object id -> when its first webhook arrived
        self._indexed = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._arrived:
                    receiver.received.append((time.time(), body))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def arrival(self, object_id: str, timeout_s: float = 60.0) -> float:
        """When the first webhook about this object arrived (time.time())."""

        def seen() -> bool:
            for at, body in self.received[self._indexed :]:
                self._first.setdefault(json.loads(body)["data"]["id"], at)
            self._indexed = len(self.received)
            return object_id in self._first

        with self._arrived:
            if not self._arrived.wait_for(seen, timeout_s):
                raise TimeoutError(f"no webhook about {object_id} within {timeout_s} s")
            return self._first[object_id]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _serve(conn: Connection) -> None:
    """The child's side of RemoteReceiver: serve until told to stop, then say how many came."""
    receiver = Receiver()
    conn.send(receiver.port)
    conn.recv()
    receiver.stop()
    conn.send(len(receiver.received))


class RemoteReceiver:
    """A Receiver in a process of its own, as a real receiver is: it takes no share of the
    measured process's GIL (10 delivering threads and 10 serving ones would contend for it)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> int:
        """Stop it; returns how many requests it received."""
        self._conn.send("stop")
        count: int = self._conn.recv()
        self._process.join(10)
        return count


# -- In-process AWS and Lambda-shaped records ------------------------------------------------------


def _template_customer(org: str) -> Record:
    """A customer as the api function stores it (identifiers, custom attributes), to clone."""
    from switchboard import admin, services, wiring
    from tests.integration.conftest import ApiClient, load_handler

    key = admin.issue_key(org, "bench", ["org.admin"])["key"]
    api = ApiClient(load_handler(wiring.API), key, org)
    reply = api.post(
        "/v1/customers",
        {
            "name": "Jane Doe",
            "externalId": "shop-0",
            "emails": [{"type": "home", "email": "jane@example.com"}],
            "phones": [{"type": "mobile", "phone": "+1 415 555 0100"}],
            "custom": {"tierStr": "gold", "lifetimeValueNum": 420.5},
        },
    )
    assert reply.status == 201, reply.json
    record = services.objects().store.get(org, "customer", reply.json["data"]["id"])
    assert record is not None
    return record


def _customers(template: Record, count: int) -> list[Record]:
    """Distinct customers shaped like the template, changed now (after any webhook exists).
    Cloned rather than created through the api: in-process moto's transactions slow down as
    the table grows, which is not what is measured here."""
    from switchboard.ids import new_id, now_iso

    made: list[Record] = []
    for n in range(count):
        now = now_iso()
        attributes = {
            **template.attributes,
            "name": f"Bench customer {n}",
            "externalId": f"shop-{n}",
            "emails": [{"type": "home", "email": f"customer{n}@example.com"}],
            "phones": [{"type": "mobile", "phone": f"+1415555{n % 10000:04d}"}],
        }
        made.append(
            dataclasses.replace(template, id=new_id(), created_at=now, updated_at=now, attributes=attributes)
        )
    return made


def _stream_record(record: Record, sequence: int) -> dict[str, Any]:
    """The `Records[]` entry Lambda gets from the objects stream for an INSERT of `record`."""
    from boto3.dynamodb.types import TypeSerializer

    from switchboard.adapters.dynamo import OBJECT_SK, object_pk, to_item

    serialize = TypeSerializer().serialize
    image = to_item(record)
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {
                "pk": serialize(object_pk(record.org, record.kind, record.id)),
                "sk": serialize(OBJECT_SK),
            },
            "NewImage": image,
            "SequenceNumber": f"{sequence:021d}",
            "SizeBytes": len(json.dumps(image)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }


def _queue_record(body: str, message_id: str | None = None) -> dict[str, Any]:
    """The `Records[]` entry Lambda gets from the deliveries queue for one message."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(time.time() * 1000)),
            "SenderId": "AROAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def _events(records: list[Record]) -> list[dict[str, Any]]:
    """The event envelopes the events function makes of these customers' INSERT records."""
    from switchboard.pipeline.fanout import stream_events

    return [event for _, event in stream_events([_stream_record(r, n) for n, r in enumerate(records)])]


def _batches(org: str, webhook_id: str, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Deliveries-queue records for attempt 1 of each event, in batches of BATCH, with the body
    FanOut sends (`delivery_message`, compact JSON as SqsQueue writes it)."""
    from switchboard.pipeline.webhooks import delivery_message

    records = [
        _queue_record(json.dumps(delivery_message(org, webhook_id, e, attempt=1), separators=(",", ":")))
        for e in events
    ]
    return [records[start : start + BATCH] for start in range(0, len(records), BATCH)]


@contextlib.contextmanager
def _quiet_function_logs() -> Iterator[None]:
    """Send the deliver function's log lines to /dev/null: still formatted and written, as in
    Lambda, without flooding the benchmark's output."""
    from switchboard.entrypoints import deliver

    stream = deliver.logger.registered_handler
    with open(os.devnull, "w") as sink:
        previous = stream.setStream(sink)
        try:
            yield
        finally:
            if previous is not None:
                stream.setStream(previous)


def _create_webhook(org: str, url: str, name: str) -> Any:
    from switchboard import services
    from switchboard.domain.webhooks import WebhookBody

    return services.webhooks().create(org, WebhookBody(name=name, url=url, events=[EVENT_NAME]))


# -- 1. Throughput --------------------------------------------------------------------------------


class _NoAws:
    """A DynamoDB and SQS client whose every call answers at once with nothing: the deliver path
    with AWS taken out, to tell the code's own cost from moto's."""

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        return lambda **_: {}


def _signed_headers(hook: Any, events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The headers the Deliverer sends with each event, for the baselines to send as well."""
    from switchboard.domain import signing
    from switchboard.ids import now_iso
    from switchboard.pipeline.delivery import USER_AGENT, body_bytes

    secrets = hook.signing_secrets(now_iso())
    return [
        {
            "User-Agent": USER_AGENT,
            **signing.signing_headers(secrets, e["name"], e["id"], int(time.time()), body_bytes(e)),
        }
        for e in events
    ]


def _http_client_loop(port: int, bodies: list[bytes], headers: list[dict[str, str]]) -> float:
    """Deliveries per second of a bare POST loop on one keep-alive http.client connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        started = time.perf_counter()
        for body, sent in zip(bodies, headers, strict=True):
            conn.request("POST", "/hook", body, sent)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        return len(bodies) / (time.perf_counter() - started)
    finally:
        conn.close()


def _sender_loop(url: str, bodies: list[bytes], headers: list[dict[str, str]]) -> float:
    """The same loop through the project's HttpSender (URL policy, pinned pooled connections)."""
    from switchboard.adapters.http_sender import HttpSender

    with HttpSender(allow_private=True) as sender:
        sender.post(url, bodies[0], headers[0])  # connect outside the timing, as the pool would be
        started = time.perf_counter()
        for body, sent in zip(bodies, headers, strict=True):
            assert sender.post(url, body, sent).status == 200
        return len(bodies) / (time.perf_counter() - started)


def _deliver_loop(deliver: Handler, batches: list[list[dict[str, Any]]]) -> float:
    """Deliveries per second of the deliver function fed batches of SQS records in a row."""
    count = sum(len(b) for b in batches)
    started = time.perf_counter()
    for batch in batches:
        assert deliver({"Records": batch}, None) == {"batchItemFailures": []}
    return count / (time.perf_counter() - started)


def _sequential_loop(deliverer: Any, batches: list[list[dict[str, Any]]]) -> float:
    """Deliveries per second of Deliverer.deliver called in a row: the handler's thread pool,
    JSON parsing and logging taken out."""
    messages = [json.loads(r["body"]) for batch in batches for r in batch]
    started = time.perf_counter()
    for message in messages:
        assert deliverer.deliver(message).startswith("delivered")
    return len(messages) / (time.perf_counter() - started)


def _profile(deliverer: Any, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Where the time of one delivery goes: Deliverer.deliver on each message in turn, in this
    thread (cProfile sees one thread), split into the parts that matter."""
    messages = [json.loads(r["body"]) for batch in batches for r in batch]
    profile = cProfile.Profile()
    profile.enable()
    for message in messages:
        assert deliverer.deliver(message).startswith("delivered")
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def cumulative(path_end: str, function: str) -> float:
        return sum(
            row[3] for (path, _, name), row in stats.items() if path.endswith(path_end) and name == function
        )

    total = cumulative("pipeline/delivery.py", "deliver")
    aws = cumulative("botocore/client.py", "_make_api_call")
    moto = cumulative("moto/core/botocore_stubber.py", "__call__")
    post = cumulative("adapters/http_sender.py", "post")
    signing = cumulative("domain/signing.py", "signing_headers")
    per_ms = 1000 / len(messages)
    parts = {
        "total": total,
        "aws calls (botocore + moto)": aws,
        "  of which moto's backend": moto,
        "  of which botocore (serialize, sign, parse)": aws - moto,
        "HTTP POST (HttpSender.post)": post,
        "signing headers": signing,
        "everything else": total - aws - post - signing,
    }
    return {
        "deliveries": len(messages),
        "ms_per_delivery": {k: round(v * per_ms, 3) for k, v in parts.items()},
    }


def throughput(events: int = EVENTS, rounds: int = ROUNDS) -> dict[str, Any]:
    """The deliver function (real Deliverer, moto, loopback receiver) against bare POST loops
    sending the same bytes and headers to the same receiver; rounds interleaved, medians."""
    from switchboard import services, wiring
    from switchboard.adapters.dynamo_webhooks import DynamoDeliveryStore
    from switchboard.adapters.http_sender import HttpSender
    from switchboard.adapters.queues import SqsQueue
    from switchboard.pipeline.delivery import Deliverer, body_bytes
    from switchboard.pipeline.webhooks import WebhookService
    from tests.integration.conftest import load_handler

    receiver = RemoteReceiver()
    try:
        with in_process_aws() as org, _quiet_function_logs():
            hook = _create_webhook(org, receiver.url, "bench")
            # New events for every round and for the profile: each is a first delivery.
            evs = _events(_customers(_template_customer(org), (rounds + 1) * events + BATCH))
            sets = [evs[n * events : (n + 1) * events] for n in range(rounds + 1)]
            deliver = load_handler(wiring.DELIVER)
            stub = Deliverer(
                WebhookService(
                    services.webhook_store(),
                    DynamoDeliveryStore(_NoAws(), "deliveries"),
                    SqsQueue(_NoAws(), "deliveries"),
                    services.check_webhook_url,
                ),
                HttpSender(allow_private=True),
            )

            def stubbed(call: Callable[[], float]) -> float:
                """The deliver function, its Deliverer's AWS calls answered at once."""
                with mock.patch.object(services, "deliverer", lambda: stub):
                    return call()

            loops: dict[str, Callable[[list[dict[str, Any]]], float]] = {
                BARE: lambda timed: _http_client_loop(
                    receiver.port, [body_bytes(e) for e in timed], _signed_headers(hook, timed)
                ),
                "HttpSender loop": lambda timed: _sender_loop(
                    receiver.url, [body_bytes(e) for e in timed], _signed_headers(hook, timed)
                ),
                DELIVER: lambda timed: _deliver_loop(deliver, _batches(org, hook.id, timed)),
                "deliver function, AWS calls answered at once": lambda timed: stubbed(
                    lambda: _deliver_loop(deliver, _batches(org, hook.id, timed))
                ),
                "Deliverer.deliver one message after another, AWS calls answered at once": lambda timed: (
                    _sequential_loop(stub, _batches(org, hook.id, timed))
                ),
            }
            # A warm container: the webhook's config cached, a connection in each pool.
            _deliver_loop(deliver, _batches(org, hook.id, evs[-BATCH:]))
            stubbed(lambda: _deliver_loop(deliver, _batches(org, hook.id, evs[-BATCH:])))
            rates: dict[str, list[float]] = {name: [] for name in loops}
            for timed in sets[:rounds]:
                for name, loop in loops.items():
                    rates[name].append(loop(timed))
            breakdown = _profile(services.deliverer(), _batches(org, hook.id, sets[rounds]))
    finally:
        received = receiver.stop()
    # The warm-ups, then per round every loop (and the sender's connect), then the profile.
    expected = 2 * BATCH + rounds * (len(loops) * events + 1) + events
    assert received == expected, (received, expected)
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "events_per_loop": events,
        "rounds": rounds,
        "deliveries_per_s": {name: round(rate, 1) for name, rate in median.items()},
        "ratio_to_bare_loop": {name: round(rate / median[BARE], 3) for name, rate in median.items()},
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in rates.items()},
        "profile_of_deliver_with_moto": breakdown,
    }


# -- 2. AWS calls per delivered event -------------------------------------------------------------


def _target(params: dict[str, Any]) -> str:
    """The table or queue a call goes to, without the deployment's prefix."""
    name = params.get("TableName") or ",".join(params.get("RequestItems", {})) or params.get("QueueUrl", "")
    return name.rsplit("/", 1)[-1].removeprefix("switchboard-")


def aws_calls() -> dict[str, dict[str, float]]:
    """Calls counted at the functions' botocore clients (DynamoDB and SQS) on each path, by
    operation and table or queue; the benchmark's own receives from the queue use another
    client and are not counted."""
    import boto3

    from switchboard import services, wiring
    from switchboard.adapters.aws import client
    from tests.integration.conftest import load_handler

    results: dict[str, dict[str, float]] = {}
    seen: Counter[str] = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen[f"{model.name} {_target(params)}"] += 1

    def fresh_container() -> None:
        """A new Lambda container: no cached clients, webhook configs or workflow lists."""
        services.reset()
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(f"provide-client-params.{service}.*", count)

    def measure(label: str, call: Callable[[], Any], per: int = 1) -> Any:
        seen.clear()
        result = call()
        results[label] = {op: n / per if per > 1 else n for op, n in sorted(seen.items())}
        return result

    receiver = Receiver()
    # Retries without a pause, so the retry message can be received at once.
    try:
        with in_process_aws(WEBHOOK_RETRY_SCHEDULE_S=",".join(["0"] * 10)) as org, _quiet_function_logs():
            template = _template_customer(org)
            _create_webhook(org, receiver.url, "bench")
            events_fn, deliver = load_handler(wiring.EVENTS), load_handler(wiring.DELIVER)
            sqs = boto3.client("sqs")
            queue_url = os.environ[wiring.DELIVERY_QUEUE.env_var]

            def receive(expected: int) -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = []
                for _ in range(100):
                    if len(found) >= expected:
                        break
                    found += sqs.receive_message(
                        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
                    ).get("Messages", [])
                assert len(found) == expected, len(found)
                return found

            def run_deliver(message: dict[str, Any]) -> None:
                record = _queue_record(message["Body"], message["MessageId"])
                assert deliver({"Records": [record]}, None) == {"batchItemFailures": []}

            def fan_out(records: list[Record]) -> None:
                stream = [_stream_record(r, n) for n, r in enumerate(records)]
                assert events_fn({"Records": stream}, None) == {"batchItemFailures": []}

            customers = iter(_customers(template, 40))
            fresh_container()
            measure("fan-out: 1 event, 1 webhook", lambda: fan_out([next(customers)]))
            batch = [next(customers) for _ in range(BATCH)]
            measure(
                f"fan-out: batch of {BATCH} events, 1 webhook, per event",
                lambda: fan_out(batch),
                BATCH,
            )
            first, second, third, *rest = receive(1 + BATCH)
            for message in rest:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            fresh_container()
            measure("deliver: attempt 1, delivered (new container)", lambda: run_deliver(first))
            measure("deliver: attempt 1, delivered (warm)", lambda: run_deliver(second))
            measure("deliver: the same message again (duplicate, skipped)", lambda: run_deliver(second))
            receiver.statuses.append(500)
            measure("deliver: attempt 1 answered 500 (retry queued)", lambda: run_deliver(third))
            (retry,) = receive(1)
            measure("deliver: attempt 2, delivered (warm)", lambda: run_deliver(retry))
            for n in range(2):
                _create_webhook(org, receiver.url, f"bench extra {n}")
            measure("fan-out: 1 event, 3 webhooks", lambda: fan_out([next(customers)]))
    finally:
        receiver.stop()
    return results


def _per_event_totals(calls: dict[str, dict[str, float]]) -> dict[str, float]:
    """AWS calls the functions make per delivered event, fan-out and deliver together."""

    def total(label: str) -> float:
        return round(sum(calls[label].values()), 2)

    steady = total(f"fan-out: batch of {BATCH} events, 1 webhook, per event") + total(
        "deliver: attempt 1, delivered (warm)"
    )
    alone = total("fan-out: 1 event, 1 webhook") + total("deliver: attempt 1, delivered (new container)")
    return {
        f"steady state (fan-out batches of {BATCH}, warm containers)": round(steady, 2),
        "one event alone (a fan-out batch of one, a new deliver container)": round(alone, 2),
        "each failed attempt (retry queued) adds": total("deliver: attempt 1 answered 500 (retry queued)"),
    }


# -- 3. Local run latency -------------------------------------------------------------------------


def _summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(_percentile(ms, 0.99), 1)}


def local_latency(count: int = LATENCY_CUSTOMERS) -> dict[str, Any]:
    """Create customers one at a time on the local run and time each one's webhook: paced (the
    next create after the webhook arrived) and back to back (the next create right after the
    response)."""
    from tests.e2e.conftest import launch, stop

    receiver = Receiver()
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as state_dir:
            local = launch(Path(state_dir))
            try:
                status, _, body = local.request(
                    "POST",
                    "/outbound-webhooks",
                    {"name": "bench", "url": receiver.url, "events": [EVENT_NAME]},
                )
                assert status == 201, body

                def create(n: int) -> tuple[str, float, float]:
                    sent = time.time()
                    status, _, body = local.request(
                        "POST",
                        "/customers",
                        {"name": f"Latency {n}", "emails": [{"email": f"latency{n}@example.com"}]},
                    )
                    assert status == 201, body
                    return body["data"]["id"], sent, time.time()

                for mode in ("paced", "back to back"):
                    timings: list[tuple[str, float, float]] = []
                    for n in range(count):
                        timings.append(create(n if mode == "paced" else count + n))
                        if mode == "paced":
                            receiver.arrival(timings[-1][0])
                    at = [receiver.arrival(cid) for cid, _, _ in timings]
                    results[mode] = {
                        "customers": count,
                        "from response": _summary([a - t[2] for a, t in zip(at, timings, strict=True)]),
                        "from request sent": _summary([a - t[1] for a, t in zip(at, timings, strict=True)]),
                        "create request": _summary([t[2] - t[1] for t in timings]),
                    }
            finally:
                stop(local.process)
    finally:
        receiver.stop()
    return results


def run() -> dict[str, Any]:
    calls = aws_calls()
    return {
        "throughput": throughput(),
        "aws_calls": calls,
        "aws_calls_per_delivered_event": _per_event_totals(calls),
        "local_run_latency": local_latency(),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
