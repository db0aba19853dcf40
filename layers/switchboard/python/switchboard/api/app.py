"""The REST API: a Powertools resolver behind a gate that authenticates and authorizes first."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from switchboard.api import jsonapi, routing
from switchboard.api.routes import register_all
from switchboard.authn import authenticate
from switchboard.errors import PayloadTooLarge, SwitchboardError

MAX_BODY_BYTES = 256 * 1024
logger = Logger()


class Api:
    """Gate + resolver. The gate runs before body parsing so callers without a role learn nothing."""

    def __init__(self) -> None:
        self.resolver = APIGatewayRestResolver()
        register_all(self.resolver)
        self._install_handlers()

    def _install_handlers(self) -> None:
        app = self.resolver

        @app.exception_handler(SwitchboardError)
        def _domain_error(exc: SwitchboardError) -> Response:
            return jsonapi.respond({"errors": [exc.to_error()]}, exc.status)

        @app.not_found
        def _not_found(_exc: Exception) -> Response:
            return jsonapi.error(404, "not_found", "Not found", "no such route")

        @app.exception_handler(Exception)
        def _unexpected(exc: Exception) -> Response:
            if _item_too_large(exc):
                return jsonapi.error(
                    413, "payload_too_large", "Payload too large", "the object would exceed 400 KB"
                )
            logger.exception("unhandled error")
            return jsonapi.error(500, "internal_error", "Internal error", "an unexpected error occurred")

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        method, path = event.get("httpMethod", ""), event.get("path", "")
        token = None
        try:
            body = event.get("body") or ""
            if len(body) > MAX_BODY_BYTES * (2 if event.get("isBase64Encoded") else 1):
                raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KB")
            permission = routing.permission_for(method, path)
            if permission is not None and permission is not routing.PUBLIC:
                principal = authenticate(event.get("headers"))
                principal.require(permission)
                token = routing.CURRENT_PRINCIPAL.set(principal)
            response = self.resolver.resolve(event, context)
        except SwitchboardError as exc:
            response = _gate_response(exc)
        finally:
            if token is not None:
                routing.CURRENT_PRINCIPAL.reset(token)
        logger.info(
            "request",
            extra={
                "method": method,
                "path": path,
                "status": response.get("statusCode"),
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response


def _gate_response(exc: SwitchboardError) -> dict[str, Any]:
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": jsonapi.JSON},
        "body": json.dumps({"errors": [exc.to_error()]}),
        "isBase64Encoded": False,
    }


def _item_too_large(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return error.get("Code") == "ValidationException" and "size" in str(error.get("Message", "")).lower()


def build_app() -> Api:
    return Api()


def documentation() -> APIGatewayRestResolver:
    """A resolver with OpenAPI validation, built on first use, that only serves the API's own docs."""
    global _documentation
    if _documentation is None:
        resolver = APIGatewayRestResolver(enable_validation=True)
        register_all(resolver)
        resolver.enable_swagger(path="/v1/docs", title=TITLE, version=VERSION)
        _documentation = resolver
    return _documentation


TITLE = "Switchboard API"
VERSION = "1"
_documentation: APIGatewayRestResolver | None = None
