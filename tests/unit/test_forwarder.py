"""Forwarder core with fakes: PutRecords chunking, retries that keep per-key order, the retry
budget, parking, the activation filter, the role credential cache, other sources' envelopes."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from switchboard.adapters.kinesis import (
    MAX_BYTES_PER_CALL,
    MAX_RECORD_BYTES,
    RoleCredentials,
    StreamWriter,
)
from switchboard.pipeline.forwarder import (
    CachedRegistrations,
    Forwarder,
    Registration,
    hook_received_event,
    partition_key,
    record,
    source_event,
    turned_off,
    webhook_disabled_event,
    workflow_run_event,
)

ARN = "arn:aws:kinesis:eu-west-1:210987654321:stream/kustomer-data-stream"
THROTTLED = "ProvisionedThroughputExceededException"
Fail = Callable[[int, int, dict[str, Any]], str | None]


class FakeKinesis:
    """put_records as Kinesis answers it: per-entry results; `fail(call, position, entry)`
    names an ErrorCode for the entries to refuse. `stream` holds what was written, in order."""

    def __init__(self, fail: Fail | None = None, raises: Callable[[int], Exception | None] | None = None):
        self.fail = fail or (lambda call, position, entry: None)
        self.raises = raises or (lambda call: None)
        self.calls: list[list[dict[str, Any]]] = []
        self.stream: list[tuple[str, bytes]] = []

    def put_records(self, StreamARN: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        assert StreamARN == ARN
        assert len(Records) <= 500
        assert sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in Records) <= MAX_BYTES_PER_CALL
        call = len(self.calls)
        self.calls.append(Records)
        error = self.raises(call)
        if error is not None:
            raise error
        results: list[dict[str, Any]] = []
        for position, entry in enumerate(Records):
            code = self.fail(call, position, entry)
            if code:
                results.append({"ErrorCode": code, "ErrorMessage": "Rate exceeded for shard"})
            else:
                self.stream.append((entry["PartitionKey"], entry["Data"]))
                results.append({"SequenceNumber": str(len(self.stream)), "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


class Sleeps:
    """An injected sleep that advances an injected monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def writer(client: Any, sleeps: Sleeps | None = None, **kw: Any) -> StreamWriter:
    sleeps = sleeps or Sleeps()
    return StreamWriter(client, sleep=sleeps.sleep, clock=sleeps.clock, jitter=lambda: 0.5, **kw)


def final_order(stream: list[tuple[str, bytes]]) -> dict[str, list[bytes]]:
    """Per key, the records in the order a consumer ends up with: each record's last copy."""
    last: dict[bytes, int] = {data: position for position, (_, data) in enumerate(stream)}
    per_key: dict[str, list[bytes]] = {}
    for position, (key, data) in enumerate(stream):
        if last[data] == position:
            per_key.setdefault(key, []).append(data)
    return per_key


def expected_order(records: list[tuple[str, bytes]]) -> dict[str, list[bytes]]:
    per_key: dict[str, list[bytes]] = {}
    for key, data in records:
        per_key.setdefault(key, []).append(data)
    return per_key


# --- chunking -------------------------------------------------------------------------------
def test_chunks_by_record_count() -> None:
    client = FakeKinesis()
    records = [(f"k{i % 7}", f"r{i}".encode()) for i in range(1201)]
    outcome = writer(client).put(ARN, records)
    assert [len(call) for call in client.calls] == [500, 500, 201]
    assert outcome.written == list(range(1201)) and not outcome.failed
    assert outcome.calls == 3 and outcome.rounds == 1 and outcome.resent == 0 and outcome.sent == 1201
    assert [data for _, data in client.stream] == [data for _, data in records]


def test_chunks_by_request_bytes() -> None:
    client = FakeKinesis()
    big = 600 * 1024
    records = [(f"k{i}", bytes([65 + i]) * big) for i in range(20)]
    outcome = writer(client).put(ARN, records)
    assert [len(call) for call in client.calls] == [8, 8, 4]  # 8 x 600 KiB fits in 5 MiB, 9 does not
    assert len(outcome.written) == 20


