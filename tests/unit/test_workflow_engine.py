"""The engine with fake actions: transitions, step logs, errorCases, time limit and loop guard."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from switchboard.domain.workflows.definition import Workflow, validate_definition
from switchboard.domain.workflows.engine import RunContext, StepContext, WorkflowEngine
from switchboard.domain.workflows.errors import StepError
from switchboard.errors import Conflict, NotFound
from tests.unit.test_workflow_definition import SAMPLE, complete

RUN = RunContext(org="org1", run_id="run1", workflow_id="wf1")
TRIGGER = {
    "id": "tx1",
    "type": "hook_transaction",
    "attributes": {
        "data": {"id": "ord-7", "number": 7, "customer": {"email": "ann@example.com", "name": "Ann"}}
    },
}


class Clock:
    """Seconds since the epoch, moved by hand or by the fake actions."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Fakes:
    """Records calls; each action answers from `answers` (a dict, or a callable that may raise)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any], StepContext]] = []

    def actions(self) -> dict[str, Callable[[dict[str, Any], StepContext], dict[str, Any]]]:
        def make(name: str) -> Callable[[dict[str, Any], StepContext], dict[str, Any]]:
            def action(params: dict[str, Any], step: StepContext) -> dict[str, Any]:
                self.calls.append((name, params, step))
                answer = self.answers[name]
                return answer(params, step) if callable(answer) else copy.deepcopy(answer)

            return action

        return {name: make(name) for name in self.answers}


def run(body: dict[str, Any], answers: dict[str, Any], clock: Clock | None = None, **kw: Any) -> Any:
    fakes = Fakes(answers)
    engine = WorkflowEngine(fakes.actions(), clock=clock or Clock(), **kw)
    result = engine.run(validate_definition(body), copy.deepcopy(TRIGGER), RUN)
    return result, fakes


CUSTOMER = {"id": "64f1c0ffee0000000000c001", "name": "Ann", "rev": 1}
ORDER = {"id": "64f1c0ffee0000000000d001", "title": "Order 7", "rev": 1}


def test_the_sample_creates_a_customer_when_none_is_found() -> None:
    result, fakes = run(
        complete(),
        {
            "kustomer.customer.find-by-email": {},
            "kustomer.customer.create": CUSTOMER,
            "kustomer.kobject.create": ORDER,
        },
    )
    assert result.status == "succeeded"
    assert result.error is None
    assert [s.id for s in result.steps] == ["findCustomer", "createCustomer", "upsertOrder"]
    find, create, upsert = (call[1] for call in fakes.calls)
    assert find == {"email": "ann@example.com"}
    assert create == {"name": "Ann", "emails": [{"email": "ann@example.com"}]}
    assert upsert == {
        "klass": "order",
        "customer": CUSTOMER["id"],
        "externalId": "ord-7",
        "title": "Order 7",
    }
    assert result.steps[2].output == ORDER


def test_the_sample_skips_the_create_when_the_customer_exists() -> None:
    result, fakes = run(
        complete(),
        {
            "kustomer.customer.find-by-email": CUSTOMER,
            "kustomer.customer.create": {},
            "kustomer.kobject.create": ORDER,
        },
    )
    assert result.status == "succeeded"
    assert [s.id for s in result.steps] == ["findCustomer", "upsertOrder"]
    assert fakes.calls[1][1]["customer"] == CUSTOMER["id"]


def test_the_verbatim_sample_runs_until_its_missing_step() -> None:
    """The printed sample loads unchanged; its upsertOrder step is not part of it."""
    fakes = Fakes({"kustomer.customer.find-by-email": {}, "kustomer.customer.create": CUSTOMER})
    engine = WorkflowEngine(fakes.actions(), clock=Clock())
    result = engine.run(Workflow.model_validate(SAMPLE), copy.deepcopy(TRIGGER), RUN)
    assert [s.id for s in result.steps] == ["findCustomer", "createCustomer"]
    assert result.status == "failed"
    assert result.error == {"step": "upsertOrder", "message": "no step 'upsertOrder'"}


def test_step_log_and_contexts() -> None:
    clock = Clock(1_735_787_045.678)
    result, fakes = run(
        complete(), {name: {} for name in _names()} | {"kustomer.customer.create": CUSTOMER}, clock
    )
    log = result.steps[0].to_dict()
    assert log == {
        "id": "findCustomer",
        "action": "kustomer.customer.find-by-email",
        "input": {"email": "ann@example.com"},
        "output": {},
        "error": None,
        "startedAt": "2025-01-02T03:04:05.678Z",
        "finishedAt": "2025-01-02T03:04:05.678Z",
    }
    step = fakes.calls[1][2]
    assert (step.org, step.run_id, step.step_id, step.workflow_id, step.visit) == (
        "org1",
        "run1",
        "createCustomer",
        "wf1",
        1,
    )
    assert step.execution_key == "run1:createCustomer"
    assert step.remaining_s == 300
    assert json.loads(json.dumps(result.to_dict()))["status"] == "succeeded"


def _names() -> list[str]:
    return ["kustomer.customer.find-by-email", "kustomer.customer.create", "kustomer.kobject.create"]


def branching(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """trigger -> check; check's transitions go to a, b, c in order with the given conditions."""
    targets = ["a", "b", "c"][: len(conditions)]
    return {
        "name": "branch",
        "trigger": {"id": "1", "eventName": "kustomer.customer.update", "transitions": [{"target": "check"}]},
        "steps": [
            {
                "id": "check",
                "action": "kustomer.customer.find",
                "params": {"id": "/#steps.1.id"},
                "transitions": [
                    {"target": t, "condition": c} for t, c in zip(targets, conditions, strict=True)
                ],
            },
            *({"id": t, "action": "kustomer.customer.update", "params": {"id": t}} for t in targets),
        ],
    }


