"""DynamoDB implementation of the object store (low-level client, explicit attribute values).

Item layout in the objects table (every key starts with the org):
- object:  pk `{org}#{kind}#{id}`, sk `object`; `doc` and `rels` hold JSON; `listPk`/`listSk`
  and `parentPk`/`parentSk` place it in the keys-only list indexes, newest `updatedAt` first.
- guard:   pk `{org}#unique#{scope}#{field}#{value}`, sk `unique`, `ownerId`; written in the
  same transaction as its object, so an identifier can never point at two objects.
"""

from __future__ import annotations

import json
import time
from typing import Any

from switchboard.domain.records import Page, Record, StaleRevision, UniqueKey, UniqueTaken
from switchboard.failures import InfrastructureError

OBJECT_SK = "object"
UNIQUE_SK = "unique"
LIST_INDEX = "byList"
PARENT_INDEX = "byParent"
COUNT_CAP = 10_000  # totals are exact up to this many objects, then reported as capped
BATCH_GET_MAX = 100
# Pauses before a BatchGetItem is sent again for the keys DynamoDB left unprocessed (throttling).
UNPROCESSED_PAUSES_S = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def object_pk(org: str, kind: str, object_id: str) -> str:
    return f"{org}#{kind}#{object_id}"


def unique_pk(org: str, key: UniqueKey) -> str:
    return f"{org}#unique#{key.scope}#{key.field}#{key.value}"


def to_item(record: Record) -> dict[str, dict[str, str]]:
    sort = f"{record.updated_at}#{record.id}"
    item = {
        "pk": {"S": object_pk(record.org, record.kind, record.id)},
        "sk": {"S": OBJECT_SK},
        "org": {"S": record.org},
        "kind": {"S": record.kind},
        "id": {"S": record.id},
        "rev": {"N": str(record.rev)},
        "createdAt": {"S": record.created_at},
        "updatedAt": {"S": record.updated_at},
        "doc": {"S": json.dumps(record.attributes, separators=(",", ":"), ensure_ascii=False)},
        "rels": {"S": json.dumps(record.relationships, separators=(",", ":"))},
        "listPk": {"S": f"{record.org}#{record.list_key}"},
        "listSk": {"S": sort},
    }
    if record.parent_key:
        item["parentPk"] = {"S": f"{record.org}#{record.parent_key}"}
        item["parentSk"] = {"S": sort}
    return item


def from_item(item: dict[str, dict[str, str]]) -> Record:
    org = item["org"]["S"]
    parent = item.get("parentPk", {}).get("S")
    return Record(
        org=org,
        kind=item["kind"]["S"],
        id=item["id"]["S"],
        rev=int(item["rev"]["N"]),
        created_at=item["createdAt"]["S"],
        updated_at=item["updatedAt"]["S"],
        attributes=json.loads(item["doc"]["S"]),
        relationships={k: tuple(v) for k, v in json.loads(item["rels"]["S"]).items()},
        list_key=item["listPk"]["S"].removeprefix(f"{org}#"),
        parent_key=parent.removeprefix(f"{org}#") if parent else None,
    )


