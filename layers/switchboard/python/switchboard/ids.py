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


# The instants a date-time may name: years 0001 to 9999 once converted to UTC (what Python's
# datetime can hold and what a four-digit ISO-8601 year can write).
EARLIEST = "0001-01-01T00:00:00.000Z"
LATEST = "9999-12-31T23:59:59.999Z"


class DateOutOfRange(ValueError):
    """A well-formed date-time whose instant falls outside EARLIEST..LATEST (in UTC)."""

    def __init__(self) -> None:
        super().__init__(f"is out of range: date-times must be from {EARLIEST} to {LATEST} in UTC")


def _utc(moment: datetime) -> datetime:
    """The same instant in UTC (a naive value is taken as UTC); DateOutOfRange past year 1 or 9999."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise DateOutOfRange() from None


def format_iso(moment: datetime) -> str:
    """The wire form: YYYY-MM-DDTHH:MM:SS.mmmZ in UTC, the year always four digits."""
    moment = _utc(moment)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (with Z or an offset; none means UTC) to an aware UTC datetime.

    Raises ValueError when the text is not one, DateOutOfRange (a ValueError) when its instant
    falls before year 0001 or after year 9999 in UTC.
    """
    if not isinstance(value, str) or "T" not in value:
        raise ValueError("not an ISO-8601 date-time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return _utc(parsed)


def normalize_iso(value: str) -> str:
    """Accept any ISO-8601 date-time and store it in the wire form (UTC, ms, Z)."""
    return format_iso(parse_iso(value))
