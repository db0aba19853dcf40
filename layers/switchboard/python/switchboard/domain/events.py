"""Change events: one object change = one event envelope (Kustomer's shape), shared by outbound
webhooks, event-triggered workflows and the data stream.

An event's id is derived from what changed (org, type, object id, rev, action), so a stream
record processed twice yields the same event, and receivers see the same `webhook-id`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from switchboard.domain.records import Record
from switchboard.domain.resources import resource

ACTIONS = ("create", "update", "delete")
# The seed's Webhook Trigger Events: the only names an outbound webhook may subscribe to.
SUBSCRIBABLE: tuple[str, ...] = tuple(
    f"kustomer.{kind}.{action}"
    for kind in ("conversation", "customer", "message", "team", "user")
    for action in ("create", "update")
)


def event_name(kind: str, action: str) -> str:
    """`kustomer.customer.update`, or `kustomer.kobject.order.create` for kobjects."""
    return f"kustomer.{kind}.{action}"


def event_id(org: str, kind: str, object_id: str, rev: int, action: str) -> str:
    digest = hashlib.sha256(f"{org}|{kind}|{object_id}|{rev}|{action}".encode()).hexdigest()
    return digest[:24]


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Add/replace/remove operations between two resources' attributes and relationships."""
    result: dict[str, Any] = {}
    for section in ("attributes", "relationships"):
        old, new = before.get(section) or {}, after.get(section) or {}
        ops: dict[str, Any] = {}
        for name in sorted(old.keys() | new.keys()):
            if name not in old:
                ops[name] = {"op": "add", "after": new[name]}
            elif name not in new:
                ops[name] = {"op": "remove", "before": old[name]}
            elif old[name] != new[name]:
                ops[name] = {"op": "replace", "before": old[name], "after": new[name]}
        if ops:
            result[section] = ops
    return result


def envelope(new: Record | None, old: Record | None, occurred_at: str) -> dict[str, Any]:
    """The event for one change: create (no old), update (both) or delete (no new)."""
    current = new or old
    assert current is not None
    action = "create" if old is None else "delete" if new is None else "update"
    data = resource(current)
    return {
        "id": event_id(current.org, current.kind, current.id, current.rev, action),
        "name": event_name(current.kind, action),
        "org": current.org,
        "partition": current.org,
        "data": data,
        "changes": changes(resource(old), data) if action == "update" and old is not None else None,
        "createdAt": current.updated_at if action != "delete" else occurred_at,
        "dataId": current.id,
        "persist": True,
        "client": "api-gw",
    }
