"""Schemathesis hooks for the API fuzzer: schema-valid cases name real objects.

The schema says what a value looks like; whether it names something is state. A positive
(schema-valid) case that names a random 24-hex id in a body, a random `cursor`, or another
account's data stream is correctly refused with 400 (references must exist, cursors are parsed
strictly). So positive cases get the ids of objects the fuzz test created in the local run
before fuzzing (`SWITCHBOARD_FUZZ_SEEDS`, a JSON file), as Schemathesis recommends for known
ids. Negative cases are sent exactly as generated.

The seeded objects stay for the whole run: a DELETE (of any phase, positive or negative) that
names one, whether generated or taken from a link of the stateful phase, deletes a spare of the
same kind instead, created on the spot (or, for kinds without spares, names no object: a 404).

What else is state rather than shape: a webhook or puller URL must be reachable under the
sender's destination rules, a redrive's `since` must be within the retention window, a
workflow definition must be a consistent graph of known actions, and a puller needs exactly
one of `nextCursorPath` and `cursorField`. Positive cases get valid values for those too.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis


def _describe_lambdas_safely() -> None:
    """CPython 3.11 can raise `SystemError: AST constructor recursion depth mismatch` (gh-106905)
    when Hypothesis parses a lambda's source only to *describe* a strategy. The description is
    cosmetic, so it falls back to a plain one; nothing about generation or the checks changes."""
    from hypothesis.internal import lambda_sources

    describe = lambda_sources.lambda_description

    def lambda_description(f: Any) -> str:
        try:
            return describe(f)
        except SystemError:
            return "lambda"

    lambda_sources.lambda_description = lambda_description


_describe_lambdas_safely()

SEEDS: dict[str, Any] = json.loads(open(os.environ["SWITCHBOARD_FUZZ_SEEDS"]).read())  # noqa: SIM115

# Body attribute -> the seeded object it must name.
_ONE = {"customer": "customer", "conversation": "conversation"}
_MANY = {
    "tags": "tag",
    "members": "user",
    "assignedUsers": "user",
    "assignedTeams": "team",
}
# Path parameter -> seeded object, for operations on one object (deletes excluded: the seeded
# objects must stay for the rest of the run).
_PATHS: dict[str, dict[str, str]] = {
    "/v1/outbound-webhooks/{webhook_id}": {"webhook_id": "webhook"},
    "/v1/outbound-webhooks/{webhook_id}/attempts": {"webhook_id": "webhook"},
    "/v1/outbound-webhooks/{webhook_id}/rotate-secret": {"webhook_id": "webhook"},
    "/v1/outbound-webhooks/{webhook_id}/redrive": {"webhook_id": "webhook"},
    "/v1/data-streams/{stream_id}": {"stream_id": "stream"},
    "/v1/data-streams/{stream_id}/backfill": {"stream_id": "stream"},
    "/v1/data-streams/{stream_id}/redrive": {"stream_id": "stream"},
    "/v1/hooks/{hook_type}": {"hook_type": "hookType"},
    "/v1/hooks/web/{hook_id}": {"hook_id": "hook"},  # the demo hook is a web hook
    "/v1/customers/{object_id}": {"object_id": "customer"},
    "/v1/conversations/{object_id}": {"object_id": "conversation"},
    "/v1/messages/{object_id}": {"object_id": "message"},
    "/v1/users/{object_id}": {"object_id": "user"},
    "/v1/teams/{object_id}": {"object_id": "team"},
    "/v1/tags/{object_id}": {"object_id": "tag"},
    "/v1/customers/{customer_id}/conversations": {"customer_id": "customer"},
    "/v1/customers/{customer_id}/messages": {"customer_id": "customer"},
    "/v1/customers/{customer_id}/klasses/{klass_name}": {"customer_id": "customer", "klass_name": "klass"},
    "/v1/conversations/{conversation_id}/messages": {"conversation_id": "conversation"},
}

# The hook receive operations: the address of a hook the fuzz test created (its org and hash).
_RECEIVE = {
    ("POST", "/v1/hooks/web/{hook_id}"): lambda: {"hook_id": SEEDS["webHook"]["hash"]},
    ("POST", "/v1/hooks/form/{orgId}/{hash}"): lambda: {
        "orgId": SEEDS["org"],
        "hash": SEEDS["formHook"]["hash"],
    },
}

# Every seeded id or name a DELETE must never reach.
_KEPT = {
    SEEDS[name]
    for name in (
        "customer",
        "conversation",
        "message",
        "user",
        "team",
        "tag",
        "klass",
        "hook",
        "webhook",
        "stream",
    )
}


def _spare(path: str) -> str:
    """A new object of the kind `path` deletes, or an id that names none (a 404)."""
    bodies: dict[str, dict[str, Any]] = {
        "/v1/customers/": {"name": "Fuzz Spare"},
        "/v1/conversations/": {"customer": SEEDS["customer"]},
        "/v1/messages/": {"conversation": SEEDS["conversation"], "channel": "email"},
        "/v1/teams/": {"name": f"fuzz-spare-{secrets.token_hex(6)}"},
        "/v1/tags/": {"name": f"fuzz-spare-{secrets.token_hex(6)}"},
    }
    for prefix, body in bodies.items():
        if path.startswith(prefix):
            request = urllib.request.Request(
                SEEDS["apiUrl"] + prefix.removeprefix("/v1").rstrip("/"),
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Authorization": f"Bearer {SEEDS['apiKey']}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read())["data"]["id"])
    return secrets.token_hex(12)


def _keep_seeds(case: Any) -> None:
    parameters = case.path_parameters
    if case.method.upper() != "DELETE" or not isinstance(parameters, dict):
        return
    for name, value in parameters.items():
        if isinstance(value, str) and value in _KEPT:
            parameters[name] = _spare(case.operation.path)


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    _keep_seeds(case)
    if not _positive(case):
        return case
    path = case.operation.path
    method = case.method.upper()
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    # Stateful cases take their ids from the responses they follow (links): left alone.
    stateful = case.meta.phase.name == "stateful"
    if method != "DELETE" and not stateful and path in _PATHS and isinstance(case.path_parameters, dict):
        for name, seeded in _PATHS[path].items():
            case.path_parameters[name] = SEEDS[seeded]
    if not stateful and (method, path) in _RECEIVE and isinstance(case.path_parameters, dict):
        case.path_parameters.update(_RECEIVE[method, path]())
    body = case.body
    if isinstance(body, dict):
        _references(body)
        _state(path, method, body)
    return case


def _references(body: dict[str, Any]) -> None:
    for name, kind in _ONE.items():
        if isinstance(body.get(name), str):
            body[name] = SEEDS[kind]
    for name, kind in _MANY.items():
        if isinstance(body.get(name), list):
            body[name] = [SEEDS[kind]] if body[name] else []


def _state(path: str, method: str, body: dict[str, Any]) -> None:
    if path.startswith("/v1/outbound-webhooks") and isinstance(body.get("url"), str):
        body["url"] = SEEDS["url"]
    if path.endswith("/redrive") and isinstance(body.get("since"), str):
        body["since"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    if path == "/v1/data-streams" and method == "POST":
        body.update(accountId=SEEDS["accountId"], region=SEEDS["region"])
    if (method, path) in (("POST", "/v1/workflows"), ("PUT", "/v1/workflows/{workflow_id}")):
        body.clear()
        body.update(json.loads(json.dumps(SEEDS["workflow"])))
    if path == "/v1/klasses/{reference}" and method in ("PUT", "PATCH"):
        # A klass's name is immutable: the one it was created with is state.
        body.pop("name", None)
    if path.startswith("/v1/klasses/") and isinstance(body.get("custom"), dict):
        # Which custom attributes a kobject may hold is its klass's definition (state).
        body.pop("custom")
    if path.startswith("/v1/pullers"):
        if isinstance(body.get("url"), str):
            body["url"] = SEEDS["url"]
        if isinstance(body.get("hookId"), str):
            body["hookId"] = SEEDS["hook"]
        if method == "POST":
            body.update(cursorField="updated_at", nextCursorPath=None)
        else:
            body.pop("cursorField", None)
            body.pop("nextCursorPath", None)
            body.pop("itemsPath", None)
