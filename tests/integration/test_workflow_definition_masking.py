"""A workflow definition shown to a key that may read but not change workflows has its secrets
masked, by the rules run records follow; a key that may change workflows reads it as written,
so an export saved back is unchanged; a definition sent back with the placeholder is refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from switchboard import admin
from switchboard.domain.redaction import MASK
from tests.integration.conftest import ApiClient

SECRETS = ("SECRETQ", "ATOKEN-1", "HDRBEARER", "BODYPW", "BODYAK", "LISTKEY-1", "TEXTPW-1")

DEFINITION: dict[str, Any] = {
    "name": "sync with secrets",
    "trigger": {
        "id": "1",
        "eventName": "kustomer.conversation.create",
        "transitions": [{"target": "call"}],
    },
    "steps": [
        {
            "id": "call",
            "action": "kustomer.rest-api.json",
            "params": {
                "method": "POST",
                "uri": "https://api.example.com/sync?api_key=SECRETQ&access_token=ATOKEN-1&page=2",
                "headers": {"Authorization": "Bearer HDRBEARER", "Accept": "application/json"},
                "data": {"user": "/#steps.1.id", "password": "BODYPW", "apiKey": "BODYAK"},
            },
            "transitions": [{"target": "text"}],
        },
        {
            "id": "text",
            "action": "kustomer.rest-api.json",
            "params": {
                "method": "POST",
                "uri": "https://api.example.com/text",
                "headers": [{"name": "X-Api-Key", "value": "LISTKEY-1"}],
                "data": '{"password": "TEXTPW-1", "note": "Bearer HDRBEARER"}',
            },
        },
    ],
}


def key(api: ApiClient, *roles: str) -> ApiClient:
    issued = admin.issue_key(api.org, "+".join(roles), list(roles))
    return ApiClient(api.handler, issued["key"], api.org)


@pytest.fixture
def workflow_id(api: ApiClient) -> str:
    created = api.post("/v1/workflows", DEFINITION)
    assert created.status == 201, created.json
    return created.json["data"]["id"]


def test_a_read_only_key_gets_the_definition_with_secrets_masked(api: ApiClient, workflow_id: str) -> None:
    reader = key(api, "org.permission.workflow.read")
    one = reader.get(f"/v1/workflows/{workflow_id}")
    listed = reader.get("/v1/workflows")
    assert one.status == 200 and listed.status == 200
    for reply in (one, listed):
        text = json.dumps(reply.json)
        for secret in SECRETS:
            assert secret not in text, secret
    steps = one.json["data"]["attributes"]["steps"]
    assert steps[0]["params"] == {
        "method": "POST",
        "uri": f"https://api.example.com/sync?api_key={MASK}&access_token={MASK}&page=2",
        "headers": {"Authorization": MASK, "Accept": "application/json"},
        "data": {"user": "/#steps.1.id", "password": MASK, "apiKey": MASK},
    }
    assert steps[1]["params"]["headers"] == [{"name": "X-Api-Key", "value": MASK}]
    assert json.loads(steps[1]["params"]["data"]) == {"password": MASK, "note": MASK}
    assert listed.json["data"][0]["attributes"]["steps"] == steps
    # everything else is shown as it is
    assert one.json["data"]["attributes"]["trigger"] == DEFINITION["trigger"]
    assert one.json["data"]["attributes"]["name"] == DEFINITION["name"]


@pytest.mark.parametrize(
    "roles",
    [
        ("org.admin",),
        ("org.permission.workflow.read", "org.permission.workflow.update"),
        ("org.permission.workflow.read", "org.permission.workflow.create"),
    ],
)
def test_a_key_that_may_change_workflows_reads_them_as_written(
    api: ApiClient, workflow_id: str, roles: tuple[str, ...]
) -> None:
    client = key(api, *roles)
    one = client.get(f"/v1/workflows/{workflow_id}").json["data"]["attributes"]
    assert one["steps"] == DEFINITION["steps"]
    assert client.get("/v1/workflows").json["data"][0]["attributes"]["steps"] == DEFINITION["steps"]


def test_get_modify_put_by_an_updater_keeps_the_secrets(api: ApiClient, workflow_id: str) -> None:
    updater = key(api, "org.permission.workflow.read", "org.permission.workflow.update")
    attributes = updater.get(f"/v1/workflows/{workflow_id}").json["data"]["attributes"]
    body = {k: attributes[k] for k in ("name", "trigger", "steps")}
    body["name"] = "renamed"
    saved = updater.put(f"/v1/workflows/{workflow_id}", body)
    assert saved.status == 200, saved.json
    stored = api.get(f"/v1/workflows/{workflow_id}").json["data"]["attributes"]
    assert stored["name"] == "renamed"
    assert stored["steps"] == DEFINITION["steps"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_definition_holding_the_placeholder_is_refused_naming_the_field(
    api: ApiClient, workflow_id: str, method: str
) -> None:
    reader = key(api, "org.permission.workflow.read")
    masked = reader.get(f"/v1/workflows/{workflow_id}").json["data"]["attributes"]
    body = {k: copy.deepcopy(masked[k]) for k in ("name", "trigger", "steps")}
    path = f"/v1/workflows/{workflow_id}" if method == "PUT" else "/v1/workflows"
    refused = api.call(method, path, body)
    assert refused.status == 400, refused.json
    error = refused.json["errors"][0]
    assert error["source"] == {"pointer": "/steps/0/params/uri"}
    assert MASK in error["detail"]
    # one placeholder is enough: a header alone is refused too
    only_header = copy.deepcopy(DEFINITION)
    only_header["steps"][0]["params"]["headers"]["Authorization"] = MASK
    refused = api.call(method, path, only_header)
    assert refused.status == 400
    assert refused.json["errors"][0]["source"] == {"pointer": "/steps/0/params/headers/Authorization"}
    # nothing was saved
    assert api.get(f"/v1/workflows/{workflow_id}").json["data"]["attributes"]["steps"] == DEFINITION["steps"]
    assert api.get("/v1/workflows").json["meta"]["total"] == 1
