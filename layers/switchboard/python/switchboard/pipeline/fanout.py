"""Object stream records -> event envelopes -> one queue message per subscribed, enabled webhook.

Events for a webhook that is turned off are held (stored with the event), never dropped, so an
admin can redrive them. Delete events are produced too, though no webhook may subscribe to
them (as in Kustomer): later consumers (the data stream) take them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from switchboard.adapters.dynamo import OBJECT_SK, from_item
from switchboard.domain.events import envelope
from switchboard.domain.webhooks import Webhook, retention_days
from switchboard.ids import format_iso, now_iso
from switchboard.pipeline.webhooks import delivery_message


def stream_events(records: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(sequence number, event) for each record of an object change; guard items are skipped."""
    for record in records:
        change = record["dynamodb"]
        if change.get("Keys", {}).get("sk", {}).get("S") != OBJECT_SK:
            continue
        new = from_item(change["NewImage"]) if change.get("NewImage") else None
        old = from_item(change["OldImage"]) if change.get("OldImage") else None
        if new is not None and old is not None and new.rev == old.rev:
            continue  # rewritten without a change (no write of ours does this)
        when = change.get("ApproximateCreationDateTime")
        occurred = format_iso(datetime.fromtimestamp(float(when), UTC)) if when else now_iso()
        yield change["SequenceNumber"], envelope(new, old, occurred)


class FanOut:
    """`triggers` (optional) names the workflow runs an event causes; they go to `runs_queue`."""

    def __init__(
        self,
        hooks: Any,
        deliveries: Any,
        queue: Any,
        clock: Callable[[], str] = now_iso,
        triggers: Any = None,
        runs_queue: Any = None,
    ) -> None:
        self.hooks = hooks
        self.deliveries = deliveries
        self.queue = queue
        self.clock = clock
        self.triggers = triggers
        self.runs_queue = runs_queue

    def handle(self, records: list[dict[str, Any]]) -> list[str]:
        """Fan a batch out; returns the sequence numbers to report as failed (the first one)."""
        webhooks: dict[str, list[Webhook]] = {}
        messages: list[dict[str, Any]] = []
        runs: list[tuple[dict[str, Any], str, str]] = []
        held: list[dict[str, Any]] = []
        first_with_messages: str | None = None
        now = self.clock()
        if self.triggers is not None:
            self.triggers.fresh()
        for sequence, event in stream_events(records):
            org = event["org"]
            if org not in webhooks:
                webhooks[org] = self.hooks.list(org)  # one query per org per batch
            for hook in webhooks[org]:
                if not hook.subscribed(event["name"]) or event["createdAt"] < hook.created_at:
                    continue  # a webhook receives the changes made from its creation on
                if hook.enabled:
                    messages.append(delivery_message(org, hook.id, event, attempt=1))
                    first_with_messages = first_with_messages or sequence
                else:
                    held.append(
                        self.deliveries.state_item(org, hook.id, event, "held", 0, now, retention_days())
                    )
            if self.triggers is not None:
                triggered = self.triggers.messages(event)
                if triggered:
                    runs += triggered
                    first_with_messages = first_with_messages or sequence
        if held:
            self.deliveries.put_items(held)
        if messages or runs:
            try:
                if messages:
                    self.queue.send_many(messages)
                if runs:
                    self.runs_queue.send_many([r[0] for r in runs], fifo=[(r[1], r[2]) for r in runs])
            except Exception:
                # The stream restarts from here; deliveries already queued are deduplicated.
                assert first_with_messages is not None
                return [first_with_messages]
        return []
