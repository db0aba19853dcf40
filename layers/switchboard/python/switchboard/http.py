"""The one shape of Switchboard's HTTP answers, shared by the API and the hooks function.

One content type (`application/json`) and one error body (JSON:API `errors`). No web framework
here: the hooks function answers through this module without importing Powertools' resolver.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.errors import SwitchboardError

JSON = "application/json"


def error_document(exc: SwitchboardError) -> dict[str, Any]:
    """The JSON:API error document of a client-visible error."""
    return {"errors": [exc.to_error()]}


def proxy_response(
    status: int, document: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway proxy answer carrying a JSON document."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **(headers or {})},
        "body": json.dumps(document, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(exc: SwitchboardError, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy answer for a client-visible error."""
    return proxy_response(exc.status, error_document(exc), headers)
