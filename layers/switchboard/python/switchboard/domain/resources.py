"""Objects as JSON:API resources: the shape of API responses and of every event's `data`."""

from __future__ import annotations

from typing import Any

from switchboard.domain.records import Record


def self_link(record: Record) -> str:
    if record.kind.startswith("kobject."):
        return f"/v1/klasses/{record.kind.removeprefix('kobject.')}/{record.id}"
    return f"/v1/{record.kind}s/{record.id}" if record.kind != "klass" else f"/v1/klasses/{record.id}"


def resource(record: Record) -> dict[str, Any]:
    attributes = {
        **record.attributes,
        "rev": record.rev,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "modifiedAt": record.updated_at,
    }
    relationships = {
        name: {"data": {"type": kind, "id": rid}} for name, (kind, rid) in record.relationships.items()
    }
    relationships["org"] = {"data": {"type": "org", "id": record.org}}
    return {
        "type": record.kind,
        "id": record.id,
        "attributes": attributes,
        "relationships": relationships,
        "links": {"self": self_link(record)},
    }
