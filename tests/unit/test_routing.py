"""Every route of the API declares the permission it needs; the gate finds it like Powertools does."""

import base64

import pytest
from pydantic import BaseModel, ConfigDict

from switchboard.api import routing
from switchboard.api.app import build_app
from switchboard.errors import BadRequest


def test_every_route_has_a_permission_and_only_docs_are_public():
    api = build_app()
    resolver = api.resolver
    routes = resolver._static_routes + resolver._dynamic_routes
    assert len(routes) > 40
    for route in routes:
        path = route.openapi_path.replace("{", "<").replace("}", ">")
        sample = routing.pattern(path).pattern  # sanity: declared paths compile
        assert sample
        concrete = path
        for part in path.split("/"):
            if part.startswith("<"):
                concrete = concrete.replace(part, "0123456789abcdef01234567")
        permission = routing.permission_for(route.method, concrete)
        assert permission is not None, f"{route.method} {path} has no permission"
        if permission is routing.PUBLIC:
            assert path in ("/v1/openapi.json", "/v1/docs"), path


def test_static_paths_win_over_dynamic_ones():
    build_app()
    assert routing.permission_for("GET", "/v1/users/current").name == "key.valid"
    assert routing.permission_for("GET", "/v1/users/0123456789abcdef01234567").name == "user.read"
    assert routing.permission_for("GET", "/v1/nothing") is None


def test_one_normalization_for_gate_and_router():
    build_app()
    assert routing.normalize("/v1/customers/") == "/v1/customers"
    assert routing.normalize("/v1/users/current//") == "/v1/users/current"
    assert routing.normalize("/") == "/"
    assert routing.permission_for("GET", "/v1/users/current/").name == "key.valid"
    assert routing.permission_for("GET", "/v1/outbound-webhooks/events/").name == "outbound_webhook"
    assert routing.permission_for("get", "/v1/customers") is routing.permission_for("GET", "/v1/customers")


NOT_NUMBERS = ["\uff11", "\u00b2", "\u0663", "0", "-1", "+1", "1.0", " 1", "1e3", "1000001", ""]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_numbers_in_the_query_are_ascii_digits_from_one(value):
    with pytest.raises(BadRequest) as caught:
        routing._parse_query("pageSize", value, int, 100)
    assert caught.value.parameter == "pageSize"


def test_numbers_in_the_query_in_range_are_taken():
    assert routing._parse_query("pageSize", "007", int, 100) == 7
    assert routing._parse_query("page", "1000000", int, 1) == 1_000_000
    assert routing._parse_query("page", None, int, 1) == 1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None


@pytest.mark.parametrize(
    ("raw", "base64_encoded", "detail"),
    [
        (None, False, "empty"),
        ("", False, "empty"),
        ("  \n", False, "empty"),
        (base64.b64encode(b'{"name": "caf\xe9"}').decode(), True, "UTF-8"),
        (base64.b64encode(b'{"name": "\xff"}').decode(), True, "UTF-8"),
        ("not base64!", True, "base64"),
        ('{"name": NaN}', False, "NaN"),
        ('{"name": Infinity}', False, "Infinity"),
        ('{"name": 1e400}', False, "out of range"),
        ('{"name": "\\ud800"}', False, "surrogate"),
        ('{"name": "\\udc00\\ud800"}', False, "surrogate"),
        ('{"a":' * 65 + "1" + "}" * 65, False, "deeper than 64"),
        ("[1]", False, "JSON object"),
        ('{"name": "x"', False, "not valid JSON"),
    ],
)
def test_bodies_outside_the_json_policy_are_400(raw, base64_encoded, detail):
    with pytest.raises(BadRequest) as caught:
        routing.parse_body(raw, base64_encoded, Body)
    assert detail in caught.value.detail
    assert caught.value.pointer == ""


def test_bodies_inside_the_json_policy_are_parsed():
    assert routing.parse_body("{}", False, Body) == Body()
    assert routing.parse_body('{"name": "\\ud83d\\ude00"}', False, Body).name == "\U0001f600"
    encoded = base64.b64encode('{"name": "café"}'.encode()).decode()
    assert routing.parse_body(encoded, True, Body).name == "café"
    nested = '{"name": null, "custom": ' + "[" * 63 + "]" * 63 + "}"
    with pytest.raises(BadRequest) as caught:  # 64 levels are JSON; the model refuses `custom`
        routing.parse_body(nested, False, Body)
    assert caught.value.pointer == "/custom"


