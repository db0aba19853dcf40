"""Create the declared tables and queues in an AWS endpoint (the local run and the tests; CDK
does it when deployed), with the same keys, indexes, streams, TTL, timeouts and redrive."""

from __future__ import annotations

import json
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


def create_tables(
    client: Any, names: dict[str, str] | None = None, keep_existing: bool = False
) -> dict[str, str]:
    """Create every declared table (named `names[key]` or its local name); returns key -> name.

    With `keep_existing`, tables that already exist (a restored local run) are left as they are.
    """
    existing: set[str] = set()
    if keep_existing:
        for page in client.get_paginator("list_tables").paginate():
            existing.update(page.get("TableNames", []))
    created: dict[str, str] = {}
    for table in wiring.TABLES:
        name = (names or {}).get(table.key, table.local_name)
        created[table.key] = name
        if name in existing:
            continue
        client.create_table(**table_request(table, name))
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    return created


DLQ_RETENTION_S = 14 * 24 * 3600  # the SQS maximum: a dead letter waits as long as SQS allows


def queue_attributes(queue: wiring.Queue, dlq_arn: str | None = None) -> dict[str, str]:
    """CreateQueue attributes for a declared queue: visibility, retention, redrive to its DLQ."""
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout_s),
        "MessageRetentionPeriod": str(queue.retention_s),
        "SqsManagedSseEnabled": "true",
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    if dlq_arn is not None:
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
        attributes["RedrivePolicy"] = json.dumps(redrive)
    return attributes


def create_queue(client: Any, queue: wiring.Queue, name: str | None = None) -> dict[str, str]:
    """Create one declared queue (named `name` or its local name) and its DLQ, DLQ first.

    Returns key -> URL for the queue and, when it has one, `<key>-dlq` -> URL.
    """
    name = name or queue.local_name
    created: dict[str, str] = {}
    dlq_arn = None
    if queue.dlq_key is not None:
        dlq_attributes = {"MessageRetentionPeriod": str(DLQ_RETENTION_S), "SqsManagedSseEnabled": "true"}
        if queue.fifo:  # a FIFO queue's dead letters must go to a FIFO queue
            dlq_attributes["FifoQueue"] = "true"
        dlq_name = f"{name.removesuffix('.fifo')}-dlq" + (".fifo" if queue.fifo else "")
        dlq_url = client.create_queue(QueueName=dlq_name, Attributes=dlq_attributes)["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        created[queue.dlq_key] = dlq_url
    url = client.create_queue(QueueName=name, Attributes=queue_attributes(queue, dlq_arn))["QueueUrl"]
    return {queue.key: url, **created}


def create_queues(client: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    """Create every declared queue and DLQ; returns key -> URL (DLQs under `<key>-dlq`)."""
    created: dict[str, str] = {}
    for queue in wiring.QUEUES:
        created.update(create_queue(client, queue, (names or {}).get(queue.key)))
    return created
