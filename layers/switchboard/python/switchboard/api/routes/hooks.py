"""Inbound hooks: create, list, get, update (enable, disable, debug) and debug transactions.

The receive addresses themselves (`POST /v1/hooks/form/{orgId}/{hash}`, `POST /v1/hooks/web/{hash}`)
belong to the hooks function (`switchboard.entrypoints.hooks`), not to this API.
No `from __future__ import annotations`: routing reads the body models from the annotations.
"""

import json

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import Revision
from switchboard.api.routing import endpoint, principal
from switchboard.domain.auth import HOOK
from switchboard.domain.hooks import HOOK_TYPES, HookBody, resource
from switchboard.errors import NotFound

BASE = "/v1/hooks/<hook_type>"
ONE = f"{BASE}/<hook_id>"
TAGS = ["hooks"]


def _type(hook_type: str) -> str:
    if hook_type not in HOOK_TYPES:
        raise NotFound(f"no hook type {hook_type!r}; use form or web")
    return hook_type


def base_url(app) -> str:
    """The URL the caller reached the API at (custom domain or stage URL), for hook addresses."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = headers.get("host")
    if not host:
        return ""
    scheme = headers.get("x-forwarded-proto", "https")
    context_path = (event.raw_event.get("requestContext") or {}).get("path") or event.path
    prefix = context_path[: len(context_path) - len(event.path)] if context_path.endswith(event.path) else ""
    return f"{scheme}://{host}{prefix}"


def register(app) -> None:
    @endpoint(app, "POST", BASE, HOOK["create"], summary="Create a form or web hook", tags=TAGS)
    def create_hook(hook_type: str, body: HookBody):
        hook = services.hooks().create(principal().org, _type(hook_type), body)
        return jsonapi.respond({"data": resource(hook, base_url(app))}, 201)

    @endpoint(app, "GET", BASE, HOOK["read"], summary="List hooks of one type", tags=TAGS)
    def list_hooks(hook_type: str):
        found = services.hooks().list(principal().org, _type(hook_type))
        base = base_url(app)
        return jsonapi.respond({"meta": {"total": len(found)}, "data": [resource(h, base) for h in found]})

    @endpoint(app, "GET", ONE, HOOK["read"], summary="Get a hook (with its address)", tags=TAGS)
    def get_hook(hook_type: str, hook_id: str):
        hook = services.hooks().get(principal().org, _type(hook_type), hook_id)
        return jsonapi.respond({"data": resource(hook, base_url(app))})

    for method in ("PATCH", "PUT"):

        def update_hook(hook_type: str, hook_id: str, body: HookBody, rev: Revision | None = None):
            hook = services.hooks().update(principal().org, _type(hook_type), hook_id, body, rev)
            return jsonapi.respond({"data": resource(hook, base_url(app))})

        update_hook.__name__ = f"update_hook_{method.lower()}"
        endpoint(
            app, method, ONE, HOOK["update"], summary="Edit; enable, disable or debug a hook", tags=TAGS
        )(update_hook)

    @endpoint(
        app,
        "GET",
        f"{ONE}/transactions",
        HOOK["read"],
        summary="Recent transactions of a hook with debug: true (24 h)",
        tags=TAGS,
    )
    def hook_transactions(hook_type: str, hook_id: str, pageSize: int = 100):
        rows = services.hooks().transactions(principal().org, _type(hook_type), hook_id, min(pageSize, 100))
        data = []
        for row in rows:
            try:
                body = json.loads(row["body"])
            except ValueError:
                body = None
            data.append(
                {
                    "type": "hook_transaction",
                    "id": row["id"],
                    "attributes": {"receivedAt": row["receivedAt"], "headers": row["headers"], "data": body},
                }
            )
        return jsonapi.respond({"meta": {"total": len(data)}, "data": data})
