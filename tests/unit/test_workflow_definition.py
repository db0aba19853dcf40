"""Workflow definitions: Kustomer exports load, and every fault is a 400 with a JSON pointer."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from switchboard.domain.workflows.definition import (
    ACTION_NAMES,
    Workflow,
    trigger_events,
    trigger_kind,
    validate_definition,
)
from switchboard.errors import BadRequest

HOOK = "64f1c0ffee0000000000abcd"

# The wire format's section 7 example, verbatim (its upsertOrder step is left out there).
SAMPLE: dict[str, Any] = {
    "name": "order-import",
    "enabled": True,
    "trigger": {
        "id": "1",
        "eventName": "kustomer.hooks.web.<hookId>.receive",
        "transitions": [{"target": "findCustomer", "condition": {"op": "true", "values": [True]}}],
    },
    "steps": [
        {
            "id": "findCustomer",
            "action": "kustomer.customer.find-by-email",
            "params": {"email": "/#steps.1.attributes.data.customer.email"},
            "transitions": [
                {
                    "target": "upsertOrder",
                    "condition": {"op": "exists", "values": ["/#steps.findCustomer.id"]},
                },
                {"target": "createCustomer", "condition": {"op": "true", "values": [True]}},
            ],
            "errorCases": [],
        },
        {
            "id": "createCustomer",
            "action": "kustomer.customer.create",
            "params": {
                "name": "{{{steps.1.attributes.data.customer.name}}}",
                "emails": [{"email": "/#steps.1.attributes.data.customer.email"}],
            },
            "transitions": [{"target": "upsertOrder", "condition": {"op": "true", "values": [True]}}],
        },
    ],
}

UPSERT = {
    "id": "upsertOrder",
    "action": "kustomer.kobject.create",
    "params": {
        "klass": "order",
        "customer": "/#fn:default,steps.findCustomer.id,steps.createCustomer.id",
        "externalId": "/#steps.1.attributes.data.id",
        "title": "Order {{{steps.1.attributes.data.number}}}",
    },
}


def complete() -> dict[str, Any]:
    """The sample with a real hook id and its upsertOrder step."""
    body = copy.deepcopy(SAMPLE)
    body["trigger"]["eventName"] = f"kustomer.hooks.web.{HOOK}.receive"
    body["steps"].append(copy.deepcopy(UPSERT))
    return body


def refused(body: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        validate_definition(body)
    return caught.value


def test_the_sample_loads_and_is_checked() -> None:
    model = Workflow.model_validate(SAMPLE)
    assert [s.id for s in model.steps] == ["findCustomer", "createCustomer"]
    # As printed, the sample names a hook id placeholder and a step it leaves out.
    assert refused(SAMPLE).pointer == "/trigger/eventName"
    body = copy.deepcopy(SAMPLE)
    body["trigger"]["eventName"] = f"kustomer.hooks.web.{HOOK}.receive"
    error = refused(body)
    assert error.pointer == "/steps/0/transitions/0/target"
    assert "upsertOrder" in error.detail


def test_a_complete_workflow_validates() -> None:
    workflow = validate_definition(complete())
    assert workflow.enabled is True
    assert workflow.trigger.transitions[0].target == "findCustomer"
    assert trigger_events(workflow) == [f"kustomer.hooks.web.{HOOK}.receive"]


def test_keys_of_kustomer_exports_are_ignored() -> None:
    body = complete()
    body.update(
        id="64f1c0ffee0000000000beef",
        rev=3,
        appVersion="kustomer-^1.0.0",
        callable=False,
        createdAt="2025-01-01T00:00:00.000Z",
        meta={"folder": "imports"},
    )
    body["trigger"].update(callable=False, meta={"x": 1}, appVersion="kustomer-^1.0.0")
    for step in body["steps"]:
        step.update(appVersion="kustomer-^1.8.0", meta={"displayName": "Step"}, displayName="Step")
    body["steps"][0]["transitions"][0]["meta"] = {"label": "found"}
    workflow = validate_definition(body)
    assert workflow.steps[0].action == "kustomer.customer.find-by-email"


def test_nulls_where_lists_and_objects_go() -> None:
    body = complete()
    body["steps"][2].update(transitions=None, errorCases=None)
    body["description"] = None
    validate_definition(body)


@pytest.mark.parametrize(
    "event",
    [
        f"kustomer.hooks.form.{HOOK}.receive",
        f"kustomer.hooks.web.{HOOK}.receive",
        "kustomer.customer.create",
        "kustomer.conversation.update",
        "kustomer.message.create",
        "kustomer.kobject.order.update",
        "kustomer.workflow.call",
        f"kustomer.workflow.{HOOK}.call",
    ],
)
def test_allowed_triggers(event: str) -> None:
    body = complete()
    body["trigger"]["eventName"] = event
    validate_definition(body)
    assert trigger_kind(event) is not None


@pytest.mark.parametrize(
    "event",
    [
        "kustomer.team.create",
        "kustomer.customer.delete",
        "kustomer.hooks.email.64f1c0ffee0000000000abcd.receive",
        "kustomer.hooks.web.not-an-id.receive",
        "kustomer.kobject..create",
        "order.created",
    ],
)
def test_other_triggers_are_refused(event: str) -> None:
    body = complete()
    body["trigger"]["eventName"] = event
    assert refused(body).pointer == "/trigger/eventName"


def test_callable_workflows_answer_to_their_own_id() -> None:
    body = complete()
    body["trigger"]["eventName"] = "kustomer.workflow.call"
    workflow = validate_definition(body)
    assert trigger_events(workflow, "64f1c0ffee0000000000beef") == [
        "kustomer.workflow.64f1c0ffee0000000000beef.call"
    ]
    assert trigger_kind("kustomer.workflow.call") == "callable"


def test_unknown_action() -> None:
    body = complete()
    body["steps"][2]["action"] = "kustomer.order.teleport"
    error = refused(body)
    assert error.pointer == "/steps/2/action"
    assert "kustomer.order.teleport" in error.detail


def test_every_action_of_section_7_is_known() -> None:
    assert {
        "kustomer.rest-api.json",
        "kustomer.regex-match.generic",
        "kustomer.message.create",
    } <= ACTION_NAMES
    assert len(ACTION_NAMES) == 15


def test_transition_targets_must_be_steps() -> None:
    body = complete()
    body["steps"][1]["transitions"][0]["target"] = "nowhere"
    assert refused(body).pointer == "/steps/1/transitions/0/target"
    body = complete()
    body["steps"][2]["errorCases"] = [{"target": "1", "condition": {"op": "true", "values": [True]}}]
    assert refused(body).pointer == "/steps/2/errorCases/0/target"  # the trigger is not a step


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"email": "/#steps.ghost.email"}, "/steps/0/params/email"),
        ({"email": "{{{steps.ghost.email}}}"}, "/steps/0/params/email"),
        ({"email": "/#fn:toLowerCase,steps.ghost.email"}, "/steps/0/params/email"),
        ({"a/b": {"list": ["ok", "x {{{steps.ghost.y}}}"]}}, "/steps/0/params/a~1b/list/1"),
        ({"email": "/#fn:shout,steps.1.x"}, "/steps/0/params/email"),
        ({"email": "/#fn:trim"}, "/steps/0/params/email"),
    ],
)
def test_references_must_name_steps_and_functions(params: dict[str, Any], pointer: str) -> None:
    body = complete()
    body["steps"][0]["params"] = params
    assert refused(body).pointer == pointer


def test_references_may_name_the_trigger_and_any_step() -> None:
    body = complete()
    body["steps"][0]["params"] = {
        "email": "/#steps.1.attributes.data.customer.email",
        "note": "{{{steps.upsertOrder.id}}} /#steps.nope",  # only a whole string is a reference
        "other": "/#context.anything",  # not a step path: resolves to null, nothing to check
    }
    validate_definition(body)


def test_references_in_conditions_are_checked() -> None:
    body = complete()
    body["steps"][0]["transitions"][0]["condition"] = {
        "op": "and",
        "values": [{"op": "true", "values": [True]}, {"op": "exists", "values": ["/#steps.ghost.id"]}],
    }
    assert refused(body).pointer == "/steps/0/transitions/0/condition/values/1/values/0"


def test_unreachable_steps() -> None:
    body = complete()
    body["steps"].append({"id": "orphan", "action": "kustomer.customer.find", "params": {}})
    error = refused(body)
    assert error.pointer == "/steps/3"
    assert "orphan" in error.detail


def test_steps_reached_only_through_error_cases_are_reachable() -> None:
    body = complete()
    body["steps"].append({"id": "recover", "action": "kustomer.customer.find", "params": {}})
    body["steps"][2]["errorCases"] = [{"target": "recover", "condition": {"op": "true", "values": [True]}}]
    validate_definition(body)


def test_duplicate_and_malformed_ids() -> None:
    body = complete()
    body["steps"][1]["id"] = "findCustomer"
    assert refused(body).pointer == "/steps/1/id"
    body = complete()
    body["steps"][1]["id"] = "1"  # the trigger's id
    assert refused(body).pointer == "/steps/1/id"
    body = complete()
    body["steps"][1]["id"] = "create.customer"
    assert refused(body).pointer == "/steps/1/id"


def test_unknown_condition_ops_at_any_depth() -> None:
    body = complete()
    body["steps"][0]["transitions"][1]["condition"] = {"op": "roughly", "values": [1, 2]}
    assert refused(body).pointer == "/steps/0/transitions/1/condition/op"
    body = complete()
    body["trigger"]["transitions"][0]["condition"] = {
        "op": "or",
        "values": [{"op": "true", "values": []}, {"op": "like", "values": ["a", "b"]}],
    }
    assert refused(body).pointer == "/trigger/transitions/0/condition/values/1/op"


def test_condition_value_counts() -> None:
    body = complete()
    body["steps"][0]["transitions"][0]["condition"] = {"op": "eq", "values": ["/#steps.findCustomer.id"]}
    assert refused(body).pointer == "/steps/0/transitions/0/condition/values"
    body["steps"][0]["transitions"][0]["condition"] = {"op": "and", "values": []}
    assert refused(body).pointer == "/steps/0/transitions/0/condition/values"
    body["steps"][0]["transitions"][0]["condition"] = {"op": "and", "values": ["yes"]}
    assert refused(body).pointer == "/steps/0/transitions/0/condition/values/0"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda b: b.pop("name"), "/name"),
        (lambda b: b.update(name=""), "/name"),
        (lambda b: b.update(name="x" * 256), "/name"),
        (lambda b: b.update(steps={}), "/steps"),
        (lambda b: b["steps"][1].pop("action"), "/steps/1/action"),
        (lambda b: b["trigger"].pop("eventName"), "/trigger/eventName"),
        (
            lambda b: b["steps"][0]["transitions"][0]["condition"].pop("op"),
            "/steps/0/transitions/0/condition/op",
        ),
        (lambda b: b["steps"][0].update(params=[1]), "/steps/0/params"),
    ],
)
def test_structure(change: Any, pointer: str) -> None:
    body = complete()
    change(body)
    assert refused(body).pointer == pointer


def test_not_an_object() -> None:
    assert refused([1, 2]).pointer == ""


def test_literal_action_params_that_cannot_work() -> None:
    body = complete()
    body["steps"][2] = {
        "id": "upsertOrder",
        "action": "kustomer.regex-match.generic",
        "params": {"regex": "(a"},
    }
    assert refused(body).pointer == "/steps/2/params/regex"
    body["steps"][2]["params"]["regex"] = "/#steps.1.attributes.data.pattern"  # known at run time only
    validate_definition(body)
    body["steps"][2] = {
        "id": "upsertOrder",
        "action": "kustomer.rest-api.json",
        "params": {"method": "FETCH", "uri": "https://api.example.com/x"},
    }
    assert refused(body).pointer == "/steps/2/params/method"
    body["steps"][2]["params"] = {"method": "get"}
    assert refused(body).pointer == "/steps/2/params/uri"
