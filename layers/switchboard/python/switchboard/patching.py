"""PATCH semantics shared by the configuration resources (hooks, pullers): only the fields sent
change, and a null clears an optional field to its empty value or is refused with a pointer.

`?rev=n` on their PUT and PATCH (hooks, pullers, outbound webhooks, workflows) is the optimistic
lock of the object routes: the write happens only if the stored rev is still `n`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from switchboard.errors import BadRequest, Conflict


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


def check_rev(current: int, expected: int | None) -> None:
    """`expected` is the `?rev=` the client sent (None: no lock); another current rev is a 409."""
    if expected is not None and expected != current:
        raise Conflict(f"rev is {current}, not {expected}", "/rev")


def stale(what: str, expected: int | None) -> Conflict:
    """The 409 of a conditional write that lost to a concurrent one (pointing at rev when locked)."""
    return Conflict(f"{what} changed concurrently; read it again", "/rev" if expected is not None else None)
