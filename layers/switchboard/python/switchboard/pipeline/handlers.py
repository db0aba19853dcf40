"""Batch loops for the queue-driven functions, with partial batch failures."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import services
from switchboard.failures import is_infrastructure

logger = Logger()


_POOL = ThreadPoolExecutor(max_workers=10)  # one per container: a batch holds at most ten


def deliver_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Deliver up to ten messages in parallel (each may wait up to its webhook's timeout);
    a message whose handling raised is reported failed and comes back after the visibility
    timeout (then to the DLQ). One log line per batch counts the outcomes."""
    deliverer = services.deliverer()

    def one(record: dict[str, Any]) -> tuple[str, str | None]:
        try:
            return deliverer.deliver(json.loads(record["body"])), None
        except Exception:
            logger.exception("delivery failed", extra={"messageId": record["messageId"]})
            return "error", record["messageId"]

    results = list(_POOL.map(one, records))
    failed = [message_id for _, message_id in results if message_id]
    outcomes = Counter(outcome.split(":", 1)[0] for outcome, _ in results)
    logger.info("deliveries", extra={"messages": len(records), "outcomes": dict(outcomes)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def run_workflows_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A FIFO batch, in order. When a message fails (infrastructure trouble: whatever else a run
    raises ends it as failed instead, see `switchboard.failures`), the later messages of its
    group are reported failed too, unattempted, so a group never runs out of order; other groups
    go on. The failed ones come back after the visibility timeout (then go to the DLQ)."""
    runner = services.runner()
    failed: list[str] = []
    broken_groups: set[str] = set()
    for record in records:
        group = (record.get("attributes") or {}).get("MessageGroupId", "")
        if group in broken_groups:
            failed.append(record["messageId"])
            continue
        try:
            runs = runner.handle(json.loads(record["body"]))
            logger.info("workflow message", extra={"messageId": record["messageId"], "runs": runs})
        except Exception as exc:
            logger.exception(
                "workflow message failed; it will be retried",
                extra={"messageId": record["messageId"], "infrastructure": is_infrastructure(exc)},
            )
            failed.append(record["messageId"])
            broken_groups.add(group)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
