"""An org's data stream registration, its counters and parked events, in the automation table.

pk `{org}#datastream`  sk `config`        the org's ExternalId, made once, and its registration
                                          (`doc` JSON: account, region, stream ARN, status, times)
                       sk `counters`      forwarded / parked counts and the last forward time,
                                          added to by the forwarder once per batch (UpdateItem ADD)
                       sk `backfill`      the current backfill's progress
pk `{org}#parked`      sk `{createdAt}#{eventId}`  an event that could not be written, kept for
                                          a redrive (never dropped)
"""

from __future__ import annotations

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
        self.client.put_item(
            TableName=self.table, Item={**self._key(org, "backfill"), "doc": _s(json.dumps(progress))}
        )

    def add_backfill_sent(self, org: str, sent: int, done_kind: str | None = None) -> None:
        """Count sent objects (and a finished kind) on the backfill's progress."""
        expression = "ADD sent :n"
        values: dict[str, Any] = {":n": {"N": str(sent)}}
        if done_kind:
            expression += ", kindsDone :k"
            values[":k"] = {"SS": [done_kind]}
        self.client.update_item(
            TableName=self.table,
            Key=self._key(org, "backfill"),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def backfill(self, org: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=self._key(org, "backfill"), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        progress = json.loads(item["doc"]["S"])
        progress["sent"] = int(item.get("sent", {}).get("N", "0"))
        progress["kindsDone"] = sorted(item.get("kindsDone", {}).get("SS", []))
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