def test_oversize_records_and_bad_keys_are_not_sent() -> None:
    client = FakeKinesis()
    records = [
        ("a", b"1"),
        ("a", b"x" * MAX_RECORD_BYTES),  # with its key, one byte over
        ("", b"2"),
        ("k" * 257, b"3"),
        ("b", b"y" * (MAX_RECORD_BYTES - 1)),  # exactly at the limit
    ]
    outcome = writer(client).put(ARN, records)
    assert outcome.written == [0, 4]
    assert outcome.failed[1].startswith("RecordTooLarge")
    assert outcome.failed[2].startswith("InvalidPartitionKey") and outcome.failed[3].startswith(
        "InvalidPartitionKey"
    )
    assert [e["Data"] for e in client.calls[0]] == [b"1", records[4][1]]


# --- retries keep per-key order ---------------------------------------------------------------
def test_failed_entry_is_retried_with_every_later_entry_of_its_key() -> None:
    # A1 is throttled on the first call; A2 and A3 were written behind it, so they go again.
    client = FakeKinesis(
        fail=lambda call, pos, entry: THROTTLED if entry["Data"] == b"A1" and call == 0 else None
    )
    records = [("A", b"A1"), ("B", b"B1"), ("A", b"A2"), ("B", b"B2"), ("A", b"A3")]
    sleeps = Sleeps()
    outcome = writer(client, sleeps).put(ARN, records)
    assert [[e["Data"] for e in call] for call in client.calls] == [
        [b"A1", b"B1", b"A2", b"B2", b"A3"],
        [b"A1", b"A2", b"A3"],
    ]
    assert outcome.written == [0, 1, 2, 3, 4] and not outcome.failed
    assert outcome.resent == 3 and outcome.rounds == 2 and outcome.calls == 2 and outcome.sent == 8
    assert outcome.records_per_call == 4.0
    assert final_order(client.stream) == expected_order(records)
    assert len(sleeps.slept) == 1


def test_later_chunks_hold_back_a_key_that_failed_earlier() -> None:
    # 600 records over 3 keys: the first call (500) has "k0"'s first entry throttled; the
    # second call must not carry k0 at all; the retry carries every k0 entry, in order.
    records = [(f"k{i % 3}", f"{i}".encode()) for i in range(600)]
    client = FakeKinesis(
        fail=lambda call, pos, entry: THROTTLED if call == 0 and entry["Data"] == b"0" else None
    )
    outcome = writer(client).put(ARN, records)
    assert not outcome.failed and len(outcome.written) == 600
    assert all(e["PartitionKey"] != "k0" for e in client.calls[1])
    retry = [e["Data"] for e in client.calls[2]]
    assert retry == [data for key, data in records if key == "k0"]
    assert final_order(client.stream) == expected_order(records)


def test_random_throttling_keeps_per_key_order() -> None:
    import random

    rng = random.Random(7)
    records = [(f"obj{rng.randrange(40)}", f"e{i}".encode()) for i in range(2000)]
    client = FakeKinesis(fail=lambda call, pos, entry: THROTTLED if call < 6 and rng.random() < 0.2 else None)
    outcome = writer(client, max_rounds=10).put(ARN, records)
    assert not outcome.failed and outcome.written == list(range(2000))
    assert final_order(client.stream) == expected_order(records)
    assert {data for _, data in client.stream} == {data for _, data in records}


# --- the retry budget -------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_and_stops_after_the_rounds() -> None:
    client = FakeKinesis(fail=lambda call, pos, entry: "InternalFailure")
    sleeps = Sleeps()
    outcome = writer(client, sleeps, max_rounds=5, max_total_s=60).put(ARN, [("a", b"1"), ("a", b"2")])
    assert outcome.calls == outcome.rounds == 5 and not outcome.written
    assert sleeps.slept == pytest.approx([0.075, 0.15, 0.3, 0.6])  # cap 0.1 * 2^n, half jittered
    assert set(outcome.failed) == {0, 1} and outcome.failed[0].startswith("InternalFailure")


