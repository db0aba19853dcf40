"""Batch loops for the queue-driven functions, with partial batch failures."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import services

logger = Logger()


def deliver_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Deliver up to ten messages in parallel (each may wait up to its webhook's timeout);
    a message whose handling raised is reported failed and comes back after the visibility
    timeout (then to the DLQ)."""
    deliverer = services.deliverer()

    def one(record: dict[str, Any]) -> str | None:
        try:
            outcome = deliverer.deliver(json.loads(record["body"]))
            logger.info("delivery", extra={"messageId": record["messageId"], "outcome": outcome})
            return None
        except Exception:
            logger.exception("delivery failed", extra={"messageId": record["messageId"]})
            return record["messageId"]

    with ThreadPoolExecutor(max_workers=max(1, min(10, len(records)))) as pool:
        failed = [message_id for message_id in pool.map(one, records) if message_id]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
