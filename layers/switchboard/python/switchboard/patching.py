"""PATCH semantics shared by the configuration resources (hooks, pullers): only the fields sent
change, and a null clears an optional field to its empty value or is refused with a pointer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from switchboard.errors import BadRequest


def changes_from(
    body: BaseModel, fields: tuple[tuple[str, str], ...], cleared: dict[str, Any]
) -> dict[str, Any]:
    """`fields` maps body names to attribute names; `cleared` says what null clears a field to."""
    sent = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for name, attribute in fields:
        if name not in sent:
            continue
        value = sent[name]
        if value is None:
            if name not in cleared:
                raise BadRequest(f"{name} cannot be null", f"/{name}")
            value = cleared[name]
        changes[attribute] = value
    return changes


def not_null(fields: tuple[tuple[str, str], ...], cleared: dict[str, Any]) -> tuple[str, ...]:
    """The body names an update may leave out but not send as null (the OpenAPI document says so)."""
    return tuple(name for name, _ in fields if name not in cleared)
