"""The REST API: a Powertools resolver behind a gate that authenticates and authorizes first."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from switchboard import http
from switchboard.api import jsonapi, routing
from switchboard.api.routes import register_all
from switchboard.authn import authenticate
from switchboard.errors import MethodNotAllowed, NotFound, PayloadTooLarge, SwitchboardError

MAX_BODY_BYTES = 256 * 1024
logger = Logger()


class Api:
    """Gate + resolver. The gate runs before body parsing so callers without a role learn nothing.

    The gate and the router see one normalized path (`routing.normalize`); a path no route
    serves is a 404 (a 405 with `Allow` when other methods are served there) before any key is
    looked at, and a route runs only when the gate granted it.
    """

    def __init__(self) -> None:
        self.resolver = APIGatewayRestResolver()
        register_all(self.resolver)
        self.endpoints = routing.endpoints_of(self.resolver)
        self._install_handlers()

    def _install_handlers(self) -> None:
        app = self.resolver

        @app.exception_handler(SwitchboardError)
        def _domain_error(exc: SwitchboardError) -> Response:
            return jsonapi.respond(http.error_document(exc), exc.status)

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
        method = str(event.get("httpMethod") or "").upper()
        path = routing.normalize(str(event.get("path") or ""))
        event = _normalized(event, path)
        principal_token = granted_token = None
        try:
            if _body_size(event) > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KB")
            route = routing.match(method, path, self.endpoints)
            if route is None:
                allowed = routing.served_at(path, self.endpoints)
                if allowed:
                    raise _NotAllowed(f"{method} is not served here; use {', '.join(allowed)}", allowed)
                raise NotFound("no such route")
            if route.permission is not routing.PUBLIC:
                principal = authenticate(event.get("headers"))
                principal.require(route.permission)
                principal_token = routing.CURRENT_PRINCIPAL.set(principal)
            # Default deny: a route function runs only when it is the route granted here.
            granted_token = routing.GRANTED.set(route)
            response = self.resolver.resolve(event, context)
        except SwitchboardError as exc:
            response = _gate_response(exc)
        finally:
            if granted_token is not None:
                routing.GRANTED.reset(granted_token)
            if principal_token is not None:
                routing.CURRENT_PRINCIPAL.reset(principal_token)
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


class _NotAllowed(MethodNotAllowed):
    def __init__(self, detail: str, allowed: list[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed


def _normalized(event: dict[str, Any], path: str) -> dict[str, Any]:
    """The event with the normalized path, so the router sees exactly what the gate matched."""
    event = {**event, "path": path}
    context = event.get("requestContext")
    if isinstance(context, dict) and isinstance(context.get("path"), str):
        event["requestContext"] = {**context, "path": routing.normalize(context["path"])}
    return event


def _body_size(event: dict[str, Any]) -> int:
    """The body's size in bytes as sent (base64 bodies decoded, text bodies as UTF-8)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")
    if len(body) > MAX_BODY_BYTES:
        return len(body)  # every character is at least one byte
    return len(body.encode("utf-8", errors="surrogatepass"))


def _gate_response(exc: SwitchboardError) -> dict[str, Any]:
    allowed = exc.allowed if isinstance(exc, _NotAllowed) else None
    return http.error_response(exc, {"Allow": ", ".join(allowed)} if allowed else None)


def _item_too_large(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return error.get("Code") == "ValidationException" and "size" in str(error.get("Message", "")).lower()


def build_app() -> Api:
    return Api()


def documentation() -> APIGatewayRestResolver:
    """A resolver with OpenAPI validation, built on first use, that only generates the API's document."""
    global _documentation
    if _documentation is None:
        resolver = APIGatewayRestResolver(enable_validation=True)
        register_all(resolver)
        _documentation = resolver
    return _documentation


def openapi_json() -> str:
    """The OpenAPI document (generated, then finished by `openapi.finish`), built once."""
    global _openapi
    if _openapi is None:
        from switchboard.api import openapi

        generated = json.loads(documentation().get_openapi_json_schema(title=TITLE, version=VERSION))
        _openapi = json.dumps(openapi.finish(generated), separators=(",", ":"))
    return _openapi


TITLE = "Switchboard API"
VERSION = "1"
_documentation: APIGatewayRestResolver | None = None
_openapi: str | None = None
