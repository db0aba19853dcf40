"""Transition conditions: `{"op": ..., "values": [...]}`, nested with `and` / `or`.

Values are resolved first (`values.resolve`), then compared:
- numbers compare numerically when BOTH sides are numbers or strings that are wholly a decimal
  number (`"12.50"` eq `12.5`; `"10"` gt `"9"`);
- two ISO-8601 date-times compare as instants, whatever their form
  (`"2025-01-01T10:00:00Z"` eq `"2025-01-01T11:00:00.000+01:00"`); no zone means UTC;
- otherwise two strings compare as text, exactly and case-sensitively (`gt` is code-point order);
- a boolean equals the text "true"/"false" (any case); anything else uses deep equality
  (null eq null, objects key by key);
- `gt`, `gte`, `lt`, `lte` are false when the two sides are neither both numbers nor both strings.
`exists` holds when the value is neither null nor ""; `dne` is its opposite. `contains` holds
for a substring of a string, an element of a list (by `eq`) or a key of an object. `true`
holds when every value is truthy as in JavaScript (so `{"op": "true", "values": [true]}`
always holds), `false` when every value is falsy; without values `true` always holds and
`false` never does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from switchboard.domain.workflows.errors import StepError
from switchboard.domain.workflows.values import Clock, as_number, resolve, to_text
from switchboard.ids import now_iso, parse_iso

# op -> (fewest values, most values or None); `and` / `or` take conditions, the rest take values.
OPS: dict[str, tuple[int, int | None]] = {
    "true": (0, None),
    "false": (0, None),
    "eq": (2, 2),
    "neq": (2, 2),
    "gt": (2, 2),
    "gte": (2, 2),
    "lt": (2, 2),
    "lte": (2, 2),
    "contains": (2, 2),
    "exists": (1, 1),
    "dne": (1, 1),
    "and": (1, None),
    "or": (1, None),
}
LOGICAL = frozenset({"and", "or"})
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def parts(condition: Any) -> tuple[str, list[Any]]:
    """(op, values) of a condition model or of a plain dict (nested conditions stay dicts)."""
    if isinstance(condition, Mapping):
        return str(condition.get("op")), list(condition.get("values") or [])
    return str(condition.op), list(condition.values or [])


def evaluate(condition: Any, context: Mapping[str, Any], now: Clock = now_iso) -> bool:
    """Whether a condition holds in the run's context; None (no condition) always holds."""
    if condition is None:
        return True
    op, raw = parts(condition)
    if op == "and":
        return all(evaluate(item, context, now) for item in raw)
    if op == "or":
        return any(evaluate(item, context, now) for item in raw)
    if op not in OPS:
        raise StepError(f"unknown condition op {op!r}")
    values = [resolve(item, context, now) for item in raw]
    if op == "true":
        return all(truthy(v) for v in values)
    if op == "false":
        return bool(values) and not any(truthy(v) for v in values)
    if op in ("exists", "dne"):
        present = values[0] not in (None, "") if values else False
        return present if op == "exists" else not present
    if len(values) != 2:
        raise StepError(f"condition {op} needs two values, not {len(values)}")
    left, right = values
    if op == "eq":
        return equals(left, right)
    if op == "neq":
        return not equals(left, right)
    if op == "contains":
        return contains(left, right)
    order = compare(left, right)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]


def truthy(value: Any) -> bool:
    """JavaScript truthiness: null, false, 0, NaN and "" are false; [] and {} are true."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    return True


def equals(left: Any, right: Any) -> bool:
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return a == b
    t, u = _instant(left), _instant(right)
    if t is not None and u is not None:
        return t == u
    if isinstance(left, bool) and isinstance(right, str):
        return to_text(left) == right.strip().lower()
    if isinstance(right, bool) and isinstance(left, str):
        return to_text(right) == left.strip().lower()
    return bool(left == right)


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1; None when the two values cannot be ordered."""
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    t, u = _instant(left), _instant(right)
    if t is not None and u is not None:
        return (t > u) - (t < u)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return item is not None and to_text(item) in container
    if isinstance(container, list):
        return any(equals(element, item) for element in container)
    if isinstance(container, Mapping):
        return item is not None and to_text(item) in container
    return False


def _instant(value: Any) -> datetime | None:
    """An ISO-8601 date-time as an aware datetime; None for anything else."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return None
    try:
        return parse_iso(value.strip())
    except ValueError:
        return None
