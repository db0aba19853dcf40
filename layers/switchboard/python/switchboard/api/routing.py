"""Routes declared together with the permission each needs, checked before anything else runs.

`endpoint(...)` registers a Powertools route and records its permission, so a route without a
permission cannot be written. The gate in `app.py` authenticates the key and checks the role
before body validation, so a caller without the role learns nothing from validation errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from switchboard.domain.auth import Permission, Principal

PUBLIC = Permission("public", frozenset({"*public*"}))
CURRENT_PRINCIPAL: ContextVar[Principal] = ContextVar("principal")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    pattern: re.Pattern[str]
    permission: Permission


ENDPOINTS: list[Endpoint] = []


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(
        "^" + re.sub(r"<\w+>", r"[^/]+", re.escape(path).replace(r"\<", "<").replace(r"\>", ">")) + "$"
    )


def endpoint(
    router: Router, method: str, path: str, permission: Permission, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `method path` on the router, guarded by `permission`."""
    ENDPOINTS.append(Endpoint(method, path, _pattern(path), permission))
    return router.route(path, method, **options)


def permission_for(method: str, path: str) -> Permission | None:
    """The permission of the first declared route matching, in declaration order (as Powertools)."""
    ordered = [e for e in ENDPOINTS if "<" not in e.path] + [e for e in ENDPOINTS if "<" in e.path]
    for candidate in ordered:
        if candidate.method == method and candidate.pattern.match(path):
            return candidate.permission
    return None


def principal() -> Principal:
    return CURRENT_PRINCIPAL.get()
