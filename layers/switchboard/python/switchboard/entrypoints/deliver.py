"""The deliver function (SQS): each message is one attempt to deliver one event to one webhook."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import services
from switchboard.entrypoints import batch

logger = Logger()

_POOL = ThreadPoolExecutor(max_workers=10)  # one per container: a batch holds at most ten


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver up to ten messages in parallel (each may wait up to its webhook's timeout);
    a message whose handling raised is reported failed and comes back after the visibility
    timeout (then to the DLQ). One log line per batch counts the outcomes."""
    records = event.get("Records", [])
    deliverer = services.deliverer()

    def deliver(record: dict[str, Any]) -> str:
        return deliverer.deliver(json.loads(record["body"]))

    def failed(record: dict[str, Any], _exc: Exception) -> None:
        logger.exception("delivery failed", extra={"messageId": record["messageId"]})

    done = batch.each(records, deliver, failed, pool=_POOL)
    outcomes = Counter(
        "error" if outcome.error is not None else outcome.result.split(":", 1)[0] for outcome in done.outcomes
    )
    logger.info("deliveries", extra={"messages": len(records), "outcomes": dict(outcomes)})
    return done.response()
