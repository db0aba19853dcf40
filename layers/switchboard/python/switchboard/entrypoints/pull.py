"""The pull function (EventBridge schedule): polls every due puller, within the invocation's time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from switchboard.pipeline.pull import DEFAULT_BUDGET_S, SCHEDULE_RESERVE_S, pull_service

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    summary = pull_service().run_due(_time_left(context))
    if summary["due"]:  # an idle tick (every second in the local run) stays out of the log
        logger.info("pull schedule", extra={k: v for k, v in summary.items() if k != "runs"})
    return summary


def _time_left(context: Any) -> Callable[[], float]:
    """Seconds left to start runs in: the invocation's remaining time less a reserve (a fixed
    budget without a Lambda context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        return lambda: remaining() / 1000 - SCHEDULE_RESERVE_S
    end = time.monotonic() + DEFAULT_BUDGET_S
    return lambda: end - time.monotonic()
