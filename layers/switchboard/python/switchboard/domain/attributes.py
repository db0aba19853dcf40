"""Typed custom attributes: the name's suffix says the type (Kustomer's convention)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from switchboard.errors import BadRequest
from switchboard.ids import DateOutOfRange, normalize_iso

STR_MAX = 1024
TXT_MAX = 65_536
CUSTOM_MAX_KEYS = 200  # also the most properties a klass declares (they name its custom keys)
URL_MAX = 2048

# A custom attribute's name (and a klass property's); the OpenAPI document states it as the
# `custom` keys' and `metadata.properties` keys' pattern.
NAME = r"^[a-z][A-Za-z0-9_]*?(Str|Txt|Num|At|Bool|Url|Id)$"
_NAME = re.compile(NAME)
# Python's whitespace (`str.isspace`, what `str.strip` removes), spelled out for regexes written
# in the common subset of Python, ECMA-262 and Rust (no \s, whose meanings differ).
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A `...Url` value: an absolute http(s) URL (scheme, `//`, a host) with no whitespace or control
# character anywhere. One declaration: the check below applies it, the OpenAPI document states it.
_NOT_IN_URL = rf"\x00-\x1f\x7f{SPACE}"
URL = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\[\]{_NOT_IN_URL}][^{_NOT_IN_URL}]*$"
_URL = re.compile(URL)


def _string(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value

    return check


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _date(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string")
    try:
        return normalize_iso(value)
    except DateOutOfRange:
        raise
    except ValueError as exc:
        raise ValueError("must be an ISO-8601 date-time string") from exc


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be a boolean")
    return value


def _url(value: Any) -> Any:
    if not isinstance(value, str) or len(value) > URL_MAX:
        raise ValueError(f"must be a URL of at most {URL_MAX} characters")
    if not _URL.fullmatch(value):
        raise ValueError("must be an absolute http(s) URL without whitespace or control characters")
    return value


CHECKS: dict[str, Callable[[Any], Any]] = {
    "Str": _string(STR_MAX),
    "Txt": _string(TXT_MAX),
    "Num": _number,
    "At": _date,
    "Bool": _boolean,
    "Url": _url,
    "Id": _string(STR_MAX),
}


def suffix_of(name: str) -> str | None:
    """The type suffix of a custom attribute name, or None when the name is not valid."""
    match = _NAME.fullmatch(name)  # not a trailing newline either, as in JSON Schema
    return match.group(1) if match else None


def check_custom(
    custom: Any,
    pointer: str = "/custom",
    allowed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate and normalise a `custom` object; raise BadRequest with a pointer on the first fault.

    `allowed`, when given (a klass's declared properties), limits which names may appear.
    Null is a valid value for every type (it clears the attribute).
    """
    if not isinstance(custom, dict):
        raise BadRequest("custom must be an object", pointer)
    if len(custom) > CUSTOM_MAX_KEYS:
        raise BadRequest(f"custom may hold at most {CUSTOM_MAX_KEYS} attributes", pointer)
    result: dict[str, Any] = {}
    for name, value in custom.items():
        here = f"{pointer}/{name}"
        suffix = suffix_of(name)
        if suffix is None:
            raise BadRequest(
                f"custom attribute '{name}' must end with a type suffix: Str, Txt, Num, At, Bool, Url or Id",
                here,
            )
        if allowed is not None and name not in allowed:
            raise BadRequest(f"custom attribute '{name}' is not a property of this klass", here)
        if value is None:
            result[name] = None
            continue
        try:
            result[name] = CHECKS[suffix](value)
        except ValueError as exc:
            raise BadRequest(f"custom attribute '{name}' {exc}", here) from exc
    return result
