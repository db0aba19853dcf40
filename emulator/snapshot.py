"""The local run's durability: snapshots of the moto back end and of the pollers' positions.

moto keeps every resource, item, stream record, message and Kinesis record in Python objects
(one back end per service, account and region). A snapshot is a pickle of those back ends,
taken while the moto server answers no request (under `aws.Serialized`'s lock, so it is one
consistent moment), together with where each event-source poller stands (the last stream or
Kinesis record it finished with) and what the run itself must remember (the demo org's key in
plain text, its web hook, the data stream's registration).

- Taken at most once a `SNAPSHOT_INTERVAL_S`, and only when something changed: the moto server
  flags every request that can change state (`aws.changes_state`), and a poller that moved on
  counts too. Pickling holds the moto server (about 0.3 s for 2,000 customers with their stream
  records), so the pause between snapshots is at least `HOLD_SHARE` times the last hold: a
  large state under constant writes keeps at least 80% of the server's time for requests.
  One last snapshot is taken on a clean stop (Ctrl-C, SIGTERM).
- Written atomically (temporary file, fsync, rename, fsync of the folder), mode 0600: it holds
  the demo key and every object. A `kill -9` (or a crash, or a power cut) loses at most what
  changed since the last snapshot, that is about the last second.
- Restored at start, before any request: the back ends are put back in place, messages that a
  poller had received but not deleted become visible again at once (their consumer is gone, as
  when a visibility timeout runs out), delayed messages keep their delay (wall-clock time, so a
  delay that ran out while the run was stopped is over), DynamoDB stream iterators are not kept
  (the pollers ask for new ones after their saved positions).

The positions are read before the back ends are pickled, so a snapshot never says a record was
handled without also holding what handling it wrote; a record handled in between is handled
again after a restore (at least once, as Lambda's event source mappings promise).
"""

from __future__ import annotations

import copyreg
import io
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNAPSHOT_FILE = "snapshot.pickle"
SNAPSHOT_INFO_FILE = "snapshot.json"
SNAPSHOT_INTERVAL_S = 1.0
HOLD_SHARE = 4  # the pause after a snapshot is at least this many times its hold of the server
FORMAT = 1
FRESH_HINT = "start with --fresh to begin empty (or move the file away)"
# Not saved: stream iterators are per reader and expire anyway; moto's own control API holds no data.
UNSAVED_SERVICES = frozenset({"dynamodbstreams", "moto_api"})

_LOCK_TYPE = type(threading.Lock())
_RLOCK_TYPE = type(threading.RLock())


class SnapshotError(Exception):
    """The saved state cannot be used (another moto, another format, a damaged file)."""


@dataclass
class Saved:
    """What a snapshot gives back to the next run."""

    run: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, Any] = field(default_factory=dict)
    backends: dict[str, Any] = field(default_factory=dict)
    saved_at: float = 0.0


@dataclass
class SnapshotStats:
    saved_at: float
    capture_s: float  # time the moto server was held (pickling the back ends)
    write_s: float
    bytes: int


class _Pickler(pickle.Pickler):
    """Locks and conditions (an SQS queue has one) are saved as new, unheld ones."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[_LOCK_TYPE] = lambda _lock: (threading.Lock, ())
    dispatch_table[_RLOCK_TYPE] = lambda _lock: (threading.RLock, ())
    dispatch_table[threading.Condition] = lambda _condition: (threading.Condition, ())


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def capture_backends() -> bytes:
    """Pickle every moto back end in use: {service: {account: {region: backend}}}.

    Call with the moto server held (no request in progress).
    """
    from moto.core.base_backend import BackendDict

    captured: dict[str, dict[str, dict[str, Any]]] = {}
    for backends in list(BackendDict._instances):
        if backends.service_name in UNSAVED_SERVICES:
            continue
        accounts = {account: dict(regions) for account, regions in dict.items(backends) if regions}
        if accounts:
            captured[backends.service_name] = accounts
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(captured)
    return buffer.getvalue()


def restore_backends(data: bytes) -> dict[str, Any]:
    """Put saved back ends in place of moto's (before its server answers); returns them."""
    from moto.backends import get_backend

    # Our own file, checked by Snapshots.load before it gets here.
    captured: dict[str, dict[str, dict[str, Any]]] = pickle.loads(data)  # noqa: S301
    for service, accounts in captured.items():
        backends = get_backend(service)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            holder = backends[account]
            for region, backend in regions.items():
                dict.__setitem__(holder, region, backend)
    _release_in_flight_messages(captured.get("sqs", {}))
    return captured


def _release_in_flight_messages(sqs: dict[str, dict[str, Any]]) -> None:
    """Messages received but not deleted before the stop: their consumer is gone, show them again."""
    for regions in sqs.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if not message.visible:
                        message.visible_at = 0.0
                queue._pending_messages = set()


