"""One attempt to deliver one event to one webhook, and what follows from it.

Per attempt: claim it with a conditional write on the delivery's state (a duplicate message,
an attempt already made or one in flight elsewhere is skipped), sign and POST the exact bytes,
record the state and the attempt in one BatchWriteItem, then re-enqueue with a delay, or turn
the webhook off. AWS calls per delivered event: one UpdateItem, one BatchWriteItem (plus the
webhook's config, cached for a few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from switchboard import strictjson, wiring
from switchboard.adapters.metrics import emit
from switchboard.domain import redaction, signing
from switchboard.domain.webhooks import Webhook, after_attempt, retention_days
from switchboard.ids import now_iso
from switchboard.pipeline.webhooks import WebhookService, delivery_message

CONFIG_TTL_S = 5.0
CLAIM_MARGIN_S = 60.0
USER_AGENT = "Switchboard-Webhooks/1"
MAX_LOGGED_HEADERS = 30  # response headers kept with an attempt
MAX_LOGGED_HEADER_CHARS = 1024


def body_bytes(event: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and posted: standard JSON only (a NaN raises)."""
    return strictjson.dumps(event, ensure_ascii=False).encode("utf-8")


def attempt_record(
    attempt: int, at: str, event: dict[str, Any], url: str, headers: dict[str, str], result: Any
) -> dict[str, Any]:
    """One attempt as the attempt log keeps it. Credentials are masked by name
    (`switchboard.domain.redaction`): the signature headers and custom credential headers sent,
    a `Set-Cookie` answered, secret query parameters of the URL and secret fields of the answer.
    The request that was signed and posted is not affected."""
    answered = dict(list((getattr(result, "headers", None) or {}).items())[:MAX_LOGGED_HEADERS])
    content_type = next((v for k, v in answered.items() if k.lower() == "content-type"), None)
    return {
        "attempt": attempt,
        "at": at,
        "eventId": event["id"],
        "eventName": event["name"],
        "url": redaction.mask_url(url),
        "status": result.status,
        "latencyMs": round(result.latency_ms, 1),
        "error": result.error,
        "requestHeaders": _logged(redaction.mask_headers(headers)),
        "responseHeaders": _logged(redaction.mask_headers(answered)),
        "response": redaction.mask_body(result.body_head, content_type),
    }


def _logged(headers: dict[str, Any]) -> dict[str, str]:
    return {str(name): str(value)[:MAX_LOGGED_HEADER_CHARS] for name, value in headers.items()}


class Deliverer:
    def __init__(
        self,
        service: WebhookService,
        sender: Any,
        clock: Callable[[], str] = now_iso,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.sender = sender
        self.clock = clock
        self.epoch = epoch
        self._config: dict[tuple[str, str], tuple[Webhook | None, float]] = {}

    def deliver(self, message: dict[str, Any]) -> str:
        """Handle one queue message; returns what happened (for logs and tests)."""
        org, webhook_id, attempt = message["org"], message["webhookId"], int(message["attempt"])
        event = message["event"]
        hook = self._webhook(org, webhook_id)
        if hook is None:
            return "dropped: the webhook no longer exists"
        deliveries = self.service.deliveries
        # Held longer than the POST may take; shorter than the queue's visibility timeout.
        if not deliveries.claim(org, webhook_id, event, attempt, hold_s=hook.timeout_s + CLAIM_MARGIN_S):
            return "skipped: already attempted, or in flight"
        now = self.clock()
        if not hook.enabled:
            deliveries.put_items(
                [deliveries.state_item(org, webhook_id, event, "held", attempt - 1, now, retention_days())]
            )
            return "held: the webhook is off"
        body = body_bytes(event)
        headers = {"User-Agent": USER_AGENT}
        headers.update({h["name"]: h["value"] for h in hook.headers})
        headers.update(
            signing.signing_headers(
                hook.signing_secrets(now), event["name"], event["id"], int(self.epoch()), body
            )
        )
        result = self.sender.post(hook.url, body, headers, timeout_s=hook.timeout_s)
        outcome = after_attempt(attempt, result.status, result.error, result.retry_after_s)
        record = attempt_record(attempt, now, event, hook.url, headers, result)
        record["outcome"] = outcome.kind if outcome.kind != "retry" else f"retry in {outcome.delay_s} s"
        status = {"delivered": "delivered", "retry": "pending", "disable": "failed"}[outcome.kind]
        deliveries.put_items(
            [
                deliveries.state_item(org, webhook_id, event, status, attempt, now, retention_days(), record),
                deliveries.attempt_item(org, webhook_id, event, record, retention_days()),
            ]
        )
        if outcome.kind == "retry":
            self.service.queue.send(delivery_message(org, webhook_id, event, attempt + 1), outcome.delay_s)
        elif outcome.kind == "disable":
            if self.service.turn_off(hook, outcome.reason) is not None:
                emit(
                    wiring.WEBHOOK_DISABLED_METRIC,
                    properties={"org": org, "webhookId": webhook_id, "reason": outcome.reason},
                )
            self._config.pop((org, webhook_id), None)
        return f"{status}: attempt {attempt}"

    def _webhook(self, org: str, webhook_id: str) -> Webhook | None:
        """The webhook's config. An enabled one is cached per container for a few seconds (edits
        and turning off apply within 5 s); a disabled or missing one is read every time, so
        turning a webhook on (and redriving) takes effect at once."""
        key = (org, webhook_id)
        cached = self._config.get(key)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        hook = self.service.hooks.get(org, webhook_id)
        if hook is not None and hook.enabled:
            self._config[key] = (hook, now + CONFIG_TTL_S)
        return hook
