"""Outbound webhooks: what an admin may configure, and what happens after each attempt.

The retry policy is the seed's: an event is tried 10 times over about 80 minutes, then the
webhook is turned off until an admin turns it on again. 410 Gone turns it off at once.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from switchboard.adapters.http_sender import OWNED_HEADERS, header_problem
from switchboard.domain import http_fields
from switchboard.domain.events import SUBSCRIBABLE

MAX_PER_ORG = 5
MAX_EVENTS = 12
MAX_ATTEMPTS = 10
# Minutes between attempts (the seed's "10 times over about 80 minutes"), before jitter.
DEFAULT_GAPS_S = (0, 60, 120, 240, 480, 600, 600, 900, 900, 900)
MAX_DELAY_S = 900  # SQS DelaySeconds ceiling; a longer wait would re-enqueue again
JITTER = 0.2
ROTATION_OVERLAP_S = 24 * 3600
DEFAULT_TIMEOUT_S = 10
RETENTION_DAYS = 14
# Headers Switchboard sets itself; a webhook's custom headers may not name them (in any case):
# the sender's own (Host and the message framing), the delivery's Content-Type and User-Agent,
# and the signature namespaces: Kustomer's `X-Kustomer-*` and Standard Webhooks' `webhook-*`.
RESERVED_HEADERS = OWNED_HEADERS | {"content-type", "user-agent"}
RESERVED_PREFIXES = ("x-kustomer-", "webhook-")


def retention_days() -> int:
    return int(os.environ.get("WEBHOOK_RETENTION_DAYS", RETENTION_DAYS))


def gaps_s() -> tuple[float, ...]:
    """The pause before each attempt; `WEBHOOK_RETRY_SCHEDULE_S` compresses it for tests."""
    configured = os.environ.get("WEBHOOK_RETRY_SCHEDULE_S")
    if not configured:
        return DEFAULT_GAPS_S
    gaps = tuple(float(part) for part in configured.split(","))
    if len(gaps) != MAX_ATTEMPTS:
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE_S needs {MAX_ATTEMPTS} values")
    return gaps


class Header(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The schema states the validators' rules: a token that is not Switchboard's, a sendable value.
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=http_fields.NAME_MAX,
            json_schema_extra={
                "pattern": http_fields.NAME,
                "not": {"pattern": http_fields.any_case(RESERVED_HEADERS, RESERVED_PREFIXES)},
            },
        ),
    ]
    value: Annotated[str, Field(max_length=1024, json_schema_extra={"pattern": http_fields.VALUE})]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = header_problem(value, "")
        if problem:
            raise ValueError(problem)
        lowered = value.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES):
            raise ValueError(f"{value} is set by Switchboard")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str, info: ValidationInfo) -> str:
        # The sender's own check (`header_problem`), so a saved header is one that can be sent.
        problem = header_problem(info.data.get("name") or "X-Header", value)
        if problem:
            raise ValueError(problem)
        return value


class WebhookBody(BaseModel):
    """Create and update body; every field optional so PUT/PATCH change only what is sent."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    # The OpenAPI document lists the names the validator below accepts.
    events: (
        Annotated[
            list[Annotated[str, Field(json_schema_extra={"enum": list(SUBSCRIBABLE)})]],
            Field(min_length=1, max_length=MAX_EVENTS),
        ]
        | None
    ) = None
    headers: Annotated[list[Header], Field(max_length=20)] | None = None
    enabled: bool | None = None
    timeoutSeconds: Annotated[int, Field(ge=1, le=30)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: list[Header] | None) -> list[Header] | None:
        """Headers with the same name (in any case) are one field, as RFC 9110 (5.3) combines
        field lines: under the first one's name, their non-empty values joined by ", "."""
        if value is None:
            return None
        merged: dict[str, Header] = {}
        for header in value:
            first = merged.setdefault(header.name.lower(), header)
            if first is not header and header.value:
                joined = f"{first.value}, {header.value}" if first.value else header.value
                merged[header.name.lower()] = Header.model_construct(name=first.name, value=joined)
        return list(merged.values())

    @field_validator("events", mode="before")
    @classmethod
    def _distinct_events(cls, value: Any) -> Any:
        """Duplicates are dropped before the length limit applies (first occurrence kept)."""
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(dict.fromkeys(value))
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in SUBSCRIBABLE]
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r}; subscribable: {', '.join(SUBSCRIBABLE)}")
        return list(dict.fromkeys(value))


class RedriveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    since: str


@dataclass
class Secret:
    value: str
    created_at: str
    expires_at: str | None = None  # set when a newer secret replaced it


@dataclass
class Webhook:
    org: str
    id: str
    name: str
    url: str
    events: list[str]
    headers: list[dict[str, str]]
    enabled: bool
    is_error: bool
    secrets: list[Secret]  # newest first
    created_at: str
    updated_at: str
    rev: int = 1
    timeout_s: int = DEFAULT_TIMEOUT_S
    description: str = ""
    disabled_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.secrets[0].value

    def signing_secrets(self, now: str) -> list[str]:
        """The current secret, then replaced ones still inside their overlap window."""
        return [s.value for s in self.secrets if s.expires_at is None or s.expires_at > now]

    def subscribed(self, name: str) -> bool:
        return name in self.events


def resource(hook: Webhook) -> dict[str, Any]:
    """A webhook as a JSON:API resource; `token` is the signing secret (admins may read it)."""
    return {
        "type": "outbound_webhook",
        "id": hook.id,
        "attributes": {
            "name": hook.name,
            "url": hook.url,
            "events": hook.events,
            "headers": hook.headers,
            "enabled": hook.enabled,
            "isError": hook.is_error,
            "disabledReason": hook.disabled_reason,
            "timeoutSeconds": hook.timeout_s,
            "description": hook.description,
            "token": hook.token,
            "rev": hook.rev,
            "createdAt": hook.created_at,
            "updatedAt": hook.updated_at,
            "modifiedAt": hook.updated_at,
        },
        "relationships": {"org": {"data": {"type": "org", "id": hook.org}}},
        "links": {"self": f"/v1/outbound-webhooks/{hook.id}"},
    }


@dataclass(frozen=True)
class Outcome:
    """What to do after an attempt."""

    kind: Literal["delivered", "retry", "disable"]
    delay_s: int = 0
    reason: str = ""


def after_attempt(
    attempt: int,
    status: int | None,
    error: str | None,
    retry_after_s: float | None,
    rng: random.Random | None = None,
) -> Outcome:
    """Decide the next step after attempt number `attempt` (1-based) ended as given."""
    if status is not None and 200 <= status < 300:
        return Outcome("delivered")
    if status == 410:
        return Outcome("disable", reason="the receiver answered 410 Gone")
    if attempt >= MAX_ATTEMPTS:
        what = f"HTTP {status}" if status is not None else (error or "no response")
        return Outcome("disable", reason=f"{MAX_ATTEMPTS} attempts failed in a row (last: {what})")
    gap = gaps_s()[attempt]  # the pause before the next attempt
    delay = gap * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_DELAY_S))
    return Outcome("retry", delay_s=max(0, min(MAX_DELAY_S, round(delay))))
