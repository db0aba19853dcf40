"""Orgs and API keys in the auth table. Keys are found by their SHA-256 hash, never stored raw.

The key item is the one place whose partition key does not start with an org: a caller is
known only by its key until the key is looked up. Listing goes through the `byOrg` index.
"""

from __future__ import annotations

from typing import Any

from switchboard.domain.auth import Principal


class DynamoAuthStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def principal(self, key_hash: str) -> Principal | None:
        response = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"key#{key_hash}"}})
        item = response.get("Item")
        if not item:
            return None
        return Principal(
            org=item["org"]["S"],
            key_id=item["keyId"]["S"],
            user_id=item["userId"]["S"],
            roles=frozenset(item["roles"]["SS"]),
        )

    def put_org(self, org_id: str, name: str, created_at: str) -> bool:
        """Create the org; False when it already exists."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"org#{org_id}"},
                    "id": {"S": org_id},
                    "name": {"S": name},
                    "createdAt": {"S": created_at},
                    "orgPk": {"S": "orgs"},
                    "orgSk": {"S": org_id},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False

    def get_org(self, org_id: str) -> dict[str, str] | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"org#{org_id}"}}).get("Item")
        return (
            {"id": item["id"]["S"], "name": item["name"]["S"], "createdAt": item["createdAt"]["S"]}
            if item
            else None
        )

    def list_orgs(self) -> list[dict[str, str]]:
        items = self._query("orgs")
        return [{"id": i["id"]["S"], "name": i["name"]["S"], "createdAt": i["createdAt"]["S"]} for i in items]

    def put_key(
        self,
        key_hash: str,
        *,
        org: str,
        key_id: str,
        user_id: str,
        name: str,
        roles: list[str],
        created_at: str,
    ) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"key#{key_hash}"},
                "org": {"S": org},
                "keyId": {"S": key_id},
                "userId": {"S": user_id},
                "name": {"S": name},
                "roles": {"SS": sorted(set(roles))},
                "createdAt": {"S": created_at},
                "orgPk": {"S": f"{org}#keys"},
                "orgSk": {"S": key_id},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def list_keys(self, org: str) -> list[dict[str, Any]]:
        return [
            {
                "id": item["keyId"]["S"],
                "name": item["name"]["S"],
                "roles": sorted(item["roles"]["SS"]),
                "userId": item["userId"]["S"],
                "createdAt": item["createdAt"]["S"],
            }
            for item in self._query(f"{org}#keys")
        ]

    def delete_key(self, org: str, key_id: str) -> bool:
        for item in self._query(f"{org}#keys"):
            if item["keyId"]["S"] == key_id:
                self.client.delete_item(TableName=self.table, Key={"pk": item["pk"]})
                return True
        return False

    def _query(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "byOrg",
            "KeyConditionExpression": "orgPk = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        while True:
            response = self.client.query(**query)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
