"""The local run's event-source pollers against a real moto server, with throwaway handlers.

The AWS side is the emulator's own (`AwsBackend`: moto server, declared tables and queues,
moto fixes); the functions are loaded and invoked by the emulator's `Functions`. Each test
starts from a clean moto (reset + provision) and waits for outcomes by polling with a deadline.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.aws import AwsBackend
from emulator.functions import Functions
from emulator.logs import LogRouter
from emulator.pollers import QueuePoller, StreamPoller, failed_identifiers
from switchboard import wiring
from switchboard.adapters.provision import create_queue
from tests.support.waiting import wait_until

PROBE_MODULE = "switchboard_poller_probe"
HANDLER = f"""
import {PROBE_MODULE} as probe

def handler(event, context):
    return probe.handle(event, context)
"""
FAST_POLL_S = 0.02


class Probe:
    """What the throwaway handlers do (`behaviour`) and what they saw (`events`, `times`)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.behaviour: Callable[[dict[str, Any]], Any] = lambda event: None
        self._lock = threading.Lock()

    def handle(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.events.append(event)
            self.times.append(time.monotonic())
        return self.behaviour(event)

    def batches(self, field: Callable[[dict[str, Any]], Any]) -> list[list[Any]]:
        with self._lock:
            return [[field(record) for record in event["Records"]] for event in self.events]

    def names(self) -> list[str]:
        """The `name` of every stream record seen, in the order seen."""
        return [name for batch in self.batches(name_of) for name in batch]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsBackend]:
    """One moto server for the module; the process environment is put back afterwards."""
    saved_environ = os.environ
    saved = dict(os.environ)
    aws = AwsBackend(0)
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()
        os.environ = saved_environ  # noqa: B003 - Functions installs a scoped view
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Probe:
    probe = Probe()
    monkeypatch.setitem(sys.modules, PROBE_MODULE, probe)  # type: ignore[arg-type]
    return probe


