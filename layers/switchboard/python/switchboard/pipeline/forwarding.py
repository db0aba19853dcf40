"""The forward function's work: a batch of events to the orgs' data streams, with the orgs'
counters and one log line; and one page of a backfill.

What cannot be written is parked (`pipeline.forwarder`), so a call raises only when parking
itself fails.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from switchboard import ids, services
from switchboard.domain import kinds
from switchboard.domain.events import envelope, event_id

logger = Logger()
BACKFILL_PAGE = 100


def forward(events: list[dict[str, Any]], backfill: bool = False) -> None:
    forwarder = services.forwarder()
    result = forwarder.backfill(events) if backfill else forwarder.handle(events)
    now = ids.now_iso()
    for org, counts in result.orgs.items():
        if counts.forwarded or counts.parked:
            services.datastream_store().add_counters(org, counts.forwarded, counts.parked, now)
    logger.info(
        "forwarded",
        extra={
            "forwarded": result.forwarded,
            "parked": result.parked,
            "skipped": result.skipped,
            "putRecordsCalls": result.calls,
        },
    )


def backfill_page(message: dict[str, Any]) -> None:
    """One page of one kind: its current state as `kustomer.<kind>.backfill` events, then the
    next page's message (or the kind counted done). A page sent twice yields the same ids."""
    org, kind_name, page = message["org"], message["kind"], int(message["page"])
    kind = kinds.BY_NAME.get(kind_name) or kinds.kobject_kind(kind_name.removeprefix("kobject."))
    found = services.objects().page(org, kind, page, BACKFILL_PAGE)
    now = ids.now_iso()
    events = []
    for record in found.records:
        event = envelope(record, None, now)
        event["name"] = f"kustomer.{record.kind}.backfill"
        event["id"] = event_id(org, record.kind, record.id, record.rev, f"backfill:{message['backfillId']}")
        events.append(event)
    if events:
        forward(events, backfill=True)
    if found.has_more:
        services.backfill_queue().send({**message, "page": page + 1})
    services.datastream_store().add_backfill_sent(
        org, message["backfillId"], len(events), None if found.has_more else kind_name, ids.now_iso()
    )
