"""Kustomer workflow JSON: the models and the checks made when a workflow is saved.

A Kustomer export loads unchanged: keys we do not use (appVersion, meta, callable,
displayName, ids and timestamps of the stored document...) are accepted and ignored. What would
only fail at run time is refused on save instead, with a JSON pointer to the faulty place.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from switchboard.domain.service import validation_error
from switchboard.domain.workflows import conditions, values
from switchboard.domain.workflows.patterns import compile_pattern
from switchboard.errors import BadRequest

MAX_STEPS = 200
ID_PATTERN = re.compile(r"^[^.\s]{1,128}$")  # references split paths on dots

# The actions of the wire format's section 7; `pipeline.workflow_actions` implements each one.
ACTION_NAMES: frozenset[str] = frozenset(
    {
        "kustomer.customer.find",
        "kustomer.customer.find-by-email",
        "kustomer.customer.find-by-phone",
        "kustomer.customer.find-by-external-id",
        "kustomer.customer.create",
        "kustomer.customer.update",
        "kustomer.kobject.create",
        "kustomer.kobject.create-with-customer",
        "kustomer.kobject.find-by-external-id",
        "kustomer.kobject.update",
        "kustomer.conversation.create",
        "kustomer.conversation.update",
        "kustomer.message.create",
        "kustomer.rest-api.json",
        "kustomer.regex-match.generic",
    }
)

HOOK_TRIGGER = re.compile(r"^kustomer\.hooks\.(form|web)\.([0-9a-f]{24})\.receive$")
OBJECT_TRIGGER = re.compile(r"^kustomer\.(customer|conversation|message)\.(create|update)$")
KOBJECT_TRIGGER = re.compile(r"^kustomer\.kobject\.([A-Za-z0-9_-]{1,64})\.(create|update)$")
# Callable: `kustomer.workflow.call` in a new definition, `kustomer.workflow.<id>.call` once saved
# (and in Kustomer exports, where the id is the exporting org's: it is replaced on save).
CALL_TRIGGER = re.compile(r"^kustomer\.workflow\.(?:([0-9a-f]{24})\.)?call$")
CALL_EVENT = "kustomer.workflow.call"


class _Lenient(BaseModel):
    """Unknown keys are ignored, so Kustomer exports load as they are."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Condition(_Lenient):
    op: str
    values: list[Any] = Field(default_factory=list)

    @field_validator("values", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class Transition(_Lenient):
    target: str
    condition: Condition | None = None  # none: always taken


def _transitions(value: Any) -> Any:
    return [] if value is None else value


class Trigger(_Lenient):
    id: str
    eventName: str
    transitions: list[Transition] = Field(default_factory=list)

    _lists = field_validator("transitions", mode="before")(_transitions)


class Step(_Lenient):
    id: str
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    transitions: list[Transition] = Field(default_factory=list)
    errorCases: list[Transition] = Field(default_factory=list)

    _lists = field_validator("transitions", "errorCases", mode="before")(_transitions)

    @field_validator("params", mode="before")
    @classmethod
    def _null_params(cls, value: Any) -> Any:
        return {} if value is None else value


class Workflow(_Lenient):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=4096)] | None = None
    enabled: bool = True
    trigger: Trigger
    steps: Annotated[list[Step], Field(max_length=MAX_STEPS)] = Field(default_factory=list)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


# -- validation -----------------------------------------------------------------------------------


def validate_definition(body: Any) -> Workflow:
    """The workflow in `body`, or BadRequest(message, pointer) naming the first fault."""
    if not isinstance(body, dict):
        raise BadRequest("a workflow must be a JSON object", "")
    try:
        workflow = Workflow.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    _check_trigger(workflow)
    ids = _check_ids(workflow)
    step_ids = ids - {workflow.trigger.id}
    for index, step in enumerate(workflow.steps):
        here = f"/steps/{index}"
        if step.action not in ACTION_NAMES:
            raise BadRequest(f"unknown action {step.action!r}", f"{here}/action")
        for pointer, text in values.strings(step.params, f"{here}/params"):
            _check_text(text, pointer, ids)
        _check_action_params(step, here)
        _check_transitions(step.transitions, f"{here}/transitions", ids, step_ids)
        _check_transitions(step.errorCases, f"{here}/errorCases", ids, step_ids)
    _check_transitions(workflow.trigger.transitions, "/trigger/transitions", ids, step_ids)
    _check_reachable(workflow)
    return workflow


def trigger_events(workflow: Workflow, workflow_id: str | None = None) -> list[str]:
    """The event names that start the workflow. A callable workflow answers to
    `kustomer.workflow.<workflow_id>.call` (the id it is saved under, when given)."""
    event = workflow.trigger.eventName
    if workflow_id is not None and CALL_TRIGGER.match(event):
        return [callable_event(workflow_id)]
    return [event]


def callable_event(workflow_id: str) -> str:
    return f"kustomer.workflow.{workflow_id}.call"


def trigger_kind(event_name: str) -> str | None:
    """What starts a workflow on this event: hook, object or callable; None if none may."""
    if HOOK_TRIGGER.match(event_name):
        return "hook"
    if OBJECT_TRIGGER.match(event_name) or KOBJECT_TRIGGER.match(event_name):
        return "object"
    if CALL_TRIGGER.match(event_name):
        return "callable"
    return None