def test_backoff_is_capped_and_total_time_is_bounded() -> None:
    client = FakeKinesis(fail=lambda call, pos, entry: THROTTLED)
    sleeps = Sleeps()
    w = writer(client, sleeps, max_rounds=100, max_total_s=5.0, max_delay_s=1.0)
    outcome = w.put(ARN, [("a", b"1")])
    assert max(sleeps.slept) <= 1.0 and sleeps.now <= 5.0
    assert outcome.failed[0].startswith(THROTTLED) and outcome.waited_s == pytest.approx(sleeps.now)
    assert outcome.calls == len(sleeps.slept) + 1 < 100


def test_a_non_retryable_entry_fails_at_once_with_its_key_behind_it() -> None:
    client = FakeKinesis(
        fail=lambda call, pos, entry: "ValidationException" if entry["Data"] == b"A1" else None
    )
    records = [("A", b"A1"), ("B", b"B1"), ("A", b"A2")]
    outcome = writer(client).put(ARN, records)
    assert outcome.calls == 1 and outcome.written == [1]
    assert set(outcome.failed) == {0, 2}  # A2 was written, but is reported with A1, to go after it


def test_kms_errors_are_retried() -> None:
    client = FakeKinesis(fail=lambda call, pos, entry: "KMSThrottlingException" if call == 0 else None)
    outcome = writer(client).put(ARN, [("a", b"1")])
    assert outcome.written == [0] and outcome.calls == 2


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutRecords")


def test_whole_call_throttling_is_retried_and_a_missing_stream_stops_everything() -> None:
    throttled = FakeKinesis(raises=lambda call: _client_error(THROTTLED) if call == 0 else None)
    outcome = writer(throttled).put(ARN, [("a", b"1"), ("b", b"2")])
    assert outcome.written == [0, 1] and outcome.calls == 2

    gone = FakeKinesis(raises=lambda call: _client_error("ResourceNotFoundException"))
    records = [(f"k{i}", b"x") for i in range(1200)]
    outcome = writer(gone).put(ARN, records)
    assert outcome.calls == 1 and len(outcome.failed) == 1200
    assert outcome.failed[1199].startswith("ResourceNotFoundException")


# --- the forwarder ---------------------------------------------------------------------------
ORG, OTHER, DARK = "a" * 24, "b" * 24, "c" * 24


def registration(org: str, activated: str = "2026-03-01T00:00:00.000Z") -> Registration:
    return Registration(
        org=org,
        id=f"reg-{org[:4]}",
        accountId="210987654321",
        region="eu-west-1",
        externalId="sb-ext",
        streamArn=ARN,
        status="active",
        activatedAt=activated,
    )


class FakeRegistrations:
    def __init__(self, *found: Registration) -> None:
        self.found = {r.org: r for r in found}

    def active(self, org: str) -> Registration | None:
        return self.found.get(org)


class FakeParking:
    def __init__(self) -> None:
        self.parked: list[tuple[str, str, list[dict[str, Any]], str]] = []

    def park(self, org: str, registration_id: str, events: list[dict[str, Any]], reason: str) -> None:
        self.parked.append((org, registration_id, events, reason))


def event(org: str, object_id: str, rev: int, at: str = "2026-03-02T00:00:00.000Z") -> dict[str, Any]:
    return {
        "id": f"{object_id}-{rev}",
        "name": "kustomer.customer.update",
        "org": org,
        "partition": org,
        "data": {"type": "customer", "id": object_id, "attributes": {"rev": rev}},
        "changes": None,
        "createdAt": at,
        "dataId": object_id,
        "persist": True,
        "client": "api-gw",
    }


def forwarder(client: FakeKinesis, parking: FakeParking, *regs: Registration, **kw: Any) -> Forwarder:
    return Forwarder(FakeRegistrations(*regs), lambda reg: writer(client, **kw), parking)


def test_forwards_after_activation_only_and_skips_orgs_without_a_stream() -> None:
    client, parking = FakeKinesis(), FakeParking()
    events = [
        event(ORG, "o1", 1, at="2026-02-28T23:59:59.999Z"),  # before activation
        event(ORG, "o1", 2, at="2026-03-01T00:00:00.000Z"),  # at activation
        event(DARK, "o9", 1),
        event(ORG, "o2", 1),
    ]
    result = forwarder(client, parking, registration(ORG)).handle(events)
    assert (result.orgs[ORG].forwarded, result.orgs[ORG].skipped, result.orgs[ORG].parked) == (2, 1, 0)
    assert (result.orgs[DARK].forwarded, result.orgs[DARK].skipped) == (0, 1)
    assert result.calls == 1 and not parking.parked
    sent = [json.loads(data) for _, data in client.stream]
    assert [e["id"] for e in sent] == ["o1-2", "o2-1"] and sent[0] == events[1]
    assert [key for key, _ in client.stream] == ["o1", "o2"]
    assert client.calls[0][0]["Data"] == json.dumps(events[1], separators=(",", ":")).encode()


