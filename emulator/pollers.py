"""Event-source pollers: the local run's event source mappings, generated from the wiring.

moto stores DynamoDB stream records and SQS messages but runs no Lambda code, so each trigger
declared on a function (`wiring.StreamTrigger`, `wiring.QueueTrigger`, `wiring.ScheduleTrigger`)
is played by a poller in this process. It reads a batch, invokes the function through
`LocalFunction.invoke` (so logs, timeouts and warm containers apply) with the event Lambda
builds, and applies Lambda's semantics. Partial batch responses are always honoured: the stack turns
ReportBatchItemFailures on for every mapping.

DynamoDB stream (one reader per shard, records in order):
- a batch is up to `batch_size` records, sent when it is full or `max_batching_window_s`
  after its first record arrived; idle shards are polled four times a second, as Lambda does;
- `batchItemFailures` checkpoints at the lowest reported sequence number: the records before
  it are done, the rest are retried (an unknown or malformed identifier fails the whole batch);
- a function error (exception, timeout) with `bisect_on_error` splits the batch in two and
  retries each half in order; splitting does not use up retries, retrying does;
- past `max_retry_attempts` retries the records are discarded: a description of them (the
  JSON Lambda sends to an on-failure destination) goes to `on_failure_queue`, and the shard
  moves on.

SQS (a receiver hands batches to up to the function's number of warm containers):
- ReceiveMessage for up to `batch_size` messages (within `max_batching_window_s`), all system
  and message attributes; success deletes the batch, `batchItemFailures` deletes all but the
  reported ones, an error (or an unknown identifier) deletes nothing. What is not deleted comes
  back after the queue's visibility timeout and, past maxReceiveCount, SQS (moto) moves it to
  the dead-letter queue. DelaySeconds is SQS's own.
- Receives are short polls with a pause when the queue is empty: the moto server answers one
  request at a time (`aws.Serialized`), so a 20 s long poll would hold up every other call.

Positions: a stream poller's position is, per shard, the sequence number of the last record it
finished with (handled, or discarded after its retries); the snapshots save it
(`emulator.snapshot`) and a poller resumed from it reads on right after it, so the records
read but not finished when the run stopped are handled after the restart. A queue poller needs
no position: what it had received and not deleted is still in the queue.

Where the local run differs on purpose: retries follow each other at once (Lambda backs off),
and a stop abandons the retries of the batch in hand (its records are not past the position,
so the next run handles them again).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from emulator.aws import ACCOUNT_ID, REGION
from emulator.functions import MAX_PAYLOAD_BYTES, InvocationError, LocalFunction
from emulator.logs import utc_now_iso
from switchboard import wiring

if TYPE_CHECKING:
    from emulator.aws import AwsBackend
    from emulator.functions import Functions
    from emulator.run import LocalRun

STREAM_POLL_INTERVAL_S = 0.25  # Lambda polls each shard four times a second
QUEUE_POLL_INTERVAL_S = 0.1  # the pause after an empty short poll
GET_RECORDS_LIMIT = 1000  # DynamoDB Streams' maximum per GetRecords
SQS_RECEIVE_MAX = 10  # SQS's maximum per ReceiveMessage
STOP_GRACE_S = 10.0  # how long stop() waits for the batch in hand

Notice = Callable[[str], None]


class Poller(Protocol):
    """A background loop the runner starts after the API and stops before AWS goes away."""

    name: str

    def start(self) -> None:
        """Begin polling on a daemon thread; return at once."""

    def stop(self) -> None:
        """Finish the batch in hand, then return; called once, from the main thread."""

    def settle(self, timeout_s: float) -> bool:
        """Wait until what the source held at start has been handled; False if it took longer."""


class Resumable(Protocol):
    """A poller with a position to save (see `emulator.snapshot`)."""

    name: str

    def position(self) -> dict[str, str]:
        """Where it stands now, JSON-compatible; read from another thread."""

    def resume(self, position: dict[str, str]) -> None:
        """Before start(): go on from a saved position."""


def _stderr_notice(line: str) -> None:
    print(line, file=sys.__stderr__, flush=True)


# --- batch responses -----------------------------------------------------------------------


def failed_identifiers(result: Any, known: Iterable[str]) -> list[str] | None:
    """The item identifiers a partial batch response reports, in the order given.

    [] is complete success (no response, no or an empty list); None is complete failure (an
    identifier that is empty, not a string, misspelt, or not in the batch), as Lambda reads it.
    """
    if not isinstance(result, dict):
        return []
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    valid = set(known)
    found: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in valid:
            return None
        found.append(identifier)
    return found


# --- DynamoDB streams ----------------------------------------------------------------------


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB attribute value as the JSON wire (and Lambda) carries it: binaries base64."""
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode("ascii") for item in inner]}
    if kind == "M":
        return {"M": {name: _attribute(item) for name, item in inner.items()}}
    if kind == "L":
        return {"L": [_attribute(item) for item in inner]}
    return {kind: inner}


