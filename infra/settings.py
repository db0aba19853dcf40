"""Deployment settings read from CDK context, with the defaults ops get when they set nothing.

Values come from `cdk.json` or `cdk deploy -c key=value` (the CLI passes strings, so every
reader converts). The same `cdk.json` context is loaded by `app.py` and by the infra tests,
so `python app.py`, `cdk synth` and the tests build the same template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent

THROTTLE_RATE_KEY = "switchboard:apiThrottleRateLimit"
THROTTLE_BURST_KEY = "switchboard:apiThrottleBurstLimit"
LOG_RETENTION_KEY = "switchboard:logRetentionDays"
WAF_ACL_KEY = "switchboard:wafWebAclArn"

_RETENTION: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


def cdk_json_context(path: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The `context` block of cdk.json (feature flags and Switchboard defaults)."""
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))


@dataclass(frozen=True)
class Settings:
    """The knobs ops may turn per deployment."""

    throttle_rate_limit: float = 100.0
    throttle_burst_limit: int = 200
    log_retention_days: int = 30
    waf_web_acl_arn: str | None = None

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @classmethod
    def from_context(cls, scope: Construct) -> Settings:
        """Read the settings from the construct tree's context, validating them early."""
        node = scope.node
        defaults = cls()

        def value(key: str, default: Any) -> Any:
            found = node.try_get_context(key)
            return default if found is None or found == "" else found

        rate = float(value(THROTTLE_RATE_KEY, defaults.throttle_rate_limit))
        burst = int(value(THROTTLE_BURST_KEY, defaults.throttle_burst_limit))
        retention = int(value(LOG_RETENTION_KEY, defaults.log_retention_days))
        waf = value(WAF_ACL_KEY, None)
        if rate <= 0 or burst <= 0:
            raise ValueError(f"{THROTTLE_RATE_KEY} and {THROTTLE_BURST_KEY} must be positive")
        if retention not in _RETENTION:
            raise ValueError(f"{LOG_RETENTION_KEY} must be one of {sorted(_RETENTION)}, got {retention}")
        return cls(
            throttle_rate_limit=rate,
            throttle_burst_limit=burst,
            log_retention_days=retention,
            waf_web_acl_arn=str(waf) if waf else None,
        )
