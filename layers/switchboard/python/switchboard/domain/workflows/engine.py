"""Runs one workflow: resolve each step's params, call its action, follow the first transition
whose condition holds, and record every step.

Errors split in two. Infrastructure trouble (`switchboard.failures.is_infrastructure`: AWS
throttling, a 5xx, a connection lost or timed out) propagates out of `run`, so the caller retries
the whole run; actions are idempotent per (run, step) to make that safe. Everything else is the
step's error: a domain error (BadRequest, NotFound, Conflict... or StepError) with its message,
any other exception (a value no code path expected, a bug) as a generic "internal error" whose
details go to the log, never to the record. The step's errorCases may handle it, else the run
ends "failed"; retrying would fail the same way and hold up the messages queued behind it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from switchboard.domain import redaction
from switchboard.domain.workflows import conditions, values
from switchboard.domain.workflows.definition import Step, Transition, Workflow
from switchboard.domain.workflows.errors import StepError
from switchboard.errors import SwitchboardError
from switchboard.failures import is_infrastructure
from switchboard.ids import format_iso

logger = logging.getLogger(__name__)

MAX_SECONDS = 300  # Kustomer: a run stops after 5 minutes
MAX_STEPS_EXECUTED = 100  # a guard against transitions that loop forever

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class RunContext:
    """Who the run is for; `run_id` is stable across retries of the same run (idempotency)."""

    org: str
    run_id: str
    workflow_id: str


@dataclass(frozen=True)
class StepContext:
    """What an action knows besides its params. `visit` counts executions of this step within the
    run (a loop runs a step again), so (run_id, step_id, visit) names one execution for good;
    `remaining_s` is the run's time left, a bound for network calls."""

    org: str
    run_id: str
    step_id: str
    workflow_id: str = ""
    visit: int = 1
    remaining_s: float = float(MAX_SECONDS)

    @property
    def execution_key(self) -> str:
        """Stable across retries of the run: the idempotency key of this step's writes."""
        key = f"{self.run_id}:{self.step_id}"
        return key if self.visit == 1 else f"{key}:{self.visit}"


class Action(Protocol):
    def __call__(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]: ...


@dataclass
class StepLog:
    """One executed step. `input` is already masked; `secrets` are the values masking hid in it
    (never recorded: the record masks them wherever else they show up)."""

    id: str
    action: str
    input: Any
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    startedAt: str
    finishedAt: str
    secrets: set[str] = field(default_factory=set, repr=False, compare=False)

    def to_dict(self, known: Iterable[str] = ()) -> dict[str, Any]:
        """The step as recorded: secrets masked (`switchboard.domain.redaction`), JSON-safe."""
        shown, found = self._shown()
        return _scrubbed(shown, redaction.Scrubber({*known, *found}))

    def _shown(self) -> tuple[dict[str, Any], set[str]]:
        """(the step masked by name, every secret it holds)."""
        fields = {name: value for name, value in asdict(self).items() if name != "secrets"}
        with redaction.collecting() as found:
            shown = redaction.mask(_json_safe(fields))
        return shown, found | self.secrets


