"""Webhook signatures: Kustomer's header and the Standard Webhooks headers, from one secret.

One `whsec_<base64>` token serves both schemes. Kustomer receivers key the HMAC with the whole
token string (`crypto.createHmac('sha256', token)`); Standard Webhooks receivers key it with the
bytes the base64 after `whsec_` decodes to. Both sign the exact body bytes that are sent, so a
receiver must verify the raw body, never a re-serialised one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

SECRET_PREFIX = "whsec_"  # noqa: S105 - the token prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing token: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode("ascii")


def kustomer_signature(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the body, keyed with the whole token (as Kustomer's docs do)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks key: the base64 after `whsec_`, decoded (padding is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(id.timestamp.body)>`, the Standard Webhooks signature."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signing_headers(
    secrets: list[str], event_name: str, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Headers for one delivery. `secrets` is newest first: the newest makes Kustomer's single
    signature, and every secret (old ones too, during rotation) adds a Standard Webhooks one."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    return {
        "Content-Type": "application/json",
        "X-Kustomer-Webhook-Event": event_name,
        "X-Kustomer-Webhook-Signature": kustomer_signature(secrets[0], body),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_signature(s, msg_id, timestamp, body) for s in secrets),
    }


def verify_kustomer(secret: str, body: bytes, received: str) -> bool:
    """Constant-time check of an `X-Kustomer-Webhook-Signature` value against the body."""
    expected = kustomer_signature(secret, body)
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode("utf-8"))