@pytest.fixture
def run_function(
    backend: AwsBackend, probe: Probe, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Load a throwaway function with one trigger and start its poller (stopped at teardown)."""
    backend.reset()
    started: list[Any] = []

    def run(trigger: wiring.Trigger, timeout_s: int = 5) -> Any:
        folder = tmp_path / "fn"
        folder.mkdir()
        (folder / "handler.py").write_text(textwrap.dedent(HANDLER))
        spec = wiring.FunctionSpec(
            name=f"probe_{request.node.name[:40]}".replace("[", "_").replace("]", "_").replace("-", "_"),
            code=str(folder),
            handler="handler.handler",
            description="poller probe",
            timeout_s=timeout_s,
            triggers=(trigger,),
        )
        functions = Functions((spec,), backend.tables, LogRouter(tmp_path / "logs"), backend.queues)
        functions.load_all()
        function = functions[spec.name]
        poller: Any
        if isinstance(trigger, wiring.StreamTrigger):
            poller = StreamPoller(
                function, trigger, backend, poll_interval_s=FAST_POLL_S, notice=lambda _: None
            )
        else:
            poller = QueuePoller(
                function, trigger, backend, poll_interval_s=FAST_POLL_S, notice=lambda _: None
            )
        poller.start()
        started.append(poller)
        return poller

    yield run
    for poller in started:
        poller.stop()


# --- DynamoDB stream -----------------------------------------------------------------------


def put(backend: AwsBackend, name: str, **extra: Any) -> None:
    item = {"pk": {"S": f"org#{name}"}, "sk": {"S": "object"}, "name": {"S": name}}
    item.update({key: {"S": value} for key, value in extra.items()})
    backend.client("dynamodb").put_item(TableName=backend.tables["objects"], Item=item)


def name_of(record: dict[str, Any]) -> str:
    image = record["dynamodb"].get("NewImage") or record["dynamodb"]["OldImage"]
    return image["name"]["S"]


def stream_trigger(**overrides: Any) -> wiring.StreamTrigger:
    settings = {
        "table": "objects",
        "batch_size": 3,
        "max_batching_window_s": 0,
        "max_retry_attempts": 2,
        "on_failure_queue": "events-failed",
    }
    settings.update(overrides)
    return wiring.StreamTrigger(**settings)


def test_stream_records_arrive_in_order_in_batches_in_lambdas_shape(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    for name in ("a", "b", "c", "d", "e"):
        put(backend, name)
    dynamodb = backend.client("dynamodb")
    dynamodb.update_item(
        TableName=backend.tables["objects"],
        Key={"pk": {"S": "org#a"}, "sk": {"S": "object"}},
        UpdateExpression="SET colour = :c",
        ExpressionAttributeValues={":c": {"S": "red"}},
    )
    dynamodb.delete_item(
        TableName=backend.tables["objects"], Key={"pk": {"S": "org#b"}, "sk": {"S": "object"}}
    )
    poller = run_function(stream_trigger())

    wait_until(lambda: sum(len(e["Records"]) for e in probe.events) >= 7, what="seven records")
    assert probe.batches(name_of) == [["a", "b", "c"], ["d", "e", "a"], ["b"]]
    records = [record for event in probe.events for record in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT"] * 5 + ["MODIFY", "REMOVE"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences) and len(set(sequences)) == 7
    stream_arn = dynamodb.describe_table(TableName=backend.tables["objects"])["Table"]["LatestStreamArn"]
    for record in records:
        assert set(record) == {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        }
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn == poller.stream_arn
        assert record["awsRegion"] == "us-east-1"
        change = record["dynamodb"]
        assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(change["ApproximateCreationDateTime"], int)
        assert abs(change["ApproximateCreationDateTime"] - time.time()) < 60
        assert isinstance(change["SizeBytes"], int) and change["SizeBytes"] > 0
        assert set(change["Keys"]) == {"pk", "sk"}
    modify, remove = records[5]["dynamodb"], records[6]["dynamodb"]
    assert modify["OldImage"]["name"] == {"S": "a"} and "colour" not in modify["OldImage"]
    assert modify["NewImage"]["colour"] == {"S": "red"}
    assert "NewImage" not in remove and remove["OldImage"]["name"] == {"S": "b"}


def test_records_written_while_running_flow_too(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    poller = run_function(stream_trigger(batch_size=100))
    assert poller.settle(5)
    put(backend, "late")
    wait_until(lambda: probe.events, what="an invocation")
    assert probe.batches(name_of) == [["late"]]


def test_the_batching_window_gathers_records(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    poller = run_function(stream_trigger(batch_size=100, max_batching_window_s=1))
    started = time.monotonic()
    put(backend, "first")
    # The second write lands once the poller holds the first, inside the first one's window.
    wait_until(lambda: any(shard.buffer for shard in poller._shards), what="the first record read")
    put(backend, "second")
    wait_until(lambda: probe.events, what="an invocation")
    assert probe.batches(name_of) == [["first", "second"]]
    assert probe.times[0] - started >= 1.0


def test_a_partial_batch_failure_redelivers_from_the_failed_record_only(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    failed_once: set[str] = set()

    def behaviour(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if name_of(record) in {"b", "c"} and name_of(record) not in failed_once:
                failed_once.add(name_of(record))
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    probe.behaviour = behaviour
    for name in ("a", "b", "c", "d", "e", "f"):
        put(backend, name)
    run_function(stream_trigger())
    wait_until(lambda: "f" in probe.names(), what="the last record")
    assert probe.batches(name_of) == [["a", "b", "c"], ["b", "c"], ["c"], ["d", "e", "f"]]


def test_a_malformed_batch_response_fails_the_whole_batch(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}])
    probe.behaviour = lambda event: next(answers, None)
    for name in ("a", "b"):
        put(backend, name)
    run_function(stream_trigger())
    wait_until(lambda: len(probe.events) >= 2, what="a retry")
    assert probe.batches(name_of) == [["a", "b"], ["a", "b"]]


def test_a_raising_handler_bisects_then_discards_to_the_on_failure_queue_and_moves_on(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    def behaviour(event: dict[str, Any]) -> None:
        if any(name_of(record) == "poison" for record in event["Records"]):
            raise ValueError("cannot handle poison")

    probe.behaviour = behaviour
    for name in ("a", "b", "poison", "d", "e", "f"):
        put(backend, name)
    poller = run_function(stream_trigger(batch_size=4, max_retry_attempts=1))
    wait_until(lambda: "f" in probe.names(), what="the records after the poison")
    assert probe.batches(name_of) == [
        ["a", "b", "poison", "d"],  # fails: split in two (no retry used)
        ["a", "b"],
        ["poison", "d"],  # fails: split again
        ["poison"],  # fails
        ["poison"],  # the one retry; fails: discarded
        ["d"],
        ["e", "f"],
    ]
    poison = next(r for e in probe.events for r in e["Records"] if name_of(r) == "poison")
    sqs = backend.client("sqs")
    messages = wait_until(
        lambda: sqs.receive_message(QueueUrl=backend.queues["events-failed"], MaxNumberOfMessages=10).get(
            "Messages"
        ),
        what="an on-failure record",
    )
    assert len(messages) == 1
    description = json.loads(messages[0]["Body"])
    assert description["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert description["requestContext"]["approximateInvokeCount"] == 2
    assert description["requestContext"]["functionArn"] == poller.function.arn
    assert description["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert description["version"] == "1.0"
    info = description["DDBStreamBatchInfo"]
    sequence = poison["dynamodb"]["SequenceNumber"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence
    assert info["batchSize"] == 1
    assert info["streamArn"] == poller.stream_arn
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_without_bisect_a_failing_batch_is_retried_whole_then_discarded(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    def behaviour(event: dict[str, Any]) -> None:
        raise RuntimeError("always")

    probe.behaviour = behaviour
    for name in ("a", "b"):
        put(backend, name)
    run_function(stream_trigger(bisect_on_error=False, max_retry_attempts=2))
    sqs = backend.client("sqs")
    [message] = wait_until(
        lambda: sqs.receive_message(QueueUrl=backend.queues["events-failed"]).get("Messages"),
        what="an on-failure record",
    )
    assert probe.batches(name_of) == [["a", "b"]] * 3
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2


# --- SQS -----------------------------------------------------------------------------------


def probe_queue(backend: AwsBackend, **settings: Any) -> str:
    """A queue made for one test (short visibility timeout), registered as key 'probe'."""
    spec = wiring.Queue(key="probe", env_var="PROBE_QUEUE_URL", **settings)
    backend.queues.update(create_queue(backend.client("sqs"), spec))
    return backend.queues["probe"]


def body_of(record: dict[str, Any]) -> str:
    return record["body"]


def queue_counts(backend: AwsBackend, url: str) -> tuple[int, int]:
    attributes = backend.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_queue_messages_arrive_in_lambdas_shape_and_are_deleted(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    url = probe_queue(backend, visibility_timeout_s=5, max_receive_count=3)
    sqs = backend.client("sqs")
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"n": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "test"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    poller = run_function(wiring.QueueTrigger(queue="probe", batch_size=10))
    wait_until(lambda: probe.events, what="an invocation")
    [[record]] = [event["Records"] for event in probe.events]
    assert record["body"] == '{"n": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == poller.queue_arn
    assert poller.queue_arn.endswith(":switchboard-probe")
    assert record["awsRegion"] == "us-east-1"
    assert record["messageId"] and record["receiptHandle"] and record["md5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    wait_until(lambda: queue_counts(backend, url) == (0, 0), what="the message deleted")


def test_failed_items_come_back_after_the_visibility_timeout_then_go_to_the_dlq(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    url = probe_queue(backend, visibility_timeout_s=1, max_receive_count=2)
    probe.behaviour = lambda event: {
        "batchItemFailures": [
            {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"
        ]
    }
    sqs = backend.client("sqs")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(["ok1", "bad", "ok2"])],
    )
    run_function(wiring.QueueTrigger(queue="probe", batch_size=10))
    dlq = backend.queues["probe-dlq"]
    dead = wait_until(
        lambda: sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"]).get("Messages"),
        what="the bad message in the DLQ",
    )
    assert [m["Body"] for m in dead] == ["bad"]
    received = [r for e in probe.events for r in e["Records"]]
    assert sorted(r["body"] for r in received) == ["bad", "bad", "ok1", "ok2"]
    bad = [r for r in received if r["body"] == "bad"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in bad] == ["1", "2"]
    # It came back only after the visibility timeout.
    first, second = (
        probe.times[i] for i, e in enumerate(probe.events) if "bad" in map(body_of, e["Records"])
    )
    assert second - first >= 0.9
    assert queue_counts(backend, url) == (0, 0)


def test_a_raising_handler_leaves_the_whole_batch(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    url = probe_queue(backend, visibility_timeout_s=1, max_receive_count=5)
    calls = iter([RuntimeError("first time")])

    def behaviour(event: dict[str, Any]) -> None:
        error = next(calls, None)
        if error is not None:
            raise error

    probe.behaviour = behaviour
    sqs = backend.client("sqs")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)])
    run_function(wiring.QueueTrigger(queue="probe", batch_size=10))
    # SQS may split the three messages over several receives; every message of the failed
    # batch must come back (receive count 2), and all end up deleted.
    wait_until(lambda: queue_counts(backend, url) == (0, 0), what="the batch deleted")
    failed = [body_of(r) for r in probe.events[0]["Records"]]
    again = [
        body_of(r)
        for event in probe.events[1:]
        for r in event["Records"]
        if r["attributes"]["ApproximateReceiveCount"] == "2"
    ]
    assert failed and sorted(failed) == sorted(again)


def test_delay_seconds_is_honoured(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    url = probe_queue(backend, visibility_timeout_s=5, max_receive_count=3)
    run_function(wiring.QueueTrigger(queue="probe", batch_size=10))
    sent = time.monotonic()
    backend.client("sqs").send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    wait_until(lambda: probe.events, what="the delayed message")
    assert probe.times[0] - sent >= 1.0


def test_batches_run_in_parallel_up_to_the_warm_containers(
    backend: AwsBackend, probe: Probe, run_function: Callable[..., Any]
) -> None:
    url = probe_queue(backend, visibility_timeout_s=5, max_receive_count=3)
    release = threading.Event()
    probe.behaviour = lambda event: release.wait(5)
    sqs = backend.client("sqs")
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    run_function(wiring.QueueTrigger(queue="probe", batch_size=1))
    try:
        wait_until(lambda: len(probe.events) == 3, what="three batches in flight at once")
    finally:
        release.set()
    wait_until(lambda: queue_counts(backend, url) == (0, 0), what="all deleted")


# --- batch responses (no AWS) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, []),
        ({}, []),
        ({"batchItemFailures": None}, []),
        ({"batchItemFailures": []}, []),
        ({"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "1"}]}, ["2", "1"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"itemId": "1"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "9"}]}, None),
        ({"batchItemFailures": "1"}, None),
    ],
)
def test_batch_responses_read_as_lambda_reads_them(result: Any, expected: list[str] | None) -> None:
    assert failed_identifiers(result, ["1", "2", "3"]) == expected
