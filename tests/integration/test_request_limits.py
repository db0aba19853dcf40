"""The REST API's request limits, through the real handler: UTF-8, JSON policy, empty bodies, paging."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.integration.conftest import ApiClient


def _post_bytes(api: ApiClient, path: str, data: bytes) -> Any:
    """A body API Gateway hands over base64-encoded (binary media types)."""
    event = {
        "path": path,
        "httpMethod": "POST",
        "headers": {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"},
        "requestContext": {"stage": "prod", "httpMethod": "POST", "resourcePath": "/v1/{proxy+}"},
        "queryStringParameters": None,
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }
    return api.handler(event, None)


def test_invalid_utf8_is_refused_not_replaced(api: ApiClient) -> None:
    reply = _post_bytes(api, "/v1/customers", b'{"name": "caf\xe9"}')
    assert reply["statusCode"] == 400
    assert "UTF-8" in reply["body"]
    assert api.get("/v1/customers").json["meta"]["total"] == 0
    assert _post_bytes(api, "/v1/customers", '{"name": "café"}'.encode())["statusCode"] == 201


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ('{"name": NaN}', "NaN"),
        ('{"name": "x", "custom": {"totalNum": Infinity}}', "Infinity"),
        ('{"custom": {"totalNum": 1e400}}', "out of range"),
        ('{"custom": {"totalNum": 1' + "0" * 400 + "}}", "out of range"),
        ('{"name": "\\ud800"}', "surrogate"),
        ('{"custom": ' + "[" * 65 + "]" * 65 + "}", "deeper than 64"),
    ],
)
def test_json_outside_rfc_8259_or_too_deep_is_400(api: ApiClient, raw: str, detail: str) -> None:
    reply = api.call("POST", "/v1/customers", raw=raw)
    assert reply.status == 400
    assert detail in reply.json["errors"][0]["detail"]
    assert reply.json["errors"][0]["source"] == {"pointer": ""}


@pytest.mark.parametrize("raw", ["", "   "])
def test_an_empty_body_is_400_not_an_empty_object(api: ApiClient, raw: str) -> None:
    reply = api.call("POST", "/v1/customers", raw=raw)
    assert reply.status == 400
    assert "empty" in reply.json["errors"][0]["detail"]
    assert api.call("PATCH", "/v1/customers/0123456789abcdef01234567", raw="").status == 400
    assert api.get("/v1/customers").json["meta"]["total"] == 0


def test_an_empty_object_creates_a_customer_as_in_kustomer(api: ApiClient) -> None:
    """Kustomer's customer create has no required attribute."""
    assert api.post("/v1/customers", {}).status == 201


@pytest.mark.parametrize("value", ["\uff11", "0", "-1", "x"])
def test_page_size_is_ascii_digits_from_one(api: ApiClient, value: str) -> None:
    reply = api.get("/v1/customers", query={"pageSize": value})
    assert reply.status == 400
    assert reply.json["errors"][0]["source"] == {"parameter": "pageSize"}


def test_a_body_over_256_kb_is_413_counted_in_bytes(api: ApiClient) -> None:
    name = "é" * (140 * 1024)  # 140 K characters, 280 KB of UTF-8
    reply = api.call("POST", "/v1/customers", raw='{"name": "' + name + '"}')
    assert reply.status == 413
    assert reply.json["errors"][0]["code"] == "payload_too_large"