def test_each_app_grants_its_own_routes_when_several_are_built():
    """A process may build several apps (the local run does): each still serves its routes."""
    first, second = build_app(), build_app()
    event = {
        "path": "/v1/openapi.json/",
        "httpMethod": "GET",
        "headers": {},
        "requestContext": {"stage": "prod", "httpMethod": "GET", "resourcePath": "/v1/{proxy+}"},
        "body": None,
        "isBase64Encoded": False,
    }
    assert first.resolve(event, None)["statusCode"] == 200
    assert second.resolve(event, None)["statusCode"] == 200


# --- the document states the rules the validators apply ---------------------------------------


def _ecma_search(pattern: str, text: str) -> bool:
    """JSON Schema's (ECMA-262) reading of a pattern: `$` is the end of the text only."""
    import re

    return re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), text) is not None


def _document() -> dict:
    import json

    from switchboard.api.app import openapi_json

    return json.loads(openapi_json())


@pytest.mark.parametrize(
    ("model_field", "samples"),
    [
        (("MessageBody", "customer"), ["0" * 24, "a" * 24, "A" * 24, "0" * 23, "", "0" * 24 + "\n"]),
        (
            ("UserBody", "email"),
            ["a@b.co", " a@b.co\u3000", "a b@c.d", "a@b", "@b.c", "a@b.c\n", "x" * 65 + "@b.c", "a@@b.c"],
        ),
        (("KlassBody", "name"), ["order", "a-b_C9", "", "a.b", "x" * 65, "\u00e9"]),
    ],
)
def test_string_rules_are_the_documented_patterns(model_field: tuple[str, str], samples: list[str]) -> None:

    from switchboard.domain import models

    name, field = model_field
    schema = _document()["components"]["schemas"][name]["properties"][field]
    pattern = next(o["pattern"] for o in schema.get("anyOf", [schema]) if "pattern" in o)
    model = getattr(models, name)
    for sample in samples:
        try:
            model.model_validate({field: sample})
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == _ecma_search(pattern, sample), (field, sample)


def test_phones_are_documented_as_the_validator_reads_them() -> None:

    from switchboard.domain import models

    pattern = _document()["components"]["schemas"]["PhoneEntry"]["properties"]["phone"]["pattern"]
    for sample in [
        "+14155550100",
        "+1 (415) 555-0100",
        " +44.20.7946.0958 ",
        "+0123456789",
        "14155550100",
        "+1",
    ]:
        try:
            models.PhoneEntry.model_validate({"phone": sample})
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == _ecma_search(pattern, sample), sample


def test_creates_document_what_they_require() -> None:
    from switchboard.domain.events import SUBSCRIBABLE

    document = _document()
    message = document["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]
    extra = message["schema"]["allOf"][1]
    assert [option["required"] for option in extra["anyOf"]] == [["conversation"], ["customer"]]
    nested = document["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]["requestBody"]
    assert "anyOf" not in nested["content"]["application/json"]["schema"]["allOf"][1]
    webhook = document["paths"]["/v1/outbound-webhooks"]["post"]["requestBody"]["content"]["application/json"]
    assert webhook["schema"]["allOf"][1]["required"] == ["name", "url", "events"]
    events = document["components"]["schemas"]["WebhookBody"]["properties"]["events"]["anyOf"][0]
    assert events["items"]["enum"] == list(SUBSCRIBABLE)
    redrive = document["components"]["schemas"]["RedriveBody"]["properties"]["since"]
    assert redrive["format"] == "date-time"


def test_puller_paths_and_numbers_are_documented_as_validated() -> None:

    from switchboard.pipeline.pull import PullerPatch

    schema = _document()["components"]["schemas"]["PullerPatch"]["properties"]
    path = schema["idField"]["anyOf"][0]["pattern"]
    for sample in ["id", "order.id", "a." * 9 + "b", "a." * 10 + "b", "", ".a", "a..b", "x" * 129]:
        try:
            PullerPatch.model_validate({"idField": sample})
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == _ecma_search(path, sample), sample
    assert schema["maxPages"]["anyOf"][0]["maximum"] == 100
    # A JSON number without a fraction is an integer, as the schema's `type: integer` says.
    assert PullerPatch.model_validate({"maxPages": 62.0, "intervalMinutes": 5.0}).maxPages == 62
    with pytest.raises(ValueError):
        PullerPatch.model_validate({"maxPages": 2.5})
