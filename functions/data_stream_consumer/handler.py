"""Sample consumer of kustomer-data-stream: logs every event as one JSON line.

Records can arrive twice or out of order, so the highest `rev` seen per object (`dataId`) is
kept in this container's memory and an event that is not newer is logged with "stale": true.
A real consumer keeps that mark where it loads the data (e.g. a conditional write on rev).
A record that cannot be decoded is logged and skipped: it must never block the shard.
"""

from __future__ import annotations

import base64
import json
from typing import Any

MAX_TRACKED = 50_000  # objects remembered per container, so memory stays bounded
latest: dict[str, int] = {}


def decode(record: dict[str, Any]) -> dict[str, Any] | None:
    """The event envelope carried by one Kinesis record, or None if it is not a JSON object."""
    try:
        event = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    except (KeyError, TypeError, ValueError):
        return None
    return event if isinstance(event, dict) else None


def rev_of(event: dict[str, Any]) -> int | None:
    """`data.attributes.rev`; not every kind of object has one."""
    data = event.get("data")
    attributes = data.get("attributes") if isinstance(data, dict) else None
    rev = attributes.get("rev") if isinstance(attributes, dict) else None
    return rev if type(rev) is int else None


def describe(record: dict[str, Any]) -> tuple[dict[str, Any], str | None, int | None]:
    """The log line of one record, with the object id and rev to remember once it is handled."""
    line: dict[str, Any] = {"sequenceNumber": record.get("kinesis", {}).get("sequenceNumber")}
    event = decode(record)
    if event is None:
        return {**line, "undecodable": True}, None, None
    data = event.get("data")
    object_id = event.get("dataId") or (data.get("id") if isinstance(data, dict) else None)
    rev = rev_of(event)
    line.update(id=event.get("id"), name=event.get("name"), dataId=object_id, rev=rev, stale=False)
    seen = latest.get(object_id) if isinstance(object_id, str) else None
    if rev is not None and seen is not None and rev <= seen:
        return {**line, "stale": True, "latestRev": seen, "event": event}, None, None
    return {**line, "event": event}, object_id, rev


def remember(object_id: str, rev: int) -> None:
    """Record the newest rev of an object; the least recently changed object is forgotten first."""
    latest.pop(object_id, None)
    latest[object_id] = rev
    if len(latest) > MAX_TRACKED:
        del latest[next(iter(latest))]


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Handle a batch in order; a record that fails (after decoding) is retried from there."""
    for record in event.get("Records", []):
        try:
            line, object_id, rev = describe(record)
            print(json.dumps(line, default=str))  # loading into your own store goes here
            if isinstance(object_id, str) and rev is not None:
                remember(object_id, rev)
        except Exception:
            sequence = record.get("kinesis", {}).get("sequenceNumber")
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
