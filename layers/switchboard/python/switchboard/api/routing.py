"""Routes declared together with the permission each needs, and their arguments bound lazily.

`endpoint(...)` registers a Powertools route and records its permission, so a route without a
permission cannot be written. The gate in `app.py` authenticates the key and checks the role
before anything else, so a caller without the role learns nothing from validation errors.

Serving resolvers run without Powertools' OpenAPI validation: importing it costs ~0.2 s of
cold start. Instead each route's signature is read once here: a pydantic-model parameter is
the JSON body (validated with pointers into it), other non-path parameters are query strings.
The documentation resolver (built only when `/v1/openapi.json` or `/v1/docs` is asked for)
registers the same functions as they are, so the OpenAPI document describes exactly these.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from switchboard.domain.auth import Permission, Principal
from switchboard.domain.service import validation_error
from switchboard.errors import BadRequest

PUBLIC = Permission("public", frozenset({"*public*"}))
CURRENT_PRINCIPAL: ContextVar[Principal] = ContextVar("principal")
QUERY_MAX = 1024


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    pattern: re.Pattern[str]
    permission: Permission


ENDPOINTS: list[Endpoint] = []


def pattern(path: str) -> re.Pattern[str]:
    """The regex of a Powertools path (`<name>` matches one segment)."""
    return re.compile("^" + re.sub(r"<\w+>", "[^/]+", path) + "$")


def documenting(router: Any) -> bool:
    return bool(getattr(router, "_enable_validation", False))


def endpoint(
    router: Any, method: str, path: str, permission: Permission, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `method path` on the router, guarded by `permission`."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if documenting(router):
            router.route(path, method, **options)(func)
        else:
            ENDPOINTS.append(Endpoint(method, path, pattern(path), permission))
            router.route(path, method, **options)(_bind(router, path, func))
        return func

    return decorate


def permission_for(method: str, path: str) -> Permission | None:
    """The permission of the route Powertools will pick: static paths first, then declaration order."""
    ordered = [e for e in ENDPOINTS if "<" not in e.path] + [e for e in ENDPOINTS if "<" in e.path]
    for candidate in ordered:
        if candidate.method == method and candidate.pattern.match(path):
            return candidate.permission
    return None


def principal() -> Principal:
    return CURRENT_PRINCIPAL.get()


def _bind(router: Any, path: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a route function so it receives its body model and query parameters."""
    path_names = set(re.findall(r"<(\w+)>", path))
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
        event = router.current_event
        arguments: dict[str, Any] = dict(path_arguments)
        if body is not None:
            arguments[body[0]] = _parse_body(event, body[1])
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


def _parse_body(event: Any, model: type[BaseModel]) -> BaseModel:
    raw = event.body or ""
    if event.is_base64_encoded:
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        data = json.loads(raw, parse_constant=_no_constant) if raw.strip() else {}
    except RecursionError:
        raise BadRequest("the body is nested too deeply", "") from None
    except ValueError:
        raise BadRequest("the body is not valid JSON", "") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", "")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them."""
    raise ValueError(f"{name} is not a JSON value")


def _parse_query(name: str, value: str | None, kind: type, default: Any) -> Any:
    if value is None:
        return None if default is inspect.Parameter.empty else default
    if len(value) > QUERY_MAX:
        raise BadRequest(f"{name} is longer than {QUERY_MAX} characters", parameter=name)
    if kind is int:
        if not value.isdigit() or int(value) < 1 or int(value) > 1_000_000:
            raise BadRequest(f"{name} must be a whole number from 1", parameter=name)
        return int(value)
    return value