def test_the_first_transition_that_holds_wins() -> None:
    body = branching(
        [
            {"op": "eq", "values": ["/#steps.check.name", "Bob"]},
            {"op": "eq", "values": ["/#steps.check.name", "Ann"]},
            {"op": "true", "values": [True]},
        ]
    )
    result, _ = run(body, {"kustomer.customer.find": CUSTOMER, "kustomer.customer.update": {}})
    assert [s.id for s in result.steps] == ["check", "b"]


def test_no_transition_that_holds_ends_the_run() -> None:
    body = branching([{"op": "false"}, {"op": "dne", "values": ["/#steps.check.id"]}])
    result, _ = run(body, {"kustomer.customer.find": CUSTOMER, "kustomer.customer.update": {}})
    assert result.status == "succeeded"
    assert [s.id for s in result.steps] == ["check"]


def test_a_trigger_without_transitions_runs_nothing() -> None:
    body = {"name": "idle", "trigger": {"id": "1", "eventName": "kustomer.message.create"}, "steps": []}
    result, _ = run(body, {})
    assert (result.status, result.steps, result.error) == ("succeeded", [], None)


def with_error_cases(error_cases: list[dict[str, Any]]) -> dict[str, Any]:
    """get -> done, and get's errorCases to `missing` or `other` (steps nothing targets are left out)."""
    targeted = {"get", "done"} | {case["target"] for case in error_cases}
    body = {
        "name": "errors",
        "trigger": {"id": "1", "eventName": "kustomer.customer.create", "transitions": [{"target": "get"}]},
        "steps": [
            {
                "id": "get",
                "action": "kustomer.rest-api.json",
                "params": {"method": "GET", "uri": "https://api.example.com/orders/{{{steps.1.id}}}"},
                "transitions": [{"target": "done"}],
                "errorCases": error_cases,
            },
            {"id": "done", "action": "kustomer.customer.update", "params": {"id": "/#steps.1.id"}},
            {
                "id": "missing",
                "action": "kustomer.customer.update",
                "params": {"note": "{{{steps.get.error.message}}} ({{{steps.get.error.status}}})"},
            },
            {"id": "other", "action": "kustomer.customer.update", "params": {}},
        ],
    }
    body["steps"] = [step for step in body["steps"] if step["id"] in targeted]
    return body


