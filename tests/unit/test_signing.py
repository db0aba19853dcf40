"""Webhook signatures, checked against published vectors and the receivers' own verifiers: the
`standardwebhooks` reference library and Kustomer's JavaScript snippet run in Node."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from switchboard.domain import signing

# Standard Webhooks' published example (also Svix's docs).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

UNICODE_BODY = '{"name":"Zoë Ångström","note":"café ☕ 日本"}'.encode()
# `printf '%s' "$body" | openssl dgst -sha256 -hmac "$SW_SECRET"`
UNICODE_BODY_KUSTOMER = "4e8d4e2e38e65554d4f8e85c1559d2caeb9aeef5451e1ef301f4733440897e74"

# The receiver-side check from Kustomer's documentation, verbatim in its HMAC line.
KUSTOMER_JS = """
const crypto = require('crypto');
const fs = require('fs');
const { token, body, signature } = JSON.parse(fs.readFileSync(process.env.CASE_FILE, 'utf8'));
const kustomerSecret = token;
const httpBody = Buffer.from(body, 'base64');
const receivedSignature = signature;
const computedSignature = crypto.createHmac('sha256', kustomerSecret).update(httpBody).digest('hex');
console.log(computedSignature === receivedSignature ? 'true' : 'false');
"""


def test_new_secret_shape_and_uniqueness() -> None:
    tokens = {signing.new_secret() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith("whsec_")
        assert len(base64.b64decode(token.removeprefix("whsec_"), validate=True)) == 32
        Webhook(token)  # the reference library accepts it as a key


def test_kustomer_signature_known_answers() -> None:
    # RFC 4231, test case 2.
    assert (
        signing.kustomer_signature("Jefe", b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    # The whole token, prefix included, is the key.
    assert signing.kustomer_signature(SW_SECRET, UNICODE_BODY) == UNICODE_BODY_KUSTOMER


def test_standard_signature_known_answer() -> None:
    assert signing.standard_signature(SW_SECRET, SW_ID, SW_TIMESTAMP, SW_BODY) == SW_SIGNATURE
    assert signing.standard_signature(SW_SECRET.removeprefix("whsec_"), SW_ID, SW_TIMESTAMP, SW_BODY) == (
        SW_SIGNATURE
    )


def test_signing_headers_shape() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.signing_headers([new, old], "kustomer.customer.update", "evt1", 1700000000, b"{}")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Kustomer-Webhook-Event"] == "kustomer.customer.update"
    assert headers["X-Kustomer-Webhook-Signature"] == signing.kustomer_signature(new, b"{}")
    assert headers["webhook-id"] == "evt1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].split(" ") == [
        signing.standard_signature(new, "evt1", 1700000000, b"{}"),
        signing.standard_signature(old, "evt1", 1700000000, b"{}"),
    ]
    with pytest.raises(ValueError):
        signing.signing_headers([], "e", "i", 1, b"")


def test_reference_library_verifies_every_secret_during_rotation() -> None:
    old, new, stranger = signing.new_secret(), signing.new_secret(), signing.new_secret()
    body = UNICODE_BODY
    headers = signing.signing_headers(
        [new, old], "kustomer.customer.create", "evt-42", int(time.time()), body
    )
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"caf", b"CAF"), headers)
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    stale["webhook-signature"] = signing.signing_headers(
        [new], "e", "evt-42", int(stale["webhook-timestamp"]), body
    )["webhook-signature"]
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body, stale)  # outside the 5-minute tolerance


def test_verify_kustomer() -> None:
    secret = signing.new_secret()
    good = signing.kustomer_signature(secret, UNICODE_BODY)
    assert signing.verify_kustomer(secret, UNICODE_BODY, good)
    assert signing.verify_kustomer(secret, UNICODE_BODY, good.upper())
    assert not signing.verify_kustomer(secret, UNICODE_BODY + b" ", good)
    assert not signing.verify_kustomer(signing.new_secret(), UNICODE_BODY, good)
    assert not signing.verify_kustomer(secret, UNICODE_BODY, good[:-1])
    assert not signing.verify_kustomer(secret, UNICODE_BODY, "")
    assert not signing.verify_kustomer(secret, UNICODE_BODY, "é" * 64)


def _node_says(tmp_path: Path, token: str, body: bytes, signature: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH; it runs Kustomer's own JavaScript check")
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps({"token": token, "body": base64.b64encode(body).decode(), "signature": signature})
    )
    done = subprocess.run(
        [node, "-e", KUSTOMER_JS],
        env={**os.environ, "CASE_FILE": str(case)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_kustomer_javascript_accepts_our_signature(tmp_path: Path) -> None:
    token = signing.new_secret()
    body = UNICODE_BODY
    headers = signing.signing_headers([token, signing.new_secret()], "kustomer.message.create", "e1", 1, body)
    assert _node_says(tmp_path, token, body, headers["X-Kustomer-Webhook-Signature"]) == "true"


def test_kustomer_javascript_rejects_a_wrong_signature(tmp_path: Path) -> None:
    token = signing.new_secret()
    wrong = signing.kustomer_signature(signing.new_secret(), UNICODE_BODY)
    assert _node_says(tmp_path, token, UNICODE_BODY, wrong) == "false"
