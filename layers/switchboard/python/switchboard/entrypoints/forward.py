"""The forward function: stream records of three tables, and backfill pages, to data streams.

One change = one stream record = one event: object changes (objects table), hook transactions
received and workflow runs finished (automation table), outbound webhooks turned off (webhooks
table) become envelopes of the same shape and go to the org's registered Kinesis stream
(`pipeline.forwarding`). What cannot be written is parked, so a batch always succeeds unless
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

from switchboard import wiring
from switchboard.adapters.dynamo_webhooks import _from_item as webhook_from_item
from switchboard.domain.webhooks import resource as webhook_resource
from switchboard.entrypoints import batch
from switchboard.pipeline.fanout import stream_events
from switchboard.pipeline.forwarder import (
    hook_received_event,
    turned_off,
    webhook_disabled_event,
    workflow_run_event,
)
from switchboard.pipeline.forwarding import backfill_page, forward

logger = Logger()
FINISHED = {"succeeded", "failed", "timed_out"}

Pairs = list[tuple[str, dict[str, Any]]]  # (sequence number, event) of one stream batch


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    if not records:
        return batch.response([])
    if records[0].get("eventSource") == "aws:sqs":
        return batch.each(records, _backfill, _backfill_failed).response()
    table = _table_of(records[0]["eventSourceARN"])
    pairs = list(_events(table, records))
    if not pairs:
        return batch.response([])
    # The batch is written as one unit; a failure retries it from its first record.
    return batch.each([pairs], _forward, _forward_failed, item_id=_first_sequence).response()


def _forward(pairs: Pairs) -> None:
    forward([e for _, e in pairs])


def _forward_failed(_pairs: Pairs, _exc: Exception) -> None:
    logger.exception("forwarding failed; the batch is retried from its first record")


def _first_sequence(pairs: Pairs) -> str:
    return pairs[0][0]


def _backfill(record: dict[str, Any]) -> None:
    backfill_page(json.loads(record["body"]))


def _backfill_failed(record: dict[str, Any], _exc: Exception) -> None:
    logger.exception("backfill page failed", extra={"messageId": record["messageId"]})


def _table_of(arn: str) -> str:
    """The table key (objects, automation, webhooks) of a stream ARN."""
    name = arn.split(":table/", 1)[1].split("/", 1)[0]
    for table in wiring.TABLES:
        if os.environ.get(table.env_var) == name:
            return table.key
    raise ValueError(f"no declared table is named {name}")


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
