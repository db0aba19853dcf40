"""Identifiers and timestamps in Kustomer's wire format (24-hex ids, ISO-8601 ms + Z)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

_ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    """A 24-hex id shaped like a MongoDB ObjectId: 4 bytes of seconds, then 8 random bytes.

    The time prefix keeps ids roughly ordered by creation, which makes logs easier to read.
    """
    return f"{int(time.time()):08x}{os.urandom(8).hex()}"


def is_id(value: str) -> bool:
    return bool(_ID_PATTERN.match(value))


def now_iso() -> str:
    """Current UTC time as ISO-8601 with milliseconds and a trailing Z."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (with Z or an offset); raises ValueError otherwise."""
    if not isinstance(value, str) or "T" not in value:
        raise ValueError("not an ISO-8601 date-time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def normalize_iso(value: str) -> str:
    """Accept any ISO-8601 date-time and store it in the wire form (UTC, ms, Z)."""
    return format_iso(parse_iso(value))
