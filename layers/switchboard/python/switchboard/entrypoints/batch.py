"""The one loop over a batch with partial batch failures, for every SQS and stream entry point.

Each item is handled on its own; an item whose handling raised is logged (`on_error`, inside
the `except`, so the traceback is kept) and reported in `batchItemFailures`, and the event
source brings it back (after the visibility timeout for SQS, from that record for a stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

Item = TypeVar("Item")


def message_id(record: dict[str, Any]) -> str:
    """An SQS record's id, what its partial batch failure names."""
    return record["messageId"]


def response(failed: Iterable[str]) -> dict[str, Any]:
    """The partial batch response naming the items to retry."""
    return {"batchItemFailures": [{"itemIdentifier": item} for item in failed]}


class Outcome:
    """What handling one item gave: its result, or the error it raised."""

    __slots__ = ("error", "item", "result")

    def __init__(self, item: Any, result: Any = None, error: Exception | None = None) -> None:
        self.item = item
        self.result = result
        self.error = error


class Batch:
    """Every attempted item's outcome, in the items' order, and the ids of the items to report
    failed (attempted or not)."""

    __slots__ = ("failed", "outcomes")

    def __init__(self, outcomes: list[Outcome], failed: list[str]) -> None:
        self.outcomes = outcomes
        self.failed = failed

    def response(self) -> dict[str, Any]:
        return response(self.failed)


def each(
    items: Sequence[Item],
    handle: Callable[[Item], Any],
    on_error: Callable[[Item, Exception], None],
    *,
    item_id: Callable[[Item], str] = message_id,  # type: ignore[assignment]
    group_of: Callable[[Item], str] | None = None,
    pool: Executor | None = None,
) -> Batch:
    """Handle every item: in order, or side by side on `pool`.

    With `group_of` (a FIFO queue, in order only), once an item of a group fails the later
    items of that group are reported failed too, unattempted, so a group never runs out of
    order; other groups go on. A stream batch written as one unit is one item whose id is the
    sequence number to retry from.
    """
    if pool is not None and group_of is not None:
        raise ValueError("a batch kept in order per group is handled in order")
    broken: set[str] = set()

    def attempt(item: Item) -> Outcome:
        try:
            return Outcome(item, handle(item))
        except Exception as exc:
            on_error(item, exc)
            return Outcome(item, error=exc)

    outcomes: list[Outcome] = []
    failed: list[str] = []
    if pool is not None:
        outcomes = list(pool.map(attempt, items))
        failed = [item_id(outcome.item) for outcome in outcomes if outcome.error is not None]
        return Batch(outcomes, failed)
    for item in items:
        group = group_of(item) if group_of is not None else None
        if group is not None and group in broken:
            failed.append(item_id(item))
            continue
        outcome = attempt(item)
        outcomes.append(outcome)
        if outcome.error is not None:
            failed.append(item_id(outcome.item))
            if group is not None:
                broken.add(group)
    return Batch(outcomes, failed)
