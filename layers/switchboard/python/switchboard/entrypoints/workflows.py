"""The workflows function (SQS FIFO): each message is a hook transaction, an event or a call to
run workflows for."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import services
from switchboard.entrypoints import batch
from switchboard.failures import is_infrastructure

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A FIFO batch, in order. When a message fails (infrastructure trouble: whatever else a run
    raises ends it as failed instead, see `switchboard.failures`), the later messages of its
    group are reported failed too, unattempted, so a group never runs out of order; other groups
    go on. The failed ones come back after the visibility timeout (then go to the DLQ)."""
    runner = services.runner()

    def run(record: dict[str, Any]) -> None:
        runs = runner.handle(json.loads(record["body"]))
        logger.info("workflow message", extra={"messageId": record["messageId"], "runs": runs})

    def failed(record: dict[str, Any], exc: Exception) -> None:
        logger.exception(
            "workflow message failed; it will be retried",
            extra={"messageId": record["messageId"], "infrastructure": is_infrastructure(exc)},
        )

    return batch.each(event.get("Records", []), run, failed, group_of=_group).response()


def _group(record: dict[str, Any]) -> str:
    return (record.get("attributes") or {}).get("MessageGroupId", "")
