"""Per-function log files: the local run's stand-in for CloudWatch Logs.

Every function runs inside this one process, so their stdout/stderr would all land on the
terminal. Instead, `sys.stdout` and `sys.stderr` are replaced by dispatchers that send each
write to the log file of the function being invoked (named by a context variable that the
invoker sets on its thread), and everything else to the real terminal.

The dispatchers must be installed before any handler is imported: `logging.StreamHandler`
(and so the Powertools Logger) binds the stream object when it is created, so a logger built
at import time keeps writing to whatever `sys.stdout` was then.

Each file holds one JSON object per line: what the function printed (Powertools Logger emits
JSON), plus the platform lines Lambda adds (`platform.start`, `platform.report`, unhandled
errors), written in the shape of Lambda's JSON log format so the file stays `jq`-friendly.
Writes made from threads a handler starts itself carry no context and go to the terminal.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

_current: ContextVar[FunctionLog | None] = ContextVar("switchboard_function_log", default=None)


def utc_now_iso() -> str:
    """ISO-8601 with milliseconds and Z, as Lambda stamps its platform lines."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FunctionLog:
    """One function's log file; appended to, never truncated (like a log group)."""

    def __init__(self, function: str, path: Path) -> None:
        self.function = function
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._file.closed:
                return len(text)
            written = self._file.write(text)
            self._file.flush()
            return written

    def record(self, entry: dict[str, Any]) -> None:
        """Append one JSON line (platform lines and errors the runtime, not the handler, writes)."""
        self.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")

    def close(self) -> None:
        with self._lock:
            self._file.close()


class _Dispatcher(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr: the active function's log, else the terminal."""

    def __init__(self, fallback: TextIO) -> None:
        super().__init__()
        self.fallback = fallback

    def write(self, text: str) -> int:
        target = _current.get()
        if target is not None:
            return target.write(text)
        return self.fallback.write(text)

    def flush(self) -> None:
        if _current.get() is None:
            self.fallback.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return _current.get() is None and self.fallback.isatty()

    def fileno(self) -> int:
        return self.fallback.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.fallback, "encoding", None) or "utf-8"


class LogRouter:
    """Owns the log folder, the per-function files and the stdout/stderr replacement."""

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        self._logs: dict[str, FunctionLog] = {}
        self._saved: tuple[TextIO, TextIO] | None = None
        self._lock = threading.Lock()

    def install(self) -> None:
        """Replace sys.stdout/sys.stderr; call before importing any handler or Powertools Logger."""
        if self._saved is not None:
            return
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Dispatcher(sys.stdout)  # type: ignore[assignment]
        sys.stderr = _Dispatcher(sys.stderr)  # type: ignore[assignment]

    def uninstall(self) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None
        with self._lock:
            for log in self._logs.values():
                log.close()
            self._logs.clear()

    @property
    def terminal(self) -> TextIO:
        """The real stdout, for the runner's own messages (also while a function runs)."""
        return self._saved[0] if self._saved else sys.stdout

    def log_for(self, function: str) -> FunctionLog:
        with self._lock:
            if function not in self._logs:
                self._logs[function] = FunctionLog(function, self.logs_dir / f"{function}.log")
            return self._logs[function]

    @contextmanager
    def routing(self, function: str) -> Iterator[FunctionLog]:
        """Send this thread's stdout/stderr to the function's log for the duration."""
        log = self.log_for(function)
        token = _current.set(log)
        try:
            yield log
        finally:
            _current.reset(token)