def test_an_inactive_registration_forwards_nothing() -> None:
    client = FakeKinesis()
    inactive = Registration(**{**registration(ORG).__dict__, "status": "inactive"})
    result = forwarder(client, FakeParking(), inactive).handle([event(ORG, "o1", 1)])
    assert result.orgs[ORG].skipped == 1 and not client.calls


def test_events_still_failing_after_the_budget_are_parked_in_order() -> None:
    # every entry of o1 is throttled; o2 goes through
    client = FakeKinesis(fail=lambda call, pos, entry: THROTTLED if entry["PartitionKey"] == "o1" else None)
    parking = FakeParking()
    events = [event(ORG, "o1", 1), event(ORG, "o2", 1), event(ORG, "o1", 2), event(OTHER, "o3", 1)]
    f = forwarder(client, parking, registration(ORG), registration(OTHER), max_rounds=3)
    result = f.handle(events)
    assert (result.orgs[ORG].forwarded, result.orgs[ORG].parked) == (1, 2)
    assert result.orgs[OTHER].forwarded == 1
    [(org, reg_id, parked, reason)] = parking.parked
    assert (org, reg_id) == (ORG, "reg-aaaa") and [e["id"] for e in parked] == ["o1-1", "o1-2"]
    assert reason.startswith(THROTTLED)

    # the cause goes away: a redrive sends them, in order, and parks nothing again
    client.fail = lambda call, pos, entry: None
    redriven = f.redrive(parked)
    assert redriven.orgs[ORG].forwarded == 2 and [e["id"] for e in redriven.orgs[ORG].written] == [
        "o1-1",
        "o1-2",
    ]
    assert len(parking.parked) == 1


def test_redrive_ignores_the_activation_time_but_needs_an_active_stream() -> None:
    client = FakeKinesis()
    old = event(ORG, "o1", 1, at="2026-01-01T00:00:00.000Z")
    f = forwarder(client, FakeParking(), registration(ORG))
    assert f.redrive([old]).orgs[ORG].forwarded == 1
    assert f.redrive([event(DARK, "o1", 1)]).orgs[DARK].skipped == 1


def test_a_backfill_sends_older_state_and_parks_what_fails() -> None:
    client = FakeKinesis(
        fail=lambda call, pos, entry: "AccessDeniedException" if entry["PartitionKey"] == "o2" else None
    )
    parking = FakeParking()
    old = [
        event(ORG, "o1", 3, at="2026-01-01T00:00:00.000Z"),
        event(ORG, "o2", 5, at="2026-01-01T00:00:00.000Z"),
    ]
    result = forwarder(client, parking, registration(ORG)).backfill(old)
    assert (result.orgs[ORG].forwarded, result.orgs[ORG].parked) == (1, 1)
    assert parking.parked[0][2] == [old[1]] and parking.parked[0][3].startswith("AccessDeniedException")


def test_registrations_are_looked_up_once_per_ttl() -> None:
    clock = Clock()
    looked_up: list[str] = []
    config = {"externalId": "sb-1", "registration": {**registration(ORG).__dict__}}

    def lookup(org: str) -> dict[str, Any] | None:
        looked_up.append(org)
        return config if org == ORG else None

    registrations = CachedRegistrations(lookup, ttl_s=60, clock=clock)
    assert registrations.active(ORG) == dataclasses.replace(registration(ORG), externalId="sb-1")
    assert registrations.active(ORG) is not None and registrations.active(DARK) is None
    assert registrations.active(DARK) is None and looked_up == [ORG, DARK]
    config["registration"]["status"] = "inactive"
    clock.now += 61
    assert registrations.active(ORG) is None and looked_up == [ORG, DARK, ORG]


