"""Start the local run, seed a demo org, say where everything is, and stop cleanly on a signal.

    python -m emulator [--port 8000] [--aws-port 0] [--state-dir .switchboard] [--fresh] [--quiet]

Order matters: the log router replaces stdout/stderr before any handler (and its Powertools
Logger) is imported; AWS comes up and the tables exist before the handlers load; the demo org
is seeded before the first request can arrive; pollers start last (and handle what the seeding
wrote before the run says it is ready) and stop first.

The run keeps its data: `<state dir>/snapshot.pickle` (see `emulator.snapshot`) holds every
table, queue and stream, the pollers' positions and the demo org's key, saved within a second of
a change and at a clean stop, and the next run with the same state dir starts from it: same
objects, same key, pending messages and stream records handled after the restart. `--fresh`
starts empty. One run at a time uses a state dir (`<state dir>/lock`).

`<state dir>/local.json` describes the running instance (URLs, the demo key, the AWS
endpoint, table names, queue URLs, the process id) for scripts and tests; it is written once
everything answers, with mode 0600 (it holds the key), and removed on a clean stop. After a
`kill -9` it stays behind, naming a process that is gone; the next start replaces it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from emulator.apigw import ApiGateway
from emulator.aws import AwsBackend
from emulator.functions import REPO_ROOT, Functions
from emulator.logs import FunctionLog, LogRouter
from emulator.pollers import Poller, build_pollers
from emulator.snapshot import Saved, SnapshotError, Snapshots
from switchboard import wiring

DEMO_ORG_ID = "000000000000000000000001"
DEMO_ORG_NAME = "Demo"
DEMO_KEY_ROLES = ["org.admin"]
API_PREFIX = "/v1"
SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Options:
    port: int
    aws_port: int
    state_dir: Path
    quiet: bool = False
    data_stream: bool = True
    fresh: bool = False


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Run Switchboard on this machine: moto as AWS, API Gateway before the real handlers.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SWITCHBOARD_PORT", "8000")),
        help="API port on 127.0.0.1 (env SWITCHBOARD_PORT; 0 picks a free one; default 8000)",
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("SWITCHBOARD_AWS_PORT", "0")),
        help="moto server port on 127.0.0.1 (env SWITCHBOARD_AWS_PORT; default 0 = a free one)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("SWITCHBOARD_STATE_DIR") or REPO_ROOT / ".switchboard"),
        help="saved data, local.json and logs/ go (env SWITCHBOARD_STATE_DIR; default .switchboard/)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="forget the data saved in the state dir and start empty (new demo key)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not echo each request on the terminal")
    parser.add_argument(
        "--no-data-stream",
        action="store_true",
        help="do not create the customer account's Kinesis stream and sample consumer",
    )
    args = parser.parse_args(argv)
    return Options(
        port=args.port,
        aws_port=args.aws_port,
        state_dir=args.state_dir.resolve(),
        quiet=args.quiet,
        data_stream=not args.no_data_stream,
        fresh=args.fresh,
    )


class LocalRun:
    """Everything one `make run` owns, started and stopped in dependency order."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.state_dir = options.state_dir
        self.logs_dir = self.state_dir / "logs"
        self.state_file = self.state_dir / "local.json"
        self.router = LogRouter(self.logs_dir)
        self.aws = AwsBackend(options.aws_port)
        self.functions: Functions | None = None
        self.gateway: ApiGateway | None = None
        self.access_log: FunctionLog | None = None
        self.pollers: list[Poller] = []
        self.org: dict[str, Any] = {}
        self.key: dict[str, Any] = {}
        self.hook: dict[str, str] = {}  # id and path of the demo web hook
        self.data_stream: dict[str, Any] | None = None
        self.snapshots = Snapshots(self.state_dir, threading.Lock(), self.aws.changed, notice=self.warn)
        self.restored: Saved | None = None
        self._dir_lock: int | None = None

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url + API_PREFIX

    @property
    def hook_url(self) -> str:
        """The demo web hook's receive address (POST JSON with the API key)."""
        return self.api_url.removesuffix("/v1") + self.hook["path"]

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_state_dir()
        if self.options.fresh:
            self.snapshots.discard()
        self.restored = self.snapshots.load()
        self.state_file.unlink(missing_ok=True)  # a stale file must not describe this run
        self.router.install()
        self.aws.start(self.restored.backends if self.restored else None)
        self.snapshots.hold = self.aws.lock
        self.functions = Functions(wiring.FUNCTIONS, self.aws.tables, self.router, self.aws.queues)
        self.functions.load_all()
        self.access_log = FunctionLog("api-gateway", self.logs_dir / "api-gateway-access.log")
        try:
            self.gateway = ApiGateway(
                self.functions,
                port=self.options.port,
                access_log=self.access_log,
                echo=None if self.options.quiet else self.echo,
            )
        except OSError as exc:
            raise OSError(
                f"cannot listen on 127.0.0.1:{self.options.port} ({exc.strerror}); "
                "pick another port with --port or SWITCHBOARD_PORT (0 = any free port)"
            ) from exc
        saved_run = self.restored.run if self.restored else {}
        if saved_run.get("key"):
            self.org, self.key, self.hook = saved_run["org"], saved_run["key"], saved_run["hook"]
        else:
            self.seed()
        self.gateway.start()
        positions = self.restored.positions if self.restored else {}
        self.pollers = build_pollers(self)
        for poller in self.pollers:
            resume = getattr(poller, "resume", None)
            if resume is not None and positions.get(poller.name):
                resume(positions[poller.name])
            poller.start()
        if self.options.data_stream:
            from emulator.customer_account import start_customer_account

            consumer, self.data_stream = start_customer_account(
                self,
                DEMO_ORG_ID,
                registration=saved_run.get("dataStream"),
                positions=positions,
            )
            self.pollers.append(consumer)
        # What startup wrote (the demo org) flows through first, so nothing a script creates
        # after reading local.json races with it (a webhook seeing the seed's events, say).
        for poller in self.pollers:
            if not poller.settle(SETTLE_TIMEOUT_S):
                self.notice(f"{poller.name}: still busy with startup records after {SETTLE_TIMEOUT_S:.0f} s")
        # Durable before anyone can see the key: a kill -9 right after local.json appears keeps it.
        self.snapshots.start(self.saved_state)
        self.write_state()

    def _lock_state_dir(self) -> None:
        """One run per state dir: two would overwrite each other's snapshots. The kernel drops
        the lock with the process, so a killed run leaves none behind."""
        descriptor = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            raise OSError(
                f"another local run is using {self.state_dir}; stop it, or pick another --state-dir"
            ) from None
        self._dir_lock = descriptor

    def seed(self) -> None:
        """The demo org (fixed id, so URLs in docs and examples stay valid) and a new admin key."""
        from switchboard import admin, services
        from switchboard.domain.hooks import HookBody

        self.org = admin.create_org(DEMO_ORG_NAME, DEMO_ORG_ID)
        self.key = admin.issue_key(DEMO_ORG_ID, f"{DEMO_ORG_NAME} admin", DEMO_KEY_ROLES)
        hook = services.hooks().create(DEMO_ORG_ID, "web", HookBody(title="Demo web hook"))
        self.hook = {"id": hook.id, "path": hook.path()}

    def saved_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What a snapshot keeps besides moto's back ends: the run's own facts and the pollers' positions."""
        # A run with --no-data-stream keeps the registration a previous run made (its stream is saved too).
        registration = self.data_stream or (self.restored.run.get("dataStream") if self.restored else None)
        run = {"org": self.org, "key": self.key, "hook": self.hook, "dataStream": registration}
        positions: dict[str, Any] = {}
        for poller in self.pollers:
            position = getattr(poller, "position", None)
            if position is not None:
                positions[poller.name] = position()
        return run, positions

    def state(self) -> dict[str, Any]:
        return {
            "apiUrl": self.api_url,
            "docsUrl": f"{self.api_url}/docs",
            "openapiUrl": f"{self.api_url}/openapi.json",
            "apiKey": self.key["key"],
            "hookUrl": self.hook_url,
            "hookId": self.hook["id"],
            "dataStream": self._data_stream_state(),
            "orgId": DEMO_ORG_ID,
            "awsEndpoint": self.aws.endpoint,
            "logsDir": str(self.logs_dir),
            "tables": dict(self.aws.tables),
            "queues": dict(self.aws.queues),
            "pid": os.getpid(),
        }

    def _data_stream_state(self) -> dict[str, Any] | None:
        if self.data_stream is None:
            return None
        return {
            "id": self.data_stream["id"],
            "accountId": self.data_stream["accountId"],
            "streamArn": self.data_stream["streamArn"],
            "consumerLog": str(self.logs_dir / "kustomer-data-stream-fn.log"),
        }

    def write_state(self) -> None:
        """Written atomically (a script polling for the file never reads half of it), mode 0600."""
        partial = self.state_file.with_suffix(".json.tmp")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
            sink.write(json.dumps(self.state(), indent=2) + "\n")
        partial.replace(self.state_file)

    def stop(self) -> None:
        """Reverse order; each step runs even if an earlier one failed."""
        steps = [*(poller.stop for poller in reversed(self.pollers))]
        if self.gateway is not None:
            steps.append(self.gateway.stop)
        # The last snapshot once nothing moves any more (nothing, when the start did not get that far).
        steps += [self.snapshots.stop, self.aws.stop]
        if self._dir_lock is not None:  # not when another run holds the state dir: its file stays
            steps.append(lambda: self.state_file.unlink(missing_ok=True))
        if self.access_log is not None:
            steps.append(self.access_log.close)
        steps.append(self.router.uninstall)
        for step in steps:
            try:
                step()
            except Exception as exc:
                print(f"while stopping: {exc!r}", file=sys.__stderr__)

    def echo(self, line: str) -> None:
        print(f"  {line}", file=self.router.terminal, flush=True)

    def notice(self, line: str) -> None:
        """What the event-source pollers report (discarded records, errors): always shown."""
        print(f"  [event source] {line}", file=self.router.terminal, flush=True)

    def warn(self, line: str) -> None:
        """A snapshot that failed (a full disk, say): always shown."""
        print(f"  [state] {line}", file=self.router.terminal, flush=True)

    def _restored_from(self) -> str:
        if self.restored is None:
            return "started empty"
        return f"restored from {_saved_at(self.restored.saved_at)}"

    def banner(self) -> str:
        assert self.functions is not None and self.gateway is not None
        relative = _display(self.logs_dir)
        tables = ", ".join(self.aws.tables.values())
        lines = [
            "Switchboard is running (local)",
            f"  API        {self.api_url}",
            f"  Docs       {self.api_url}/docs",
            f"  OpenAPI    {self.api_url}/openapi.json",
            f"  Org        {DEMO_ORG_ID} ({DEMO_ORG_NAME})",
            f"  API key    {self.key['key']}  (roles: {', '.join(self.key['roles'])})",
            f"  Web hook   {self.hook_url}  (POST JSON with the API key)",
            *(
                [
                    f"  Data       {self.data_stream['streamArn']} (customer account) -> "
                    f"{relative}/kustomer-data-stream-fn.log"
                ]
                if self.data_stream
                else []
            ),
            f"  Logs       {relative}/<function>.log, {relative}/api-gateway-access.log",
            f"  AWS        {self.aws.endpoint} (moto, no AWS account); tables: {tables}",
            f"  Queues     {', '.join(url.rsplit('/', 1)[-1] for url in self.aws.queues.values())}",
            f"  State      {_display(self.state_file)}",
            f"  Saved      {_display(self.snapshots.path)} ({self._restored_from()}; "
            "within a second of each change and at Ctrl-C; --fresh starts empty)",
            "  Routes",
        ]
        base = self.gateway.url
        lines += [f"    {r.method:<6} {base}{r.path} -> {r.function}" for r in self.gateway.routes]
        if self.pollers:
            lines.append("  Event sources")
            lines += [f"    {poller.name}" for poller in self.pollers]
        lines += [
            f"Try:  curl -H 'Authorization: Bearer {self.key['key']}' {self.api_url}/users/current",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)


def _saved_at(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        # A second Ctrl-C while stopping interrupts the stop itself.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    run = LocalRun(options)
    try:
        run.start()
    except Exception as exc:
        run.stop()
        # A port in use or an unusable snapshot needs no traceback; a broken import does.
        if not isinstance(exc, OSError | SnapshotError):
            traceback.print_exc(file=sys.stderr)
        print(f"Switchboard local run failed to start: {exc}", file=sys.stderr, flush=True)
        return 1
    print(run.banner(), flush=True)
    while not stop.wait(timeout=1.0):
        pass
    print("Stopping Switchboard local run...", flush=True)
    run.stop()
    print("Switchboard local run stopped.", flush=True)
    return 0
