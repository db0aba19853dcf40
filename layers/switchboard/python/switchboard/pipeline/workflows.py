"""Workflows: management, what triggers them, and the runner that executes each run once.

Triggers reach the runner through the workflow-runs FIFO queue: hook transactions (grouped by
the hook's `groupBy` value), object events (grouped by object id, so one object's changes run
in order) and calls. A run's id is derived from what triggered it and the workflow, and a
finished run is recorded, so a message delivered twice runs once. A run retried after a crash
starts again from its first step: its creates are idempotent per (run, step) and its updates
write nothing when nothing changes, so no second customer or order appears.

Only infrastructure trouble (`switchboard.failures.is_infrastructure`) leaves a message to be
retried. Anything else a run raises is recorded as the run's failure and the message is done:
a payload that fails every time must not hold up the later messages of its FIFO group.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from switchboard import ids, strictjson, wiring
from switchboard.adapters import metrics
from switchboard.adapters.dynamo_automation import DynamoAutomationStore, StaleItem
from switchboard.adapters.queues import SqsQueue
from switchboard.domain.hooks import receive_event
from switchboard.domain.workflows.definition import (
    CALL_TRIGGER,
    HOOK_TRIGGER,
    callable_event,
    trigger_kind,
)
from switchboard.errors import BadRequest, Conflict, NotFound, SwitchboardError
from switchboard.failures import is_infrastructure
from switchboard.patching import check_rev, stale

if TYPE_CHECKING:  # the engine loads where workflows run, not in the events function
    from switchboard.domain.workflows.engine import WorkflowEngine

logger = Logger()
MAX_PER_ORG = 100
CACHE_TTL_S = 60.0  # a bound on one batch's use of its list of an org's workflows
MAX_EVENT_MESSAGE_BYTES = 200 * 1024  # larger events travel as a reference to the object
FINISHED = {"succeeded", "failed", "timed_out"}


def run_id_for(source_id: str, workflow_id: str) -> str:
    return hashlib.sha256(f"{source_id}|{workflow_id}".encode()).hexdigest()[:24]


class WorkflowService:
    """Create, read, replace and call workflows; definitions are validated on save."""

    def __init__(
        self,
        store: DynamoAutomationStore,
        runs_queue: SqsQueue,
        hook_exists: Callable[[str, str, str], bool],
        clock: Callable[[], str] = ids.now_iso,
        new_id: Callable[[], str] = ids.new_id,
    ) -> None:
        self.store = store
        self.queue = runs_queue
        self.hook_exists = hook_exists
        self.clock = clock
        self.new_id = new_id

    def _document(self, org: str, workflow_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from switchboard.domain.workflows.definition import validate_definition

        definition = validate_definition(body)
        event = definition.trigger.eventName
        if CALL_TRIGGER.match(event):
            event = callable_event(workflow_id)
        hook = HOOK_TRIGGER.match(event)
        if hook and not self.hook_exists(org, hook.group(1), hook.group(2)):
            raise BadRequest(f"no {hook.group(1)} hook {hook.group(2)} in this org", "/trigger/eventName")
        document = dict(body)
        document["trigger"] = {**body["trigger"], "eventName": event}
        document["enabled"] = definition.enabled
        return document

    def create(self, org: str, body: dict[str, Any]) -> dict[str, Any]:
        if len(self.store.list_workflows(org)) >= MAX_PER_ORG:
            raise Conflict(f"an org can have at most {MAX_PER_ORG} workflows")
        workflow_id = self.new_id()
        now = self.clock()
        document = self._document(org, workflow_id, body)
        workflow = {**document, "id": workflow_id, "rev": 1, "createdAt": now, "updatedAt": now}
        self.store.put_workflow(org, workflow, None)
        return workflow

    def get(self, org: str, workflow_id: str) -> dict[str, Any]:
        workflow = self.store.get_workflow(org, workflow_id) if ids.is_id(workflow_id) else None
        if workflow is None:
            raise NotFound(f"workflow {workflow_id} not found")
        return workflow

    def list(self, org: str) -> list[dict[str, Any]]:
        return sorted(self.store.list_workflows(org), key=lambda w: w["createdAt"])

    def replace(
        self, org: str, workflow_id: str, body: dict[str, Any], expected_rev: int | None = None
    ) -> dict[str, Any]:
        """PUT: a whole new definition (validated as on create). With `expected_rev` (`?rev=`),
        only if the workflow is still at that rev."""
        current = self.get(org, workflow_id)
        check_rev(current["rev"], expected_rev)
        document = self._document(org, workflow_id, body)
        return self._save(org, current, document, expected_rev)

    def set_enabled(
        self, org: str, workflow_id: str, enabled: bool, expected_rev: int | None = None
    ) -> dict[str, Any]:
        current = self.get(org, workflow_id)
        check_rev(current["rev"], expected_rev)
        document = {k: v for k, v in current.items() if k not in {"id", "rev", "createdAt", "updatedAt"}}
        return self._save(org, current, {**document, "enabled": enabled}, expected_rev)

    def _save(
        self,
        org: str,
        current: dict[str, Any],
        document: dict[str, Any],
        expected_rev: int | None = None,
    ) -> dict[str, Any]:
        workflow = {
            **document,
            "id": current["id"],
            "rev": current["rev"] + 1,
            "createdAt": current["createdAt"],
            "updatedAt": self.clock(),
        }
        try:
            self.store.put_workflow(org, workflow, current["rev"])
        except StaleItem:
            raise stale(f"workflow {current['id']}", expected_rev) from None
        return workflow

    def call(self, org: str, workflow_id: str, inputs: dict[str, Any]) -> str:
        """Queue a run of a callable workflow; its id is the run's id."""
        workflow = self.get(org, workflow_id)
        if workflow["trigger"]["eventName"] != callable_event(workflow_id):
            raise Conflict(f"workflow {workflow_id} is not callable (its trigger is another event)")
        if not workflow.get("enabled", True):
            raise Conflict(f"workflow {workflow_id} is disabled")
        call_id = self.new_id()
        message = {
            "source": "call",
            "org": org,
            "workflowId": workflow_id,
            "callId": call_id,
            "inputs": inputs,
        }
        try:
            size = len(strictjson.dumps(message))
        except ValueError:
            raise BadRequest("inputs must be standard JSON (no NaN or Infinity)", "/inputs") from None
        if size > MAX_EVENT_MESSAGE_BYTES:
            raise BadRequest("inputs are larger than 200 KB", "/inputs")
        self.queue.send(message, group=call_id, dedupe=call_id)
        return call_id

    def runs(
        self, org: str, workflow_id: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        self.get(org, workflow_id)
        return self.store.list_runs(org, workflow_id, limit, cursor)

    def run(self, org: str, workflow_id: str, run_id: str) -> dict[str, Any]:
        self.get(org, workflow_id)
        found = self.store.get_run(org, workflow_id, run_id) if ids.is_id(run_id) else None
        if found is None:
            raise NotFound(f"run {run_id} of workflow {workflow_id} not found")
        return found


class EnabledWorkflows:
    """An org's enabled workflows by trigger event: one Query per org per batch.

    The callers call `fresh()` at the start of each batch (a stream batch, a queue message), so a
    workflow saved, enabled or disabled applies to every change recorded after it, at the price
    of one Query per org per batch, the same as the webhooks' lookup.
    """

    def __init__(self, store: DynamoAutomationStore, ttl_s: float = CACHE_TTL_S) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, dict[str, list[dict[str, Any]]]]] = {}

    def fresh(self) -> None:
        self._cache.clear()

    def for_event(self, org: str, event_name: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        cached = self._cache.get(org)
        if cached is None or cached[0] < now:
            by_event: dict[str, list[dict[str, Any]]] = {}
            for workflow in self.store.list_workflows(org):
                if workflow.get("enabled", True):
                    by_event.setdefault(workflow["trigger"]["eventName"], []).append(workflow)
            if len(self._cache) > 1000:
                self._cache.clear()
            cached = (now + self.ttl_s, by_event)
            self._cache[org] = cached
        return cached[1].get(event_name, [])


class EventTriggers:
    """The workflow-runs messages an object event causes (none unless a workflow listens)."""

    def __init__(self, enabled: EnabledWorkflows) -> None:
        self.enabled = enabled

    def fresh(self) -> None:
        """A new batch: read the org's workflows again."""
        self.enabled.fresh()

    def messages(self, event: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
        """(message, FIFO group, deduplication id) for the event, if any workflow listens."""
        if trigger_kind(event["name"]) != "object" or not self.enabled.for_event(event["org"], event["name"]):
            return []
        message: dict[str, Any] = {"source": "event", "org": event["org"], "event": event}
        if len(strictjson.dumps(event)) > MAX_EVENT_MESSAGE_BYTES:
            data = event["data"]
            message["event"] = {**event, "data": {"type": data["type"], "id": data["id"]}, "truncated": True}
        return [(message, f"object:{event['dataId']}", event["id"])]


class WorkflowRunner:
    """Executes the runs one workflow-runs message stands for, each at most once to completion."""

    def __init__(
        self,
        store: DynamoAutomationStore,
        enabled: EnabledWorkflows,
        engine: WorkflowEngine,
        load_object: Callable[[str, str, str], dict[str, Any] | None],
        clock: Callable[[], str] = ids.now_iso,
    ) -> None:
        self.store = store
        self.enabled = enabled
        self.engine = engine
        self.load_object = load_object
        self.clock = clock

    def handle(self, message: dict[str, Any]) -> list[str]:
        """Run every workflow the message triggers; returns the run ids (new or already done)."""
        org = message["org"]
        source = message["source"]
        self.enabled.fresh()
        if source == "hook":
            tx = self.store.get_transaction(org, message["hookId"], message["dedupe"])
            if tx is None:
                logger.warning("hook transaction expired before it ran", extra={"message": message})
                return []
            event_name = receive_event(message["hookType"], message["hookId"])
            trigger = {
                "id": tx["id"],
                "type": "hook_transaction",
                "attributes": {
                    "data": json.loads(tx["body"]),
                    "headers": tx["headers"],
                    "receivedAt": tx["receivedAt"],
                },
            }
            targets = [(w, run_id_for(tx["id"], w["id"])) for w in self.enabled.for_event(org, event_name)]
        elif source == "event":
            event = message["event"]
            event_name = event["name"]
            data = event["data"]
            if event.get("truncated"):
                data = self.load_object(org, data["type"], data["id"]) or data
            trigger = {**data, "changes": event.get("changes")}
            targets = [(w, run_id_for(event["id"], w["id"])) for w in self.enabled.for_event(org, event_name)]
        elif source == "call":
            workflow = self.store.get_workflow(org, message["workflowId"])
            event_name = callable_event(message["workflowId"])
            inputs = message.get("inputs") or {}
            trigger = {"id": message["callId"], "inputs": inputs, "attributes": {"data": inputs}}
            targets = [(workflow, message["callId"])] if workflow else []
        else:
            raise ValueError(f"unknown workflow-runs message source {source!r}")
        done: list[str] = []
        for workflow, run_id in targets:
            self._run_once(org, workflow, run_id, event_name, trigger)
            done.append(run_id)
        return done

    def _run_once(
        self, org: str, workflow: dict[str, Any], run_id: str, event_name: str, trigger: dict[str, Any]
    ) -> None:
        earlier = self.store.get_run(org, workflow["id"], run_id)
        if earlier is not None and earlier.get("status") in FINISHED:
            return  # a duplicate message: this run already finished
        from switchboard.domain.workflows.definition import validate_definition
        from switchboard.domain.workflows.engine import RunContext

        started = self.clock()
        try:
            definition = validate_definition(workflow)
            result = self.engine.run(
                definition, trigger, RunContext(org=org, run_id=run_id, workflow_id=workflow["id"])
            )
            outcome = result.to_dict()
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            outcome = _failed_outright(exc, workflow["id"], run_id)
        record = {
            "id": run_id,
            "workflowId": workflow["id"],
            "workflowRev": workflow["rev"],
            "eventName": event_name,
            "startedAt": started,
            "finishedAt": self.clock(),
            **outcome,
        }
        try:
            self.store.put_run(org, workflow["id"], _fit(record))
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            logger.exception("workflow run record refused", extra={"workflow": workflow["id"], "run": run_id})
            message = f"the run's record could not be saved ({type(exc).__name__}); its steps are left out"
            record = {
                **{name: record[name] for name in ("id", "workflowId", "workflowRev", "eventName")},
                **{name: record[name] for name in ("startedAt", "finishedAt", "status")},
                "error": {"message": message, "code": "internal_error"},
                "steps": [],
            }
            self.store.put_run(org, workflow["id"], record)
        if record.get("status") in {"failed", "timed_out"}:
            metrics.emit(
                wiring.WORKFLOW_RUN_FAILED_METRIC,
                properties={"org": org, "workflowId": workflow["id"], "runId": run_id},
            )
        logger.info(
            "workflow run", extra={"workflow": workflow["id"], "run": run_id, "status": record.get("status")}
        )


def _failed_outright(exc: Exception, workflow_id: str, run_id: str) -> dict[str, Any]:
    """The outcome of a run that raised outside any step: failed, with a generic message."""
    if isinstance(exc, SwitchboardError):  # the stored definition no longer validates
        message = f"the workflow's definition is not valid: {exc.detail}"
    else:
        logger.exception("workflow run raised", extra={"workflow": workflow_id, "run": run_id})
        message = f"internal error ({type(exc).__name__}); the details are in Switchboard's logs"
    return {"status": "failed", "error": {"message": message, "code": "internal_error"}, "steps": []}


def _fit(record: dict[str, Any], limit: int = 300 * 1024) -> dict[str, Any]:
    """Keep a run record under the item size: truncate the largest step inputs and outputs."""
    if len(json.dumps(record, default=str)) <= limit:
        return record
    for step in record.get("steps", []):
        for name in ("input", "output"):
            text = json.dumps(step.get(name), default=str)
            if len(text) > 4096:
                step[name] = {"truncated": True, "preview": text[:4096]}
    return record