def _image(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _attribute(value) for name, value in image.items()}


def _epoch_seconds(value: Any) -> int:
    """ApproximateCreationDateTime: epoch seconds, rounded down (boto3 parses it to a datetime)."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(float(value))


def stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One `Records[]` entry of the DynamoDB stream event Lambda sends, from a GetRecords record."""
    change = record["dynamodb"]
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": _epoch_seconds(change["ApproximateCreationDateTime"]),
        "Keys": _image(change["Keys"]),
    }
    for name in ("NewImage", "OldImage"):
        if name in change:
            dynamodb[name] = _image(change[name])
    dynamodb.update(
        {
            "SequenceNumber": change["SequenceNumber"],
            "SizeBytes": change["SizeBytes"],
            "StreamViewType": change["StreamViewType"],
        }
    )
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _iso_seconds(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fit(records: list[dict[str, Any]]) -> int:
    """How many of the leading records fit one invocation payload (at least one)."""
    size = len('{"Records":[]}')
    for count, record in enumerate(records):
        size += len(json.dumps(record)) + 1
        if size > MAX_PAYLOAD_BYTES:
            return max(1, count)
    return len(records)


class _Shard:
    """Where one shard's reader stands: its iterator and the records read but not yet handled."""

    def __init__(self, shard_id: str) -> None:
        self.shard_id = shard_id
        self.iterator: str | None = None
        self.last_read: str | None = None  # sequence number of the last record read
        self.checkpoint: str | None = None  # sequence number of the last record finished with
        self.buffer: list[dict[str, Any]] = []
        self.first_buffered_at = 0.0
        self.closed = False


class StreamPoller:
    """A DynamoDB stream event source mapping: `trigger.table`'s stream -> `function`."""

    def __init__(
        self,
        function: LocalFunction,
        trigger: wiring.StreamTrigger,
        aws: AwsBackend,
        *,
        notice: Notice = _stderr_notice,
        poll_interval_s: float = STREAM_POLL_INTERVAL_S,
    ) -> None:
        self.function = function
        self.trigger = trigger
        self.name = f"{trigger.table} stream -> {function.spec.name}"
        self.table_name = aws.tables[trigger.table]
        self.on_failure_url = aws.queues[trigger.on_failure_queue] if trigger.on_failure_queue else None
        self.notice = notice
        self.poll_interval_s = poll_interval_s
        self._dynamodb = aws.client("dynamodb")
        self._streams = aws.client("dynamodbstreams")
        self._sqs = aws.client("sqs")
        self.stream_arn = ""
        self._shards: list[_Shard] = []
        self._resume_from: dict[str, str] = {}
        self._stop = threading.Event()
        self._settled = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.stream_arn = self._dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        described = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        # moto keeps one open shard per stream for the table's life, so the shards are read once.
        self._shards = [_Shard(shard["ShardId"]) for shard in described["Shards"]]
        for shard in self._shards:
            saved = self._resume_from.get(shard.shard_id)
            if saved:
                shard.checkpoint = shard.last_read = saved
                shard.iterator = self._iterator(shard, "AFTER_SEQUENCE_NUMBER", saved)
            else:
                shard.iterator = self._iterator(shard, self.trigger.starting_position)
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE_S)

    def settle(self, timeout_s: float) -> bool:
        return self._settled.wait(timeout_s)

    def position(self) -> dict[str, str]:
        return {shard.shard_id: shard.checkpoint for shard in list(self._shards) if shard.checkpoint}

    def resume(self, position: dict[str, str]) -> None:
        self._resume_from = dict(position)

    def _iterator(self, shard: _Shard, position: str, sequence: str | None = None) -> str:
        request = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": position}
        if sequence is not None:
            request["SequenceNumber"] = sequence
        return self._streams.get_shard_iterator(**request)["ShardIterator"]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = any([self._poll(shard) for shard in self._shards])
            except Exception as exc:  # the moto server stopping under us, or a bug: say so, go on
                if self._stop.is_set():
                    return
                self.notice(f"{self.name}: poller error {exc!r}")
                busy = False
            if not busy:
                if not any(shard.buffer for shard in self._shards):
                    self._settled.set()  # a read found nothing new and nothing is waiting
                self._stop.wait(self.poll_interval_s)

    def _poll(self, shard: _Shard) -> bool:
        """Read what fits the next batch; invoke when it is full or its window has passed."""
        batch_size = self.trigger.batch_size
        if len(shard.buffer) < batch_size and not shard.closed:
            self._read(shard, batch_size - len(shard.buffer))
        if not shard.buffer:
            return False
        waited = time.monotonic() - shard.first_buffered_at
        if len(shard.buffer) < batch_size and waited < self.trigger.max_batching_window_s:
            return False
        batch = shard.buffer[:batch_size]
        batch = batch[: _fit(batch)]
        del shard.buffer[: len(batch)]
        if self._process(shard, batch):
            shard.checkpoint = batch[-1]["dynamodb"]["SequenceNumber"]
        return True

    def _read(self, shard: _Shard, wanted: int) -> None:
        if shard.iterator is None:
            return
        try:
            page = self._streams.get_records(
                ShardIterator=shard.iterator, Limit=min(GET_RECORDS_LIMIT, max(1, wanted))
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            # An iterator lives 15 minutes: resume right after the last record read.
            shard.iterator = (
                self._iterator(shard, "AFTER_SEQUENCE_NUMBER", shard.last_read)
                if shard.last_read
                else self._iterator(shard, self.trigger.starting_position)
            )
            return
        shard.iterator = page.get("NextShardIterator")
        shard.closed = shard.iterator is None
        records = [stream_record(record, self.stream_arn) for record in page.get("Records", [])]
        if records:
            if not shard.buffer:
                shard.first_buffered_at = time.monotonic()
            shard.buffer.extend(records)
            shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]

    def _process(self, shard: _Shard, batch: list[dict[str, Any]]) -> bool:
        """One batch to completion: partial failures, bisection, retries, then the on-failure queue.

        False when a stop abandoned it: the position stays before it.
        """
        limit = self.trigger.max_retry_attempts  # -1: retry until the records expire
        pending: deque[tuple[list[dict[str, Any]], int]] = deque([(batch, 0)])
        while pending:
            records, retries = pending.popleft()
            if retries and self._stop.is_set():
                return False  # stopping: the retries of this batch are abandoned
            request_id = str(uuid.uuid4())
            error: InvocationError | None = None
            try:
                result = self.function.invoke({"Records": records})
            except InvocationError as exc:
                error = exc
            if error is None:
                sequences = [record["dynamodb"]["SequenceNumber"] for record in records]
                failed = failed_identifiers(result, sequences)
                if failed == []:
                    continue
                # The checkpoint is the lowest reported sequence number; None fails the whole batch.
                start = 0 if failed is None else min(sequences.index(sequence) for sequence in failed)
                remaining = records[start:]
            elif self.trigger.bisect_on_error and len(records) > 1:
                middle = len(records) // 2
                pending.appendleft((records[middle:], retries))
                pending.appendleft((records[:middle], retries))
                continue
            else:
                remaining = records
            if 0 <= limit <= retries:
                self._discard(shard, remaining, request_id, retries + 1, error)
                continue
            pending.appendleft((remaining, retries + 1))
        return True

    def _discard(
        self,
        shard: _Shard,
        records: list[dict[str, Any]],
        request_id: str,
        invocations: int,
        error: InvocationError | None,
    ) -> None:
        """Give up on records: describe them to the on-failure queue, as Lambda does, and move on."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error is not None:
            response["functionError"] = "Unhandled"
        description = {
            "requestContext": {
                "requestId": request_id,
                "functionArn": self.function.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": utc_now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso_seconds(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso_seconds(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        where = "dropped (no on-failure destination)"
        if self.on_failure_url is not None:
            self._sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(description))
            where = f"described to {self.trigger.on_failure_queue}"
        self.notice(
            f"{self.name}: {len(records)} record(s) {first['SequenceNumber']}..{last['SequenceNumber']} "
            f"discarded after {invocations} invocation(s), {where}"
        )


# --- SQS -----------------------------------------------------------------------------------


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute in the Lambda event's camel case; binaries base64 as Lambda sends them."""
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value["DataType"]
    return converted


