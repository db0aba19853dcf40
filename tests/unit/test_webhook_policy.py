"""The retry policy and what a webhook may be configured with."""

import random

import pytest
from pydantic import ValidationError

from switchboard.domain.webhooks import DEFAULT_GAPS_S, MAX_ATTEMPTS, WebhookBody, after_attempt


def test_ten_attempts_over_about_eighty_minutes() -> None:
    assert len(DEFAULT_GAPS_S) == MAX_ATTEMPTS
    assert sum(DEFAULT_GAPS_S) == 80 * 60
    assert max(DEFAULT_GAPS_S) <= 900


def test_retries_follow_the_schedule_with_jitter() -> None:
    rng = random.Random(7)
    for attempt in range(1, MAX_ATTEMPTS):
        outcome = after_attempt(attempt, 500, None, None, rng)
        gap = DEFAULT_GAPS_S[attempt]
        assert outcome.kind == "retry"
        assert gap * 0.8 - 1 <= outcome.delay_s <= min(900, gap * 1.2 + 1)


def test_success_gone_and_the_tenth_failure() -> None:
    assert after_attempt(3, 204, None, None).kind == "delivered"
    assert after_attempt(1, 410, None, None).kind == "disable"
    last = after_attempt(MAX_ATTEMPTS, None, "connection refused", None)
    assert last.kind == "disable" and "connection refused" in last.reason


def test_retry_after_is_honoured_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE_S", ",".join(["0"] * 10))
    assert after_attempt(1, 429, None, 7).delay_s == 7
    assert after_attempt(1, 429, None, 99999).delay_s == 900
    assert after_attempt(1, 500, None, None).delay_s == 0


@pytest.mark.parametrize(
    "body",
    [
        {"events": ["kustomer.customer.delete"]},
        {"events": ["kustomer.customer.create"] * 1 + [f"x{i}" for i in range(12)]},
        {"name": "n" * 256},
        {"headers": [{"name": "X-Kustomer-Webhook-Signature", "value": "forged"}]},
        {"headers": [{"name": "Content-Type", "value": "text/plain"}]},
        {"headers": [{"name": "X-Ok", "value": "a\r\nInjected: 1"}]},
        {"timeoutSeconds": 31},
        {"unknown": 1},
    ],
)
def test_bad_webhook_bodies(body: dict) -> None:
    with pytest.raises(ValidationError):
        WebhookBody.model_validate(body)


def test_good_webhook_body_deduplicates_events() -> None:
    body = WebhookBody.model_validate(
        {
            "name": "Orders",
            "url": "https://h.example/k",
            "events": ["kustomer.customer.create"] * 2,
            "headers": [{"name": "X-Source", "value": "switchboard"}],
            "timeoutSeconds": 30,
        }
    )
    assert body.events == ["kustomer.customer.create"]
