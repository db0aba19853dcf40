"""Invariants of the one wiring declaration, checked where it is turned into resources.

Whatever reaches a function through a trigger must be usable by it: every table whose stream
triggers a function is named in its environment (the handler tells stream records apart by
table name) and readable by its role. The expected set comes from the triggers themselves, not
from `FunctionSpec.tables`, so a declaration that forgets a table fails here. The deployed side
is the synthesized template; the local side is `tests/unit/test_local_wiring_invariants.py`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from infra.functions import TABLE_READ_ACTIONS
from switchboard import wiring

if TYPE_CHECKING:
    from conftest import Synth


def role_statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    role_id = synth.logical_id(synth.stack.functions.functions[function_name].role)
    statements: list[dict[str, Any]] = []
    for policy in synth.resources_of("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def table_actions(statements: list[dict[str, Any]], lid: str) -> set[str]:
    """Actions granted on the table `lid` itself or its indexes (not on its stream)."""
    granted: set[str] = set()
    for statement in statements:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in resources:
            text = json.dumps(resource)
            if (
                f'"Ref": "{lid}"' in text or f'"Fn::GetAtt": ["{lid}", "Arn"]' in text
            ) and "StreamArn" not in text:
                actions = statement["Action"]
                granted |= set(actions if isinstance(actions, list) else [actions])
    return granted


def streamed_tables(spec: wiring.FunctionSpec) -> set[str]:
    return {t.table for t in spec.triggers if isinstance(t, wiring.StreamTrigger)}


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_every_triggering_table_is_in_the_environment(synth: Synth, spec: wiring.FunctionSpec) -> None:
    variables: dict[str, Any] = synth.resources[synth.function_id(spec.name)]["Properties"]["Environment"][
        "Variables"
    ]
    for key in streamed_tables(spec):
        env_var = wiring.table(key).env_var
        assert variables.get(env_var) == {"Ref": synth.table_id(key)}, (spec.name, env_var)


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_every_triggering_table_is_readable_by_the_role(synth: Synth, spec: wiring.FunctionSpec) -> None:
    statements = role_statements(synth, spec.name)
    for key in streamed_tables(spec):
        granted = table_actions(statements, synth.table_id(key))
        assert set(TABLE_READ_ACTIONS) <= granted, (spec.name, key)


def test_the_forward_function_knows_the_webhooks_table(synth: Synth) -> None:
    """The webhooks stream feeds the forward function (webhooks turned off are data stream events)."""
    props = synth.resources[synth.function_id("forward")]["Properties"]
    assert props["Environment"]["Variables"]["WEBHOOKS_TABLE"] == {"Ref": synth.table_id("webhooks")}
