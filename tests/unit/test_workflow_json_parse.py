"""`jsonParse` in a workflow reads standard JSON only: a hostile string from a partner's body
(NaN, 1e400, or nesting deep enough to exhaust the stack) gives null, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.domain.workflows.values import resolve


def parse(text: str) -> Any:
    context = {"steps": {"1": {"attributes": {"data": {"raw": text}}}}}
    return resolve(
        "/#fn:jsonParse,steps.1.attributes.data.raw", context, now=lambda: "2025-01-02T03:04:05.678Z"
    )


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', "[1e400]", "[" * 5000 + "]" * 5000, "{"])
def test_non_standard_json_parses_to_null(text: str) -> None:
    assert parse(text) is None


def test_standard_json_parses() -> None:
    assert parse('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
