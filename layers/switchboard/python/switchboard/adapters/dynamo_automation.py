"""Hooks, hook transactions, workflows and workflow runs in the automation table.

pk `{org}#hook`          sk `{hookId}`     the hook (`doc` JSON, `rev`)
pk `{org}#hookhash`      sk `{hash}`       the same hook, found by its address in one GetItem
pk `{org}#tx#{hookId}`   sk `{dedupeKey}`  one transaction: body (gzip), kept headers, times;
                                           its key is the idempotency key's digest, so a partner's
                                           retry lands on the same item (conditional put)
pk `{org}#workflow`      sk `{workflowId}` the workflow definition and its trigger's event name
pk `{org}#run#{wfId}`    sk `{runId}`      one run with every step's input, output and error
Debug transactions and runs also carry `timePk`/`timeSk` (the sparse `byTime` index: newest
first). Transactions and runs expire (`expiresAt`).
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import asdict
from typing import Any

from switchboard import strictjson
from switchboard.domain.hooks import Hook

TRANSACTION_TTL_S = 14 * 24 * 3600  # as long as a queued message can wait (SQS retention)
RUN_TTL_S = 30 * 24 * 3600


class StaleItem(Exception):
    """The item changed since it was read (conditional write failed)."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _failed_condition(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


class DynamoAutomationStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    # --- hooks ------------------------------------------------------------------------------
    @staticmethod
    def _hook_doc(hook: Hook) -> str:
        doc = asdict(hook)
        for key in ("org", "rev"):
            doc.pop(key)
        return json.dumps(doc, separators=(",", ":"))

    @staticmethod
    def _hook(item: dict[str, Any], org: str) -> Hook:
        return Hook(org=org, rev=int(item["rev"]["N"]), **json.loads(item["doc"]["S"]))

    def _hook_items(self, hook: Hook) -> list[dict[str, Any]]:
        doc = {"doc": _s(self._hook_doc(hook)), "rev": {"N": str(hook.rev)}}
        return [
            {"pk": _s(f"{hook.org}#hook"), "sk": _s(hook.id), **doc},
            {"pk": _s(f"{hook.org}#hookhash"), "sk": _s(hook.hash), **doc},
        ]

    def put_hook(self, hook: Hook, expected_rev: int | None) -> None:
        """Write the hook and its by-hash copy together; new (None) or conditional on `rev`."""
        if expected_rev is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "rev = :rev",
                "ExpressionAttributeValues": {":rev": {"N": str(expected_rev)}},
            }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": item, **condition}}
                    for item in self._hook_items(hook)
                ]
            )
        except self.client.exceptions.TransactionCanceledException:
            raise StaleItem(hook.id) from None

    def get_hook(self, org: str, hook_id: str) -> Hook | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"{org}#hook"), "sk": _s(hook_id)}, ConsistentRead=True
        ).get("Item")
        return self._hook(item, org) if item else None

    def hook_by_hash(self, org: str, digest: str) -> Hook | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"{org}#hookhash"), "sk": _s(digest)}
        ).get("Item")
        return self._hook(item, org) if item else None

    def list_hooks(self, org: str) -> list[Hook]:
        return [self._hook(item, org) for item in self._query(f"{org}#hook")]

    # --- transactions -----------------------------------------------------------------------
    def put_transaction(
        self,
        *,
        org: str,
        hook_id: str,
        hook_type: str,
        dedupe: str,
        tx_id: str,
        received_at: str,
        body: bytes,
        headers: dict[str, str],
        group: str,
        debug: bool,
        replace_before: str,
    ) -> dict[str, Any] | None:
        """Store a new transaction; when one with this key exists (received after
        `replace_before`), return it instead and write nothing."""
        item: dict[str, Any] = {
            "pk": _s(f"{org}#tx#{hook_id}"),
            "sk": _s(dedupe),
            "id": _s(tx_id),
            "hookType": _s(hook_type),
            "receivedAt": _s(received_at),
            "body": {"B": gzip.compress(body, compresslevel=5, mtime=0)},
            "headers": _s(json.dumps(headers, separators=(",", ":"))),
            "group": _s(group),
            "expiresAt": {"N": str(int(time.time()) + TRANSACTION_TTL_S)},
        }
        if debug:
            item["timePk"] = _s(f"{org}#tx#{hook_id}")
            item["timeSk"] = _s(f"{received_at}#{tx_id}")
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR receivedAt < :cutoff",
                ExpressionAttributeValues={":cutoff": _s(replace_before)},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            if old is None:  # an endpoint that does not return the item
                old = self.client.get_item(
                    TableName=self.table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True
                )["Item"]
            return self._transaction(old)

    def get_transaction(self, org: str, hook_id: str, dedupe: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"{org}#tx#{hook_id}"), "sk": _s(dedupe)}, ConsistentRead=True
        ).get("Item")
        return self._transaction(item) if item else None

    def recent_transactions(self, org: str, hook_id: str, since: str, limit: int) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.table,
            IndexName="byTime",
            KeyConditionExpression="timePk = :pk AND timeSk >= :since",
            ExpressionAttributeValues={":pk": _s(f"{org}#tx#{hook_id}"), ":since": _s(since)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._transaction(item) for item in response.get("Items", [])]

    @staticmethod
    def _transaction(item: dict[str, Any]) -> dict[str, Any]:
        raw = item["body"]["B"]
        return {
            "id": item["id"]["S"],
            "dedupe": item["sk"]["S"],
            "receivedAt": item["receivedAt"]["S"],
            "body": gzip.decompress(raw.value if hasattr(raw, "value") else raw),
            "headers": json.loads(item["headers"]["S"]),
            "group": item["group"]["S"],
        }

    # --- workflows --------------------------------------------------------------------------
    def put_workflow(self, org: str, workflow: dict[str, Any], expected_rev: int | None) -> None:
        item = {
            "pk": _s(f"{org}#workflow"),
            "sk": _s(workflow["id"]),
            "rev": {"N": str(workflow["rev"])},
            "doc": _s(json.dumps(workflow, separators=(",", ":"))),
        }
        if expected_rev is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "rev = :rev",
                "ExpressionAttributeValues": {":rev": {"N": str(expected_rev)}},
            }
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise StaleItem(workflow["id"]) from None

    def get_workflow(self, org: str, workflow_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"{org}#workflow"), "sk": _s(workflow_id)},
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def list_workflows(self, org: str) -> list[dict[str, Any]]:
        return [json.loads(item["doc"]["S"]) for item in self._query(f"{org}#workflow")]

    # --- runs -------------------------------------------------------------------------------
    def get_run(self, org: str, workflow_id: str, run_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"{org}#run#{workflow_id}"), "sk": _s(run_id)},
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def put_run(self, org: str, workflow_id: str, run: dict[str, Any]) -> None:
        """Write a run's record (started, then finished); at most ~350 KB, outputs truncated."""
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": _s(f"{org}#run#{workflow_id}"),
                "sk": _s(run["id"]),
                "timePk": _s(f"{org}#run#{workflow_id}"),
                "timeSk": _s(f"{run['startedAt']}#{run['id']}"),
                "doc": _s(strictjson.dumps(run, default=str)),
                "expiresAt": {"N": str(int(time.time()) + RUN_TTL_S)},
            },
        )

    def list_runs(
        self, org: str, workflow_id: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "byTime",
            "KeyConditionExpression": "timePk = :pk",
            "ExpressionAttributeValues": {":pk": _s(f"{org}#run#{workflow_id}")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = cursor
        response = self.client.query(**request)
        return [json.loads(i["doc"]["S"]) for i in response.get("Items", [])], response.get(
            "LastEvaluatedKey"
        )

    # ----------------------------------------------------------------------------------------
    def _query(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(partition)},
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**request)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
