"""The hooks function: the hook receive endpoints as API Gateway proxy responses.

`POST /v1/hooks/form/{orgId}/{hash}` (no auth: the 64-hex hash is the secret) and
`POST /v1/hooks/web/{hash}` (Bearer key with `org.hooks`). 202 with the transaction id once it is
stored and queued; JSON:API errors otherwise (413, 415, 400, 401, 403, 404), in the API's one
shape (`switchboard.http`). Kept light: no web framework, so a cold receive imports little more
than boto3.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import http, services
from switchboard.authn import authenticate
from switchboard.domain.auth import HOOK_RECEIVE
from switchboard.domain.hooks import MAX_BODY_BYTES
from switchboard.errors import BadRequest, PayloadTooLarge, SwitchboardError

logger = Logger()


def _body(event: dict[str, Any]) -> bytes:
    """The raw bytes. Text holding a lone surrogate keeps it (as bytes that are not UTF-8, which
    the JSON policy then refuses with a 400); base64 that does not decode is a 400 as well."""
    raw = event.get("body") or ""
    encoded = bool(event.get("isBase64Encoded"))
    if len(raw) > MAX_BODY_BYTES * (2 if encoded else 1):  # refuse before decoding a huge body
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KB")
    if not encoded:
        return raw.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise BadRequest("the body is marked base64 but is not valid base64") from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = event.get("headers") or {}
    params = event.get("pathParameters") or {}
    try:
        if "orgId" in params:
            hook_type, org = "form", params["orgId"]
        else:
            principal = authenticate(headers)
            principal.require(HOOK_RECEIVE)
            hook_type, org = "web", principal.org
        accepted = services.hooks().receive(org, hook_type, params.get("hash", ""), headers, _body(event))
    except SwitchboardError as exc:
        return http.error_response(exc)
    logger.info(
        "hook transaction",
        extra={"org": org, "transaction": accepted.transaction_id, "replayed": accepted.replayed},
    )
    document = {
        "data": {
            "type": "hook_transaction",
            "id": accepted.transaction_id,
            "attributes": {"receivedAt": accepted.received_at, "replayed": accepted.replayed},
        }
    }
    return http.proxy_response(202, document, {"Idempotent-Replayed": "true"} if accepted.replayed else None)
