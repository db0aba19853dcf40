"""Custom CloudWatch metrics in the embedded metric format: one JSON line on stdout, no API call."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from switchboard import wiring


def emit(name: str, value: float = 1, unit: str = "Count", properties: dict[str, Any] | None = None) -> None:
    """One metric without dimensions (what the stack's alarms watch); `properties` are searchable
    fields of the log line (which org, which webhook), not dimensions."""
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": wiring.METRICS_NAMESPACE,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        name: value,
        **(properties or {}),
    }
    print(json.dumps(record), file=sys.stdout, flush=True)