def _write_atomically(path: Path, chunks: list[bytes]) -> int:
    """Temporary file, fsync, rename, fsync of the folder: the file is whole, old or new."""
    partial = path.with_name(path.name + ".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    size = 0
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb", closefd=False) as sink:
            for chunk in chunks:
                sink.write(chunk)
                size += len(chunk)
            sink.flush()
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(partial, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return size


class Snapshots:
    """The state dir's snapshot: load at start, save every second when something changed, and at stop.

    `hold` is the lock that keeps the moto server from answering (aws.Serialized's); `changed`
    is set by the moto server for each request that can change state.
    """

    def __init__(
        self,
        state_dir: Path,
        hold: threading.Lock,
        changed: threading.Event,
        *,
        interval_s: float = SNAPSHOT_INTERVAL_S,
        notice: Callable[[str], None] = print,
    ) -> None:
        self.path = state_dir / SNAPSHOT_FILE
        self.info_path = state_dir / SNAPSHOT_INFO_FILE
        self.hold = hold
        self.changed = changed
        self.interval_s = interval_s
        self.notice = notice
        self.last: SnapshotStats | None = None
        self._collect: Callable[[], tuple[dict[str, Any], dict[str, Any]]] | None = None
        self._saved_positions: dict[str, Any] | None = None
        self._save_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def discard(self) -> None:
        """`--fresh`: forget the saved state."""
        for path in (self.path, self.info_path, self.path.with_name(self.path.name + ".tmp")):
            path.unlink(missing_ok=True)

    def load(self) -> Saved | None:
        if not self.path.exists():
            return None
        status = self.path.stat()
        # A pickle runs code when loaded: only a file that nobody else could have written is read.
        if status.st_uid != os.getuid() or status.st_mode & 0o022:
            raise SnapshotError(f"{self.path} is not yours alone (owner or mode); not loaded")
        try:
            with self.path.open("rb") as source:
                outer = pickle.load(source)  # noqa: S301
        except Exception as exc:
            raise SnapshotError(f"{self.path} cannot be read ({exc!r}); {FRESH_HINT}") from exc
        if not isinstance(outer, dict) or outer.get("format") != FORMAT:
            raise SnapshotError(f"{self.path} has an unknown format; {FRESH_HINT}")
        if outer.get("moto") != _moto_version():
            raise SnapshotError(
                f"{self.path} was saved by moto {outer.get('moto')} (installed: {_moto_version()}); "
                f"{FRESH_HINT}"
            )
        return Saved(
            run=outer["run"],
            positions=outer["positions"],
            backends=outer["backends"],
            saved_at=outer["savedAt"],
        )

    def save(self) -> SnapshotStats:
        """One snapshot now: positions first, then the back ends, then the file."""
        assert self._collect is not None, "start() first"
        with self._save_lock:
            run, positions = self._collect()
            held = time.perf_counter()
            with self.hold:
                self.changed.clear()
                saved_at = time.time()
                backends = capture_backends()
            captured = time.perf_counter()
            outer = {
                "format": FORMAT,
                "moto": _moto_version(),
                "savedAt": saved_at,
                "run": run,
                "positions": positions,
                "backends": backends,
            }
            size = _write_atomically(self.path, [pickle.dumps(outer, protocol=pickle.HIGHEST_PROTOCOL)])
            written = time.perf_counter()
            self._saved_positions = positions
            self.last = SnapshotStats(saved_at, captured - held, written - captured, size)
            info = {
                "savedAt": saved_at,
                "captureSeconds": round(self.last.capture_s, 4),
                "writeSeconds": round(self.last.write_s, 4),
                "bytes": size,
            }
            _write_atomically(self.info_path, [json.dumps(info).encode() + b"\n"])
            return self.last

    def start(self, collect: Callable[[], tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Save now (the run's first state is durable before anyone can use it), then every second."""
        self._collect = collect
        self.save()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self._thread.start()

    def _due(self) -> bool:
        if self.changed.is_set():
            return True
        assert self._collect is not None
        return self._collect()[1] != self._saved_positions

    def _pause(self) -> float:
        held = self.last.capture_s if self.last is not None else 0.0
        return max(self.interval_s, HOLD_SHARE * held)

    def _run(self) -> None:
        while not self._stop.wait(self._pause()):
            try:
                if self._due():
                    self.save()
            except Exception as exc:  # a full disk, say: keep running, say so, try again
                self.notice(f"snapshot failed: {exc!r}")

    def stop(self) -> None:
        """The last snapshot, once the pollers and the API have stopped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._collect is not None:
            self.save()
