"""The OpenAPI document states the validators' rules: for each sample, the request body schema
accepts it exactly when the API's validation does (headers of webhooks and pullers, `custom`
keys and values, a puller's cursor source, nulls on a webhook update)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from pydantic import ValidationError

from switchboard.api import app, routing
from switchboard.domain.attributes import check_custom
from switchboard.domain.models import KlassBody
from switchboard.domain.webhooks import Header
from switchboard.errors import BadRequest
from switchboard.pipeline import hooks, pull
from switchboard.pipeline.pull import PullerBody, PullerPatch
from switchboard.pipeline.webhooks import NOT_NULL


@cache
def document() -> dict[str, Any]:
    return json.loads(app.openapi_json())


def body_schema(method: str, path: str) -> dict[str, Any]:
    return document()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def component(name: str) -> dict[str, Any]:
    return document()["components"]["schemas"][name]


def valid(schema: dict[str, Any], value: Any) -> bool:
    resolved = {**schema, "components": document()["components"]}
    # ECMA-262 regular expressions, as JSON Schema means them (and as the fuzzer reads them).
    return jsonschema_rs.Draft202012Validator(resolved, validate_formats=True).is_valid(value)


HEADER_NAMES = [
    "Authorization",
    "X-Api-Key",
    "x!#$%&'*+.^_`|~1",
    "a" * 128,
    "a" * 129,
    "",
    "xì",
    "\x82K",
    "X Api",
    "X:Api",
    "Host",
    "cOnTeNt-LeNgTh",
    "Transfer-Encoding",
    "name\n",
]
HEADER_VALUES = [
    "",
    "Bearer abc",
    "a b\tc",
    "caf\xe9",
    " lead",
    "trail ",
    "x\r\ny",
    "nul\x00",
    "bell\x07",
    "✓",
]


def puller_accepts(headers: dict[str, str]) -> bool:
    body = {
        "name": "n",
        "url": "https://shop.example/orders",
        "hookId": "0" * 24,
        "idField": "id",
        "cursorParam": "after",
        "cursorField": "updated_at",
        "headers": headers,
    }
    try:
        PullerBody.model_validate(body)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", HEADER_NAMES)
def test_a_puller_header_name_is_refused_exactly_when_the_schema_refuses_it(name: str) -> None:
    schema = component("PullerBody")["properties"]["headers"]
    assert valid(schema, {name: "v"}) == puller_accepts({name: "v"}), name


@pytest.mark.parametrize("value", HEADER_VALUES)
def test_a_puller_header_value_is_refused_exactly_when_the_schema_refuses_it(value: str) -> None:
    schema = component("PullerBody")["properties"]["headers"]
    assert valid(schema, {"X-Key": value}) == puller_accepts({"X-Key": value}), value


def test_puller_headers_follow_the_senders_rule() -> None:
    assert puller_accepts({"X-Key": "caf\xe9"})
    assert not puller_accepts({"X-Key": "bell\x07"}), "a control character cannot be sent"
    assert not puller_accepts({"X-Key": " lead"}), "a receiver would strip it"
    assert not puller_accepts({"connection": "close"})


def header_accepts(name: str, value: str) -> bool:
    try:
        Header(name=name, value=value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", [*HEADER_NAMES, "X-Kustomer-Sig", "WEBHOOK-id", "User-Agent", "X-Webhook"])
def test_a_webhook_header_name_is_refused_exactly_when_the_schema_refuses_it(name: str) -> None:
    assert valid(component("Header"), {"name": name, "value": "v"}) == header_accepts(name, "v"), name


@pytest.mark.parametrize("value", HEADER_VALUES)
def test_a_webhook_header_value_is_refused_exactly_when_the_schema_refuses_it(value: str) -> None:
    assert valid(component("Header"), {"name": "X-Key", "value": value}) == header_accepts("X-Key", value)


def custom_accepted(custom: dict[str, Any]) -> bool:
    try:
        check_custom(custom)
    except BadRequest:
        return False
    return True


CUSTOM = [
    {"tierStr": "gold"},
    {"tierStr": None},
    {"tierStr": 1},
    {"tierStr": "x" * 1025},
    {"notesTxt": "x" * 1025},
    {"scoreNum": 1.5},
    {"scoreNum": True},
    {"scoreNum": "1"},
    {"seenAt": "2024-05-01T10:00:00Z"},
    {"seenAt": "yesterday"},
    {"vipBool": False},
    {"vipBool": 0},
    {"siteUrl": "https://example.com/a"},
    {"siteUrl": "HTTP://example.com"},
    {"siteUrl": "ftp://example.com"},
    {"siteUrl": "https:///path"},
    {"siteUrl": "example.com"},
    {"siteUrl": "https://exa mple.com/"},
    {"siteUrl": "https://example.com/a b"},
    {"siteUrl": "https://example.com/\t"},
    {"siteUrl": " https://example.com/"},
    {"siteUrl": "https://example.com/\u3000"},
    {"siteUrl": "https://example.com/\x00"},
    {"siteUrl": "https://example.com/%20?q=a%20b#frag"},
    {"siteUrl": "https://" + "a" * 2041},
    {"siteUrl": "https://" + "a" * 2042},
    {"orderId": "A-1"},
    {"tier": "gold"},
    {"TierStr": "gold"},
    {"tierStr\n": "gold"},
    {"tier_2Str": "gold"},
    {"Q\U000fbeea": "x"},
    {"": 1},
]


@pytest.mark.parametrize("custom", CUSTOM, ids=lambda c: repr(c)[:40])
@pytest.mark.parametrize(
    "model", ["CustomerBody", "UserBody", "ConversationBody", "MessageBody", "KObjectBody"]
)
def test_custom_attributes_are_refused_exactly_when_the_schema_refuses_them(
    model: str, custom: dict[str, Any]
) -> None:
    schema = component(model)["properties"]["custom"]
    assert valid(schema, custom) == custom_accepted(custom), custom


CURSOR_SOURCES = [
    ({"cursorField": "updated_at"}, True),
    ({"cursorField": "updated_at", "nextCursorPath": None}, True),
    ({"nextCursorPath": "meta.next", "itemsPath": "data"}, True),
    ({"nextCursorPath": "meta.next", "itemsPath": "data", "cursorField": None}, True),
    ({"nextCursorPath": "meta.next"}, False),
    ({"nextCursorPath": "meta.next", "itemsPath": ""}, False),
    ({"nextCursorPath": "meta.next", "itemsPath": "data", "cursorField": "updated_at"}, False),
    ({}, False),
    ({"cursorField": None, "nextCursorPath": None}, False),
]


@pytest.mark.parametrize(("source", "accepted"), CURSOR_SOURCES)
def test_a_pullers_cursor_source_is_stated_in_the_schema(source: dict[str, Any], accepted: bool) -> None:
    body = {
        "name": "n",
        "url": "https://shop.example/orders",
        "hookId": "0" * 24,
        "idField": "id",
        "cursorParam": "after",
        **source,
    }
    PullerBody.model_validate(body)  # the model alone accepts each; the service decides
    assert valid(body_schema("post", "/v1/pullers"), body) == accepted, source


@pytest.mark.parametrize(
    ("patch", "accepted"),
    [
        ({"cursorField": "updated_at"}, True),
        ({"nextCursorPath": "meta.next", "itemsPath": "data"}, True),
        ({"nextCursorPath": "meta.next", "cursorField": "updated_at"}, False),
        ({"nextCursorPath": "meta.next", "itemsPath": ""}, False),
        ({"nextCursorPath": "meta.next", "itemsPath": None}, False),
    ],
)
def test_what_no_puller_can_be_updated_to_is_refused_by_the_schema(
    patch: dict[str, Any], accepted: bool
) -> None:
    PullerPatch.model_validate(patch)
    for method in ("put", "patch"):
        assert valid(body_schema(method, "/v1/pullers/{puller_id}"), patch) == accepted, (method, patch)


@pytest.mark.parametrize("name", NOT_NULL)
def test_a_webhook_update_cannot_send_null_where_the_service_refuses_it(name: str) -> None:
    for method in ("put", "patch"):
        assert not valid(body_schema(method, "/v1/outbound-webhooks/{webhook_id}"), {name: None}), (
            method,
            name,
        )
    assert valid(body_schema("put", "/v1/outbound-webhooks/{webhook_id}"), {"description": None})


def test_a_webhook_create_may_send_a_null_enabled() -> None:
    body = {
        "name": "n",
        "url": "https://example.com/h",
        "events": ["kustomer.customer.create"],
        "enabled": None,
    }
    assert valid(body_schema("post", "/v1/outbound-webhooks"), body)


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/v1/outbound-webhooks/{webhook_id}", NOT_NULL),
        ("/v1/hooks/web/{hook_id}", hooks.NOT_NULL),
        ("/v1/pullers/{puller_id}", pull.NOT_NULL),
    ],
)
def test_an_update_cannot_send_null_where_the_service_refuses_it(path: str, names: tuple[str, ...]) -> None:
    assert "enabled" in names
    for method in ("put", "patch"):
        for name in names:
            assert not valid(body_schema(method, path), {name: None}), (method, path, name)


def test_a_hook_create_names_a_title() -> None:
    assert not valid(body_schema("post", "/v1/hooks/{hook_type}"), {"title": None})
    assert not valid(body_schema("post", "/v1/hooks/{hook_type}"), {"title": ""})
    assert valid(body_schema("post", "/v1/hooks/{hook_type}"), {"title": "t", "enabled": None})


def test_query_parameters_are_never_null_and_whole_numbers_are_bounded() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                assert "null" not in json.dumps(schema), (method, path, parameter)
                if schema.get("type") == "integer":
                    assert (schema["minimum"], schema["maximum"]) == (1, routing.NUMBER_MAX), (method, path)
    rev = [
        p for p in document()["paths"]["/v1/tags/{object_id}"]["patch"]["parameters"] if p["name"] == "rev"
    ]
    assert [p["schema"]["type"] for p in rev] in ([], ["integer"])


def test_a_body_rev_written_with_a_zero_fraction_is_an_integer_as_the_schema_says() -> None:
    from switchboard.domain.models import TagBody

    assert valid(component("TagBody")["properties"]["rev"], 2.0)
    assert TagBody.model_validate({"rev": 2.0}).rev == 2
    for refused in (True, 2.5, "2"):
        with pytest.raises(ValidationError):
            TagBody.model_validate({"rev": refused})


def klass_accepted(body: dict[str, Any]) -> bool:
    try:
        KlassBody.model_validate(body)
    except ValidationError:
        return False
    return True


KLASS_PROPERTIES = [
    {"orderNumberStr": {"displayName": "Order number"}, "placedAt": {}},
    {"a b": {}},
    {"": {}},
    {"order": {}},
    {"OrderStr": {}},
    {"statusStr\n": {}},
    {f"p{n}Str": {} for n in range(200)},
    {f"p{n}Str": {} for n in range(201)},
]


@pytest.mark.parametrize("properties", KLASS_PROPERTIES, ids=lambda p: repr(p)[:40])
def test_klass_properties_are_refused_exactly_when_the_schema_refuses_them(
    properties: dict[str, Any],
) -> None:
    body = {"name": "order", "metadata": {"properties": properties}}
    assert valid(component("KlassBody"), body) == klass_accepted(body), list(properties)[:3]