class DynamoObjectStore:
    """The ObjectStore protocol on one DynamoDB table; see the module docstring for the layout."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, org: str, kind: str, object_id: str) -> Record | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": object_pk(org, kind, object_id)}, "sk": {"S": OBJECT_SK}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def owner_of(self, org: str, key: UniqueKey) -> str | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": unique_pk(org, key)}, "sk": {"S": UNIQUE_SK}},
            ConsistentRead=True,
            ProjectionExpression="ownerId",
        )
        item = response.get("Item")
        return item["ownerId"]["S"] if item else None

    def create(self, items: list[tuple[Record, list[UniqueKey]]]) -> None:
        if len(items) == 1 and not items[0][1]:
            # No identifiers to guard: a conditional PutItem costs half a transaction.
            self.client.put_item(
                TableName=self.table,
                Item=to_item(items[0][0]),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return
        operations: list[dict[str, Any]] = []
        guards: list[UniqueKey | None] = []
        for record, uniques in items:
            operations.append({"Put": self._put_new(to_item(record))})
            guards.append(None)
            for key in uniques:
                operations.append({"Put": self._put_new(self._guard(record, key))})
                guards.append(key)
        self._transact(operations, guards, org=items[0][0].org)

    def replace(
        self, record: Record, expected_rev: int, add: list[UniqueKey], remove: list[UniqueKey]
    ) -> None:
        put = {
            "TableName": self.table,
            "Item": to_item(record),
            "ConditionExpression": "rev = :expected",
            "ExpressionAttributeValues": {":expected": {"N": str(expected_rev)}},
        }
        if not add and not remove:
            try:
                self.client.put_item(**put)
            except self.client.exceptions.ConditionalCheckFailedException:
                raise StaleRevision() from None
            return
        operations: list[dict[str, Any]] = [{"Put": put}]
        guards: list[UniqueKey | None] = [None]
        for key in add:
            operations.append({"Put": self._put_new(self._guard(record, key))})
            guards.append(key)
        for key in remove:
            operations.append({"Delete": self._delete_owned(record, key)})
            guards.append(None)
        self._transact(operations, guards, org=record.org)

    def delete(self, record: Record, uniques: list[UniqueKey]) -> None:
        condition = {
            "ConditionExpression": "rev = :expected",
            "ExpressionAttributeValues": {":expected": {"N": str(record.rev)}},
        }
        key = {"pk": {"S": object_pk(record.org, record.kind, record.id)}, "sk": {"S": OBJECT_SK}}
        if not uniques:
            try:
                self.client.delete_item(TableName=self.table, Key=key, **condition)
            except self.client.exceptions.ConditionalCheckFailedException:
                raise StaleRevision() from None
            return
        operations: list[dict[str, Any]] = [{"Delete": {"TableName": self.table, "Key": key, **condition}}]
        operations += [{"Delete": self._delete_owned(record, unique)} for unique in uniques]
        self._transact(operations, [None] * len(operations), org=record.org)

    def page(self, org: str, list_key: str, *, by_parent: bool, page: int, size: int) -> Page:
        """One page of a list, newest first: keys from the keys-only index, then one BatchGetItem."""
        index, pk_name = (PARENT_INDEX, "parentPk") if by_parent else (LIST_INDEX, "listPk")
        start = (page - 1) * size
        keys: list[dict[str, Any]] = []
        total = 0
        capped = False
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": pk_name},
            "ExpressionAttributeValues": {":p": {"S": f"{org}#{list_key}"}},
            "ScanIndexForward": False,
        }
        while True:
            response = self.client.query(**query)
            for item in response.get("Items", []):
                if start <= total < start + size:
                    keys.append({"pk": item["pk"], "sk": item["sk"]})
                total += 1
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            if total >= max(COUNT_CAP, start + size):
                capped = True
                break
            query["ExclusiveStartKey"] = last
        records = self._batch_get(keys)
        return Page(
            records=records, total=total, total_capped=capped, has_more=capped or total > start + size
        )

    def existing(self, org: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (kind, id) objects exist in the org: one strongly consistent
        BatchGetItem of at most 100 keys (only `pk` is returned); keys DynamoDB leaves
        unprocessed are asked for again after a pause."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return set()
        if len(keys) > BATCH_GET_MAX:
            raise ValueError(f"at most {BATCH_GET_MAX} keys per BatchGetItem")
        by_pk = {object_pk(org, kind, object_id): (kind, object_id) for kind, object_id in keys}
        request: dict[str, Any] = {
            self.table: {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": OBJECT_SK}} for pk in by_pk],
                "ConsistentRead": True,
                "ProjectionExpression": "pk",
            }
        }
        found: set[tuple[str, str]] = set()
        for pause in (0.0, *UNPROCESSED_PAUSES_S):
            if pause:
                time.sleep(pause)
            response = self.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table, []):
                found.add(by_pk[item["pk"]["S"]])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise InfrastructureError("DynamoDB kept keys unprocessed")

    def exists_in(self, org: str, list_key: str) -> bool:
        response = self.client.query(
            TableName=self.table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="listPk = :p",
            ExpressionAttributeValues={":p": {"S": f"{org}#{list_key}"}},
            Limit=1,
        )
        return bool(response.get("Items"))

    # ----- helpers ---------------------------------------------------------------------------
    def _batch_get(self, keys: list[dict[str, Any]]) -> list[Record]:
        if not keys:
            return []
        found: dict[str, Record] = {}
        pending = list(keys)
        while pending:
            chunk, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
            request = {self.table: {"Keys": chunk, "ConsistentRead": True}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["pk"]["S"]] = from_item(item)
                request = response.get("UnprocessedKeys") or {}
        # Objects deleted between the index read and the batch read are simply left out.
        return [found[key["pk"]["S"]] for key in keys if key["pk"]["S"] in found]

    def _guard(self, record: Record, key: UniqueKey) -> dict[str, dict[str, str]]:
        return {
            "pk": {"S": unique_pk(record.org, key)},
            "sk": {"S": UNIQUE_SK},
            "org": {"S": record.org},
            "ownerId": {"S": record.id},
            "ownerKind": {"S": record.kind},
        }

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    def _delete_owned(self, record: Record, key: UniqueKey) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": {"pk": {"S": unique_pk(record.org, key)}, "sk": {"S": UNIQUE_SK}},
            "ConditionExpression": "attribute_not_exists(pk) OR ownerId = :owner",
            "ExpressionAttributeValues": {":owner": {"S": record.id}},
        }

    def _transact(self, operations: list[dict[str, Any]], guards: list[UniqueKey | None], org: str) -> None:
        try:
            self.client.transact_write_items(TransactItems=operations)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            for position, reason in enumerate(reasons):
                if reason.get("Code") != "ConditionalCheckFailed":
                    continue
                key = guards[position] if position < len(guards) else None
                if key is not None:
                    raise UniqueTaken(key) from None
                raise StaleRevision() from None
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                raise StaleRevision() from None
            raise
