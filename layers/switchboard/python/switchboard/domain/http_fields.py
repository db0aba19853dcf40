"""RFC 9110 header fields as regular expressions, declared once: the HTTP sender checks every
header it sends with them (`adapters.http_sender.header_problem`), the webhook and puller body
models check saved headers with that same function, and the OpenAPI document states them as
`pattern`s. They are written so that JSON Schema (ECMA-262) and Python read them alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A name is a token: letters, digits and !#$%&'*+-.^_`|~.
NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
# A value is field-vchars (visible ASCII, or obs-text 0x80-0xFF) with single spaces or tabs
# between them, never at either end: Latin-1 text without CR, LF, NUL or other controls, which
# is also what http.client sends unchanged. The empty value is one.
VALUE = r"^([\x21-\x7e\x80-\xff]([\x20\x09\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$"
NAME_MAX = 128


def any_case(names: Iterable[str], prefixes: Iterable[str] = ()) -> str:
    """A pattern for these names, and any name that starts with one of these prefixes, in any
    letter case (JSON Schema has no case-insensitive flag). Names are tokens without `.`-like
    metacharacters: letters, digits and `-`."""

    def spelled(word: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]+", word):
            raise ValueError(f"{word!r} is not a plain header name")
        return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)

    exact = "|".join(spelled(n) for n in sorted(names))
    starts = "|".join(spelled(p) for p in sorted(prefixes))
    return f"^(?:(?:{exact})$" + (f"|{starts}" if starts else "") + ")"
