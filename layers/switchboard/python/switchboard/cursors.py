"""Opaque cursors of the lists paged by DynamoDB position (`LastEvaluatedKey`).

A cursor is the base64url of a JSON array: the list's tag, then the values of the key
attributes of that list's table or index, in a fixed order. Attribute names never travel; they
come from the list's `Shape`. A cursor coming back is parsed strictly against the shape of the
list it is sent to: the tag, the number of values, text only, no control characters, a bounded
length, and one pattern over all the values that pins the partition key to the caller's org
(and webhook or workflow) and checks each sort key's layout. Only then does it become an
`ExclusiveStartKey`. Anything else is a 400 with `source.parameter = cursor`, never a DynamoDB
error. A well-formed cursor the client edited can only name another position in the caller's
own list, which paging reaches anyway. See docs/data-model.md (Cursors) for why no signature.

The layouts matched here are those written by `adapters.dynamo_webhooks` and
`adapters.dynamo_automation`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from switchboard.errors import BadRequest

MAX_LENGTH = 1024  # characters of an encoded cursor; real ones are about 200
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEPARATOR = "\n"  # joins the values for the shape's pattern; no value may hold a control character

# Pieces of the sort-key layouts.
_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
_ID = r"[0-9a-f]{24}"
_NAME = r"[A-Za-z0-9_.:-]{1,128}"


@dataclass(frozen=True)
class Shape:
    """One cursor-paged list: its tag, the exact key attribute names of the table or index it is
    queried on (table key first, then index key), and the pattern the values must match in full
    once joined by newlines."""

    tag: str
    names: tuple[str, ...]
    pattern: str

    def matches(self, values: list[str]) -> bool:
        if any(not v or _CONTROL.search(v) for v in values):
            return False
        return re.fullmatch(self.pattern, _SEPARATOR.join(values)) is not None


def _lines(*patterns: str) -> str:
    return _SEPARATOR.join(patterns)


def webhook_transactions(org: str) -> Shape:
    """`GET /v1/outbound-webhooks/transactions`: deliveries table, index `byOrg`."""
    return Shape(
        "wt",
        ("pk", "sk", "orgPk", "orgSk"),
        _lines(
            rf"{re.escape(org)}#(?P<hook>{_ID})",
            rf"s#{_TIME}#(?P<event>{_NAME})",
            re.escape(org),
            rf"{_TIME}#(?P=hook)#(?P=event)",
        ),
    )


def webhook_attempts(org: str, webhook_id: str) -> Shape:
    """`GET /v1/outbound-webhooks/{id}/attempts`: deliveries table, items `a#...` of one webhook."""
    return Shape(
        "wa",
        ("pk", "sk"),
        _lines(re.escape(f"{org}#{webhook_id}"), rf"a#{_TIME}#{_NAME}#\d{{2,3}}"),
    )


def workflow_runs(org: str, workflow_id: str) -> Shape:
    """`GET /v1/workflows/{id}/runs`: automation table, index `byTime`."""
    partition = re.escape(f"{org}#run#{workflow_id}")
    return Shape(
        "wr",
        ("pk", "sk", "timePk", "timeSk"),
        _lines(partition, rf"(?P<run>{_NAME})", partition, rf"{_TIME}#(?P=run)"),
    )


def encode(shape: Shape, key: dict[str, Any] | None) -> str | None:
    """The cursor after `key` (a `LastEvaluatedKey`); None at the end of the list."""
    if not key:
        return None
    values = [key[name].get("S") if isinstance(key.get(name), dict) else None for name in shape.names]
    if set(key) != set(shape.names) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"a {shape.tag} list position does not have the key schema {shape.names}")
    if not shape.matches(values):  # a layout changed without its shape: fail here, not on page 2
        raise ValueError(f"a {shape.tag} list position does not have the expected layout")
    document = json.dumps([shape.tag, *values], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode(shape: Shape, cursor: str | None) -> dict[str, Any] | None:
    """The `ExclusiveStartKey` a cursor names in this list; 400 (`cursor`) if it names none."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_LENGTH:
        raise _bad("cursor is too long")
    values = _values(cursor)
    if values is None or len(values) != len(shape.names) + 1 or values[0] != shape.tag:
        raise _bad("cursor is not a cursor of this list")
    if not shape.matches(values[1:]):
        raise _bad("cursor is not a cursor of this list")
    return {name: {"S": value} for name, value in zip(shape.names, values[1:], strict=True)}


def _values(cursor: str) -> list[str] | None:
    if not _ALPHABET.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(document, list) or not all(isinstance(v, str) for v in document):
        return None
    return document


def _bad(detail: str) -> BadRequest:
    return BadRequest(detail, parameter="cursor")
