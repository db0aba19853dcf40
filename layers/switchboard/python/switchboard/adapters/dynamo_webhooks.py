"""Outbound webhooks (webhooks table) and their deliveries and attempts (deliveries table).

webhooks:   org | id -> `doc` (the webhook as JSON), `rev`; plus one counter item per org
            (id `#count`) written in the same transaction as a create or delete, so an org can
            never hold more than five webhooks, however many admins click at once.
deliveries: pk `{org}#{webhookId}`
            sk `s#{eventCreatedAt}#{eventId}`  the delivery's state (one per webhook and event)
            sk `a#{attemptAt}#{eventId}#{n}`   one item per attempt (the attempt log)
            Failed and held states carry the event and sit in the sparse `byStatus` index, so a
            redrive finds them; every state is in `byOrg` for the org-wide transactions list.
            Everything expires (`expiresAt`) after the retention window.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from switchboard import strictjson
from switchboard.domain.webhooks import MAX_PER_ORG, Secret, Webhook

COUNTER_ID = "#count"
BATCH_WRITE_MAX = 25


class WebhookLimitReached(Exception):
    pass


class StaleWebhook(Exception):
    pass


def _to_item(hook: Webhook) -> dict[str, Any]:
    doc = asdict(hook)
    for key in ("org", "id", "rev"):
        doc.pop(key)
    return {
        "org": {"S": hook.org},
        "id": {"S": hook.id},
        "rev": {"N": str(hook.rev)},
        "doc": {"S": json.dumps(doc, separators=(",", ":"))},
    }


def _from_item(item: dict[str, Any]) -> Webhook:
    doc = json.loads(item["doc"]["S"])
    doc["secrets"] = [Secret(**s) for s in doc["secrets"]]
    return Webhook(org=item["org"]["S"], id=item["id"]["S"], rev=int(item["rev"]["N"]), **doc)


class DynamoWebhookStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, org: str, webhook_id: str) -> Webhook | None:
        item = self.client.get_item(
            TableName=self.table, Key={"org": {"S": org}, "id": {"S": webhook_id}}, ConsistentRead=True
        ).get("Item")
        return _from_item(item) if item and webhook_id != COUNTER_ID else None

    def list(self, org: str) -> list[Webhook]:
        items = self.client.query(
            TableName=self.table,
            KeyConditionExpression="org = :org",
            ExpressionAttributeValues={":org": {"S": org}},
            ConsistentRead=True,
        ).get("Items", [])
        hooks = [_from_item(i) for i in items if i["id"]["S"] != COUNTER_ID]
        return sorted(hooks, key=lambda h: h.created_at)

    def create(self, hook: Webhook) -> None:
        """Write a new webhook and raise the org's count, refusing a sixth (WebhookLimitReached)."""
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"org": {"S": hook.org}, "id": {"S": COUNTER_ID}},
                            "UpdateExpression": "ADD webhooks :one",
                            "ConditionExpression": "attribute_not_exists(webhooks) OR webhooks < :max",
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":max": {"N": str(MAX_PER_ORG)},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _to_item(hook),
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    },
                ]
            )
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise WebhookLimitReached() from None
            raise StaleWebhook() from None

    def replace(self, hook: Webhook, expected_rev: int) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_to_item(hook),
                ConditionExpression="rev = :rev",
                ExpressionAttributeValues={":rev": {"N": str(expected_rev)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise StaleWebhook() from None

    def delete(self, hook: Webhook) -> None:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": {"org": {"S": hook.org}, "id": {"S": hook.id}},
                            "ConditionExpression": "attribute_exists(id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"org": {"S": hook.org}, "id": {"S": COUNTER_ID}},
                            "UpdateExpression": "ADD webhooks :minus",
                            "ExpressionAttributeValues": {":minus": {"N": "-1"}},
                        }
                    },
                ]
            )
        except self.client.exceptions.TransactionCanceledException:
            raise StaleWebhook() from None


def _epoch_in(days: int) -> str:
    return str(int(time.time()) + days * 86400)