def queue_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One `Records[]` entry of the SQS event Lambda sends, from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION})
    return record


class QueuePoller:
    """An SQS event source mapping: `trigger.queue` -> `function`, batches handled in parallel."""

    def __init__(
        self,
        function: LocalFunction,
        trigger: wiring.QueueTrigger,
        aws: AwsBackend,
        *,
        notice: Notice = _stderr_notice,
        poll_interval_s: float = QUEUE_POLL_INTERVAL_S,
        concurrency: int | None = None,
    ) -> None:
        self.function = function
        self.trigger = trigger
        self.name = f"{trigger.queue} queue -> {function.spec.name}"
        self.queue_url = aws.queues[trigger.queue]
        self.notice = notice
        self.poll_interval_s = poll_interval_s
        self.concurrency = concurrency or function.concurrency
        self._sqs = aws.client("sqs")
        self.queue_arn = ""
        self._slots = threading.Semaphore(self.concurrency)
        self._workers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._settled = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + STOP_GRACE_S
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE_S)
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))

    def settle(self, timeout_s: float) -> bool:
        return self._settled.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=self.poll_interval_s):
                continue  # every container busy
            try:
                messages = self._receive()
            except Exception as exc:
                self._slots.release()
                if self._stop.is_set():
                    return
                self.notice(f"{self.name}: poller error {exc!r}")
                self._stop.wait(self.poll_interval_s)
                continue
            if not messages:
                self._slots.release()
                with self._lock:
                    if not self._workers:
                        self._settled.set()  # an empty receive with no batch in hand
                self._stop.wait(self.poll_interval_s)
                continue
            worker = threading.Thread(
                target=self._work, args=(messages,), name=f"batch-{self.name}", daemon=True
            )
            with self._lock:
                self._workers.add(worker)
            worker.start()

    def _receive(self) -> list[dict[str, Any]]:
        """Up to batch_size messages, gathered for at most the batching window."""
        deadline = time.monotonic() + self.trigger.max_batching_window_s
        messages: list[dict[str, Any]] = []
        while len(messages) < self.trigger.batch_size:
            page = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, self.trigger.batch_size - len(messages)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += page
            if time.monotonic() >= deadline or self._stop.is_set():
                break
            if not page:
                self._stop.wait(min(self.poll_interval_s, max(0.0, deadline - time.monotonic())))
        return messages

    def _work(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._handle(messages)
        except Exception as exc:
            self.notice(f"{self.name}: {exc!r}")
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())
            self._slots.release()

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        """Invoke, then delete what succeeded; the rest returns after the visibility timeout."""
        try:
            result = self.function.invoke({"Records": [queue_record(m, self.queue_arn) for m in messages]})
        except InvocationError:
            return
        failed = failed_identifiers(result, [m["MessageId"] for m in messages])
        if failed is None:
            return
        done = [m for m in messages if m["MessageId"] not in set(failed)]
        for start in range(0, len(done), SQS_RECEIVE_MAX):
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(done[start : start + SQS_RECEIVE_MAX])
            ]
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)


