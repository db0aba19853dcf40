"""Step param values: literals, references, functions and templates (Kustomer's notation).

A param is resolved against the run's context `{"steps": {stepId: output}}`, where the trigger's
output sits under the trigger's id (`steps.1` for the usual trigger id "1"):

- a literal is used as is (strings without the notations below, numbers, booleans, null);
- a reference `"/#steps.<id>.<path>"` is the whole string and keeps the value's type (an object,
  a list, a number); a path that does not exist gives null;
- a function `"/#fn:<name>,<arg>,<arg>..."` applies one of FUNCTIONS; an argument that starts
  with `steps.` (or `/#steps.`) is a reference, any other is literal text (`\\,` is a comma);
- a template `"Order {{{steps.1.attributes.data.number}}}"` is always a string; each
  placeholder becomes the value's text (JSON for objects and lists) and a missing path gives "".

Path segments are object keys, or list indices (`items.0.sku`). Objects and lists in params are
resolved item by item. Numbers and text convert as JavaScript does, since Kustomer's workflows
were written against JavaScript semantics (`parseFloat("12.5 EUR")` is 12.5).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from switchboard import strictjson
from switchboard.domain.workflows.errors import StepError
from switchboard.ids import now_iso

REFERENCE = "/#"
FUNCTION = "/#fn:"
TEMPLATE = re.compile(r"\{\{\{\s*([^{}]*?)\s*\}\}\}")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_JS_SPACE = " \t\n\r\v\f\u00a0\ufeff"
MAX_SAFE_INTEGER = 2**53 - 1

Clock = Callable[[], str]


# -- paths ----------------------------------------------------------------------------------------


def lookup(root: Any, path: str) -> Any:
    """The value at a dotted path (`steps.1.items.0.sku`), or None when any segment is missing."""
    current = root
    for segment in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(segment)
        elif isinstance(current, list) and _INDEX.fullmatch(segment):
            index = int(segment)
            current = current[index] if index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


# -- JavaScript-like conversions ------------------------------------------------------------------


def to_text(value: Any) -> str:
    """A value as text, as JavaScript's String() would give it, with JSON for objects and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return str(int(value))
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def _js_number(value: float) -> int | float | None:
    """JSON has no NaN or Infinity (null instead); whole numbers come back as ints, as JS prints them."""
    if math.isnan(value) or math.isinf(value):
        return None
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def parse_float(value: Any) -> int | float | None:
    """JavaScript's parseFloat: the longest numeric prefix after leading spaces; null for NaN."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _js_number(float(value))
    match = _FLOAT_PREFIX.match(to_text(value).lstrip(_JS_SPACE))
    if not match:
        return None
    try:
        return _js_number(float(match.group(0)))
    except (OverflowError, ValueError):
        return None


def parse_int(value: Any, radix: Any = None) -> int | None:
    """JavaScript's parseInt: sign, optional 0x (radix 16), the digits valid in the radix."""
    text = to_text(value).strip(_JS_SPACE)
    base = int(parse_float(radix) or 0) if radix not in (None, "") else 0
    if base != 0 and not 2 <= base <= 36:
        return None
    sign = 1
    if text and text[0] in "+-":
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    if base in (0, 16) and text[:2].lower() == "0x":
        base, text = 16, text[2:]
    base = base or 10
    digits = ""
    for char in text:
        if not char.isascii() or not char.isalnum() or int(char, 36) >= base:
            break
        digits += char
    return sign * int(digits, base) if digits else None