def test_an_account_that_cannot_be_reached_parks_its_org_and_others_go_on() -> None:
    client, parking = FakeKinesis(), FakeParking()

    def writers(reg: Registration) -> StreamWriter:
        if reg.org == ORG:
            raise _client_error("AccessDenied")
        return writer(client)

    f = Forwarder(FakeRegistrations(registration(ORG), registration(OTHER)), writers, parking)
    result = f.handle([event(ORG, "o1", 1), event(OTHER, "o2", 1)])
    assert result.orgs[ORG].parked == 1 and result.orgs[OTHER].forwarded == 1
    assert "AccessDenied" in parking.parked[0][3]


def test_an_envelope_over_the_record_limit_drops_its_changes() -> None:
    big = event(ORG, "o1", 2)
    big["data"]["attributes"]["notes"] = "n" * 600_000
    big["changes"] = {
        "attributes": {"notes": {"op": "replace", "before": "m" * 600_000, "after": "n" * 600_000}}
    }
    key, data = record(big)
    slim = json.loads(data)
    assert key == "o1" and len(data) <= MAX_RECORD_BYTES
    assert slim["changes"] is None and slim["changesOmitted"] is True
    assert slim["data"]["attributes"]["notes"] == "n" * 600_000
    assert partition_key({"id": "x", "dataId": "k" * 300}) != partition_key({"id": "x", "dataId": "k" * 301})
    assert len(partition_key({"id": "x", "dataId": "k" * 300})) == 64


def test_registration_from_the_stored_config() -> None:
    config = {
        "externalId": "sb-123",
        "registration": {
            "id": "r1",
            "accountId": "210987654321",
            "region": "eu-west-1",
            "roleArn": "arn:aws:iam::210987654321:role/KustomerDataStreamRole",
            "streamArn": ARN,
            "status": "active",
            "activatedAt": "2026-03-01T00:00:00.000Z",
            "deactivatedAt": None,
        },
    }
    found = Registration.from_config(ORG, config)
    assert found is not None and found.active and found.externalId == "sb-123" and found.streamArn == ARN
    assert Registration.from_config(ORG, {"externalId": "x", "registration": None}) is None
    assert Registration.from_config(ORG, None) is None


# --- role credentials ------------------------------------------------------------------------
class FakeSts:
    def __init__(self, clock: Callable[[], float], lifetime_s: float = 3600) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def assume_role(self, **request: Any) -> dict[str, Any]:
        time.sleep(0.01)  # long enough for concurrent callers to pile up
        with self.lock:
            self.requests.append(request)
            n = len(self.requests)
        expires = datetime.fromtimestamp(self.clock() + self.lifetime_s, UTC)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{n:016d}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": expires,
            }
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_credentials_are_cached_until_five_minutes_before_expiry() -> None:
    clock = Clock()
    sts = FakeSts(clock)
    built: list[tuple[str, str, str]] = []

    def factory(service: str, region: str, credentials: dict[str, Any]) -> Any:
        built.append((service, region, credentials["AccessKeyId"]))
        return object()

    roles = RoleCredentials(sts, clock=clock, client_factory=factory)
    first = roles.kinesis("210987654321", "eu-west-1", "sb-ext")
    assert sts.requests == [
        {
            "RoleArn": "arn:aws:iam::210987654321:role/KustomerDataStreamRole",
            "RoleSessionName": "switchboard-forwarder",
            "ExternalId": "sb-ext",
            "DurationSeconds": 3600,
        }
    ]
    clock.now += 3600 - 301
    assert roles.kinesis("210987654321", "eu-west-1", "sb-ext") is first  # still fresh: same client
    assert roles.assume_calls == 1
    clock.now += 2  # 299 s before expiry
    renewed = roles.kinesis("210987654321", "eu-west-1", "sb-ext")
    assert renewed is not first and roles.assume_calls == 2
    assert built[-1][2] == "ASIA0000000000000002"
    roles.kinesis("210987654321", "eu-west-1", "sb-other")  # another ExternalId: its own role session
    roles.kinesis("111122223333", "eu-west-1", "sb-ext")
    assert roles.assume_calls == 4
    roles.kinesis("210987654321", "us-east-1", "sb-ext")  # another region: same credentials
    assert roles.assume_calls == 4 and len(built) == 5