class DynamoDeliveryStore:
    """Delivery states and attempts; see the module docstring for the key layout."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    @staticmethod
    def _pk(org: str, webhook_id: str) -> str:
        return f"{org}#{webhook_id}"

    def claim(self, org: str, webhook_id: str, event: dict[str, Any], attempt: int, hold_s: float) -> bool:
        """Claim attempt `attempt` of this delivery for `hold_s` seconds, or learn it is done.

        One conditional UpdateItem: it succeeds unless the delivery was delivered, that attempt
        was already made, or another copy of the message holds an unexpired claim on it. The
        state write that follows the attempt replaces the item and so releases the claim; a
        claim left by a crash expires. Two copies of a message, even in one batch, post once.
        """
        now = time.time()
        try:
            self.client.update_item(
                TableName=self.table,
                Key={
                    "pk": {"S": self._pk(org, webhook_id)},
                    "sk": {"S": f"s#{event['createdAt']}#{event['id']}"},
                },
                UpdateExpression="SET claimedAttempt = :attempt, claimUntil = :until",
                ConditionExpression=(
                    "attribute_not_exists(pk) OR ("
                    "(attribute_not_exists(#status) OR #status <> :delivered)"
                    " AND (attribute_not_exists(attempts) OR attempts < :attempt)"
                    " AND (attribute_not_exists(claimUntil) OR claimUntil < :now"
                    " OR claimedAttempt < :attempt))"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":attempt": {"N": str(attempt)},
                    ":until": {"N": str(round(now + hold_s, 3))},
                    ":now": {"N": str(round(now, 3))},
                    ":delivered": {"S": "delivered"},
                },
            )
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False

    def state(self, org: str, webhook_id: str, event_created_at: str, event_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": self._pk(org, webhook_id)}, "sk": {"S": f"s#{event_created_at}#{event_id}"}},
            ConsistentRead=True,
        ).get("Item")
        return _plain(item) if item else None

    def state_item(
        self,
        org: str,
        webhook_id: str,
        event: dict[str, Any],
        status: str,
        attempts: int,
        now: str,
        retention_days: int,
        last: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A state item; failed and held ones keep the event and join the redrive index."""
        sort = f"{event['createdAt']}#{event['id']}"
        item: dict[str, Any] = {
            "pk": {"S": self._pk(org, webhook_id)},
            "sk": {"S": f"s#{sort}"},
            "org": {"S": org},
            "webhookId": {"S": webhook_id},
            "eventId": {"S": event["id"]},
            "eventName": {"S": event["name"]},
            "eventCreatedAt": {"S": event["createdAt"]},
            "status": {"S": status},
            "attempts": {"N": str(attempts)},
            "updatedAt": {"S": now},
            "orgPk": {"S": org},
            "orgSk": {"S": f"{now}#{webhook_id}#{event['id']}"},
            "expiresAt": {"N": _epoch_in(retention_days)},
        }
        if last:
            item["last"] = {"S": strictjson.dumps(last)}
        if status in ("failed", "held"):
            item["statusPk"] = {"S": f"{self._pk(org, webhook_id)}#{status}"}
            item["statusSk"] = {"S": sort}
            item["event"] = {"S": json.dumps(event, separators=(",", ":"))}
        return item

    def attempt_item(
        self, org: str, webhook_id: str, event: dict[str, Any], attempt: dict[str, Any], retention_days: int
    ) -> dict[str, Any]:
        return {
            "pk": {"S": self._pk(org, webhook_id)},
            "sk": {"S": f"a#{attempt['at']}#{event['id']}#{attempt['attempt']:02d}"},
            "doc": {"S": strictjson.dumps(attempt)},
            "expiresAt": {"N": _epoch_in(retention_days)},
        }

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """Write items with BatchWriteItem (one call per 25), retrying unprocessed ones."""
        for start in range(0, len(items), BATCH_WRITE_MAX):
            request = {
                self.table: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH_WRITE_MAX]]
            }
            for pause in (0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6):
                if pause:
                    time.sleep(pause)
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
            if request:
                raise RuntimeError("DynamoDB kept items unprocessed")

    def redrivable(self, org: str, webhook_id: str, since: str) -> list[dict[str, Any]]:
        """Failed and held deliveries of one webhook whose event is not older than `since`."""
        found: list[dict[str, Any]] = []
        for status in ("failed", "held"):
            query: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "byStatus",
                "KeyConditionExpression": "statusPk = :p AND statusSk >= :since",
                "ExpressionAttributeValues": {
                    ":p": {"S": f"{self._pk(org, webhook_id)}#{status}"},
                    ":since": {"S": since},
                },
            }
            while True:
                response = self.client.query(**query)
                found += [_plain(i) for i in response.get("Items", [])]
                if "LastEvaluatedKey" not in response:
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(found, key=lambda s: s["eventCreatedAt"])

    def attempts(
        self, org: str, webhook_id: str, limit: int, after: dict[str, Any] | None
    ) -> tuple[list, Any]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",
            "ExpressionAttributeValues": {":p": {"S": self._pk(org, webhook_id)}, ":a": {"S": "a#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = after
        response = self.client.query(**query)
        return [json.loads(i["doc"]["S"]) for i in response.get("Items", [])], response.get(
            "LastEvaluatedKey"
        )

    def transactions(self, org: str, limit: int, after: dict[str, Any] | None) -> tuple[list, Any]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "byOrg",
            "KeyConditionExpression": "orgPk = :o",
            "ExpressionAttributeValues": {":o": {"S": org}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = after
        response = self.client.query(**query)
        return [_plain(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """A state item as plain values (the event and last attempt parsed)."""
    plain: dict[str, Any] = {}
    for name, value in item.items():
        ((kind, raw),) = value.items()
        # Numbers are whole (attempts, expiresAt) except a claim's deadline (`claimUntil`, ms).
        plain[name] = (int(raw) if raw.lstrip("-").isdigit() else float(raw)) if kind == "N" else raw
    for name in ("event", "last"):
        if name in plain:
            plain[name] = json.loads(plain[name])
    return plain
