"""The local run keeps its data across restarts with the same state dir.

- kill -9 of the whole process group: what was saved (within about a second of each change)
  comes back, the same demo key works, and a webhook delivery that was waiting to be retried is
  delivered once its receiver is up;
- Ctrl-C: nothing is lost, even what was written just before it;
- --fresh: empty again, with a new key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import ROOT, launch, stop
from tests.support.receiver import Receiver
from tests.support.waiting import wait_until
from tests.support.workflows import callable_one_step

pytestmark = pytest.mark.e2e


def attempts(run: Any, webhook_id: str) -> list[dict[str, Any]]:
    status, _, body = run.request("GET", f"/outbound-webhooks/{webhook_id}/attempts?pageSize=100")
    assert status == 200, body
    return [row["attributes"] for row in reversed(body["data"])]  # oldest first


def customer_names(run: Any) -> set[str]:
    status, _, body = run.request("GET", "/customers?pageSize=100")
    assert status == 200, body
    return {row["attributes"]["name"] for row in body["data"]}


def saved_at(state_dir: Path) -> float:
    info = state_dir / "snapshot.json"
    return json.loads(info.read_text())["savedAt"] if info.exists() else 0.0


def delayed_deliveries(run: Any) -> int:
    sqs = boto3.client(
        "sqs",
        endpoint_url=run.state["awsEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attributes = sqs.get_queue_attributes(
        QueueUrl=run.state["queues"]["deliveries"],
        AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def cli(state_file: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT / "layers/switchboard/python")
    return subprocess.run(
        [sys.executable, "-m", "switchboard.cli", "--local", str(state_file), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_kill_9_keeps_data_key_and_the_pending_delivery(tmp_path: Path, monkeypatch: Any) -> None:
    # Retries two seconds apart: enough of them left to outlast the restart.
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE_S", "0,2,2,2,2,2,2,2,2,2")
    receiver = Receiver()
    receiver.close_listener()  # its port is known, nothing listens: deliveries are refused
    run = launch(tmp_path, own_group=True)
    try:
        status, _, webhook = run.request(
            "POST",
            "/outbound-webhooks",
            {"name": "durable", "url": receiver.url, "events": ["kustomer.customer.create"]},
        )
        assert status == 201, webhook
        webhook_id = webhook["data"]["id"]
        status, _, hook = run.request("POST", "/hooks/web", {"title": "durable hook"})
        assert status == 201, hook
        definition = callable_one_step(
            "durable", "kustomer.regex-match.generic", {"testString": "a", "regex": "a"}
        )
        status, _, workflow = run.request("POST", "/workflows", definition)
        assert status == 201, workflow
        status, _, customer = run.request("POST", "/customers", {"name": "Kept"})
        assert status == 201, customer

        refused = wait_until(lambda: attempts(run, webhook_id), what="a first, refused attempt")
        assert refused[0]["status"] is None and "refused" in refused[0]["error"].lower()
        wait_until(lambda: delayed_deliveries(run) >= 1, what="the retry waiting in the queue")
        # One more write, then a snapshot taken after it: everything before it is saved.
        status, _, _ = run.request("POST", "/customers", {"name": "Marker"})
        assert status == 201
        written = time.time()
        wait_until(lambda: saved_at(tmp_path) > written, timeout_s=10, what="a snapshot after the last write")
    finally:
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=30)

    # The state file is left behind; the CLI says the run is gone, in one line.
    assert (tmp_path / "local.json").exists()
    result = cli(tmp_path / "local.json", "org", "list")
    assert result.returncode != 0
    assert "not running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr

    again = launch(tmp_path, own_group=True)
    try:
        assert again.api_key == run.api_key
        assert again.state["hookId"] == run.state["hookId"]
        assert {"Kept", "Marker"} <= customer_names(again)
        assert again.request("GET", f"/customers/{customer['data']['id']}")[0] == 200
        assert again.request("GET", f"/hooks/web/{hook['data']['id']}")[0] == 200
        assert again.request("GET", f"/workflows/{workflow['data']['id']}")[0] == 200
        status, _, kept = again.request("GET", f"/outbound-webhooks/{webhook_id}")
        assert status == 200 and kept["data"]["attributes"]["url"] == receiver.url

        receiver.start()
        delivered = receiver.wait_for(1, timeout_s=60)
        event = json.loads(delivered[0].body)
        assert event["name"] == "kustomer.customer.create"
        assert event["data"]["id"] == customer["data"]["id"]
        log = wait_until(
            lambda: (rows := attempts(again, webhook_id)) and rows[-1]["outcome"] == "delivered" and rows,
            what="the delivered attempt",
        )
        assert len([row for row in log if row["outcome"] == "delivered"]) == 1
        assert len(receiver.received) == 1
        assert cli(tmp_path / "local.json", "key", "list", "--org", again.org_id).returncode == 0
    finally:
        receiver.stop()
        code = stop(again.process)
    assert code == 0, again.output.read_text()


def test_ctrl_c_loses_nothing(tmp_path: Path) -> None:
    run = launch(tmp_path, "--no-data-stream")
    try:
        names = {f"Written just before Ctrl-C {n}" for n in range(20)}
        for name in sorted(names):
            assert run.request("POST", "/customers", {"name": name})[0] == 201
    finally:
        code = stop(run.process, signal.SIGINT)  # at once: no waiting for a periodic snapshot
    assert code == 0, run.output.read_text()
    assert not (tmp_path / "local.json").exists()
    assert (tmp_path / "snapshot.pickle").stat().st_mode & 0o777 == 0o600

    again = launch(tmp_path, "--no-data-stream")
    try:
        assert again.api_key == run.api_key
        assert names <= customer_names(again)
        assert (tmp_path / "local.json").stat().st_mode & 0o777 == 0o600
    finally:
        assert stop(again.process, signal.SIGINT) == 0


def test_fresh_starts_empty_with_a_new_key(tmp_path: Path) -> None:
    run = launch(tmp_path, "--no-data-stream")
    try:
        assert run.request("POST", "/customers", {"name": "Forgotten"})[0] == 201
    finally:
        assert stop(run.process) == 0

    fresh = launch(tmp_path, "--no-data-stream", "--fresh")
    try:
        assert fresh.api_key != run.api_key
        assert fresh.request("GET", "/users/current", key=run.api_key)[0] == 401
        assert "Forgotten" not in customer_names(fresh)
    finally:
        assert stop(fresh.process) == 0
