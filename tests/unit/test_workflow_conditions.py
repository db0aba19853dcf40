"""Transition conditions: ops, nesting, and the comparison rules documented in conditions.py."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.domain.workflows.conditions import evaluate
from switchboard.domain.workflows.definition import Condition
from switchboard.domain.workflows.errors import StepError

CONTEXT: dict[str, Any] = {
    "steps": {
        "1": {"attributes": {"data": {"total": "12.50", "count": 3, "status": "open", "tags": ["vip"]}}},
        "find": {},
        "found": {"id": "64f1c0ffee0000000000abcd", "name": ""},
    }
}


def holds(op: str, *values: Any) -> bool:
    return evaluate({"op": op, "values": list(values)}, CONTEXT)


def test_true_and_false() -> None:
    assert holds("true", True)
    assert holds("true")
    assert not holds("true", False)
    assert not holds("true", "/#steps.find.id")
    assert holds("false", False)
    assert holds("false", "/#steps.find.id")
    assert not holds("false")
    assert not holds("false", True)


def test_exists_and_dne() -> None:
    assert holds("exists", "/#steps.found.id")
    assert not holds("exists", "/#steps.find.id")
    assert holds("dne", "/#steps.find.id")
    assert holds("dne", "/#steps.found.name")  # "" counts as missing
    assert holds("exists", "/#steps.1.attributes.data.tags")


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("/#steps.1.attributes.data.total", 12.5, True),  # numeric string vs number
        ("/#steps.1.attributes.data.count", "3", True),
        ("/#steps.1.attributes.data.status", "open", True),
        ("/#steps.1.attributes.data.status", "Open", False),  # text is case-sensitive
        (True, "true", True),
        (None, None, True),
        ("/#steps.find.id", "", False),
        ("/#steps.1.attributes.data.tags", ["vip"], True),
    ],
)
def test_eq_and_neq(left: Any, right: Any, equal: bool) -> None:
    assert holds("eq", left, right) is equal
    assert holds("neq", left, right) is not equal


def test_ordering_is_numeric_when_both_sides_are_numbers() -> None:
    assert holds("gt", "10", "9")  # as numbers, not as text
    assert holds("lt", "/#steps.1.attributes.data.total", 100)
    assert holds("gte", "/#steps.1.attributes.data.count", 3)
    assert holds("lte", 3, "3.0")
    assert not holds("gt", 3, 3)


def test_ordering_of_text_and_of_values_that_cannot_be_ordered() -> None:
    assert holds("gt", "b", "a")
    assert holds("lt", "2024-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z")
    assert not holds("gt", "/#steps.find.id", 1)  # null never compares
    assert not holds("lt", "/#steps.find.id", 1)
    assert not holds("gt", "abc", 1)


def test_date_times_compare_as_instants() -> None:
    assert holds("eq", "2025-01-01T10:00:00Z", "2025-01-01T11:00:00.000+01:00")
    assert holds("gt", "2025-01-01T10:00:00.5Z", "2025-01-01T10:00:00.000Z")
    assert holds("lte", "2025-01-01T10:00:00Z", "2025-01-01T10:00:00.000Z")  # as text: "gt"
    assert holds("lt", "2025-01-01T10:00:00", "2025-01-01T10:00:01Z")  # no zone: UTC
    assert not holds("eq", "2025-01-01T10:00:00Z", "2025-01-01")  # a date alone is text


def test_contains() -> None:
    assert holds("contains", "/#steps.1.attributes.data.status", "pe")
    assert holds("contains", "/#steps.1.attributes.data.tags", "vip")
    assert not holds("contains", "/#steps.1.attributes.data.tags", "eu")
    assert holds("contains", "/#steps.1.attributes.data", "status")  # a key of an object
    assert not holds("contains", "/#steps.find.id", "x")
    assert holds("contains", "order 42", 42)


def test_and_or_nest() -> None:
    condition = {
        "op": "and",
        "values": [
            {"op": "exists", "values": ["/#steps.found.id"]},
            {
                "op": "or",
                "values": [
                    {"op": "eq", "values": ["/#steps.1.attributes.data.status", "done"]},
                    {"op": "gt", "values": ["/#steps.1.attributes.data.total", 10]},
                ],
            },
        ],
    }
    assert evaluate(condition, CONTEXT)
    condition["values"][0] = {"op": "exists", "values": ["/#steps.find.id"]}
    assert not evaluate(condition, CONTEXT)


def test_models_and_no_condition() -> None:
    assert evaluate(Condition(op="eq", values=["/#steps.1.attributes.data.count", 3]), CONTEXT)
    assert evaluate(None, CONTEXT)


def test_unknown_op_at_run_time_is_a_step_error() -> None:
    with pytest.raises(StepError, match="unknown condition op"):
        holds("resembles", 1, 2)
