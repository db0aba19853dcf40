"""Pullers in the automation table: configuration, cursor, lease and schedule on one item.

pk `{org}#puller`  sk `{pullerId}`
  doc, rev                   the configuration (JSON) and its revision (conditional updates)
  cursor, seen               where the next poll starts, and 8-byte digests of the items already
                             posted under that cursor (an inclusive partner API sends them again)
  leaseOwner, leaseUntil     the run that holds the puller: a conditional write that expires
  nextRunAt                  when the puller is next due (ISO-8601, sorts as text)
  timePk `pullers#due`       present only while the puller is enabled: with
  timeSk `{nextRunAt}#{org}#{id}`  this, the sparse `byTime` index lists every enabled puller in
                             due order, so the schedule finds due pullers with one Query
  lastRunAt, lastSuccessAt, lastError, lastPosted, lastPages, runs, failures, posted

Why the schedule is an index entry of the puller's own item rather than a separate registry item
(pk `pullers`, sk `{nextRunAt}#{org}#{id}`): a registry item's sort key changes at every run, so
each run would delete one item and put another in a transaction beside the puller's update, and
a crash or a concurrent delete could leave a registry entry behind. On one item, the write that
releases a run's lease also moves its schedule, a disable or a delete takes the entry away in the
same write, and nothing can drift. The index is eventually consistent; a stale entry costs one
refused lease write, since taking the lease re-checks `nextRunAt` on the item itself.
The `pullers#due` index partition is the one key not led by an org: only the scheduled function
reads it, and it yields (org, id) pairs whose items are then read by their org-led keys.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from switchboard.adapters.dynamo_automation import StaleItem
from switchboard.pipeline.pull import Leased, Puller, PullerState

DUE_PARTITION = "pullers#due"
DIGEST_BYTES = 8
CURSOR_NAME = {"#cursor": "cursor"}  # CURSOR is a DynamoDB reserved word


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _pack(seen: list[str]) -> bytes:
    return b"".join(bytes.fromhex(mark) for mark in seen)


def _unpack(raw: Any) -> list[str]:
    data = raw.value if hasattr(raw, "value") else raw
    return [data[i : i + DIGEST_BYTES].hex() for i in range(0, len(data), DIGEST_BYTES)]


class DynamoPullerStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    @staticmethod
    def _key(org: str, puller_id: str) -> dict[str, Any]:
        return {"pk": _s(f"{org}#puller"), "sk": _s(puller_id)}

    @staticmethod
    def _doc(puller: Puller) -> str:
        doc = asdict(puller)
        for key in ("org", "id", "rev"):
            doc.pop(key)
        return json.dumps(doc, separators=(",", ":"))

    @staticmethod
    def due_key(next_run_at: str, org: str, puller_id: str) -> str:
        return f"{next_run_at}#{org}#{puller_id}"

    @staticmethod
    def _read(item: dict[str, Any]) -> tuple[Puller, PullerState]:
        org = item["pk"]["S"].rsplit("#", 1)[0]
        puller = Puller(
            org=org, id=item["sk"]["S"], rev=int(item["rev"]["N"]), **json.loads(item["doc"]["S"])
        )

        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        def number(name: str) -> int:
            return int(item[name]["N"]) if name in item else 0

        state = PullerState(
            cursor=text("cursor"),
            seen=_unpack(item["seen"]["B"]) if "seen" in item else [],
            next_run_at=text("nextRunAt"),
            lease_until=text("leaseUntil"),
            last_run_at=text("lastRunAt"),
            last_success_at=text("lastSuccessAt"),
            last_error=text("lastError"),
            last_posted=number("lastPosted"),
            last_pages=number("lastPages"),
            runs=number("runs"),
            failures=number("failures"),
            posted=number("posted"),
        )
        return puller, state

    # --- configuration ----------------------------------------------------------------------
    def create(self, puller: Puller, cursor: str | None, now: str) -> None:
        """A new puller, due at once when enabled."""
        item: dict[str, Any] = {
            **self._key(puller.org, puller.id),
            "doc": _s(self._doc(puller)),
            "rev": _n(puller.rev),
            "nextRunAt": _s(now),
            "timeSk": _s(self.due_key(now, puller.org, puller.id)),
        }
        if puller.enabled:
            item["timePk"] = _s(DUE_PARTITION)
        if cursor is not None:
            item["cursor"] = _s(cursor)
        self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, org: str, puller_id: str) -> tuple[Puller, PullerState] | None:
        item = self.client.get_item(
            TableName=self.table, Key=self._key(org, puller_id), ConsistentRead=True
        ).get("Item")
        return self._read(item) if item else None

    def list(self, org: str) -> list[tuple[Puller, PullerState]]:
        found: list[tuple[Puller, PullerState]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(f"{org}#puller")},
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**request)
            found += [self._read(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def update(
        self,
        puller: Puller,
        expected_rev: int,
        now: str,
        *,
        was_enabled: bool,
        reset_cursor: bool = False,
        cursor: str | None = None,
    ) -> None:
        """Write a new configuration conditional on `rev`. Enabling makes the puller due now,
        disabling takes it off the schedule; a cursor reset refuses while a run holds the lease
        (raises Leased) and clears what was seen under the old cursor."""
        sets = ["doc = :doc", "rev = :rev"]
        removes: list[str] = []
        values: dict[str, Any] = {
            ":doc": _s(self._doc(puller)),
            ":rev": _n(puller.rev),
            ":expected": _n(expected_rev),
        }
        if puller.enabled and not was_enabled:
            sets += ["timePk = :due", "nextRunAt = :now", "timeSk = :sk"]
            values.update(
                {
                    ":due": _s(DUE_PARTITION),
                    ":now": _s(now),
                    ":sk": _s(self.due_key(now, puller.org, puller.id)),
                }
            )
        elif not puller.enabled:
            removes.append("timePk")
        condition = "rev = :expected"
        if reset_cursor:
            removes += ["seen", "leaseOwner", "leaseUntil"]
            if cursor is None:
                removes.append("#cursor")
            else:
                sets.append("#cursor = :cursor")
                values[":cursor"] = _s(cursor)
            condition += " AND (attribute_not_exists(leaseUntil) OR leaseUntil < :clock)"
            values[":clock"] = _s(now)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        names = {"ExpressionAttributeNames": CURSOR_NAME} if reset_cursor else {}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(puller.org, puller.id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                **names,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item") or {}
            if old.get("rev", {}).get("N") == str(expected_rev):
                raise Leased(puller.id) from None
            raise StaleItem(puller.id) from None

    def delete(self, org: str, puller_id: str) -> bool:
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=self._key(org, puller_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- schedule and runs ------------------------------------------------------------------
    def due(self, now: str, limit: int) -> list[tuple[str, str]]:
        """(org, id) of enabled pullers due at `now`, longest overdue first; at most `limit`."""
        found: list[tuple[str, str]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "byTime",
            # Every entry whose time part is <= now: '~' sorts after any '#org#id' that follows it.
            "KeyConditionExpression": "timePk = :pk AND timeSk <= :bound",
            "ExpressionAttributeValues": {":pk": _s(DUE_PARTITION), ":bound": _s(f"{now}#~")},
            "ProjectionExpression": "pk, sk",
            "Limit": limit,
        }
        while len(found) < limit:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                found.append((item["pk"]["S"].rsplit("#", 1)[0], item["sk"]["S"]))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            request["Limit"] = limit - len(found)
        return found[:limit]

    def acquire(
        self, org: str, puller_id: str, owner: str, now: str, until: str, *, due_only: bool
    ) -> tuple[Puller, PullerState] | None:
        """Take the lease (none held, or expired) and read the puller in the same write; None
        when another run holds it, or (`due_only`) it is not enabled and due any more."""
        condition = "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)"
        if due_only:
            condition += " AND attribute_exists(timePk) AND nextRunAt <= :now"
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key=self._key(org, puller_id),
                UpdateExpression="SET leaseOwner = :me, leaseUntil = :until",
                ConditionExpression=condition,
                ExpressionAttributeValues={":me": _s(owner), ":until": _s(until), ":now": _s(now)},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return self._read(item)

    def commit(self, org: str, puller_id: str, owner: str, cursor: str | None, seen: list[str]) -> bool:
        """Store where the next poll starts, only while `owner` holds the lease."""
        sets, removes = [], []
        values: dict[str, Any] = {":me": _s(owner)}
        if cursor is None:
            removes.append("#cursor")
        else:
            sets.append("#cursor = :cursor")
            values[":cursor"] = _s(cursor)
        if seen:
            sets.append("seen = :seen")
            values[":seen"] = {"B": _pack(seen)}
        else:
            removes.append("seen")
        expression = ("SET " + ", ".join(sets) + " " if sets else "") + (
            "REMOVE " + ", ".join(removes) if removes else ""
        )
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(org, puller_id),
                UpdateExpression=expression.strip(),
                ConditionExpression="leaseOwner = :me",
                ExpressionAttributeValues=values,
                ExpressionAttributeNames=CURSOR_NAME,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish(
        self,
        org: str,
        puller_id: str,
        owner: str,
        *,
        now: str,
        next_run_at: str,
        error: str | None,
        posted: int,
        pages: int,
    ) -> bool:
        """Record the run, move the schedule and release the lease, in one write; False when
        the lease was lost (the puller deleted, its cursor reset, or a later run took over)."""
        sets = [
            "lastRunAt = :now",
            "lastPosted = :posted",
            "lastPages = :pages",
            "nextRunAt = :next",
            "timeSk = :sk",
            "runs = if_not_exists(runs, :zero) + :one",
            "posted = if_not_exists(posted, :zero) + :posted",
        ]
        removes = ["leaseOwner", "leaseUntil"]
        values: dict[str, Any] = {
            ":me": _s(owner),
            ":now": _s(now),
            ":posted": _n(posted),
            ":pages": _n(pages),
            ":next": _s(next_run_at),
            ":sk": _s(self.due_key(next_run_at, org, puller_id)),
            ":zero": _n(0),
            ":one": _n(1),
        }
        if error is None:
            sets += ["lastSuccessAt = :now", "failures = :zero"]
            removes.append("lastError")
        else:
            sets += ["lastError = :error", "failures = if_not_exists(failures, :zero) + :one"]
            values[":error"] = _s(error)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(org, puller_id),
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                ConditionExpression="leaseOwner = :me",
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
