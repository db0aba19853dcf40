"""The OpenAPI document, made true to what the API answers.

Powertools generates the paths, parameters and body schemas from the route functions; this
module finishes each operation from what routing knows about it (`routing.DESCRIBED`): the
success status it really returns, the JSON:API errors it can return (and no 422, which the API
never answers), the bearer key it needs, the bounds `routing` enforces on query parameters, and
the attributes a create requires (`Kind.required`). The fuzzer (tests/e2e/test_api_fuzz.py)
holds the API to this document.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from switchboard.api import routing
from switchboard.domain import attributes, kinds, models
from switchboard.domain.hooks import MAX_BODY_BYTES as HOOK_BODY_MAX
from switchboard.domain.hooks import MAX_KEY_LENGTH, HookBody
from switchboard.domain.webhooks import WebhookBody
from switchboard.http import JSON
from switchboard.pipeline import hooks, pull
from switchboard.pipeline.webhooks import NOT_NULL as WEBHOOK_NOT_NULL
from switchboard.pipeline.webhooks import REQUIRED as WEBHOOK_REQUIRED

SECURITY_SCHEME = "apiKey"
ERROR = "Error"
NOT_OURS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
WRITES = ("POST", "PUT", "PATCH", "DELETE")

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A JSON:API error document",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "code", "title", "detail"],
                "properties": {
                    "status": {"type": "string", "pattern": "^[45][0-9][0-9]$"},
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "source": {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": {
                            "pointer": {"type": "string", "description": "JSON pointer into the body"},
                            "parameter": {"type": "string", "description": "query parameter"},
                        },
                    },
                },
            },
        }
    },
}
_ERRORS: dict[int, str] = {
    400: "Malformed request: a body that is empty, not UTF-8, not RFC 8259 JSON, nested deeper than 64 "
    "or not an object; an invalid or unknown attribute (`source.pointer`); a bad query parameter "
    "(`source.parameter`); a related object that does not exist",
    401: "No key, a malformed `Authorization` header, an unknown or revoked key",
    403: "The key lacks every role the operation accepts",
    404: "Unknown object, a lookup that misses, another org's object",
    409: "An identifier held by another object, a stale `rev`, or a state that forbids the operation",
    413: "A body over 256 KB, or an object that would exceed 400 KB",
}
_THROTTLED: dict[str, Any] = {
    "description": "Throttled by the API Gateway stage (`throttleRate`/`throttleBurst`); retry later",
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}
    },
}
_SUCCESS: dict[int, str] = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document with true responses, security, bounds and required attributes."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in NOT_OURS:
        schemas.pop(name, None)
    schemas[ERROR] = _ERROR_SCHEMA
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer sbk_...`",
        }
    }
    for schema in schemas.values():
        _formats(schema)
        _custom(schema)
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            declared = routing.DESCRIBED.get((method.upper(), re.sub(r"\{(\w+)\}", r"<\1>", path)))
            if declared is not None:
                _operation(method.upper(), path, operation, declared, schemas)
        _merge(paths, path, item)
    _split_hook_types(paths)
    _hook_receivers(paths, schemas)
    document["paths"] = paths
    return document


def _operation(
    method: str, path: str, operation: dict[str, Any], declared: routing.Endpoint, schemas: dict[str, Any]
) -> None:
    parameters = operation.get("parameters") or []
    for parameter in parameters:
        _bound(parameter)
    body = operation.get("requestBody")
    if body is not None:
        _require(method, path, body, schemas)
    responses: dict[str, Any] = {}
    status = declared.status
    if status == 204:
        responses["204"] = {"description": _SUCCESS[204]}
    else:
        responses[str(status)] = {
            "description": _SUCCESS.get(status, "OK"),
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    errors: list[int] = []
    if parameters or body is not None:
        errors.append(400)
    public = declared.permission is routing.PUBLIC
    if not public:
        errors += [401, 403]
    if any(p.get("in") == "path" for p in parameters):
        errors.append(404)
    if method in WRITES:
        errors.append(409)
    if body is not None:
        errors.append(413)
    for code in sorted(errors):
        responses[str(code)] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
        }
    if not public:
        responses["429"] = _THROTTLED
        operation["security"] = [{SECURITY_SCHEME: []}]
    operation["responses"] = responses


def _bound(parameter: dict[str, Any]) -> None:
    """The limits `routing` enforces on path and query values."""
    schema = parameter.setdefault("schema", {})
    if parameter.get("in") == "query" and "anyOf" in schema:
        # A query value is text or left out: `Optional[int]` (`?rev=`) means it may be left out,
        # never that it may be null; what it is when given is the rest of the union.
        options = [o for o in schema.pop("anyOf") if o.get("type") != "null"]
        if len(options) == 1:
            schema.update(options[0])
        else:
            schema["anyOf"] = options
    if parameter.get("in") == "path":
        schema["minLength"] = 1
    elif schema.get("type") == "integer":
        schema.update(minimum=1, maximum=routing.NUMBER_MAX)
    elif parameter.get("in") == "query":
        for option in schema.get("anyOf", [schema]):
            if option.get("type") == "string":
                option["maxLength"] = routing.QUERY_MAX


def _formats(schema: dict[str, Any]) -> None:
    """Timestamps (`...At`, a redrive's `since`) are ISO-8601 date-times: any other string is refused."""
    for name, prop in (schema.get("properties") or {}).items():
        if name.endswith("At") or name == "since":
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "string":
                    option.setdefault("format", "date-time")


# What each type suffix of a custom attribute admits (`attributes.CHECKS`); null clears any.
_CUSTOM_VALUES: dict[str, dict[str, Any]] = {
    "Str": {"type": "string", "maxLength": attributes.STR_MAX},
    "Txt": {"type": "string", "maxLength": attributes.TXT_MAX},
    "Num": {"type": "number"},
    "At": {"type": "string", "format": "date-time"},
    "Bool": {"type": "boolean"},
    "Url": {"type": "string", "maxLength": attributes.URL_MAX, "pattern": attributes.URL},
    "Id": {"type": "string", "maxLength": attributes.STR_MAX},
}


def _custom(schema: dict[str, Any]) -> None:
    """`custom` keys end with a type suffix that says what the value may be (`domain.attributes`)."""
    prop = (schema.get("properties") or {}).get("custom")
    if prop is None:
        return
    assert set(_CUSTOM_VALUES) == set(attributes.CHECKS), "a custom attribute suffix without a schema"
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "object":
            option.pop("additionalProperties", None)
            option.update(
                maxProperties=attributes.CUSTOM_MAX_KEYS,
                propertyNames={"pattern": attributes.NAME},
                patternProperties={
                    f"{suffix}$": {"anyOf": [value, {"type": "null"}]}
                    for suffix, value in _CUSTOM_VALUES.items()
                },
            )


def _required_by_model() -> dict[str, tuple[str, ...]]:
    required = {kind.model.__name__: kind.required for kind in kinds.BY_NAME.values()}
    required[models.KObjectBody.__name__] = kinds.kobject_kind("x").required
    required[WebhookBody.__name__] = WEBHOOK_REQUIRED
    required[HookBody.__name__] = hooks.REQUIRED
    return required


def _not_null_by_model() -> dict[str, tuple[str, ...]]:
    """What an update may leave out but not set to null: what a create requires, and more for some."""
    return {
        **_required_by_model(),
        WebhookBody.__name__: WEBHOOK_NOT_NULL,
        HookBody.__name__: hooks.NOT_NULL,
        pull.PullerPatch.__name__: pull.NOT_NULL,
    }


# A message is created in a conversation or for a customer: a body without the path naming
# either must name one (not null).
_ONE_OF_PARENTS = ("conversation", "customer")


def _require(method: str, path: str, body: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A create names the kind's required attributes (not null, not empty); an update cannot remove
    them, nor set to null what the service refuses as null (`_not_null_by_model`).

    A relationship the path supplies (`customer` under `/v1/customers/{id}`) is not required.
    """
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    declared = (_required_by_model() if method == "POST" else _not_null_by_model()).get(name, ())
    names = [n for n in declared if f"{{{n}_id}}" not in path]
    parents = name == models.MessageBody.__name__ and not any(f"{{{p}_id}}" in path for p in _ONE_OF_PARENTS)
    if not names and not parents:
        return
    present = {n: _present(schemas[name]["properties"][n]) for n in names}
    extra: dict[str, Any] = {"type": "object", "properties": present}
    if method == "POST":
        extra["required"] = names
        if parents:
            extra["anyOf"] = [
                {"required": [p], "properties": {p: _present(schemas[name]["properties"][p])}}
                for p in _ONE_OF_PARENTS
            ]
    body["content"]["application/json"]["schema"] = {"allOf": [schema, extra]}


def _present(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without `null` and, for strings, without the empty string."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    result = copy.deepcopy(options[0]) if len(options) == 1 else {"anyOf": copy.deepcopy(options)}
    if result.get("type") == "string":
        result["minLength"] = max(1, result.get("minLength", 0))
    return result


def _merge(paths: dict[str, Any], path: str, item: dict[str, Any]) -> None:
    """Routes with the same shape under different names (`/v1/klasses/{reference}` and
    `/v1/klasses/{klass_name}`) are one path in OpenAPI: the later takes the first one's names."""
    shape = re.sub(r"\{\w+\}", "{}", path)
    for existing in paths:
        if re.sub(r"\{\w+\}", "{}", existing) == shape and existing != path:
            renames = dict(
                zip(re.findall(r"\{(\w+)\}", path), re.findall(r"\{(\w+)\}", existing), strict=True)
            )
            for operation in item.values():
                for parameter in operation.get("parameters") or []:
                    if parameter.get("in") == "path":
                        parameter["name"] = renames.get(parameter["name"], parameter["name"])
            paths[existing].update(item)
            return
    paths[path] = item


# --- the hook receive operations ------------------------------------------------------------
# API Gateway routes `POST /v1/hooks/form/{orgId}/{hash}` and `POST /v1/hooks/web/{hash}` to the
# hooks function (`switchboard.entrypoints.hooks`), every other method there to this API; both
# answer `application/json` with the same error document (`switchboard.http`).
HOOK_TYPES_PATH = "/v1/hooks/{hook_type}/{hook_id}"
WEB_RECEIVE = "/v1/hooks/web/{hook_id}"
FORM_RECEIVE = "/v1/hooks/form/{orgId}/{hash}"
HOOK_TRANSACTION = "HookTransaction"
_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$", "minLength": 64, "maxLength": 64}
# What `str.strip()` removes from a header value (Latin-1: what a header can carry).
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0"
_KEY_PATTERN = rf"^[{_SPACE}]*[^{_SPACE}](?:[^\r\n]{{0,{MAX_KEY_LENGTH - 2}}}[^{_SPACE}])?[{_SPACE}]*$"
_HOOK_ERRORS: dict[int, str] = {
    400: "The body is not RFC 8259 JSON (empty, not UTF-8, `NaN`/`Infinity`, a number out of a "
    "double's range, an unpaired surrogate escape, nested deeper than 64), or a bad `Idempotency-Key`",
    401: "The hook's configured partner signature header is missing or does not match the body",
    403: "The key lacks `org.hooks` (and `org.admin`)",
    404: "No enabled hook of this kind at this address in this org (a disabled hook looks like none)",
    413: f"A body over {HOOK_BODY_MAX // 1024} KB",
    415: "A `Content-Type` other than `application/json` or `application/<x>+json`",
}


def _split_hook_types(paths: dict[str, Any]) -> None:
    """`/v1/hooks/{hook_type}/{hook_id}` as its two real resources, `/v1/hooks/form/{hook_id}` and
    `/v1/hooks/web/{hook_id}` (any other type is a 404): the web one also takes the web hook
    receive `POST`, so each path lists every method served at its URLs."""
    item = paths.pop(HOOK_TYPES_PATH, None)
    if item is None:
        return
    for hook_type in ("form", "web"):
        copied = copy.deepcopy(item)
        for operation in copied.values():
            operation["parameters"] = [p for p in operation.get("parameters", []) if p["name"] != "hook_type"]
            if "operationId" in operation:
                operation["operationId"] = operation["operationId"].replace("hook_type", hook_type)
        paths[f"/v1/hooks/{hook_type}/{{hook_id}}"] = copied


def _hook_receivers(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    schemas[HOOK_TRANSACTION] = {
        "type": "object",
        "description": "A received request, stored and queued for the workflows the hook triggers",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "object",
                "required": ["type", "id", "attributes"],
                "properties": {
                    "type": {"type": "string", "enum": ["hook_transaction"]},
                    "id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
                    "attributes": {
                        "type": "object",
                        "required": ["receivedAt", "replayed"],
                        "properties": {
                            "receivedAt": {"type": "string", "format": "date-time"},
                            "replayed": {
                                "type": "boolean",
                                "description": "An earlier request with the same idempotency key "
                                "(within 24 hours): its transaction, not a new one",
                            },
                        },
                    },
                },
            }
        },
    }
    web = _receive(
        "web",
        "Receive a request on a web hook",
        [
            {
                "name": "hook_id",
                "in": "path",
                "required": True,
                "schema": dict(_HASH),
                "description": "The web hook's 64-hex `hash` (its address), not its id",
            }
        ],
    )
    form = _receive(
        "form",
        "Receive a request on a form hook (no key: the 64-hex hash is the secret)",
        [
            {
                "name": "orgId",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$", "minLength": 24, "maxLength": 24},
            },
            {
                "name": "hash",
                "in": "path",
                "required": True,
                "schema": dict(_HASH),
                "description": "The form hook's 64-hex `hash`",
            },
        ],
    )
    paths.setdefault(WEB_RECEIVE, {})["post"] = web
    paths[FORM_RECEIVE] = {"post": form}


def _receive(hook_type: str, summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """One receive operation, as the hooks function answers it."""
    key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": f"1 to {MAX_KEY_LENGTH} characters once surrounding whitespace is removed; "
        "a repeat within 24 hours answers the first request's transaction",
        "schema": {"type": "string", "pattern": _KEY_PATTERN},
    }
    errors = [400, 401, 404, 413, 415] if hook_type == "form" else [400, 401, 403, 404, 413, 415]
    responses: dict[str, Any] = {
        "202": {
            "description": "Accepted: stored and queued; the workflows run after",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "Sent (`true`) when the answer is an earlier request's transaction",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{HOOK_TRANSACTION}"}}},
        }
    }
    error = {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}
    for code in errors:
        content = {JSON: error}  # API Gateway's own 413 (over 10 MB) is the same error document
        description = _HOOK_ERRORS[code]
        if code == 401 and hook_type == "web":
            description = f"{_ERRORS[401]}; or {description[0].lower()}{description[1:]}"
        responses[str(code)] = {"description": description, "content": content}
    responses["429"] = _THROTTLED
    return {
        "tags": ["hooks"],
        "summary": summary,
        "description": "Served by the hooks function. The body is any JSON value (RFC 8259, at most "
        f"{HOOK_BODY_MAX // 1024} KB) sent as `application/json` or `application/<x>+json`.",
        "operationId": f"receive_{hook_type}_hook",
        "parameters": [*parameters, key],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"description": "Any JSON value"}}},
        },
        "responses": responses,
        "security": [] if hook_type == "form" else [{SECURITY_SCHEME: []}],
    }