@dataclass
class RunResult:
    """`status` is succeeded, failed or timed_out; `error` says why a run did not succeed.
    `known` holds the secrets the run brought along (the definition's params, the trigger's)."""

    status: str
    steps: list[StepLog] = field(default_factory=list)
    error: dict[str, Any] | None = None
    known: set[str] = field(default_factory=set, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The run as recorded: every step masked by name, then every value masked anywhere in
        the run (or known from its definition and trigger) masked wherever else it shows up."""
        steps = [step._shown() for step in self.steps]
        with redaction.collecting() as found:
            error = redaction.mask(_json_safe(self.error))
        scrub = redaction.Scrubber(self.known.union(found, *(secrets for _, secrets in steps)))
        return {
            "status": self.status,
            "error": scrub(error),
            "steps": [_scrubbed(shown, scrub) for shown, _ in steps],
        }


class WorkflowEngine:
    """Executes workflows with a fixed set of actions; holds no per-run state (thread-safe)."""

    def __init__(
        self,
        actions: Mapping[str, Action],
        clock: Callable[[], float] = time.time,
        max_seconds: float = MAX_SECONDS,
        max_steps: int = MAX_STEPS_EXECUTED,
    ) -> None:
        self.actions = actions
        self.clock = clock
        self.max_seconds = max_seconds
        self.max_steps = max_steps

    def run(self, workflow: Workflow, trigger_output: dict[str, Any], ctx: RunContext) -> RunResult:
        """Run from the trigger to the end. Domain errors end in the result; others propagate."""
        started = self.clock()
        context: dict[str, Any] = {"steps": {workflow.trigger.id: trigger_output}}
        result = RunResult(SUCCEEDED, known=_known_secrets(workflow, trigger_output))
        visits: dict[str, int] = {}
        try:
            target = self._next(workflow.trigger.transitions, context)
        except StepError as exc:
            result.status, result.error = FAILED, {"step": workflow.trigger.id, **exc.to_error()}
            return result
        while target is not None:
            elapsed = self.clock() - started
            if elapsed >= self.max_seconds:
                result.status = TIMED_OUT
                result.error = {
                    "step": target,
                    "message": f"the run took longer than {self.max_seconds:g} s; stopped before {target}",
                }
                break
            if len(result.steps) >= self.max_steps:
                result.status = FAILED
                result.error = {
                    "step": target,
                    "message": f"more than {self.max_steps} steps executed: do the transitions loop?",
                }
                break
            step = workflow.step(target)
            if step is None:  # validate_definition prevents this; a stored definition may predate it
                result.status, result.error = FAILED, {"step": target, "message": f"no step {target!r}"}
                break
            visits[step.id] = visits.get(step.id, 0) + 1
            step_ctx = StepContext(
                org=ctx.org,
                run_id=ctx.run_id,
                step_id=step.id,
                workflow_id=ctx.workflow_id,
                visit=visits[step.id],
                remaining_s=max(0.0, self.max_seconds - elapsed),
            )
            log = self._execute(step, context, step_ctx)
            result.steps.append(log)
            try:
                if log.error is None:
                    context["steps"][step.id] = log.output
                    target = self._next(step.transitions, context)
                    continue
                context["steps"][step.id] = {"error": log.error}
                target = self._next(step.errorCases, context)
            except StepError as exc:
                result.status, result.error = FAILED, {"step": step.id, **exc.to_error()}
                break
            if target is None:
                result.status, result.error = FAILED, {"step": step.id, **log.error}
                break
        return result

    def _execute(self, step: Step, context: dict[str, Any], step_ctx: StepContext) -> StepLog:
        started_at = self._iso()
        params: Any = None
        output: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        action = self.actions.get(step.action)
        try:
            params = values.resolve(step.params, context, self._iso)
            if action is None:
                raise StepError(f"action {step.action} is not available")
            output = action(params, step_ctx)
            if not isinstance(output, dict):
                raise TypeError(f"action {step.action} returned {type(output).__name__}, not a dict")
        except StepError as exc:
            error = exc.to_error()
        except SwitchboardError as exc:
            error = {"message": exc.detail, "status": exc.status, "code": exc.code}
            if exc.pointer is not None:
                error["pointer"] = exc.pointer
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            error = internal_error(exc, f"running step {step.id}").to_error()
        redact = getattr(action, "redact", None)
        with redaction.collecting() as secrets:
            shown = (
                redact(params) if callable(redact) and isinstance(params, dict) else redaction.mask(params)
            )
        return StepLog(step.id, step.action, shown, output, error, started_at, self._iso(), secrets)

    def _next(self, transitions: list[Transition], context: dict[str, Any]) -> str | None:
        """The target of the first transition whose condition holds; StepError when one raises."""
        try:
            for transition in transitions:
                if conditions.evaluate(transition.condition, context, self._iso):
                    return transition.target
        except StepError:
            raise
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            raise internal_error(exc, "evaluating a transition's condition") from None
        return None

    def _iso(self) -> str:
        return format_iso(datetime.fromtimestamp(self.clock(), UTC))


def _known_secrets(workflow: Workflow, trigger_output: Any) -> set[str]:
    """The secrets a run starts with: values masked by name in the definition's step params
    (literal headers, URL keys, passwords) and in what triggered it (a hook's headers)."""
    with redaction.collecting() as found:
        for step in workflow.steps:
            redaction.mask_params(step.params)
        redaction.mask(trigger_output)
    return found


def _scrubbed(step: dict[str, Any], scrub: redaction.Scrubber) -> dict[str, Any]:
    """A masked step record with known secrets replaced in its input, output and error."""
    return {
        name: scrub(value) if name in ("input", "output", "error") else value for name, value in step.items()
    }


def internal_error(exc: Exception, doing: str) -> StepError:
    """A step error for an exception nothing expected: the log gets the traceback, the run's
    record only a generic message (its text may hold the payload's values, even secrets)."""
    logger.exception("workflow step raised %s while %s", type(exc).__name__, doing)
    return StepError(
        f"internal error while {doing} ({type(exc).__name__}); the details are in Switchboard's logs",
        500,
        {"code": "internal_error"},
    )


def _json_safe(value: Any) -> Any:
    """A deep copy that JSON can store: non-finite numbers become null, unknown types text."""
    if value is None:
        return None
    text = json.dumps(value, default=str, allow_nan=True)
    return json.loads(text, parse_constant=lambda _: None)