def _check_trigger(workflow: Workflow) -> None:
    if not ID_PATTERN.match(workflow.trigger.id):
        raise BadRequest("the trigger id must be 1-128 characters without dots or spaces", "/trigger/id")
    if trigger_kind(workflow.trigger.eventName) is None:
        raise BadRequest(
            f"unsupported trigger event {workflow.trigger.eventName!r}: use "
            "kustomer.hooks.(form|web).<hookId>.receive, kustomer.(customer|conversation|message)."
            "(create|update), kustomer.kobject.<klass>.(create|update) or kustomer.workflow.call",
            "/trigger/eventName",
        )


def _check_ids(workflow: Workflow) -> set[str]:
    ids = {workflow.trigger.id}
    for index, step in enumerate(workflow.steps):
        if not ID_PATTERN.match(step.id):
            raise BadRequest(
                "a step id must be 1-128 characters without dots or spaces", f"/steps/{index}/id"
            )
        if step.id in ids:
            raise BadRequest(f"duplicate step id {step.id!r}", f"/steps/{index}/id")
        ids.add(step.id)
    return ids


def _check_transitions(transitions: list[Transition], pointer: str, ids: set[str], steps: set[str]) -> None:
    """Targets must be steps (not the trigger); conditions may read the trigger and any step."""
    for index, transition in enumerate(transitions):
        here = f"{pointer}/{index}"
        if transition.target not in steps:
            raise BadRequest(f"transition target {transition.target!r} is not a step id", f"{here}/target")
        if transition.condition is not None:
            _check_condition(transition.condition.model_dump(), f"{here}/condition", ids)


def _check_condition(condition: Any, pointer: str, ids: set[str]) -> None:
    if not isinstance(condition, dict):
        raise BadRequest("a condition must be an object with op and values", pointer)
    op, items = conditions.parts(condition)
    if op not in conditions.OPS:
        raise BadRequest(f"unknown condition op {op!r}", f"{pointer}/op")
    fewest, most = conditions.OPS[op]
    if len(items) < fewest or (most is not None and len(items) > most):
        wanted = (
            f"at least {fewest}" if most is None else (f"{fewest}" if fewest == most else f"{fewest}-{most}")
        )
        raise BadRequest(f"condition {op} takes {wanted} values, not {len(items)}", f"{pointer}/values")
    for index, item in enumerate(items):
        here = f"{pointer}/values/{index}"
        if op in conditions.LOGICAL:
            _check_condition(item, here, ids)
        else:
            for where, text in values.strings(item, here):
                _check_text(text, where, ids)


def _check_text(text: str, pointer: str, ids: set[str]) -> None:
    """References, templates and function calls must name existing steps and functions."""
    paths, calls = values.paths_in(text)
    for name, count in calls:
        function = values.FUNCTIONS.get(name)
        if function is None:
            known = ", ".join(sorted(values.FUNCTIONS))
            raise BadRequest(f"unknown function {name!r} (known: {known})", pointer)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            raise BadRequest(f"wrong number of arguments for {name}", pointer)
    for path in paths:
        head, _, rest = path.partition(".")
        if head != "steps":
            continue  # other roots resolve to null; only step names can be checked
        step_id = rest.split(".", 1)[0]
        if step_id not in ids:
            raise BadRequest(f"{text!r} refers to step {step_id!r}, which does not exist", pointer)


def _check_action_params(step: Step, here: str) -> None:
    """Literal params that are sure to fail at run time."""
    params = step.params
    if step.action == "kustomer.regex-match.generic":
        regex, flags = params.get("regex"), params.get("flags")
        if isinstance(regex, str) and not _dynamic(regex):
            literal_flags = flags if isinstance(flags, str) and not _dynamic(flags) else ""
            try:
                compile_pattern(regex, literal_flags)
            except ValueError as exc:
                raise BadRequest(str(exc), f"{here}/params/regex") from None
    if step.action == "kustomer.rest-api.json":
        method = params.get("method")
        if isinstance(method, str) and not _dynamic(method) and method.upper() not in _METHODS:
            raise BadRequest(f"method must be one of {', '.join(sorted(_METHODS))}", f"{here}/params/method")
        if "uri" not in params:
            raise BadRequest("uri is required", f"{here}/params/uri")


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _dynamic(text: str) -> bool:
    return text.startswith(values.REFERENCE) or "{{{" in text


def _check_reachable(workflow: Workflow) -> None:
    seen: set[str] = set()
    queue = deque(t.target for t in workflow.trigger.transitions)
    while queue:
        step_id = queue.popleft()
        if step_id in seen:
            continue
        seen.add(step_id)
        step = workflow.step(step_id)
        if step is not None:
            queue.extend(t.target for t in _exits(step))
    for index, step in enumerate(workflow.steps):
        if step.id not in seen:
            raise BadRequest(f"step {step.id!r} cannot be reached from the trigger", f"/steps/{index}")


def _exits(step: Step) -> Iterator[Transition]:
    yield from step.transitions
    yield from step.errorCases