def fail_with(error: Exception) -> Callable[[dict[str, Any], StepContext], dict[str, Any]]:
    def action(params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        raise error

    return action


ERROR_CASES = [
    {"target": "missing", "condition": {"op": "eq", "values": ["/#steps.get.error.status", 404]}},
    {"target": "other", "condition": {"op": "exists", "values": ["/#steps.get.error.message"]}},
]


def test_the_first_matching_error_case_runs_next_with_the_error_visible() -> None:
    result, fakes = run(
        with_error_cases(ERROR_CASES),
        {
            "kustomer.rest-api.json": fail_with(StepError("GET api: answered 404", 404)),
            "kustomer.customer.update": {},
        },
    )
    assert result.status == "succeeded"
    assert [s.id for s in result.steps] == ["get", "missing"]
    assert result.steps[0].error == {"message": "GET api: answered 404", "status": 404}
    assert result.steps[0].output is None
    assert fakes.calls[1][1] == {"note": "GET api: answered 404 (404)"}


def test_domain_errors_are_step_errors_too() -> None:
    result, _ = run(
        with_error_cases(ERROR_CASES),
        {"kustomer.rest-api.json": fail_with(Conflict("taken", "/email")), "kustomer.customer.update": {}},
    )
    assert [s.id for s in result.steps] == ["get", "other"]
    assert result.steps[0].error == {
        "message": "taken",
        "status": 409,
        "code": "conflict",
        "pointer": "/email",
    }


def test_an_unhandled_step_error_fails_the_run() -> None:
    result, _ = run(
        with_error_cases([]),
        {
            "kustomer.rest-api.json": fail_with(NotFound("customer x not found")),
            "kustomer.customer.update": {},
        },
    )
    assert result.status == "failed"
    assert result.error == {
        "step": "get",
        "message": "customer x not found",
        "status": 404,
        "code": "not_found",
    }
    assert [s.id for s in result.steps] == ["get"]


def test_error_cases_that_do_not_match_fail_the_run() -> None:
    only_409 = [{"target": "other", "condition": {"op": "eq", "values": ["/#steps.get.error.status", 409]}}]
    result, _ = run(
        with_error_cases(only_409),
        {"kustomer.rest-api.json": fail_with(StepError("boom", 500)), "kustomer.customer.update": {}},
    )
    assert result.status == "failed"
    assert result.error == {"step": "get", "message": "boom", "status": 500}


def test_infrastructure_errors_propagate_for_a_retry_of_the_run() -> None:
    from botocore.exceptions import ClientError

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
    with pytest.raises(ClientError, match="slow down"):
        run(
            with_error_cases(ERROR_CASES),
            {"kustomer.rest-api.json": fail_with(throttled), "kustomer.customer.update": {}},
        )


def test_a_param_that_cannot_be_resolved_is_a_step_error() -> None:
    body = with_error_cases([])
    body["steps"][0]["params"]["uri"] = "/#fn:shout,steps.1.id"  # bypasses validation below
    engine = WorkflowEngine(Fakes({"kustomer.rest-api.json": {}}).actions(), clock=Clock())
    result = engine.run(Workflow.model_validate(body), TRIGGER, RUN)
    assert result.status == "failed"
    assert result.steps[0].input is None
    assert "unknown function 'shout'" in result.steps[0].error["message"]


def test_an_action_the_engine_lacks_is_a_step_error() -> None:
    result, _ = run(with_error_cases([]), {"kustomer.customer.update": {}})
    assert result.status == "failed"
    assert result.error["message"] == "action kustomer.rest-api.json is not available"


def looping(max_steps: int | None = None) -> dict[str, Any]:
    return {
        "name": "loop",
        "trigger": {"id": "1", "eventName": "kustomer.customer.create", "transitions": [{"target": "again"}]},
        "steps": [
            {
                "id": "again",
                "action": "kustomer.customer.find",
                "params": {},
                "transitions": [{"target": "again", "condition": {"op": "true", "values": [True]}}],
            }
        ],
    }


def test_a_run_stops_after_max_seconds() -> None:
    clock = Clock()

    def slow(params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        clock.now += 120
        return {}

    result, fakes = run(looping(), {"kustomer.customer.find": slow}, clock)
    assert result.status == "timed_out"
    assert len(result.steps) == 3  # 0 s, 120 s, 240 s started; at 360 s the run stops
    assert "longer than 300 s" in result.error["message"]
    assert [call[2].remaining_s for call in fakes.calls] == [300, 180, 60]


def test_a_loop_is_cut_after_max_steps() -> None:
    result, fakes = run(looping(), {"kustomer.customer.find": {}}, max_steps=100)
    assert result.status == "failed"
    assert len(result.steps) == 100
    assert "more than 100 steps" in result.error["message"]
    assert fakes.calls[-1][2].visit == 100
    assert fakes.calls[-1][2].execution_key == "run1:again:100"


def test_redaction_hook_shapes_the_logged_input_only() -> None:
    seen: list[dict[str, Any]] = []

    class Secretive:
        def __call__(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
            seen.append(params)
            return {"ok": True}

        @staticmethod
        def redact(params: dict[str, Any]) -> dict[str, Any]:
            return {**params, "uri": "[hidden]"}

    body = with_error_cases([])
    engine = WorkflowEngine(
        {"kustomer.rest-api.json": Secretive(), "kustomer.customer.update": lambda p, s: {}}, clock=Clock()
    )
    result = engine.run(validate_definition(body), TRIGGER, RUN)
    assert seen[0]["uri"] == "https://api.example.com/orders/tx1"
    assert result.steps[0].input["uri"] == "[hidden]"


def test_to_dict_is_json_safe() -> None:
    result, _ = run(
        complete(),
        {
            "kustomer.customer.find-by-email": {"score": float("nan"), "when": object()},
            "kustomer.customer.create": {},
            "kustomer.kobject.create": {},
        },
    )
    stored = result.to_dict()
    text = json.dumps(stored, allow_nan=False)
    assert json.loads(text)["steps"][0]["output"]["score"] is None