def as_number(value: Any) -> float | None:
    """A number for comparisons: numbers, and strings that are wholly a decimal number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _FLOAT_PREFIX.fullmatch(text) and "Infinity" not in text:
            return float(text)
    return None


# -- functions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    call: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number


def _round(value: Any, digits: Any = 0) -> int | float | None:
    number = parse_float(value)
    places = parse_int(digits) or 0
    if number is None or not 0 <= places <= 12:
        return None
    try:
        rounded = Decimal(str(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return int(rounded) if places == 0 else _js_number(float(rounded))


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | dict) else (0 if value is None else None)


def _json_parse(value: Any) -> Any:
    """`jsonParse`: standard JSON only (`switchboard.strictjson`); null for anything else."""
    try:
        return strictjson.loads(to_text(value))
    except ValueError:
        return None


def _default(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, list) and value else None


def _join(value: Any, separator: Any = ",") -> str | None:
    if not isinstance(value, list):
        return None if value is None else to_text(value)
    return to_text(separator).join(to_text(item) for item in value)


def _split(value: Any, separator: Any = ",") -> list[str]:
    text, sep = to_text(value), to_text(separator)
    if not text:
        return []
    return text.split(sep) if sep else list(text)


FUNCTIONS: dict[str, Function] = {
    "parseFloat": Function(parse_float, 1, 1),
    "parseInt": Function(parse_int, 1, 2),
    "toString": Function(to_text, 1, 1),
    "toLowerCase": Function(lambda v: to_text(v).lower(), 1, 1),
    "toUpperCase": Function(lambda v: to_text(v).upper(), 1, 1),
    "trim": Function(lambda v: to_text(v).strip(_JS_SPACE), 1, 1),
    "now": Function(now_iso, 0, 0),  # resolve() calls the run's clock instead
    "round": Function(_round, 1, 2),
    "length": Function(_length, 1, 1),
    "default": Function(_default, 1, None),
    "concat": Function(lambda *v: "".join(to_text(x) for x in v), 1, None),
    "replace": Function(lambda v, old, new="": to_text(v).replace(to_text(old), to_text(new)), 2, 3),
    "join": Function(_join, 1, 2),
    "split": Function(_split, 1, 2),
    "first": Function(_first, 1, 1),
    "last": Function(_last, 1, 1),
    "encodeURIComponent": Function(lambda v: quote(to_text(v), safe="-_.!~*'()"), 1, 1),
    "jsonStringify": Function(lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False), 1, 1),
    "jsonParse": Function(_json_parse, 1, 1),
}


def split_call(text: str) -> tuple[str, list[str]]:
    """`/#fn:name,a,b` -> ("name", ["a", "b"]); `\\,` is a literal comma, `\\\\` a backslash."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text[len(FUNCTION) :])
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts[0].strip(), parts[1:]


def argument_path(argument: str) -> str | None:
    """The path an argument refers to (it starts with `steps.` or `/#`), or None for literal text."""
    if argument.startswith(REFERENCE):
        return argument[len(REFERENCE) :].strip()
    if argument.startswith("steps."):
        return argument.strip()
    return None


# -- resolution -----------------------------------------------------------------------------------


def resolve(value: Any, context: Mapping[str, Any], now: Clock = now_iso) -> Any:
    """The param with every reference, function and template replaced (see the module docstring)."""
    if isinstance(value, str):
        return _resolve_text(value, context, now)
    if isinstance(value, dict):
        return {key: resolve(item, context, now) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, context, now) for item in value]
    return value


def _resolve_text(text: str, context: Mapping[str, Any], now: Clock) -> Any:
    if text.startswith(FUNCTION):
        return _call(text, context, now)
    if text.startswith(REFERENCE):
        found = lookup(context, text[len(REFERENCE) :].strip())
        return copy.deepcopy(found) if isinstance(found, dict | list) else found
    if "{{{" in text:
        return TEMPLATE.sub(lambda m: to_text(lookup(context, m.group(1))), text)
    return text


def _call(text: str, context: Mapping[str, Any], now: Clock) -> Any:
    name, arguments = split_call(text)
    function = FUNCTIONS.get(name)
    if function is None:
        raise StepError(f"unknown function {name!r} in {text!r}")
    if len(arguments) < function.min_args or (
        function.max_args is not None and len(arguments) > function.max_args
    ):
        raise StepError(f"wrong number of arguments for {name} in {text!r}")
    if name == "now":
        return now()
    values = []
    for argument in arguments:
        path = argument_path(argument)
        values.append(lookup(context, path) if path is not None else argument)
    return function.call(*values)


# -- static reading, for validation ---------------------------------------------------------------


def strings(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside a param value with its JSON pointer (for the definition's checks)."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{pointer}/{escape_pointer(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{pointer}/{index}")


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def paths_in(text: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(paths a string reads, functions it calls with their argument count)."""
    if text.startswith(FUNCTION):
        name, arguments = split_call(text)
        paths = [p for p in (argument_path(a) for a in arguments) if p is not None]
        return paths, [(name, len(arguments))]
    if text.startswith(REFERENCE):
        return [text[len(REFERENCE) :].strip()], []
    if "{{{" in text:
        return [m.group(1) for m in TEMPLATE.finditer(text)], []
    return [], []
