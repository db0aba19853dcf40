"""The attempt log shows what was sent and answered, with credentials masked by name; the
request posted (and signed) is exactly the one it would be without the log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from switchboard.adapters.http_sender import PostResult
from switchboard.domain import signing
from switchboard.domain.redaction import MASK
from switchboard.pipeline.delivery import Deliverer
from switchboard.pipeline.fanout import FanOut
from switchboard.pipeline.webhooks import WebhookService
from tests.integration.test_webhook_pipeline import (
    NOW,
    MemoryDeliveries,
    MemoryHooks,
    MemoryQueue,
    customer_record,
    memory_hook,
)


@dataclass
class AnsweringSender:
    """Answers every POST with one status, headers and body."""

    status: int
    headers: dict[str, str]
    body: str
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float | None = None
    ) -> PostResult:
        self.posts.append((url, body, dict(headers)))
        return PostResult(self.status, 1.0, None, self.body, None, dict(self.headers))


def deliver_once(sender: AnsweringSender, **hook_changes: Any) -> tuple[MemoryDeliveries, Any]:
    hook = memory_hook(**hook_changes)
    deliveries, queue = MemoryDeliveries(), MemoryQueue()
    service = WebhookService(MemoryHooks(hook), deliveries, queue, check_url=lambda url: None)
    FanOut(service.hooks, deliveries, queue, clock=lambda: NOW).handle([customer_record()])
    ((message, _),) = queue.sent
    Deliverer(service, sender, clock=lambda: NOW, epoch=lambda: 1_790_000_000.0).deliver(message)
    return deliveries, hook


def test_an_attempt_records_headers_with_credentials_masked() -> None:
    sender = AnsweringSender(
        200,
        {"content-type": "application/json", "set-cookie": "session=COOKIE-1", "x-request-id": "r1"},
        '{"ok": true, "token": "ANSWER-TOKEN"}',
    )
    deliveries, hook = deliver_once(
        sender,
        url="https://hooks.example.com/in?token=URL-TOKEN&team=7",
        headers=[{"name": "X-Api-Key", "value": "CUSTOM-KEY"}, {"name": "X-Source", "value": "switchboard"}],
    )
    [attempt] = deliveries.attempts
    logged = json.dumps(attempt)
    _, body, sent = sender.posts[0]
    for secret in (
        "URL-TOKEN",
        "CUSTOM-KEY",
        "COOKIE-1",
        "ANSWER-TOKEN",
        sent["X-Kustomer-Webhook-Signature"],
        sent["webhook-signature"],
    ):
        assert secret not in logged, secret
    assert attempt["url"] == f"https://hooks.example.com/in?token={MASK}&team=7"
    assert attempt["requestHeaders"]["X-Kustomer-Webhook-Signature"] == MASK
    assert attempt["requestHeaders"]["webhook-signature"] == MASK
    assert attempt["requestHeaders"]["X-Api-Key"] == MASK
    assert attempt["requestHeaders"]["X-Source"] == "switchboard"
    assert attempt["requestHeaders"]["webhook-id"] == sent["webhook-id"]
    assert attempt["responseHeaders"] == {
        "content-type": "application/json",
        "set-cookie": MASK,
        "x-request-id": "r1",
    }
    assert json.loads(attempt["response"]) == {"ok": True, "token": MASK}
    # the request itself: real URL, real credentials, a signature that verifies
    url, _, _ = sender.posts[0]
    assert url == "https://hooks.example.com/in?token=URL-TOKEN&team=7"
    assert sent["X-Api-Key"] == "CUSTOM-KEY"
    assert signing.verify_kustomer(hook.secrets[0].value, body, sent["X-Kustomer-Webhook-Signature"])


def test_a_cut_answer_still_has_its_visible_secrets_masked() -> None:
    sender = AnsweringSender(500, {}, '{"error": "boom", "password": "PW-1", "rest": "' + "x" * 50)
    deliveries, _ = deliver_once(sender)
    [attempt] = deliveries.attempts
    assert "PW-1" not in json.dumps(attempt) and "boom" in attempt["response"]
