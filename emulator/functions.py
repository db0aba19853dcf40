"""The declared Lambda functions, loaded from their code folders and invoked in this process.

Each `wiring.FunctionSpec` becomes one warm "container": its handler file is imported once by
path (every function's file is called handler.py, so each gets a unique module name), and
invocations run one at a time, as a Lambda execution environment runs them. Powertools
resolvers keep the current event on the app object, so two requests must never share one
container concurrently; a request that finds its function busy waits, within its timeout.

A function sees the environment CDK gives it (`infra/functions.py`) plus what the Lambda
runtime sets, and nothing of the other functions: `os.environ` is replaced by a view that
overlays the invoking function's variables (chosen by a context variable) on the process's
own. Tables and queues a function is not wired to are hidden from it, so a function that
reaches for a table or queue it was not granted fails here as it would in AWS.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

from emulator.aws import ACCOUNT_ID, REGION
from emulator.logs import LogRouter, utc_now_iso
from switchboard import wiring

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # synchronous invoke: request and response
RUNTIME = "python3.12"


class _Hidden:
    """Marks a variable the function must not see although the process has it."""

    def __repr__(self) -> str:
        return "<hidden>"


HIDDEN = _Hidden()
_overlay: ContextVar[dict[str, Any] | None] = ContextVar("switchboard_function_environ", default=None)


class ScopedEnviron(MutableMapping[str, str]):
    """`os.environ` stand-in: the invoking function's variables over the process's own."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    def __getitem__(self, key: str) -> str:
        overlay = _overlay.get()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is HIDDEN:
                raise KeyError(key)
            return value
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = _overlay.get()
        if overlay is not None:
            if not isinstance(value, str):
                raise TypeError(f"str expected, not {type(value).__name__}")
            overlay[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = _overlay.get()
        if overlay is None:
            del self.base[key]
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = HIDDEN

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay.get()
        if overlay is None:
            yield from self.base
            return
        for key in self.base:
            if key not in overlay:
                yield key
        for key, value in overlay.items():
            if value is not HIDDEN:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"ScopedEnviron({dict(self)!r})"


def install_scoped_environ() -> None:
    """Replace os.environ (os.getenv reads it too) once, before any handler is imported."""
    if not isinstance(os.environ, ScopedEnviron):
        # Rebinding (not clearing) is the point: os.getenv and every os.environ reader see the view.
        os.environ = ScopedEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


class LambdaContext:
    """The context object of the Python runtime, with the declared memory and timeout."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, function: LocalFunction, request_id: str, deadline: float) -> None:
        self.function_name = function.physical_name
        self.invoked_function_arn = function.arn
        # The Python runtime reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE, so the value is a string there too.
        self.memory_limit_in_mb = str(function.spec.memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = function.log_group_name
        self.log_stream_name = function.log_stream_name
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationError(Exception):
    """The invocation failed: what Lambda reports as a function error (API Gateway answers 502)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.error_message = message


class PayloadTooLarge(InvocationError):
    """Lambda refused the invocation: the event is over the 6 MB synchronous limit; the function never ran."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the Invoke operation ({size} bytes)",
        )
        self.size = size


class InvocationTimeout(InvocationError):
    """No result within the wait; `function_timed_out` is False when the caller gave up first."""

    def __init__(self, message: str, *, function_timed_out: bool) -> None:
        super().__init__("Sandbox.Timedout" if function_timed_out else "CallerTimeout", message)
        self.function_timed_out = function_timed_out


class LocalFunction:
    """One declared function: its environment, its warm module and its log."""

    def __init__(
        self,
        spec: wiring.FunctionSpec,
        tables: dict[str, str],
        router: LogRouter,
        queues: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.physical_name = f"switchboard-{spec.name}"
        self.arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.physical_name}"
        self.log_group_name = f"/aws/lambda/{self.physical_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.code_dir = REPO_ROOT / spec.code
        self.router = router
        self.log = router.log_for(spec.name)
        self.environment = function_environment(spec, tables, queues)
        self.environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.physical_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                "_HANDLER": spec.handler,
                # No X-Ray daemon here: a Tracer would only fail to send segments.
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        self.module_name = f"switchboard_fn_{spec.name.replace('-', '_')}"
        self.handler: Any = None
        self.init_ms: float | None = None
        # Warm containers: Lambda runs parallel requests in parallel containers, each handling one
        # request at a time (Powertools keeps the current event on its app object).
        self.concurrency = max(1, int(os.environ.get("SWITCHBOARD_LOCAL_CONCURRENCY", "4")))
        self._containers: queue.Queue[Any] = queue.Queue()

    def load(self) -> None:
        """Import the handler file (Lambda's INIT phase) once per warm container."""
        for number in range(self.concurrency):
            handler, init_ms = self._load_one(f"{self.module_name}_{number}" if number else self.module_name)
            self._containers.put(handler)
            if number == 0:
                self.handler, self.init_ms = handler, init_ms

    def _load_one(self, module_name: str) -> tuple[Any, float]:
        module_file, _, attribute = self.spec.handler.rpartition(".")
        path = self.code_dir / f"{module_file.replace('.', '/')}.py"
        started = time.perf_counter()
        token = _overlay.set(self.environment)
        try:
            with self.router.routing(self.spec.name):
                try:
                    handler = getattr(run_handler_file(path, module_name), attribute)
                except BaseException as exc:
                    sys.modules.pop(module_name, None)
                    self._record_error(exc, request_id=None, phase="init")
                    raise
        finally:
            _overlay.reset(token)
        return handler, (time.perf_counter() - started) * 1000

    def invoke(self, event: Any, *, wait_s: float | None = None, trace_header: str | None = None) -> Any:
        """Run the handler as a synchronous Invoke would, and return its JSON result.

        `wait_s` is how long the caller waits (API Gateway: 29 s); the function's own declared
        timeout still applies. `trace_header` is the caller's X-Amzn-Trace-Id, so the function's
        log lines carry the same trace id as the request. Raises InvocationError (or
        InvocationTimeout) on failure, with the details written to the function's log.
        """
        if self.handler is None:
            raise RuntimeError(f"function {self.spec.name} is not loaded")
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        wait_deadline = started + wait_s if wait_s is not None else math.inf
        payload = json.dumps(event)
        size = len(payload.encode())
        if size > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(size)
        # Past the warm containers' number a request waits for a free one (a local concurrency cap).
        try:
            handler = self._containers.get(
                timeout=None if wait_s is None else max(0.0, wait_deadline - started)
            )
        except queue.Empty:
            raise InvocationTimeout(
                f"{self.spec.name} stayed busy with earlier invocations", function_timed_out=False
            ) from None
        outcome: dict[str, Any] = {}
        done = threading.Event()
        # The container's budget starts when it takes the request, as in Lambda.
        deadline = time.monotonic() + self.spec.timeout_s
        context = LambdaContext(self, request_id, deadline)
        worker = threading.Thread(
            target=self._run,
            args=(handler, json.loads(payload), context, outcome, done, _trace_id(trace_header)),
            name=f"lambda-{self.spec.name}-{request_id[:8]}",
            daemon=True,
        )
        worker.start()
        if not done.wait(timeout=max(0.0, min(deadline, wait_deadline) - time.monotonic())):
            function_timed_out = deadline <= wait_deadline
            if function_timed_out:
                # Lambda would stop the container here; its late result, if any, is dropped.
                outcome["abandoned"] = True
                self.log.record(
                    {
                        "time": utc_now_iso(),
                        "type": "platform.report",
                        "record": {
                            "requestId": request_id,
                            "metrics": {"durationMs": self.spec.timeout_s * 1000.0},
                            "status": "timeout",
                        },
                        "message": f"Task timed out after {self.spec.timeout_s:.2f} seconds",
                    }
                )
            raise InvocationTimeout(
                f"no result within {time.monotonic() - started:.2f} s",
                function_timed_out=function_timed_out,
            )
        if "error" in outcome:
            raise outcome["error"]
        if "result" not in outcome:
            raise InvocationError("Runtime.Unknown", "the handler ended without a result")
        return outcome["result"]

    def _run(
        self,
        handler: Any,
        event: Any,
        context: LambdaContext,
        outcome: dict[str, Any],
        done: threading.Event,
        trace_id: str,
    ) -> None:
        """The invocation itself, on its own thread so a slow handler cannot hold the caller."""
        _overlay.set(self.environment)
        cold, self.init_ms = self.init_ms, None
        started = time.perf_counter()
        status = "success"
        try:
            with self.router.routing(self.spec.name):
                self.environment["_X_AMZN_TRACE_ID"] = trace_id
                self.log.record(
                    {
                        "time": utc_now_iso(),
                        "type": "platform.start",
                        "record": {
                            "requestId": context.aws_request_id,
                            "functionArn": self.arn,
                            "version": "$LATEST",
                        },
                    }
                )
                try:
                    outcome["result"] = self._call(handler, event, context)
                except InvocationError as exc:
                    status = "error"
                    outcome["error"] = exc
                duration = (time.perf_counter() - started) * 1000
                if not outcome.get("abandoned"):
                    metrics: dict[str, Any] = {
                        "durationMs": round(duration, 2),
                        "billedDurationMs": int(duration) + 1,
                        "memorySizeMB": self.spec.memory_mb,
                    }
                    if cold is not None:
                        metrics["initDurationMs"] = round(cold, 2)
                    self.log.record(
                        {
                            "time": utc_now_iso(),
                            "type": "platform.report",
                            "record": {
                                "requestId": context.aws_request_id,
                                "metrics": metrics,
                                "status": status,
                            },
                        }
                    )
        finally:
            self._containers.put(handler)
            done.set()

    def _call(self, handler: Any, event: Any, context: LambdaContext) -> Any:
        """The handler's result after the JSON round trip Lambda makes; failures logged and raised."""
        try:
            result = handler(event, context)
        except BaseException as exc:  # SystemExit too: Lambda reports Runtime.ExitError, not a crash
            self._record_error(exc, context.aws_request_id)
            error_type = "Runtime.ExitError" if isinstance(exc, SystemExit) else type(exc).__name__
            raise InvocationError(error_type, str(exc)) from exc
        try:
            serialized = json.dumps(result)
        except (TypeError, ValueError) as exc:
            self._record_error(exc, context.aws_request_id)
            raise InvocationError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc
        if len(serialized.encode()) > MAX_PAYLOAD_BYTES:
            error = InvocationError("ResponseSizeTooLarge", "the response payload exceeds 6 MB")
            self._record_error(error, context.aws_request_id)
            raise error
        return json.loads(serialized)

    def _record_error(self, exc: BaseException, request_id: str | None, phase: str = "invoke") -> None:
        """The runtime's own line for an unhandled exception, traceback included."""
        self.log.record(
            {
                "timestamp": utc_now_iso(),
                "level": "ERROR",
                "message": f"Unhandled exception during {phase}",
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "requestId": request_id,
                "stackTrace": traceback.format_exception(exc),
            }
        )


ENTRY_MODULES = "switchboard.entrypoints."


def run_handler_file(path: Path, module_name: str) -> ModuleType:
    """Run a function's handler file as Lambda's INIT phase does in a new execution environment.

    The file imports its `handler` from `switchboard.entrypoints.<function>`; the entry modules
    run anew here, so each container keeps its own module-level state (the API's resolver, the
    deliver function's thread pool), as separate execution environments do. The rest of the
    shared package is imported once per process.
    """
    for name in [name for name in sys.modules if name.startswith(ENTRY_MODULES)]:
        del sys.modules[name]
    loaded = importlib.util.spec_from_file_location(module_name, path)
    if loaded is None or loaded.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(loaded)
    # Registered before running it: dataclasses and pickling look modules up by name.
    sys.modules[module_name] = module
    try:
        loaded.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def function_environment(
    spec: wiring.FunctionSpec, tables: dict[str, str], queues: dict[str, str] | None = None
) -> dict[str, Any]:
    """What CDK sets on the function, plus the local-run flag; other tables' and queues' variables hidden."""
    env: dict[str, Any] = {t.env_var: HIDDEN for t in wiring.TABLES if t.key not in spec.tables}
    env.update({q.env_var: HIDDEN for q in wiring.QUEUES if q.key not in spec.queues})
    env.update(wiring.environment(spec, tables, queues))
    env["SWITCHBOARD_LOCAL"] = "1"
    return env


def _trace_id(caller: str | None = None) -> str:
    """Lambda's _X_AMZN_TRACE_ID: the caller's trace root (or a new one), a parent, not sampled.

    Powertools Logger puts its Root on every line as xray_trace_id, which ties a function's log
    lines to the request that caused them.
    """
    fields = dict(part.split("=", 1) for part in (caller or "").split(";") if "=" in part)
    root = fields.get("Root") or f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


class Functions:
    """Every declared function, loaded up front so a broken import stops the run at once."""

    def __init__(
        self,
        specs: tuple[wiring.FunctionSpec, ...],
        tables: dict[str, str],
        router: LogRouter,
        queues: dict[str, str] | None = None,
    ) -> None:
        install_scoped_environ()
        self.by_name = {spec.name: LocalFunction(spec, tables, router, queues) for spec in specs}

    def load_all(self) -> None:
        for function in self.by_name.values():
            function.load()

    def __getitem__(self, name: str) -> LocalFunction:
        return self.by_name[name]

    def __iter__(self) -> Iterator[LocalFunction]:
        return iter(self.by_name.values())
