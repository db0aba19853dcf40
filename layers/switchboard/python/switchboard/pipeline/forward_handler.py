"""The forward function: stream records of three tables, and backfill pages, to data streams.

One change = one stream record = one event: object changes (objects table), hook transactions
received and workflow runs finished (automation table), outbound webhooks turned off (webhooks
table) become envelopes of the same shape and go to the org's registered Kinesis stream
(`pipeline.forwarder`). What cannot be written is parked, so a batch always succeeds unless
parking itself fails; then the event source retries from the first record (safe: records
carry deterministic ids, and consumers keep the highest `rev`).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer

from switchboard import ids, services, wiring
from switchboard.adapters.dynamo_webhooks import _from_item as webhook_from_item
from switchboard.domain import kinds
from switchboard.domain.events import envelope, event_id
from switchboard.domain.webhooks import resource as webhook_resource
from switchboard.pipeline.fanout import stream_events
from switchboard.pipeline.forwarder import (
    hook_received_event,
    turned_off,
    webhook_disabled_event,
    workflow_run_event,
)

logger = Logger()
FINISHED = {"succeeded", "failed", "timed_out"}
BACKFILL_PAGE = 100
_deserialize = TypeDeserializer().deserialize


def handle(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    if not records:
        return {"batchItemFailures": []}
    if records[0].get("eventSource") == "aws:sqs":
        return _backfill(records)
    table = _table_of(records[0]["eventSourceARN"])
    pairs = list(_events(table, records))
    if not pairs:
        return {"batchItemFailures": []}
    try:
        _forward([e for _, e in pairs])
    except Exception:
        logger.exception("forwarding failed; the batch is retried from its first record")
        return {"batchItemFailures": [{"itemIdentifier": pairs[0][0]}]}
    return {"batchItemFailures": []}


def _forward(events: list[dict[str, Any]], backfill: bool = False) -> None:
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


def _table_of(arn: str) -> str:
    """The table key (objects, automation, webhooks) of a stream ARN."""
    name = arn.split(":table/", 1)[1].split("/", 1)[0]
    for table in wiring.TABLES:
        if os.environ.get(table.env_var) == name:
            return table.key
    raise ValueError(f"no declared table is named {name}")


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserialize(v) for k, v in image.items()}


def _events(table: str, records: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(sequence number, event) for each record that is an event of the data stream."""
    if table == wiring.OBJECTS.key:
        yield from stream_events(records)
        return
    for record in records:
        change = record["dynamodb"]
        sequence = change["SequenceNumber"]
        new = change.get("NewImage")
        if table == wiring.AUTOMATION.key and new:
            built = _automation_event(new)
            if built is not None:
                yield sequence, built
        elif table == wiring.WEBHOOKS.key and new and change.get("OldImage"):
            if new.get("id", {}).get("S", "").startswith("#"):
                continue  # the per-org counter item
            old_hook, new_hook = webhook_from_item(change["OldImage"]), webhook_from_item(new)
            old_view = webhook_resource(old_hook)["attributes"]
            new_view = webhook_resource(new_hook)["attributes"]
            if turned_off(old_view, new_view):
                yield (
                    sequence,
                    webhook_disabled_event(
                        new_hook.org, {"id": new_hook.id, "rev": new_hook.rev, **new_view}
                    ),
                )


def _automation_event(image: dict[str, Any]) -> dict[str, Any] | None:
    pk = image["pk"]["S"]
    org = pk.split("#", 1)[0]
    if "#tx#" in pk:
        raw = image["body"]["B"]
        return hook_received_event(
            org,
            {
                "id": image["id"]["S"],
                "hookId": pk.split("#tx#", 1)[1],
                "hookType": image.get("hookType", {}).get("S", "web"),
                "receivedAt": image["receivedAt"]["S"],
                "data": gzip.decompress(_binary(raw)),
            },
        )
    if "#run#" in pk:
        run = json.loads(image["doc"]["S"])
        return workflow_run_event(org, run) if run.get("status") in FINISHED else None
    return None


def _binary(value: Any) -> bytes:
    """A B attribute: Lambda's stream events carry it base64-encoded; boto3 gives bytes."""
    if isinstance(value, str):
        return base64.b64decode(value)
    return value.value if hasattr(value, "value") else bytes(value)


# --- backfill -------------------------------------------------------------------------------


def _backfill(records: list[dict[str, Any]]) -> dict[str, Any]:
    failed: list[str] = []
    for record in records:
        try:
            _backfill_page(json.loads(record["body"]))
        except Exception:
            logger.exception("backfill page failed", extra={"messageId": record["messageId"]})
            failed.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _backfill_page(message: dict[str, Any]) -> None:
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
        _forward(events, backfill=True)
    if found.has_more:
        services.backfill_queue().send({**message, "page": page + 1})
    services.datastream_store().add_backfill_sent(
        org, message["backfillId"], len(events), None if found.has_more else kind_name, ids.now_iso()
    )