class SchedulePoller:
    """An EventBridge rate schedule: invokes the function with a Scheduled Event every interval.

    `SWITCHBOARD_LOCAL_SCHEDULE_S` shortens the interval in the local run (the tests use one
    second); the first invocation comes one interval after the start, as a new rule's does.
    A failed invocation is only logged: EventBridge's retries add nothing for a rate schedule
    that comes round again.
    """

    def __init__(
        self,
        function: LocalFunction,
        trigger: wiring.ScheduleTrigger,
        aws: AwsBackend,
        *,
        notice: Notice = _stderr_notice,
    ) -> None:
        self.function = function
        self.trigger = trigger
        self.name = f"schedule -> {function.spec.name}"
        override = os.environ.get("SWITCHBOARD_LOCAL_SCHEDULE_S")
        self.interval_s = float(override) if override else trigger.every_minutes * 60.0
        self.notice = notice
        self.rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/switchboard-{function.spec.name}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE_S)

    def settle(self, timeout_s: float) -> bool:
        return True  # nothing queued up: each tick stands alone

    def event(self) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [self.rule_arn],
            "detail": {},
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.function.invoke(self.event())
            except InvocationError:
                pass  # in the function's log
            except Exception as exc:
                self.notice(f"{self.name}: {exc!r}")


# --- from the wiring -----------------------------------------------------------------------

# One factory per kind of trigger; a new kind of event source adds its entry here.
FACTORIES: dict[type, Callable[..., Poller]] = {
    wiring.StreamTrigger: StreamPoller,
    wiring.QueueTrigger: QueuePoller,
    wiring.ScheduleTrigger: SchedulePoller,
}


def pollers_for(functions: Functions, aws: AwsBackend, *, notice: Notice = _stderr_notice) -> list[Poller]:
    """One poller per trigger declared on the loaded functions."""
    return [
        FACTORIES[type(trigger)](function, trigger, aws, notice=notice)
        for function in functions
        for trigger in function.spec.triggers
    ]


def build_pollers(run: LocalRun) -> list[Poller]:
    assert run.functions is not None
    return pollers_for(run.functions, run.aws, notice=run.notice)
