"""Inbound hooks against moto: management through the api handler, receiving through the hooks
handler with API Gateway proxy events, and what lands in the table and the FIFO queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import boto3
import pytest

from switchboard import admin, wiring
from tests.integration.conftest import ApiClient, load_handler


class Receiver:
    """Posts to the hooks function the way API Gateway would."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def post(
        self,
        address: str,
        body: bytes | str,
        *,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        parts = address.split("/v1/hooks/", 1)[1].split("/")
        if parts[0] == "form":
            params = {"orgId": parts[1], "hash": parts[2]}
            resource = "/v1/hooks/form/{orgId}/{hash}"
        else:
            params = {"hash": parts[1]}
            resource = "/v1/hooks/web/{hash}"
        sent = dict(headers or {})
        if content_type:
            sent["Content-Type"] = content_type
        if key:
            sent["Authorization"] = f"Bearer {key}"
        raw = body if isinstance(body, bytes) else body.encode()
        try:
            text, encoded = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(raw).decode(), True
        event = {
            "resource": resource,
            "path": "/v1/hooks/" + "/".join(parts),
            "httpMethod": "POST",
            "headers": sent,
            "multiValueHeaders": {k: [v] for k, v in sent.items()},
            "pathParameters": params,
            "requestContext": {"stage": "prod", "requestId": uuid.uuid4().hex, "resourcePath": resource},
            "body": text,
            "isBase64Encoded": encoded,
        }
        response = self.handler(event, None)
        return response["statusCode"], response.get("headers") or {}, json.loads(response["body"])


@pytest.fixture
def receiver(aws: Any) -> Receiver:
    return Receiver(load_handler(wiring.HOOKS))


