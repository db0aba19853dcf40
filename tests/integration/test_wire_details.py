"""Wire details the docs promise: duplicate webhook events, klass names, empty 204 answers."""

from __future__ import annotations

import pytest

from switchboard.domain.events import SUBSCRIBABLE
from tests.integration.conftest import ApiClient


@pytest.fixture(autouse=True)
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_LOCAL", raising=False)


def webhook(**changes: object) -> dict:
    return {"name": "Order sync", "url": "https://hooks.example.com/switchboard", **changes}


def test_duplicate_webhook_events_are_dropped_before_the_limit(api: ApiClient) -> None:
    event = "kustomer.customer.create"
    created = api.post("/v1/outbound-webhooks", webhook(events=[event] * 30))
    assert created.status == 201, created.json
    assert created.json["data"]["attributes"]["events"] == [event]

    every = list(SUBSCRIBABLE)
    both = api.patch(f"/v1/outbound-webhooks/{created.json['data']['id']}", {"events": every + every})
    assert both.status == 200, both.json
    assert both.json["data"]["attributes"]["events"] == every


def test_thirteen_distinct_events_are_still_too_many() -> None:
    from pydantic import ValidationError

    from switchboard.domain.webhooks import MAX_EVENTS, WebhookBody

    assert WebhookBody.model_validate({"events": ["kustomer.customer.create"] * 40}).events == [
        "kustomer.customer.create"
    ]
    with pytest.raises(ValidationError):
        WebhookBody.model_validate({"events": [f"e{n}" for n in range(MAX_EVENTS + 1)]})
    with pytest.raises(ValidationError):
        WebhookBody.model_validate({"events": [{"not": "a string"}] * 2})


@pytest.mark.parametrize("shape", [str.lower, str.upper])
def test_a_klass_name_shaped_like_an_id_is_refused(api: ApiClient, shape) -> None:
    order = api.post("/v1/klasses", {"name": "order"})
    assert order.status == 201, order.json
    order_id = order.json["data"]["id"]

    refused = api.post("/v1/klasses", {"name": shape(order_id)})
    assert refused.status == 400, refused.json
    (error,) = refused.json["errors"]
    assert error["source"] == {"pointer": "/name"}
    assert "24 hex" in error["detail"]
    assert api.get(f"/v1/klasses/{order_id}").json["data"]["attributes"]["name"] == "order"

    # Neighbours stay valid: 23 or 25 hex digits, and 24 characters that are not all hex.
    for name in (order_id[:23], order_id + "a", "g" + order_id[1:]):
        assert api.post("/v1/klasses", {"name": name}).status == 201, name


def test_a_204_answer_has_no_content_type(api: ApiClient) -> None:
    tag = api.post("/v1/tags", {"name": "vip"})
    assert tag.status == 201, tag.json
    deleted = api.delete(f"/v1/tags/{tag.json['data']['id']}")
    assert deleted.status == 204
    assert "content-type" not in deleted.headers
    assert deleted.json is None
    assert api.get(f"/v1/tags/{tag.json['data']['id']}").headers["content-type"] == "application/json"
