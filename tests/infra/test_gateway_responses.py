"""API Gateway's own answers are the JSON:API gateway responses wiring declares."""

from __future__ import annotations

import json

from switchboard import wiring
from tests.infra.conftest import Synth

# Every response type of a REST API (API Gateway developer guide, "Gateway response types").
REST_RESPONSE_TYPES = {
    "ACCESS_DENIED",
    "API_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_PARAMETERS",
    "BAD_REQUEST_BODY",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
}


def _responses(synth: Synth) -> dict[str, dict]:
    found = synth.resources_of("AWS::ApiGateway::GatewayResponse")
    return {res["Properties"]["ResponseType"]: res["Properties"] for res in found.values()}


def test_every_response_type_is_declared_once() -> None:
    types = [r.type for r in wiring.GATEWAY_RESPONSES]
    assert len(types) == len(set(types))
    assert set(types) == REST_RESPONSE_TYPES


def test_the_template_holds_every_declared_gateway_response(synth: Synth) -> None:
    responses = _responses(synth)
    assert set(responses) == REST_RESPONSE_TYPES
    (api_id,) = synth.resources_of("AWS::ApiGateway::RestApi")
    for declared in wiring.GATEWAY_RESPONSES:
        props = responses[declared.type]
        assert props["StatusCode"] == str(declared.status)
        assert props["RestApiId"] == {"Ref": api_id}
        assert props["ResponseTemplates"] == {"application/json": declared.body_template()}


def test_unknown_routes_and_large_bodies_answer_json_api(synth: Synth) -> None:
    responses = _responses(synth)

    def error(response_type: str, message: str = "Missing Authentication Token") -> dict:
        template = responses[response_type]["ResponseTemplates"]["application/json"]
        rendered = template.replace("$context.error.messageString", json.dumps(message))
        (entry,) = json.loads(rendered)["errors"]
        return entry

    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert error("MISSING_AUTHENTICATION_TOKEN") == {
        "status": "404",
        "code": "not_found",
        "title": "Not found",
        "detail": "no such route",
    }
    assert responses["REQUEST_TOO_LARGE"]["StatusCode"] == "413"
    assert error("REQUEST_TOO_LARGE", "Request Too Long")["code"] == "payload_too_large"
    assert error("THROTTLED", "Too Many Requests") == {
        "status": "429",
        "code": "too_many_requests",
        "title": "Too many requests",
        "detail": "Too Many Requests",
    }
    for response_type, status in (("DEFAULT_4XX", "400"), ("DEFAULT_5XX", "502")):
        assert responses[response_type]["StatusCode"] == status
        entry = error(response_type, 'a "quoted" message')
        assert entry["status"] == status and entry["detail"] == 'a "quoted" message'
