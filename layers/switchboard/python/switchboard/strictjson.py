"""One JSON policy for every entry point: RFC 8259 only, in and out.

Every body Switchboard takes from outside (REST, hooks, pulled feed items, a workflow's REST
responses) is read with `loads`, and everything it writes to a queue, a stream or a webhook
body is written with `dumps`, so nothing non-standard is ever carried onward:
- the text must be valid UTF-8 (no replacement characters are invented);
- `NaN`, `Infinity` and `-Infinity` are refused, and so are numbers that overflow a double
  (`1e400`, or the same value written out as an integer), which Python would read as infinity
  or as an unbounded integer; integers within that range are kept exact;
- nesting deeper than `MAX_DEPTH` arrays/objects is refused before parsing, without recursion,
  so a hostile 4 KB body cannot exhaust the stack.
Each refusal is a `JsonRejected` (a `ValueError`) with a sentence a client can act on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
_INT_DIGITS_CHECKED = 300  # shorter integers are always within a double's range
_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")
# a \\u escape (not itself escaped) of a surrogate: a high one must be followed by a low one
_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:([dD][89abAB]..)(\\u[dD][c-fC-F]..)?|([dD][c-fC-F]..))")


class JsonRejected(ValueError):
    """The text is not RFC 8259 JSON within Switchboard's limits; the message says why."""


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strictly; raises `JsonRejected` for anything outside the policy."""
    if isinstance(raw, str):
        data = raw.encode("utf-8", errors="surrogatepass")
        text = raw
    else:
        data = raw
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRejected(f"the body is not valid UTF-8 (byte {exc.start})") from None
    check_depth(data, max_depth)
    check_surrogates(data)
    try:
        return json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_double_range_int
        )
    except JsonRejected:
        raise
    except RecursionError:
        raise JsonRejected(f"JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JsonRejected(f"the body is not valid JSON: {exc}") from None


def dumps(value: Any, **options: Any) -> str:
    """Serialize for a queue, a stream or a webhook: NaN/Infinity raise instead of being written."""
    options.setdefault("separators", (",", ":"))
    return json.dumps(value, allow_nan=False, **options)


def check_depth(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise `JsonRejected` if arrays/objects nest deeper than `max_depth` (strings are skipped)."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return  # cannot be deeper than the number of openers
    depth = 0
    for match in _STRUCTURE.finditer(data):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise JsonRejected(f"JSON is nested deeper than {max_depth} levels")
        else:
            depth -= 1


def check_surrogates(data: bytes) -> None:
    """Refuse `\\ud800`-style escapes that do not form a pair: they are not Unicode text."""
    if b"\\u" not in data:
        return
    for match in _SURROGATE.finditer(data):
        if match.group(3) is not None or match.group(2) is None:
            raise JsonRejected("the body holds a \\u escape of an unpaired surrogate")


def _no_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a JSON value")


def _double_range_int(text: str) -> int:
    """Integers are kept exact, but only within a double's range, like every other number.

    Past 308 digits a number is beyond what a double holds (JSON.parse would make it Infinity);
    the check also comes before Python's own 4,300-digit limit on converting text to int.
    """
    if len(text) > _INT_DIGITS_CHECKED and not math.isfinite(float(text)):
        raise JsonRejected(f"the number {text[:40]}... is out of range")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"the number {text[:40]} is out of range")
    return value
