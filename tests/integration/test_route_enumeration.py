"""Every operation of the OpenAPI document, with and without a trailing slash, is guarded.

The list of operations comes from `GET /v1/openapi.json`, so a new route is covered the moment
it is documented; the roles a narrow key may use are written out here, not read from the code.
The hook receive operations are served by the hooks function, so they are sent to it, and what
they answer is written out here too.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from switchboard import wiring
from switchboard.api import routing
from switchboard.api.app import build_app
from tests.integration.conftest import ApiClient, Reply, load_handler, org_client

SAMPLE_ID = "0123456789abcdef01234567"
SAMPLE_HASH = "0123456789abcdef" * 4  # a well-formed hook address that no hook has
# The hook receive operations (hooks function): what each answers without a key, with a
# malformed or unknown key, with a key lacking `org.hooks`, and with the org's admin key, all
# for an address no hook has. A form hook takes no key (its hash is the secret): always 404.
RECEIVE = {
    ("POST", "/v1/hooks/web/{hook_id}"): {"no key": 401, "wrong key": 401, "narrow": 403, "admin": 404},
    ("POST", "/v1/hooks/form/{orgId}/{hash}"): {"no key": 404, "wrong key": 404, "narrow": 404, "admin": 404},
}
NARROW_ROLES = ["org.permission.customer.read"]
# What a key with only customer.read may do (any valid key may read its own user).
NARROW_ALLOWED = {
    ("GET", "/v1/customers"),
    ("GET", "/v1/customers/{object_id}"),
    ("GET", "/v1/customers/{customer_id}/klasses/{klass_name}"),
    ("GET", "/v1/users/current"),
}
METHODS = ("get", "put", "post", "delete", "patch")


def _operations(api: ApiClient) -> list[tuple[str, str]]:
    reply = api.get("/v1/openapi.json", key=None)
    assert reply.status == 200
    operations = [
        (method.upper(), path)
        for path, item in reply.json["paths"].items()
        for method in item
        if method in METHODS
    ]
    assert len(operations) > 60
    return operations


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", SAMPLE_ID, path)


def _variants(path: str) -> list[str]:
    concrete = _concrete(path)
    return [concrete, concrete + "/"]


def _body(method: str) -> Any:
    return {} if method in ("POST", "PUT", "PATCH") else None


def _receive(client: ApiClient, path: str, slashed: bool, key: str | None = "") -> Reply:
    """POST `{}` to a hook receive operation through the hooks function, as API Gateway does."""
    values = {"orgId": client.org, "hash": SAMPLE_HASH, "hook_id": SAMPLE_HASH}
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + ("/" if slashed else "")
    if path.startswith("/v1/hooks/form/"):
        resource, parameters = "/v1/hooks/form/{orgId}/{hash}", {"orgId": client.org, "hash": SAMPLE_HASH}
    else:
        resource, parameters = "/v1/hooks/web/{hash}", {"hash": SAMPLE_HASH}
    headers = {"Content-Type": "application/json"}
    token = client.key if key == "" else key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    event = {
        "resource": resource,
        "path": url,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "pathParameters": parameters,
        "requestContext": {"stage": "prod", "requestId": uuid.uuid4().hex, "resourcePath": resource},
        "body": "{}",
        "isBase64Encoded": False,
    }
    response = load_handler(wiring.HOOKS)(event, None)
    return Reply(response["statusCode"], response["headers"], json.loads(response["body"]))


def test_every_hook_receive_operation_is_documented_and_answers_as_written(
    handler: Any, api: ApiClient
) -> None:
    documented = {(m, p) for m, p in _operations(api) if (m, p) in RECEIVE}
    assert documented == set(RECEIVE)
    narrow = org_client(handler, "Narrow", NARROW_ROLES)
    wrong = []
    for (_, path), expected in RECEIVE.items():
        for slashed in (False, True):
            answers = {
                "no key": _receive(api, path, slashed, key=None),
                "wrong key": _receive(api, path, slashed, key="sbk_not-a-key"),
                "narrow": _receive(narrow, path, slashed),
                "admin": _receive(api, path, slashed),
            }
            for case, reply in answers.items():
                if reply.status != expected[case] or reply.json["errors"][0]["status"] != str(reply.status):
                    wrong.append((path, slashed, case, reply.status))
    assert wrong == []


def test_every_operation_needs_a_valid_key(handler: Any, api: ApiClient) -> None:
    refused = []
    for method, path in _operations(api):
        if (method, path) in RECEIVE:
            continue  # the hooks function's: see the test above
        for url in _variants(path):
            for key in (None, "sbk_not-a-key", "Basic abc"):
                reply = api.call(method, url, _body(method), key=key)
                if reply.status != 401 or reply.json["errors"][0]["code"] != "unauthorized":
                    refused.append((method, url, key, reply.status))
    assert refused == []


def test_a_narrow_key_gets_403_on_every_operation_it_lacks(handler: Any, api: ApiClient) -> None:
    narrow = org_client(handler, "Narrow", NARROW_ROLES)
    wrong = []
    for method, path in _operations(api):
        if (method, path) in RECEIVE:
            continue
        for url in _variants(path):
            reply = narrow.call(method, url, _body(method))
            if (method, path) in NARROW_ALLOWED:
                if reply.status in (401, 403) or reply.status >= 500:
                    wrong.append((method, url, reply.status, "should be allowed"))
            elif reply.status != 403 or reply.json["errors"][0]["code"] != "forbidden":
                wrong.append((method, url, reply.status, "should be 403"))
    assert wrong == []


def test_a_slashed_path_behaves_exactly_like_the_unslashed_one(api: ApiClient) -> None:
    created = api.post("/v1/customers/", {"name": "Slash"})
    assert created.status == 201
    customer_id = created.json["data"]["id"]
    for path in ("/v1/customers", "/v1/users/current", f"/v1/customers/{customer_id}"):
        plain, slashed, doubled = api.get(path), api.get(path + "/"), api.get(path + "//")
        assert plain.status == slashed.status == doubled.status == 200
        assert plain.json == slashed.json == doubled.json
    assert api.get("/v1/outbound-webhooks/events/").status == 200
    assert api.get("/v1/outbound-webhooks/events/", key=None).status == 401


@pytest.mark.parametrize(
    "path", ["/v1/nothing", "/v1/nothing/", "/", "", "/v1", "/v1/", f"/v1/customers/{SAMPLE_ID}/x/y/z"]
)
def test_an_unknown_route_is_404_with_or_without_a_key(api: ApiClient, path: str) -> None:
    for key in ("", None):
        reply = api.get(path, key=key)
        assert reply.status == 404, (path, key, reply.json)
        assert reply.json["errors"][0]["code"] == "not_found"


def test_a_method_not_served_at_a_known_path_is_405_with_allow(api: ApiClient) -> None:
    reply = api.call("DELETE", "/v1/users/current/", key=None)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET"
    reply = api.call("OPTIONS", "/v1/customers")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST"
    reply = api.call("OPTIONS", "/v1/klasses/orders")  # two route templates of one shape
    assert reply.headers["allow"] == "DELETE, GET, PATCH, POST, PUT"


def test_a_route_function_never_runs_unless_the_gate_granted_it() -> None:
    """Default deny: the router alone (no gate) refuses to run any route function."""
    api = build_app()
    event = {
        "path": "/v1/outbound-webhooks/events",
        "httpMethod": "GET",
        "headers": {},
        "requestContext": {"stage": "prod", "httpMethod": "GET", "resourcePath": "/v1/{proxy+}"},
        "body": None,
        "isBase64Encoded": False,
    }
    assert api.resolver.resolve(event, None)["statusCode"] == 404
    granted = routing.GRANTED.set(routing.match("GET", "/v1/users/current"))
    try:  # granted another route: still refused
        assert api.resolver.resolve(event, None)["statusCode"] == 404
    finally:
        routing.GRANTED.reset(granted)


def test_the_openapi_document_says_what_the_api_answers(api: ApiClient) -> None:
    document = api.get("/v1/openapi.json", key=None).json
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer sbk_...`",
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    paths = document["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (method, path)
            if (method.upper(), path) == ("POST", "/v1/hooks/form/{orgId}/{hash}"):
                assert operation["security"] == []  # the hash is the secret
                assert "403" not in operation["responses"]
                continue
            assert operation["security"] == [{"apiKey": []}], (method, path)
            for code in ("401", "403"):
                for media in operation["responses"][code]["content"].values():
                    assert media["schema"] == {"$ref": "#/components/schemas/Error"}
            for parameter in operation.get("parameters", []):
                if parameter["schema"].get("type") == "integer":
                    assert parameter["schema"]["minimum"] == 1, (method, path, parameter)
    assert "201" in paths["/v1/customers"]["post"]["responses"]
    assert "204" in paths["/v1/customers/{object_id}"]["delete"]["responses"]
    assert "202" in paths["/v1/workflows/{workflow_id}/call"]["post"]["responses"]
    assert "200" in paths["/v1/data-streams/{stream_id}"]["delete"]["responses"]
    klass_create = paths["/v1/klasses"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert klass_create["allOf"][1]["required"] == ["name"]
    # one OpenAPI path per shape: POST /v1/klasses/{klass_name} is under /v1/klasses/{reference}
    assert set(paths["/v1/klasses/{reference}"]) == {"get", "put", "patch", "delete", "post"}
    # a web hook's URL takes the management verbs (by id) and the receive POST (by hash)
    assert set(paths["/v1/hooks/web/{hook_id}"]) == {"get", "put", "patch", "post"}
    assert set(paths["/v1/hooks/form/{hook_id}"]) == {"get", "put", "patch"}
    for path in ("/v1/hooks/web/{hook_id}", "/v1/hooks/form/{orgId}/{hash}"):
        receive = paths[path]["post"]
        assert set(receive["responses"]) >= {"202", "400", "401", "404", "413", "415"}
        assert receive["responses"]["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/HookTransaction"
        }


def test_a_405_at_a_hook_address_names_the_methods_of_both_functions(api: ApiClient) -> None:
    """API Gateway sends a hook receive POST to the hooks function, every other method to the API."""
    reply = api.call("DELETE", f"/v1/hooks/web/{SAMPLE_ID}")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, PATCH, POST, PUT")
    reply = api.call("GET", f"/v1/hooks/form/{SAMPLE_ID}/{SAMPLE_HASH}", key=None)
    assert (reply.status, reply.headers["allow"]) == (405, "POST")
    reply = api.call("POST", f"/v1/hooks/form/{SAMPLE_ID}")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, PATCH, PUT")
