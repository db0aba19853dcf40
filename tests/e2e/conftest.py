"""The local run as a black box: `python -m emulator` in a subprocess, driven over HTTP.

One run serves the whole session. Readiness is observed, never slept for: first the state
file appears (written once everything is up), then `GET /v1/users/current` answers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0
_UNSET: Any = object()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e needs the local run: mark it so `-m "not e2e"` skips it."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@dataclass
class LocalRun:
    api_url: str
    api_key: str
    org_id: str
    state_dir: Path
    state: dict[str, Any]
    process: subprocess.Popen[bytes]
    output: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: str | None = _UNSET,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Call the API; `path` is under the API URL (`/users/current`) or a full URL.

        The demo key is sent unless `key` is given (None sends no Authorization header).
        Returns the status, the headers (lower-cased names) and the parsed JSON body
        (the text when it is not JSON, None when empty).
        """
        url = path if path.startswith("http") else self.api_url + path
        sent = {"Accept": "application/json", **(headers or {})}
        token = self.api_key if key is _UNSET else key
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        call = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(call, timeout=30) as response:
                status, reply_headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, reply_headers, payload = error.code, error.headers, error.read()
        text = payload.decode("utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, {k.lower(): v for k, v in reply_headers.items()}, parsed

    def access_log_entry(self, request_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """The stage's access log line of one request (`x-amzn-requestid`), awaited: the stage
        writes it just after answering, as API Gateway delivers its access logs asynchronously."""
        from tests.support.waiting import wait_until

        access = self.state_dir / "logs" / "api-gateway-access.log"

        def entry() -> dict[str, Any] | None:
            lines = [json.loads(line) for line in access.read_text().splitlines() if line.strip()]
            return next((e for e in lines if e["requestId"] == request_id), None)

        return wait_until(entry, timeout_s=timeout_s, what=f"the access log line of {request_id}")

    @property
    def root_url(self) -> str:
        """Scheme, host and port, without the /v1 prefix."""
        return self.api_url.rsplit("/v1", 1)[0]


def _wait_for_state(state_file: Path, process: subprocess.Popen[bytes], output: Path) -> dict[str, Any]:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local run exited with {process.returncode}:\n{output.read_text()}")
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if state.get("pid") == process.pid:  # not the file a killed run left behind
                return state
        time.sleep(0.1)
    pytest.fail(f"no {state_file} within {STARTUP_DEADLINE_S:.0f} s:\n{output.read_text()}")


def _wait_for_api(run: LocalRun) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    last: Exception | int | None = None
    while time.monotonic() < deadline:
        try:
            status, _, _ = run.request("GET", "/users/current")
            if status == 200:
                return
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    pytest.fail(f"GET /v1/users/current never answered 200 (last: {last!r}):\n{run.output.read_text()}")


def launch(state_dir: Path, *options: str, own_group: bool = False) -> LocalRun:
    """Start `python -m emulator` on free ports and wait until the API answers a valid key;
    `options` are more command-line options (e.g. `--no-data-stream`); `own_group` starts it in
    a process group of its own (pid = group id), for a test that kills the whole group."""
    output = state_dir / "terminal.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Webhook retries one second apart instead of minutes: the deployed code path, compressed.
    env.setdefault("WEBHOOK_RETRY_SCHEDULE_S", "0,1,1,1,1,1,1,1,1,1")
    env.setdefault("SWITCHBOARD_LOCAL_SCHEDULE_S", "1")  # scheduled functions every second
    with output.open("wb") as sink:
        # Output goes to a file, not a pipe: an unread pipe would fill up and stall the server.
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--port", "0", "--state-dir", str(state_dir), *options],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    try:
        state = _wait_for_state(state_dir / "local.json", process, output)
        run = LocalRun(
            api_url=state["apiUrl"],
            api_key=state["apiKey"],
            org_id=state["orgId"],
            state_dir=state_dir,
            state=state,
            process=process,
            output=output,
        )
        _wait_for_api(run)
    except BaseException:
        stop(process, signal.SIGKILL)
        raise
    return run


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> int:
    """Signal the run and wait for it to exit; returns its exit code."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the local run did not stop within {STOP_DEADLINE_S:.0f} s of signal {signum}")
    return process.returncode


@pytest.fixture
def launch_local_run() -> Any:
    """`launch` and `stop` for a test that needs a run of its own (e.g. to stop it)."""
    return launch, stop


@pytest.fixture(scope="session")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    run = launch(tmp_path_factory.mktemp("switchboard-state"))
    try:
        yield run
    finally:
        code = stop(run.process)
    assert code == 0, f"exit code {code}:\n{run.output.read_text()}"
