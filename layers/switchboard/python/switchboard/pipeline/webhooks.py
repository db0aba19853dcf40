"""Managing outbound webhooks: create, edit, turn on and off, rotate the secret, redrive.

Uses the webhook and delivery stores and the deliveries queue; the URL check is injected (the
SSRF rules live with the HTTP sender).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from switchboard.adapters.dynamo_webhooks import StaleWebhook, WebhookLimitReached
from switchboard.domain import signing
from switchboard.domain.webhooks import (
    DEFAULT_TIMEOUT_S,
    MAX_PER_ORG,
    ROTATION_OVERLAP_S,
    Secret,
    Webhook,
    WebhookBody,
    retention_days,
)
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.ids import DateOutOfRange, format_iso, is_id, new_id, now_iso, parse_iso
from switchboard.patching import check_rev, stale

UrlCheck = Callable[[str], None]  # raises BadRequest with the reason
REQUIRED = ("name", "url", "events")  # what a create must name
NOT_NULL = (*REQUIRED, "enabled")  # what an update may leave out but not set to null


class WebhookService:
    def __init__(
        self, hooks: Any, deliveries: Any, queue: Any, check_url: UrlCheck, clock: Callable[[], str] = now_iso
    ) -> None:
        self.hooks = hooks
        self.deliveries = deliveries
        self.queue = queue
        self.check_url = check_url
        self.clock = clock

    def get(self, org: str, webhook_id: str) -> Webhook:
        hook = self.hooks.get(org, webhook_id) if is_id(webhook_id) else None
        if hook is None:
            raise NotFound(f"outbound webhook {webhook_id} not found")
        return hook

    def list(self, org: str) -> list[Webhook]:
        return self.hooks.list(org)

    def create(self, org: str, body: WebhookBody) -> Webhook:
        for name in REQUIRED:
            if getattr(body, name) is None:
                raise BadRequest(f"{name} is required", f"/{name}")
        assert body.url is not None and body.name is not None and body.events is not None
        self.check_url(body.url)
        now = self.clock()
        hook = Webhook(
            org=org,
            id=new_id(),
            name=body.name,
            url=body.url,
            events=body.events,
            headers=[h.model_dump() for h in body.headers or []],
            enabled=True if body.enabled is None else body.enabled,
            is_error=False,
            secrets=[Secret(signing.new_secret(), now)],
            created_at=now,
            updated_at=now,
            timeout_s=body.timeoutSeconds or DEFAULT_TIMEOUT_S,
            description=body.description or "",
        )
        try:
            self.hooks.create(hook)
        except WebhookLimitReached:
            raise Conflict(f"an org may have at most {MAX_PER_ORG} outbound webhooks") from None
        return hook

    def update(self, org: str, webhook_id: str, body: BaseModel, expected_rev: int | None = None) -> Webhook:
        """Edit the given fields. Turning a webhook on clears its error state. With `expected_rev`
        (`?rev=`), only if the webhook is still at that rev."""
        changes = body.model_dump(exclude_unset=True)
        for name in NOT_NULL:
            if name in changes and changes[name] is None:
                raise BadRequest(f"{name} cannot be null", f"/{name}")
        if changes.get("url") is not None:
            self.check_url(changes["url"])
        hook = self.get(org, webhook_id)
        check_rev(hook.rev, expected_rev)
        updated = replace(
            hook,
            name=changes.get("name", hook.name),
            url=changes.get("url", hook.url),
            events=changes.get("events", hook.events),
            headers=[dict(h) for h in changes["headers"]]
            if changes.get("headers") is not None
            else hook.headers,
            enabled=changes.get("enabled", hook.enabled),
            timeout_s=changes.get("timeoutSeconds") or hook.timeout_s,
            description=changes.get("description") if "description" in changes else hook.description,
        )
        if updated.enabled and not hook.enabled:
            updated.is_error, updated.disabled_reason = False, None
        if not updated.enabled and hook.enabled:
            updated.disabled_reason = "turned off by an admin"
        return self._save(hook, updated, expected_rev)

    def delete(self, org: str, webhook_id: str) -> None:
        try:
            self.hooks.delete(self.get(org, webhook_id))
        except StaleWebhook:
            raise NotFound(f"outbound webhook {webhook_id} not found") from None

    def rotate_secret(self, org: str, webhook_id: str) -> Webhook:
        """A new secret signs from now on; the previous ones keep signing for 24 hours."""
        hook = self.get(org, webhook_id)
        now = self.clock()
        until = format_iso(parse_iso(now) + timedelta(seconds=ROTATION_OVERLAP_S))
        kept = [
            Secret(s.value, s.created_at, s.expires_at or until)
            for s in hook.secrets
            if s.expires_at is None or s.expires_at > now
        ]
        return self._save(hook, replace(hook, secrets=[Secret(signing.new_secret(), now), *kept][:10]))

    def turn_off(self, hook: Webhook, reason: str) -> Webhook | None:
        """Turn a webhook off after failures (isError); None when it was already off."""
        for _ in range(5):
            if not hook.enabled:
                return None
            updated = replace(hook, enabled=False, is_error=True, disabled_reason=reason)
            try:
                return self._save(hook, updated)
            except Conflict:
                fresh = self.hooks.get(hook.org, hook.id)
                if fresh is None:
                    return None
                hook = fresh
        return None

    def redrive(self, org: str, webhook_id: str, since: str) -> int:
        """Send again every failed or held delivery whose event is from `since` on."""
        hook = self.get(org, webhook_id)
        if not hook.enabled:
            raise Conflict("turn the webhook on before redriving its events", "/enabled")
        try:
            since_iso = format_iso(parse_iso(since))
        except DateOutOfRange as exc:
            raise BadRequest(f"since {exc}", "/since") from None
        except ValueError:
            raise BadRequest("since must be an ISO-8601 date-time", "/since") from None
        now = self.clock()
        oldest = format_iso(parse_iso(now) - timedelta(days=retention_days()))
        if since_iso < oldest:
            raise BadRequest(f"since must be within the last {retention_days()} days", "/since")
        states = self.deliveries.redrivable(org, webhook_id, since_iso)
        if not states:
            return 0
        # Pending first: a delivery that finishes quickly must not be overwritten by "pending".
        self.deliveries.put_items(
            [self._state(org, webhook_id, s, "pending", now, attempts=0) for s in states]
        )
        try:
            self.queue.send_many([delivery_message(org, webhook_id, s["event"], attempt=1) for s in states])
        except Exception:
            self.deliveries.put_items([self._state(org, webhook_id, s, s["status"], now) for s in states])
            raise
        return len(states)

    def _state(
        self,
        org: str,
        webhook_id: str,
        state: dict[str, Any],
        status: str,
        now: str,
        attempts: int | None = None,
    ) -> dict[str, Any]:
        """A state item rebuilt from a stored one; a redriven delivery starts a new cycle (0 attempts)."""
        return self.deliveries.state_item(
            org,
            webhook_id,
            state["event"],
            status,
            state["attempts"] if attempts is None else attempts,
            now,
            retention_days(),
            state.get("last"),
        )

    def _save(self, old: Webhook, new: Webhook, expected_rev: int | None = None) -> Webhook:
        new = replace(new, rev=old.rev + 1, updated_at=self.clock())
        try:
            self.hooks.replace(new, old.rev)
        except StaleWebhook:
            raise stale(f"outbound webhook {old.id}", expected_rev) from None
        return new


def delivery_message(org: str, webhook_id: str, event: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The deliveries-queue message for one attempt of one event to one webhook."""
    return {"org": org, "webhookId": webhook_id, "attempt": attempt, "event": event}
