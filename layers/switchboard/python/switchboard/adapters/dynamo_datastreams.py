"""An org's data stream registration, its counters and parked events, in the automation table.

pk `{org}#datastream`  sk `config`        the org's ExternalId, made once, and its registration
                                          (`doc` JSON: account, region, stream ARN, status, times)
                       sk `counters`      forwarded / parked counts and the last forward time,
                                          added to by the forwarder once per batch (UpdateItem ADD)
                       sk `backfill`      the current backfill's progress (`doc` JSON: id,
                                          kinds, startedAt; `backfillId`; ADDed `sent` and
                                          `kindsDone`; `finishedAt` once every kind is sent)
pk `{org}#parked`      sk `{createdAt}#{eventId}`  an event that could not be written, kept for
                                          a redrive (never dropped)
"""

from __future__ import annotations

import contextlib
import gzip
import json
import secrets
import time
from typing import Any

PARKED_TTL_S = 14 * 24 * 3600


def _packed(event: dict[str, Any]) -> bytes:
    """A parked event, compressed; past 350 KB even so, without its `changes` (the item limit)."""
    packed = gzip.compress(json.dumps(event, separators=(",", ":")).encode(), mtime=0)
    if len(packed) > 350 * 1024:
        slim = {**event, "changes": None, "changesOmitted": True}
        packed = gzip.compress(json.dumps(slim, separators=(",", ":")).encode(), mtime=0)
    return packed


def _bytes(value: Any) -> bytes:
    return value.value if hasattr(value, "value") else bytes(value)


def _parked_sk(event: dict[str, Any]) -> str:
    return f"{event['createdAt']}#{event['id']}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoDataStreamStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, org: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(f"{org}#datastream"), "sk": _s(sk)}

    def config(self, org: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=self._key(org, "config"), ConsistentRead=True
        ).get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def external_id(self, org: str) -> str:
        """The org's ExternalId: made on first use (a race keeps the first one written)."""
        found = self.config(org)
        if found is not None:
            return found["externalId"]
        doc = {"externalId": f"sb-{secrets.token_hex(16)}", "registration": None}
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**self._key(org, "config"), "doc": _s(json.dumps(doc))},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return doc["externalId"]
        except self.client.exceptions.ConditionalCheckFailedException:
            stored = self.config(org)
            assert stored is not None
            return stored["externalId"]

    def put_registration(self, org: str, registration: dict[str, Any] | None) -> None:
        external_id = self.external_id(org)
        doc = {"externalId": external_id, "registration": registration}
        self.client.put_item(
            TableName=self.table, Item={**self._key(org, "config"), "doc": _s(json.dumps(doc))}
        )

    def add_counters(self, org: str, forwarded: int, parked: int, at: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=self._key(org, "counters"),
            UpdateExpression="ADD forwarded :f, parked :p SET lastForwardedAt = :at",
            ExpressionAttributeValues={":f": {"N": str(forwarded)}, ":p": {"N": str(parked)}, ":at": _s(at)},
        )

    def counters(self, org: str) -> dict[str, Any]:
        item = self.client.get_item(TableName=self.table, Key=self._key(org, "counters")).get("Item") or {}
        return {
            "forwarded": int(item.get("forwarded", {}).get("N", "0")),
            "parked": int(item.get("parked", {}).get("N", "0")),
            "lastForwardedAt": item.get("lastForwardedAt", {}).get("S"),
        }

    def put_backfill(self, org: str, progress: dict[str, Any]) -> None:
        """Start a backfill: its progress replaces the previous one (counts start from zero)."""
        self.client.put_item(
            TableName=self.table,
            Item={
                **self._key(org, "backfill"),
                "doc": _s(json.dumps(progress)),
                "backfillId": _s(progress["id"]),
            },
        )

    def add_backfill_sent(
        self, org: str, backfill_id: str, sent: int, done_kind: str | None, at: str
    ) -> None:
        """Count a page's sent objects (and its kind, when it was the kind's last page) on the
        backfill `backfill_id`; the update that completes the last kind marks the backfill done at
        `at`. A page of a backfill that a newer one replaced counts nowhere."""
        expression = "ADD sent :n"
        values: dict[str, Any] = {":n": {"N": str(sent)}, ":id": _s(backfill_id)}
        if done_kind:
            expression += ", kindsDone :k"
            values[":k"] = {"SS": [done_kind]}
        try:
            updated = self.client.update_item(
                TableName=self.table,
                Key=self._key(org, "backfill"),
                UpdateExpression=expression,
                ConditionExpression="backfillId = :id",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self.client.exceptions.ConditionalCheckFailedException:
            return  # replaced (or never started): its pages are no longer counted
        if not done_kind or "finishedAt" in updated:
            return
        kinds = json.loads(updated["doc"]["S"]).get("kinds", [])
        if not set(kinds) <= set(updated.get("kindsDone", {}).get("SS", [])):
            return
        # Refused when a concurrent last page marked it first, or a newer backfill replaced it.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(org, "backfill"),
                UpdateExpression="SET finishedAt = :at",
                ConditionExpression="backfillId = :id AND attribute_not_exists(finishedAt)",
                ExpressionAttributeValues={":at": _s(at), ":id": _s(backfill_id)},
            )

    def backfill(self, org: str) -> dict[str, Any] | None:
        """The current backfill's progress: `status` is `done` once every kind is sent (with
        `finishedAt`, when it was recorded), `running` before; `sent` and `kindsDone` count."""
        item = self.client.get_item(
            TableName=self.table, Key=self._key(org, "backfill"), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        progress = json.loads(item["doc"]["S"])
        progress["sent"] = int(item.get("sent", {}).get("N", "0"))
        progress["kindsDone"] = sorted(item.get("kindsDone", {}).get("SS", []))
        progress["finishedAt"] = item.get("finishedAt", {}).get("S")
        finished = progress["finishedAt"] is not None or set(progress.get("kinds", [])) <= set(
            progress["kindsDone"]
        )
        progress["status"] = "done" if finished else "running"
        return progress

    # --- parked events ----------------------------------------------------------------------
    def park(self, org: str, events: list[dict[str, Any]], reason: str) -> None:
        expires = str(int(time.time()) + PARKED_TTL_S)
        for start in range(0, len(events), 25):
            requests = [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": _s(f"{org}#parked"),
                            "sk": _s(_parked_sk(event)),
                            "event": {"B": _packed(event)},
                            "reason": _s(reason[:1000]),
                            "expiresAt": {"N": expires},
                        }
                    }
                }
                for event in events[start : start + 25]
            ]
            pending = {self.table: requests}
            for _ in range(8):
                unprocessed = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed
                time.sleep(0.05)
            else:
                raise RuntimeError("could not park every event")

    def parked(self, org: str, limit: int = 500) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"{org}#parked")},
            Limit=limit,
        )
        return [json.loads(gzip.decompress(_bytes(item["event"]["B"]))) for item in response.get("Items", [])]

    def unpark(self, org: str, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), 25):
            requests = [
                {
                    "DeleteRequest": {
                        "Key": {"pk": _s(f"{org}#parked"), "sk": _s(f"{e['createdAt']}#{e['id']}")}
                    }
                }
                for e in events[start : start + 25]
            ]
            self.client.batch_write_item(RequestItems={self.table: requests})
