"""Routes declared together with the permission each needs, and their arguments bound lazily.

`endpoint(...)` registers a Powertools route and records its permission, so a route without a
permission cannot be written. The gate in `app.py` finds the request's route with `match` (the
same regex and order as Powertools, on the same `normalize`d path), authenticates the key and
checks the role before anything else, so a caller without the role learns nothing from
validation errors. Default deny: a route function runs only when the gate has granted that very
route (`GRANTED`), so a path the gate does not know can never reach a handler without a principal.

Serving resolvers run without Powertools' OpenAPI validation: importing it costs ~0.2 s of
cold start. Instead each route's signature is read once here: a pydantic-model parameter is
the JSON body (validated with pointers into it), other non-path parameters are query strings.
The documentation resolver (built only when `/v1/openapi.json` or `/v1/docs` is asked for)
registers the same functions as they are, with the statuses, errors and security each route
really has, so the OpenAPI document describes exactly these.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import re
import types
import typing
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import BaseModel, ValidationError

from switchboard import strictjson, wiring
from switchboard.domain.auth import Permission, Principal
from switchboard.domain.service import validation_error
from switchboard.errors import BadRequest, NotFound

PUBLIC = Permission("public", frozenset({"*public*"}))
CURRENT_PRINCIPAL: ContextVar[Principal] = ContextVar("principal")
QUERY_MAX = 1024
NUMBER_MAX = 1_000_000  # page and pageSize: larger page sizes are clamped to the kind's maximum


@dataclass(frozen=True, eq=False)
class Endpoint:
    method: str
    path: str
    pattern: re.Pattern[str]
    permission: Permission
    status: int = 200  # the success status


ENDPOINTS: list[Endpoint] = []
# The same routes as the documentation resolver declared them, by (method, path).
DESCRIBED: dict[tuple[str, str], Endpoint] = {}
# The route the gate authenticated (or found public) for the request being served.
GRANTED: ContextVar[Endpoint | None] = ContextVar("granted", default=None)


def pattern(path: str) -> re.Pattern[str]:
    """The regex Powertools compiles for a route (`<name>` matches one segment), anchored exactly."""
    return ApiGatewayResolver._compile_regex(path)


def normalize(path: str) -> str:
    """The one form of a request path that the gate and the router both see.

    Trailing slashes are dropped (`/v1/customers/` is `/v1/customers`), as Express's default
    non-strict routing does for Kustomer; nothing else is rewritten.
    """
    return path.rstrip("/") or "/"


def documenting(router: Any) -> bool:
    return bool(getattr(router, "_enable_validation", False))


def endpoint(
    router: Any, method: str, path: str, permission: Permission, status: int | None = None, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `method path` on the router, guarded by `permission`.

    `status` is the success status when it is not the method's usual one (see `success_status`).
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        declared = Endpoint(method, path, pattern(path), permission, success_status(method, status))
        if documenting(router):
            DESCRIBED[(method, path)] = declared
            router.route(path, method, status_code=declared.status, **options)(func)
        else:
            ENDPOINTS.append(declared)
            endpoints_of(router).append(declared)
            router.route(path, method, **options)(_bind(router, declared, func))
        return func

    return decorate


def success_status(method: str, status: int | None = None) -> int:
    """201 for a create, 204 for a delete, 200 otherwise, unless the route says otherwise."""
    if status is not None:
        return status
    return {"POST": 201, "DELETE": 204}.get(method, 200)


def endpoints_of(router: Any) -> list[Endpoint]:
    """The routes declared on one resolver (each resolver grants only its own route functions)."""
    declared = getattr(router, "switchboard_endpoints", None)
    if declared is None:
        declared = []
        router.switchboard_endpoints = declared
    return declared


def _ordered(endpoints: list[Endpoint]) -> list[Endpoint]:
    return [e for e in endpoints if "<" not in e.path] + [e for e in endpoints if "<" in e.path]


def match(method: str, path: str, endpoints: list[Endpoint] | None = None) -> Endpoint | None:
    """The route Powertools will pick for a normalized path: static paths first, then declaration order."""
    method = method.upper()
    ordered = _ordered(ENDPOINTS if endpoints is None else endpoints)
    for candidate in ordered:
        if candidate.method == method and candidate.pattern.match(path):
            return candidate
    return None


def allowed_methods(path: str, endpoints: list[Endpoint] | None = None) -> list[str]:
    """The methods served at a normalized path (for a 405's `Allow`): those of the most specific
    route template matching it (static before dynamic, as routing picks), whatever its names."""
    endpoints = ENDPOINTS if endpoints is None else endpoints
    first = next((e for e in _ordered(endpoints) if e.pattern.match(path)), None)
    if first is None:
        return []
    return sorted({e.method for e in endpoints if _shape(e.path) == _shape(first.path)})


def _served_elsewhere() -> list[tuple[str, re.Pattern[str]]]:
    """The (method, path pattern) pairs API Gateway sends to other functions (the hook receive
    routes): the same URLs are this API's for every other method."""
    return [
        (route.method, pattern(re.sub(r"\{(\w+)\}", r"<\1>", route.path)))
        for spec in wiring.FUNCTIONS
        if spec is not wiring.API
        for route in spec.routes
        if route.method != "ANY"
    ]


def served_at(path: str, endpoints: list[Endpoint] | None = None) -> list[str]:
    """Every method the API Gateway serves at a normalized path, for a 405's `Allow`: this API's
    (`allowed_methods`) and those another function serves there."""
    elsewhere = {method for method, compiled in _served_elsewhere() if compiled.match(path)}
    return sorted({*allowed_methods(path, endpoints), *elsewhere})


def _shape(path: str) -> str:
    """`/v1/klasses/<reference>` and `/v1/klasses/<klass_name>` are one resource."""
    return re.sub(r"<\w+>", "<>", path)


def permission_for(method: str, path: str) -> Permission | None:
    found = match(method, normalize(path))
    return found.permission if found else None


def principal() -> Principal:
    return CURRENT_PRINCIPAL.get()


def _bind(router: Any, declared: Endpoint, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a route function so it runs only when granted and receives its body and query parameters."""
    path_names = set(re.findall(r"<(\w+)>", declared.path))
    body: tuple[str, type[BaseModel]] | None = None
    queries: list[tuple[str, type, Any]] = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.name in path_names:
            continue
        annotation = parameter.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            body = (parameter.name, annotation)
        else:
            queries.append((parameter.name, _scalar(annotation), parameter.default))

    def bound(**path_arguments: str) -> Any:
        if GRANTED.get() is not declared:
            # The gate did not authorize this route for this request: never run it.
            raise NotFound("no such route")
        event = router.current_event
        arguments: dict[str, Any] = dict(path_arguments)
        if body is not None:
            arguments[body[0]] = parse_body(event.body, event.is_base64_encoded, body[1])
        parameters = event.query_string_parameters or {}
        for name, kind, default in queries:
            arguments[name] = _parse_query(name, parameters.get(name), kind, default)
        return func(**arguments)

    bound.__name__ = func.__name__
    bound.__doc__ = func.__doc__
    return bound


def _scalar(annotation: Any) -> type:
    """`int`, `str` or `str | None` -> the type to parse the query string into."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation if annotation in (int, str) else str


def body_bytes(raw: str | None, is_base64: bool) -> bytes:
    """The body as the client sent it (API Gateway hands binary bodies over base64-encoded)."""
    if not raw:
        return b""
    if is_base64:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the body is not valid base64", "") from None
    return raw.encode("utf-8", errors="surrogatepass")


def parse_body(raw: str | None, is_base64: bool, model: type[BaseModel]) -> BaseModel:
    """A JSON object under Switchboard's JSON policy, validated against the route's model."""
    data = body_bytes(raw, is_base64)
    if not data.strip():
        raise BadRequest("the body is empty; send a JSON object (`{}` when there is nothing to set)", "")
    try:
        value = strictjson.loads(data)
    except strictjson.JsonRejected as exc:
        raise BadRequest(str(exc), "") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object", "")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _parse_query(name: str, value: str | None, kind: type, default: Any) -> Any:
    if value is None:
        return None if default is inspect.Parameter.empty else default
    if len(value) > QUERY_MAX:
        raise BadRequest(f"{name} is longer than {QUERY_MAX} characters", parameter=name)
    if kind is int:
        # ASCII digits only: str.isdigit() would also take full-width or superscript digits
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= NUMBER_MAX:
            raise BadRequest(f"{name} must be a whole number from 1 to {NUMBER_MAX}", parameter=name)
        return int(value)
    return value
