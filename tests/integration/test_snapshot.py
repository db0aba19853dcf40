"""Snapshots of the local run's moto back end: what comes back after a restore, and where the
stream pollers go on from."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.aws import AwsBackend
from emulator.pollers import StreamPoller
from emulator.snapshot import SnapshotError, Snapshots, capture_backends, restore_backends
from switchboard import wiring
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def backend() -> Iterator[AwsBackend]:
    saved = dict(os.environ)
    aws = AwsBackend(0)
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()
        os.environ.clear()
        os.environ.update(saved)


def restart(aws: AwsBackend, data: bytes) -> None:
    """What a new run does: moto empty, then the saved back ends, then provisioning."""
    from moto.moto_api._internal.models import moto_api_backend

    with aws.lock:
        moto_api_backend.reset()
        restore_backends(data)
    aws.provision()  # creates nothing that is there: no error for existing tables or queues


def put(aws: AwsBackend, name: str) -> None:
    item = {"pk": {"S": f"org#{name}"}, "sk": {"S": "object"}, "name": {"S": name}}
    aws.client("dynamodb").put_item(TableName=aws.tables["objects"], Item=item)


def test_items_and_messages_come_back_in_flight_ones_visible_delayed_ones_still_delayed(
    backend: AwsBackend,
) -> None:
    backend.reset()
    sqs = backend.client("sqs")
    url = backend.queues["deliveries"]
    put(backend, "kept")
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    received = sqs.receive_message(QueueUrl=url, VisibilityTimeout=900)["Messages"]
    assert [m["Body"] for m in received] == ["in flight"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    with backend.lock:
        data = capture_backends()

    restart(backend, data)

    item = backend.client("dynamodb").get_item(
        TableName=backend.tables["objects"], Key={"pk": {"S": "org#kept"}, "sk": {"S": "object"}}
    )
    assert item["Item"]["name"] == {"S": "kept"}
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in again] == ["in flight"]  # visible at once, its consumer is gone
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


class Recorder:
    """Stands in for a LocalFunction: records the names in each batch."""

    def __init__(self) -> None:
        self.spec = SimpleNamespace(name="recorder")
        self.arn = "arn:aws:lambda:us-east-1:123456789012:function:recorder"
        self.names: list[str] = []
        self.lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.names += [r["dynamodb"]["NewImage"]["name"]["S"] for r in event["Records"]]


def test_a_resumed_stream_poller_goes_on_after_its_saved_position(backend: AwsBackend) -> None:
    backend.reset()
    trigger = wiring.StreamTrigger(table="objects", batch_size=2, max_batching_window_s=0)
    for name in ("a", "b", "c"):
        put(backend, name)
    first = Recorder()
    poller = StreamPoller(first, trigger, backend, poll_interval_s=0.02, notice=lambda _: None)  # type: ignore[arg-type]
    poller.start()
    wait_until(lambda: first.names == ["a", "b", "c"], what="three records")
    poller.stop()
    position = poller.position()
    assert list(position.values()) and all(position.values())
    for name in ("d", "e"):  # written after the position was taken: not yet handled
        put(backend, name)
    with backend.lock:
        data = capture_backends()

    restart(backend, data)

    second = Recorder()
    resumed = StreamPoller(second, trigger, backend, poll_interval_s=0.02, notice=lambda _: None)  # type: ignore[arg-type]
    resumed.resume(position)
    resumed.start()
    try:
        wait_until(lambda: second.names == ["d", "e"], what="the two records after the position")
    finally:
        resumed.stop()
    assert second.names == ["d", "e"]


def test_a_snapshot_file_is_private_atomic_and_refused_when_others_could_write_it(
    backend: AwsBackend, tmp_path: Path
) -> None:
    snapshots = Snapshots(tmp_path, backend.lock, backend.changed)
    snapshots.start(lambda: ({"key": {"key": "sbk_x"}}, {"poller": {"shard": "1"}}))
    snapshots.stop()
    assert (tmp_path / "snapshot.pickle").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "snapshot.pickle.tmp").exists()
    saved = Snapshots(tmp_path, backend.lock, backend.changed).load()
    assert saved is not None
    assert saved.run == {"key": {"key": "sbk_x"}} and saved.positions == {"poller": {"shard": "1"}}
    (tmp_path / "snapshot.pickle").chmod(0o666)
    with pytest.raises(SnapshotError):
        Snapshots(tmp_path, backend.lock, backend.changed).load()
    snapshots.discard()
    assert Snapshots(tmp_path, backend.lock, backend.changed).load() is None
