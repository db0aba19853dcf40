"""Regular expressions written for Kustomer's JavaScript engine, compiled for Python's `re`."""

from __future__ import annotations

import re

MAX_PATTERN_LENGTH = 1000
_JS_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?![=!])")  # JS `(?<name>` is Python's `(?P<name>`
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def compile_pattern(pattern: str, flags: str = "") -> re.Pattern[str]:
    """Compile a JS-style pattern; raises ValueError with a readable reason.

    Flags are JS letters: i (ignore case), m (multiline), s (dot matches newline); g, u and y
    change nothing for a single match and are accepted.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"the regex is longer than {MAX_PATTERN_LENGTH} characters")
    bits = 0
    for letter in flags:
        if letter in _FLAGS:
            bits |= _FLAGS[letter]
        elif letter not in "guy":
            raise ValueError(f"unknown regex flag {letter!r} (use i, m or s)")
    try:
        return re.compile(_JS_NAMED_GROUP.sub("(?P<", pattern), bits)
    except re.error as exc:
        raise ValueError(f"invalid regex: {exc}") from None