def queued() -> list[dict[str, Any]]:
    """Every message waiting in the workflow-runs queue (received, then left to reappear)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=wiring.WORKFLOW_RUNS_QUEUE.local_name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        fresh = [m for m in page if m["MessageId"] not in {f["MessageId"] for f in found}]
        if not fresh:
            return found
        found += fresh


def create_hook(api: ApiClient, hook_type: str = "web", **extra: Any) -> dict[str, Any]:
    reply = api.post(f"/v1/hooks/{hook_type}", {"title": "Orders", **extra})
    assert reply.status == 201, reply.json
    return reply.json["data"]


def test_create_list_get_update_hook(api: ApiClient, other: ApiClient) -> None:
    hook = create_hook(api, "form", description="shop orders")
    attributes = hook["attributes"]
    assert len(attributes["hash"]) == 64 and int(attributes["hash"], 16) >= 0
    assert attributes["eventName"] == f"kustomer.hooks.form.{hook['id']}.receive"
    assert attributes["url"].endswith(f"/v1/hooks/form/{api.org}/{attributes['hash']}")
    assert attributes["enabled"] is True and attributes["debug"] is False
    assert [h["id"] for h in api.get("/v1/hooks/form").json["data"]] == [hook["id"]]
    assert api.get("/v1/hooks/web").json["data"] == []
    assert api.get(f"/v1/hooks/form/{hook['id']}").json["data"]["id"] == hook["id"]
    assert api.get(f"/v1/hooks/web/{hook['id']}").status == 404  # a form hook is not a web hook
    changed = api.patch(f"/v1/hooks/form/{hook['id']}", {"enabled": False, "debug": True})
    assert changed.status == 200
    assert changed.json["data"]["attributes"]["enabled"] is False
    assert changed.json["data"]["attributes"]["hash"] == attributes["hash"]
    assert other.get(f"/v1/hooks/form/{hook['id']}").status == 404
    assert other.get("/v1/hooks/form").json["data"] == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/title"),
        ({"title": "x" * 256}, "/title"),
        ({"title": "t", "surprise": 1}, "/surprise"),
        ({"title": "t", "groupBy": "a..b"}, "/groupBy"),
        ({"title": "t", "signature": {"header": "X-Sig", "secret": "short"}}, "/signature/secret"),
    ],
)
def test_bad_hook_definitions_are_refused(api: ApiClient, body: dict[str, Any], pointer: str) -> None:
    reply = api.post("/v1/hooks/web", body)
    assert reply.status == 400, reply.json
    assert reply.json["errors"][0]["source"]["pointer"] == pointer
    assert api.get("/v1/hooks/web").json["data"] == []


def test_unknown_hook_type_is_404(api: ApiClient) -> None:
    assert api.post("/v1/hooks/email", {"title": "x"}).status == 404


def test_form_hook_receives_json_as_a_queued_transaction(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "form", debug=True)
    status, _, document = receiver.post(hook["attributes"]["url"], json.dumps({"order": {"id": 7}}))
    assert status == 202, document
    transaction = document["data"]
    assert transaction["type"] == "hook_transaction" and transaction["attributes"]["replayed"] is False
    [message] = queued()
    body = json.loads(message["Body"])
    assert body == {
        "source": "hook",
        "org": api.org,
        "hookId": hook["id"],
        "hookType": "form",
        "dedupe": transaction["id"],
    }
    assert message["Attributes"]["MessageGroupId"] == hook["id"]
    listed = api.get(f"/v1/hooks/form/{hook['id']}/transactions").json["data"]
    assert [t["id"] for t in listed] == [transaction["id"]]
    assert listed[0]["attributes"]["data"] == {"order": {"id": 7}}
    assert listed[0]["attributes"]["headers"]["content-type"] == "application/json"


def test_transactions_need_debug(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web")
    assert api.get(f"/v1/hooks/web/{hook['id']}/transactions").status == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("<order><id>1</id></order>", "application/xml", 415),
        ("order=1", "application/x-www-form-urlencoded", 415),
        ('{"order": ', "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (json.dumps({"pad": "x" * (401 * 1024)}), "application/json", 413),
        ("{}", None, 415),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_queued(
    api: ApiClient, receiver: Receiver, body: Any, content_type: str | None, status: int
) -> None:
    hook = create_hook(api, "form")
    code, _, document = receiver.post(hook["attributes"]["url"], body, content_type=content_type)
    assert code == status, document
    assert document["errors"][0]["status"] == str(status)
    assert queued() == []


def test_unknown_disabled_and_foreign_hooks_are_404(
    api: ApiClient, other: ApiClient, receiver: Receiver
) -> None:
    hook = create_hook(api, "form")
    url = hook["attributes"]["url"]
    assert receiver.post(url.replace(hook["attributes"]["hash"], "0" * 64), "{}")[0] == 404
    assert receiver.post(url.replace(api.org, other.org), "{}")[0] == 404  # hashes are per org
    assert receiver.post(url.rsplit("/", 1)[0] + "/not-a-hash", "{}")[0] == 404
    api.patch(f"/v1/hooks/form/{hook['id']}", {"enabled": False})
    assert receiver.post(url, "{}")[0] == 404
    assert queued() == []


def test_web_hook_needs_a_key_with_org_hooks(api: ApiClient, other: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web")
    url = hook["attributes"]["url"]
    assert receiver.post(url, "{}")[0] == 401
    assert receiver.post(url, "{}", key="sbk_unknown")[0] == 401
    reader = admin.issue_key(api.org, "reader", ["org.permission.customer.read"])["key"]
    assert receiver.post(url, "{}", key=reader)[0] == 403
    assert receiver.post(url, "{}", key=other.key)[0] == 404  # another org's key finds no such hook
    assert queued() == []
    sender = admin.issue_key(api.org, "shop", ["org.hooks"])["key"]
    assert receiver.post(url, "{}", key=sender)[0] == 202
    assert len(queued()) == 1


def test_same_idempotency_key_yields_the_same_transaction(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web", groupBy="customer.email")
    url = hook["attributes"]["url"]
    body = json.dumps({"customer": {"email": "ada@example.com"}, "total": 3})
    first = receiver.post(url, body, key=api.key, headers={"Idempotency-Key": "order-1-v1"})
    again = receiver.post(url, body, key=api.key, headers={"Idempotency-Key": "order-1-v1"})
    other = receiver.post(url, body, key=api.key, headers={"Idempotency-Key": "order-1-v2"})
    assert first[0] == again[0] == other[0] == 202
    assert again[2]["data"]["id"] == first[2]["data"]["id"]
    assert again[2]["data"]["attributes"]["replayed"] is True
    assert again[1]["Idempotent-Replayed"] == "true"
    assert other[2]["data"]["id"] != first[2]["data"]["id"]
    messages = queued()
    # The FIFO queue drops the repeat (same deduplication id): one message per transaction.
    assert sorted(json.loads(m["Body"])["dedupe"] for m in messages) == sorted(
        {json.loads(m["Body"])["dedupe"] for m in messages}
    )
    assert len(messages) == 2
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {f"{hook['id']}:ada@example.com"}


def test_body_fields_as_idempotency_key(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web", idempotencyKey=["order.id", "order.updated_at"])
    url = hook["attributes"]["url"]
    v1 = {"order": {"id": 1, "updated_at": "2026-01-01T00:00:00Z", "status": "new"}}
    v2 = {"order": {"id": 1, "updated_at": "2026-01-02T00:00:00Z", "status": "paid"}}
    ids = [receiver.post(url, json.dumps(b), key=api.key)[2]["data"]["id"] for b in (v1, v1, v2)]
    assert ids[0] == ids[1] != ids[2]
    no_fields = [receiver.post(url, "{}", key=api.key)[2]["data"]["id"] for _ in range(2)]
    assert no_fields[0] != no_fields[1]  # without the fields every request is its own


def test_idempotency_key_too_long_is_400(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web")
    reply = receiver.post(
        hook["attributes"]["url"], "{}", key=api.key, headers={"Idempotency-Key": "k" * 256}
    )
    assert reply[0] == 400
    assert queued() == []


@pytest.mark.parametrize(
    ("encoding", "prefix", "header"),
    [("hex", "sha256=", "X-Hub-Signature-256"), ("base64", "", "X-Shopify-Hmac-Sha256")],
)
def test_partner_signatures(
    api: ApiClient, receiver: Receiver, encoding: str, prefix: str, header: str
) -> None:
    secret = "partner-shared-secret-123"
    hook = create_hook(
        api, "form", signature={"header": header, "secret": secret, "encoding": encoding, "prefix": prefix}
    )
    assert hook["attributes"]["signature"] == {
        "header": header,
        "encoding": encoding,
        "prefix": prefix,
        "hasSecret": True,
    }
    url = hook["attributes"]["url"]
    body = json.dumps({"id": 1}).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    good = prefix + (digest.hex() if encoding == "hex" else base64.b64encode(digest).decode())
    assert receiver.post(url, body, headers={header: good})[0] == 202
    assert receiver.post(url, body + b" ", headers={header: good})[0] == 401
    assert receiver.post(url, body)[0] == 401
    forged = hmac.new(b"another-secret-entirely", body, hashlib.sha256).hexdigest()
    assert receiver.post(url, body, headers={header: prefix + forged})[0] == 401
    assert len(queued()) == 1


def test_secrets_and_credentials_are_not_kept(api: ApiClient, receiver: Receiver) -> None:
    hook = create_hook(api, "web", debug=True)
    receiver.post(
        hook["attributes"]["url"], "{}", key=api.key, headers={"X-Request-Id": "r1", "Cookie": "s=1"}
    )
    [row] = api.get(f"/v1/hooks/web/{hook['id']}/transactions").json["data"]
    kept = row["attributes"]["headers"]
    assert kept["x-request-id"] == "r1"
    assert "authorization" not in kept and "cookie" not in kept
    assert "secret" not in json.dumps(api.get(f"/v1/hooks/web/{hook['id']}").json)


def stored_transactions(api: ApiClient, hook: dict[str, Any]) -> list[dict[str, Any]]:
    return api.get(f"/v1/hooks/{hook['attributes']['type']}/{hook['id']}/transactions").json["data"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"total": NaN}', "NaN"),
        ('{"total": Infinity}', "Infinity"),
        ('{"total": -Infinity}', "-Infinity"),
        ('{"total": 1e400}', "out of range"),
        ('{"total": 1' + "0" * 400 + "}", "out of range"),
        ("[" * 2000 + "]" * 2000, "nested deeper"),
        ('{"a":' * 2000 + "1" + "}" * 2000, "nested deeper"),
        (b'{"name": "caf\xe9"}', "UTF-8"),
        ('{"name": "\\ud800"}', "surrogate"),
    ],
    ids=[
        "nan",
        "infinity",
        "-infinity",
        "1e400",
        "1e400-integer",
        "deep-arrays",
        "deep-objects",
        "latin-1",
        "surrogate",
    ],
)
def test_non_standard_json_is_400_and_nothing_is_stored_or_queued(
    api: ApiClient, receiver: Receiver, body: str | bytes, reason: str
) -> None:
    hook = create_hook(api, "form", debug=True)
    code, headers, document = receiver.post(hook["attributes"]["url"], body)
    assert code == 400, document
    assert headers["Content-Type"] == "application/json"
    [error] = document["errors"]
    assert error["status"] == "400" and reason in error["detail"]
    assert queued() == []
    assert stored_transactions(api, hook) == []


def test_a_hostile_body_to_an_unknown_or_disabled_hook_is_404_unparsed(
    api: ApiClient, receiver: Receiver
) -> None:
    """The hook is looked up before the body is read: a bad address never costs a parse."""
    hook = create_hook(api, "form")
    url = hook["attributes"]["url"]
    deep = "[" * 2000 + "]" * 2000
    assert receiver.post(url.replace(hook["attributes"]["hash"], "0" * 64), deep)[0] == 404
    assert receiver.post(url.rsplit("/", 1)[0] + "/not-a-hash", deep)[0] == 404
    api.patch(f"/v1/hooks/form/{hook['id']}", {"enabled": False})
    assert receiver.post(url, deep)[0] == 404
    assert receiver.post(url, '{"a": NaN}')[0] == 404
    assert queued() == []


def test_the_signature_is_checked_before_the_body_is_parsed(api: ApiClient, receiver: Receiver) -> None:
    secret = "partner-shared-secret-123"
    hook = create_hook(api, "form", signature={"header": "X-Hub-Signature-256", "secret": secret})
    url = hook["attributes"]["url"]
    body = b"[" * 2000
    assert receiver.post(url, body)[0] == 401  # unsigned: refused before any parse
    signed = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert receiver.post(url, body, headers={"X-Hub-Signature-256": signed})[0] == 400
    assert queued() == []


def test_a_body_the_gateway_cannot_hand_over_as_text_is_400(api: ApiClient, receiver: Receiver) -> None:
    """A lone surrogate in the event's text, or base64 that is not base64: 400, not a crash."""
    hook = create_hook(api, "form")
    params = {"orgId": api.org, "hash": hook["attributes"]["hash"]}
    headers = {"Content-Type": "application/json"}
    for body, encoded in (('{"a": "\ud800"}', False), ("not base64!", True)):
        event = {"headers": headers, "pathParameters": params, "body": body, "isBase64Encoded": encoded}
        response = receiver.handler(event, None)
        assert response["statusCode"] == 400, response
        assert json.loads(response["body"])["errors"][0]["status"] == "400"
    assert queued() == []


