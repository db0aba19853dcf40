"""Step param values: literals, references, functions and templates."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.domain.workflows.errors import StepError
from switchboard.domain.workflows.values import parse_float, parse_int, paths_in, resolve, to_text

CONTEXT: dict[str, Any] = {
    "steps": {
        "1": {
            "id": "tx1",
            "attributes": {
                "data": {
                    "number": 1042,
                    "total": "12.50 EUR",
                    "customer": {"email": " Ann@Example.com ", "name": "Ann"},
                    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
                    "tags": ["vip", "eu"],
                    "paid": True,
                    "note": None,
                }
            },
        },
        "find": {},
    }
}


def r(value: Any) -> Any:
    return resolve(value, CONTEXT, now=lambda: "2025-01-02T03:04:05.678Z")


@pytest.mark.parametrize("literal", [None, True, 3, 2.5, "plain text", "", "#/not a ref", "{{two}}"])
def test_literals_stay_as_they_are(literal: Any) -> None:
    assert r(literal) == literal


def test_a_reference_keeps_the_type_of_what_it_names() -> None:
    assert r("/#steps.1.attributes.data.number") == 1042
    assert r("/#steps.1.attributes.data.paid") is True
    assert r("/#steps.1.attributes.data.customer") == {"email": " Ann@Example.com ", "name": "Ann"}
    assert r("/#steps.1.attributes.data.tags") == ["vip", "eu"]


def test_list_indices_and_missing_paths() -> None:
    assert r("/#steps.1.attributes.data.items.1.sku") == "B-2"
    assert r("/#steps.1.attributes.data.items.5.sku") is None
    assert r("/#steps.1.attributes.data.items.x") is None
    assert r("/#steps.1.attributes.nothing.here") is None
    assert r("/#steps.find.id") is None
    assert r("/#steps.unknown.id") is None


def test_a_referenced_object_is_a_copy() -> None:
    found = r("/#steps.1.attributes.data.customer")
    found["name"] = "changed"
    assert CONTEXT["steps"]["1"]["attributes"]["data"]["customer"]["name"] == "Ann"


def test_templates_are_always_strings_and_missing_paths_are_empty() -> None:
    assert r("Order {{{steps.1.attributes.data.number}}}") == "Order 1042"
    assert r("{{{steps.1.attributes.data.number}}}") == "1042"
    assert r("[{{{ steps.1.attributes.data.missing }}}]") == "[]"
    assert r("{{{steps.1.attributes.data.note}}}!") == "!"
    assert r("{{{steps.1.attributes.data.paid}}}") == "true"
    assert r("tags={{{steps.1.attributes.data.tags}}}") == 'tags=["vip","eu"]'
    assert r("{{{steps.1.attributes.data.items.0.sku}}}/{{{steps.1.id}}}") == "A-1/tx1"


def test_values_resolve_through_objects_and_lists() -> None:
    params = {
        "name": "{{{steps.1.attributes.data.customer.name}}}",
        "emails": [{"email": "/#steps.1.attributes.data.customer.email", "type": "home"}],
        "custom": {"orderNum": "/#steps.1.attributes.data.number"},
    }
    assert r(params) == {
        "name": "Ann",
        "emails": [{"email": " Ann@Example.com ", "type": "home"}],
        "custom": {"orderNum": 1042},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/#fn:parseFloat,steps.1.attributes.data.total", 12.5),
        ("/#fn:parseInt,steps.1.attributes.data.total", 12),
        ("/#fn:toString,steps.1.attributes.data.number", "1042"),
        ("/#fn:toLowerCase,steps.1.attributes.data.customer.email", " ann@example.com "),
        ("/#fn:toUpperCase,steps.1.attributes.data.customer.name", "ANN"),
        ("/#fn:trim,steps.1.attributes.data.customer.email", "Ann@Example.com"),
        ("/#fn:now", "2025-01-02T03:04:05.678Z"),
        ("/#fn:length,steps.1.attributes.data.items", 2),
        ("/#fn:join,steps.1.attributes.data.tags,\\, ", "vip, eu"),
        ("/#fn:join,steps.1.attributes.data.tags", "vip,eu"),
        ("/#fn:split,a;b;c,;", ["a", "b", "c"]),
        ("/#fn:default,steps.find.id,steps.1.id", "tx1"),
        ("/#fn:default,steps.find.id,fallback", "fallback"),
        ("/#fn:concat,#,steps.1.attributes.data.number", "#1042"),
        ("/#fn:replace,steps.1.attributes.data.total, EUR,", "12.50"),
        ("/#fn:round,2.345,2", 2.35),
        ("/#fn:round,steps.1.attributes.data.total", 13),
        ("/#fn:encodeURIComponent,a b&c/d", "a%20b%26c%2Fd"),
        ("/#fn:jsonStringify,steps.1.attributes.data.tags", '["vip","eu"]'),
        ('/#fn:jsonParse,{"a":1}', {"a": 1}),
        ("/#fn:first,steps.1.attributes.data.items", {"sku": "A-1", "qty": 2}),
        ("/#fn:last,steps.1.attributes.data.tags", "eu"),
        ("/#fn:parseFloat,/#steps.1.attributes.data.number", 1042),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert r(text) == expected


def test_unknown_function_or_wrong_arity_is_a_step_error() -> None:
    with pytest.raises(StepError, match="unknown function"):
        r("/#fn:explode,steps.1.id")
    with pytest.raises(StepError, match="wrong number of arguments"):
        r("/#fn:trim")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", 12.5),
        ("  -3e2xyz", -300),
        (".5", 0.5),
        ("12", 12),
        ("abc", None),
        ("", None),
        ("Infinity", None),
        (7, 7),
        (None, None),
        (True, None),
    ],
)
def test_parse_float_follows_javascript(text: Any, expected: Any) -> None:
    assert parse_float(text) == expected
    assert type(parse_float(text)) is type(expected)


@pytest.mark.parametrize(
    ("text", "radix", "expected"),
    [("42px", None, 42), ("-7.9", None, -7), ("0x1f", None, 31), ("ff", "16", 255), ("z", None, None)],
)
def test_parse_int_follows_javascript(text: str, radix: str | None, expected: int | None) -> None:
    assert parse_int(text, radix) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (12.0, "12"), (0.1, "0.1"), ({"a": [1]}, '{"a":[1]}'), ("é", "é")],
)
def test_to_text(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_paths_in_reads_every_notation() -> None:
    assert paths_in("/#steps.a.b") == (["steps.a.b"], [])
    assert paths_in("/#fn:default,steps.a.id,steps.b.id,x") == (
        ["steps.a.id", "steps.b.id"],
        [("default", 3)],
    )
    assert paths_in("{{{steps.a.x}}} and {{{steps.b.y}}}") == (["steps.a.x", "steps.b.y"], [])
    assert paths_in("plain") == ([], [])
