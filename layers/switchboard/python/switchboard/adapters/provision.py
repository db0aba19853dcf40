"""Create the declared tables in an AWS endpoint (the local run and the tests; CDK does it when deployed)."""

from __future__ import annotations

from typing import Any

from switchboard import wiring


def table_request(table: wiring.Table, name: str) -> dict[str, Any]:
    """The CreateTable request for a declared table: same keys, indexes, stream as the CDK stack."""
    attributes = {table.partition_key} | ({table.sort_key} if table.sort_key else set())
    for index in table.indexes:
        attributes |= {index.partition_key, index.sort_key}
    key_schema = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        key_schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": key_schema,
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": index.projection.value},
            }
            for index in table.indexes
        ]
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    return request


def create_tables(client: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    """Create every declared table (named `names[key]` or its local name); returns key -> name."""
    created: dict[str, str] = {}
    for table in wiring.TABLES:
        name = (names or {}).get(table.key, table.local_name)
        client.create_table(**table_request(table, name))
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        created[table.key] = name
    return created
