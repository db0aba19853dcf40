"""The one JSON policy: RFC 8259 in (UTF-8, finite numbers, bounded depth), and out."""

from __future__ import annotations

import math

import pytest

from switchboard import strictjson
from switchboard.strictjson import MAX_DEPTH, JsonRejected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1, 2.5, -3e2, true, null, "x"]}', {"a": [1, 2.5, -300.0, True, None, "x"]}),
        ('"caf\u00e9"', "café"),
        (b'"\\ud83d\\ude00"', "\U0001f600"),  # a paired surrogate escape is one character
        (b'"\\\\ud800"', "\\ud800"),  # an escaped backslash: text, not an escape
        (b"1.7976931348623157e308", 1.7976931348623157e308),
        (b"1e-400", 0.0),  # underflow is a finite number
        (b'"[[[[{{{{"', "[[[[{{{{"),  # brackets inside strings do not count as nesting
        (b"9007199254740993", 9007199254740993),  # integers are kept exact
        (b"-" + b"9" * 308, -int("9" * 308)),  # the largest integers a double's range holds
    ],
)
def test_standard_json_is_read(raw: bytes | str, expected: object) -> None:
    assert strictjson.loads(raw) == expected


def test_nesting_up_to_the_limit_is_read() -> None:
    value: list = []
    for _ in range(MAX_DEPTH - 1):
        value = [value]
    assert strictjson.loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": Infinity}', "Infinity is not a JSON value"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
        (b'{"a": 1e400}', "out of range"),
        (b'{"a": -1e400}', "out of range"),
        (b'{"a": 1' + b"0" * 400 + b"}", "out of range"),  # 1e400 written as an integer
        (b"-1" + b"0" * 5000, "out of range"),  # past Python's own digit limit, said plainly
        (b"[" * 2000 + b"]" * 2000, f"nested deeper than {MAX_DEPTH}"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, f"nested deeper than {MAX_DEPTH}"),
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b'"\\ud800"', "unpaired surrogate"),
        (b'"\\udc00"', "unpaired surrogate"),
        (b'"\\ud800x"', "unpaired surrogate"),
        (b'{"a": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"{'a': 1}", "not valid JSON"),
    ],
)
def test_anything_else_is_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(JsonRejected, match=reason):
        strictjson.loads(raw)


def test_a_rejection_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        strictjson.loads(b"NaN")


def test_deep_nesting_is_refused_without_recursion() -> None:
    """A 4 KB body of openers: refused before the parser recurses (no RecursionError)."""
    with pytest.raises(JsonRejected):
        strictjson.loads(b"[" * 4096)
    with pytest.raises(JsonRejected):
        strictjson.loads(b'{"a":[' * 700)


def test_the_depth_limit_can_be_lowered() -> None:
    assert strictjson.loads(b"[[1]]", max_depth=2) == [[1]]
    with pytest.raises(JsonRejected):
        strictjson.loads(b"[[[1]]]", max_depth=2)


def test_text_is_accepted_as_well_as_bytes() -> None:
    assert strictjson.loads('{"a": 1}') == {"a": 1}
    with pytest.raises(JsonRejected):
        strictjson.loads('{"a": NaN}')


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {"a": [math.nan]}])
def test_dumps_refuses_non_finite_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        strictjson.dumps(value)


def test_dumps_is_compact_and_takes_options() -> None:
    assert strictjson.dumps({"a": [1, "é"]}) == '{"a":[1,"\\u00e9"]}'
    assert strictjson.dumps({"a": "é"}, ensure_ascii=False) == '{"a":"é"}'
    assert strictjson.loads(strictjson.dumps({"x": 1.5})) == {"x": 1.5}