def test_concurrent_callers_assume_the_role_once() -> None:
    clock = Clock()
    sts = FakeSts(clock)
    roles = RoleCredentials(
        sts, clock=clock, client_factory=lambda service, region, creds: creds["AccessKeyId"]
    )
    seen: list[str] = []

    def call() -> None:
        seen.append(roles.kinesis("210987654321", "eu-west-1", "sb-ext"))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sts.requests) == 1 and set(seen) == {"ASIA0000000000000001"}


def test_clients_honour_the_endpoint_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    monkeypatch.delenv("AWS_ENDPOINT_URL_KINESIS", raising=False)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    clock = Clock()
    roles = RoleCredentials(FakeSts(clock), clock=clock)
    kinesis = roles.kinesis("210987654321", "eu-west-1", "sb-ext")
    assert kinesis.meta.endpoint_url == "http://127.0.0.1:4599"
    assert kinesis.meta.region_name == "eu-west-1"
    assert kinesis.meta.config.retries["total_max_attempts"] == 1  # the writer retries, and counts


# --- other sources -------------------------------------------------------------------------
def test_hook_transaction_event() -> None:
    tx = {
        "id": "t" * 24,
        "hookId": "h" * 24,
        "hookType": "web",
        "receivedAt": "2026-03-02T10:00:00.000Z",
        "data": b'{"order": {"number": 7}}',
        "headers": {"authorization": "Bearer secret"},
    }
    built = hook_received_event(ORG, tx)
    assert built["name"] == f"kustomer.hooks.web.{'h' * 24}.receive"
    assert built["data"]["attributes"]["data"] == {"order": {"number": 7}}
    assert built["data"]["attributes"]["rev"] == 1 and built["dataId"] == "t" * 24
    assert built["createdAt"] == tx["receivedAt"] and "secret" not in json.dumps(built)
    assert built == source_event("hook_transaction", ORG, tx)  # deterministic id
    assert set(built) == set(event(ORG, "x", 1))


def test_workflow_run_event() -> None:
    run = {
        "id": "r" * 24,
        "workflowId": "w" * 24,
        "workflowRev": 3,
        "eventName": "kustomer.customer.create",
        "startedAt": "2026-03-02T10:00:00.000Z",
        "finishedAt": "2026-03-02T10:00:01.000Z",
        "status": "failed",
        "error": {"message": "boom"},
        "steps": [
            {
                "id": "s1",
                "action": "kustomer.customer.update",
                "input": {"pii": 1},
                "output": {},
                "error": None,
            }
        ],
    }
    built = workflow_run_event(ORG, run)
    assert built["name"] == "kustomer.workflow.run.failed" and built["createdAt"] == run["finishedAt"]
    assert built["data"]["attributes"]["steps"][0]["action"] == "kustomer.customer.update"
    assert "input" not in built["data"]["attributes"]["steps"][0]
    assert built["id"] == workflow_run_event(ORG, run)["id"] != workflow_run_event(OTHER, run)["id"]


def test_webhook_disabled_event() -> None:
    hook = {
        "id": "w" * 24,
        "rev": 4,
        "name": "Orders",
        "url": "https://hooks.example.com/k",
        "events": ["kustomer.customer.create"],
        "enabled": False,
        "isError": True,
        "disabledReason": "10 failed attempts",
        "token": "signing-secret",
        "headers": [{"name": "X-Api-Key", "value": "partner-secret"}],
        "createdAt": "2026-03-01T00:00:00.000Z",
        "updatedAt": "2026-03-02T00:00:00.000Z",
    }
    built = webhook_disabled_event(ORG, hook)
    assert built["name"] == "kustomer.outbound_webhook.disabled"
    assert built["data"]["attributes"]["rev"] == 4 and built["createdAt"] == hook["updatedAt"]
    assert "secret" not in json.dumps(built)
    assert turned_off({"enabled": True}, {"enabled": False})
    assert not turned_off({"enabled": False}, {"enabled": False}) and not turned_off({"enabled": True}, None)