def test_debug_transactions_mask_secrets_but_the_workflow_gets_the_request_as_sent(
    api: ApiClient, receiver: Receiver
) -> None:
    hook = create_hook(api, "form", debug=True)
    body = {"order": {"id": 1}, "customer": {"email": "a@example.com", "password": "PW-1"}, "apiKey": "AK-1"}
    sent_headers = {"X-Hub-Signature-256": "sha256=SIG-1", "X-Auth-Token": "TOK-1", "X-Request-Id": "r1"}
    status, _, document = receiver.post(hook["attributes"]["url"], json.dumps(body), headers=sent_headers)
    assert status == 202, document
    [row] = stored_transactions(api, hook)
    shown = json.dumps(row)
    for secret in ("PW-1", "AK-1", "SIG-1", "TOK-1"):
        assert secret not in shown, secret
    assert row["attributes"]["headers"]["x-request-id"] == "r1"
    assert row["attributes"]["headers"]["x-hub-signature-256"] == "[redacted]"
    assert row["attributes"]["data"]["customer"] == {"email": "a@example.com", "password": "[redacted]"}
    # what the workflow runs on is the request as it came
    from switchboard import services

    [message] = queued()
    stored = services.automation_store().get_transaction(
        api.org, hook["id"], json.loads(message["Body"])["dedupe"]
    )
    assert json.loads(stored["body"]) == body
    assert stored["headers"]["x-auth-token"] == "TOK-1"
