"""The sample consumer kustomer-data-stream-fn, driven with hand-built Kinesis event records:
events in order, duplicated, reordered, and records that cannot be decoded."""

from __future__ import annotations

import ast
import base64
import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "data_stream_consumer" / "handler.py"
STREAM_ARN = "arn:aws:kinesis:us-east-1:210987654321:stream/kustomer-data-stream"
_sequence = itertools.count(49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_001)


@pytest.fixture
def consumer() -> ModuleType:
    """A fresh import of the handler file: one new Lambda container with empty memory."""
    spec = importlib.util.spec_from_file_location("data_stream_consumer_under_test", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def envelope(data_id: str, rev: int | None, name: str = "kustomer.customer.update") -> dict[str, Any]:
    """An event envelope as the platform puts it on the stream (wire format section 5)."""
    attributes: dict[str, Any] = {"name": f"Customer {data_id}"}
    if rev is not None:
        attributes["rev"] = rev
    return {
        "id": f"evt-{data_id}-{rev}",
        "name": name,
        "org": "org-1",
        "partition": "org-1",
        "data": {"type": "customer", "id": data_id, "attributes": attributes, "relationships": {}},
        "changes": None,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "dataId": data_id,
        "persist": True,
        "client": "api-gw",
    }


def raw_record(data: bytes, partition_key: str = "org-1") -> dict[str, Any]:
    """One `Records[]` entry of a Kinesis event as Lambda delivers it."""
    sequence = str(next(_sequence))
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": 1767225600.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::210987654321:role/KustomerLambdaRole",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
    }


def record(event: dict[str, Any]) -> dict[str, Any]:
    return raw_record(json.dumps(event).encode())


def run(
    consumer: ModuleType, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> list[dict]:
    """Invoke the handler with one batch; returns the JSON lines it logged."""
    result = consumer.handler({"Records": records}, None)
    assert result == {"batchItemFailures": []}
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines]


def test_in_order_events_are_logged_whole_and_none_is_stale(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [envelope("cus-1", rev) for rev in (1, 2, 3)]
    records = [record(event) for event in events]
    lines = run(consumer, records, capsys)
    assert [line["rev"] for line in lines] == [1, 2, 3]
    assert [line["stale"] for line in lines] == [False, False, False]
    for line, event, rec in zip(lines, events, records, strict=True):
        assert line["event"] == event
        assert (line["id"], line["name"], line["dataId"]) == (event["id"], event["name"], "cus-1")
        assert line["sequenceNumber"] == rec["kinesis"]["sequenceNumber"]
    assert consumer.latest == {"cus-1": 3}


def test_a_duplicate_is_stale(consumer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    event = envelope("cus-1", 4)
    lines = run(consumer, [record(event), record(event)], capsys)
    assert lines[0]["stale"] is False
    assert lines[1]["stale"] is True
    assert lines[1]["rev"] == lines[1]["latestRev"] == 4


def test_a_reordered_older_rev_is_stale_and_does_not_lower_the_mark(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run(consumer, [record(envelope("cus-1", rev)) for rev in (2, 1, 3)], capsys)
    assert [(line["rev"], line["stale"]) for line in lines] == [(2, False), (1, True), (3, False)]
    assert lines[1]["latestRev"] == 2
    assert "latestRev" not in lines[2]
    assert consumer.latest == {"cus-1": 3}


def test_the_mark_survives_between_batches_of_one_container(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    run(consumer, [record(envelope("cus-1", 5))], capsys)
    [late] = run(consumer, [record(envelope("cus-1", 3))], capsys)
    assert late["stale"] is True and late["latestRev"] == 5


def test_objects_are_tracked_independently(consumer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    lines = run(consumer, [record(envelope("cus-1", 7)), record(envelope("cus-2", 1))], capsys)
    assert [line["stale"] for line in lines] == [False, False]
    assert consumer.latest == {"cus-1": 7, "cus-2": 1}


def test_events_without_rev_are_never_stale(consumer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    event = envelope("cus-1", None, name="kustomer.tracking-identified.create")
    lines = run(consumer, [record(event), record(event)], capsys)
    assert [(line["rev"], line["stale"]) for line in lines] == [(None, False), (None, False)]
    assert consumer.latest == {}


def test_the_object_id_falls_back_to_data_id(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    event = envelope("cus-9", 2)
    del event["dataId"]
    lines = run(consumer, [record(event), record(event)], capsys)
    assert [line["dataId"] for line in lines] == ["cus-9", "cus-9"]
    assert lines[1]["stale"] is True


@pytest.mark.parametrize(
    "data",
    [b"not json at all", b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00"],
    ids=["text", "array", "string", "binary"],
)
def test_an_undecodable_record_is_logged_and_skipped(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    bad = raw_record(data)
    lines = run(consumer, [bad, record(envelope("cus-1", 1))], capsys)
    assert lines[0] == {"sequenceNumber": bad["kinesis"]["sequenceNumber"], "undecodable": True}
    assert lines[1]["rev"] == 1 and lines[1]["stale"] is False


def test_data_that_is_not_base64_is_undecodable(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = raw_record(b"{}")
    bad["kinesis"]["data"] = "***not base64***"
    [line] = run(consumer, [bad], capsys)
    assert line["undecodable"] is True


def test_a_failure_after_decoding_is_reported_and_retried_from_that_record(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record(envelope("cus-1", 1)), record(envelope("cus-2", 1)), record(envelope("cus-3", 1))]
    real = consumer.describe

    def failing(rec: dict[str, Any]) -> Any:
        if rec is records[1]:
            raise RuntimeError("the customer's store is down")
        return real(rec)

    monkeypatch.setattr(consumer, "describe", failing)
    result = consumer.handler({"Records": records}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["kinesis"]["sequenceNumber"]}]}
    assert len(capsys.readouterr().out.splitlines()) == 1  # later records wait for the retry
    assert consumer.latest == {"cus-1": 1}


def test_memory_is_bounded(
    consumer: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer, "MAX_TRACKED", 2)
    run(consumer, [record(envelope(f"cus-{n}", 1)) for n in (1, 2, 3)], capsys)
    assert consumer.latest == {"cus-2": 1, "cus-3": 1}


def test_each_event_is_one_log_line(consumer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    event = envelope("cus-1", 1)
    event["data"]["attributes"]["note"] = "line one\nline two"
    consumer.handler({"Records": [record(event)]}, None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1


def test_an_empty_batch_reports_nothing(consumer: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(consumer, [], capsys) == []


def test_the_handler_needs_only_the_standard_library() -> None:
    """It is inlined into the template: nothing but the runtime is there to import."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
