"""What a workflow run records of its REST calls: standard JSON only, and no secrets.

A REST step whose answer is not standard JSON (NaN, Infinity, 1e400) fails; the run record
masks credentials in the URL's query, the request's headers and body, and the response's
headers and body, while the request sent and the values later steps see stay as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from switchboard.adapters.http_sender import HttpSender
from switchboard.domain.redaction import MASK
from switchboard.domain.workflows.definition import validate_definition
from switchboard.domain.workflows.engine import RunContext, WorkflowEngine
from switchboard.domain.workflows.errors import StepError
from switchboard.pipeline.workflow_actions import build_actions
from tests.integration.test_workflow_actions import ORG, Remote, no_objects


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": Infinity}', "Infinity is not a JSON value"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
        (b'{"a": 1e400}', "out of range"),
        (b'{"a": ' * 100 + b"1" + b"}" * 100, "nested deeper"),
    ],
)
def test_a_non_standard_answer_is_a_step_error(
    remote: Remote, rest: Callable[..., dict[str, Any]], payload: bytes, reason: str
) -> None:
    remote.routes["/odd"] = (200, payload, {})
    with pytest.raises(StepError, match="the response is not JSON") as caught:
        rest({"uri": remote.url("/odd")})
    assert reason in caught.value.message


def run_one(sender: HttpSender, params: dict[str, Any]) -> Any:
    workflow = validate_definition(
        {
            "name": "call",
            "trigger": {
                "id": "1",
                "eventName": "kustomer.conversation.create",
                "transitions": [{"target": "get"}],
            },
            "steps": [{"id": "get", "action": "kustomer.rest-api.json", "params": params}],
        }
    )
    engine = WorkflowEngine(build_actions(no_objects(), sender, allow_private=True))
    return engine.run(workflow, {"id": "c1"}, RunContext(ORG, "run-r", "wf"))


def test_a_nan_answer_is_recorded_as_a_step_error_not_as_nan(remote: Remote, sender: HttpSender) -> None:
    remote.routes["/odd"] = (200, b'{"a": NaN}', {})
    result = run_one(sender, {"uri": remote.url("/odd")})
    assert result.status == "failed"
    record = result.to_dict()
    text = json.dumps(record, allow_nan=False)  # standard JSON throughout
    assert record["steps"][0]["output"] is None
    assert "the response is not JSON" in record["steps"][0]["error"]["message"]
    assert "NaN is not a JSON value" in record["steps"][0]["error"]["message"]
    # the answer is kept as a text preview for debugging, never as a number
    assert record["steps"][0]["error"]["response"]["body"] == '{"a": NaN}'
    assert ": NaN" not in text.replace('"{\\"a\\": NaN}"', "")


def test_the_run_record_masks_secrets_and_the_request_is_sent_as_is(
    remote: Remote, sender: HttpSender
) -> None:
    remote.routes["/login"] = (
        200,
        b'{"id": "me", "access_token": "AT-1", "session": {"refreshToken": "RT-1"}}',
        {"Set-Cookie": "sid=COOKIE-1; HttpOnly", "X-Trace": "t1"},
    )
    uri = remote.url("/login?api_key=QK-1&page=2&signature=SG-1")
    result = run_one(
        sender,
        {
            "method": "POST",
            "uri": uri,
            "headers": [
                {"name": "Cookie", "value": "c=REQ-COOKIE"},
                {"name": "Proxy-Authorization", "value": "Basic PA-1"},
                {"name": "X-Plain", "value": "plain"},
            ],
            "data": {"user": "ada", "password": "PW-1", "auth": {"clientSecret": "CS-1", "apiKey": "AK-1"}},
        },
    )
    assert result.status == "succeeded"
    recorded = json.dumps(result.to_dict())
    for secret in ("QK-1", "SG-1", "REQ-COOKIE", "PA-1", "PW-1", "CS-1", "AK-1", "AT-1", "RT-1", "COOKIE-1"):
        assert secret not in recorded, secret
    logged = result.to_dict()["steps"][0]
    assert "page=2" in logged["input"]["uri"] and logged["input"]["data"]["user"] == "ada"
    assert {"name": "X-Plain", "value": "plain"} in logged["input"]["headers"]
    assert logged["output"]["response"]["headers"]["set-cookie"] == MASK
    assert logged["output"]["response"]["headers"]["x-trace"] == "t1"
    assert logged["output"]["body"]["id"] == "me" and logged["output"]["body"]["access_token"] == MASK
    # what was sent, and what later steps see, is untouched
    _, path, headers, body = remote.seen[0]
    assert path == "/login?api_key=QK-1&page=2&signature=SG-1"
    assert headers["Cookie"] == "c=REQ-COOKIE" and headers["Proxy-Authorization"] == "Basic PA-1"
    assert json.loads(body)["password"] == "PW-1" and json.loads(body)["auth"]["apiKey"] == "AK-1"
    assert result.steps[0].output["body"]["access_token"] == "AT-1"


def test_a_text_body_and_an_error_answer_are_masked_too(remote: Remote, sender: HttpSender) -> None:
    remote.routes["/fail"] = (401, b'{"error": "bad", "token": "ERR-TOKEN"}', {"Set-Cookie": "s=ERR-COOKIE"})
    result = run_one(
        sender,
        {"method": "POST", "uri": remote.url("/fail?token=QT-2"), "data": '{"password": "TEXT-PW", "n": 1}'},
    )
    assert result.status == "failed"
    recorded = json.dumps(result.to_dict())
    for secret in ("QT-2", "TEXT-PW", "ERR-TOKEN", "ERR-COOKIE"):
        assert secret not in recorded, secret
    assert json.loads(remote.seen[0][3]) == {"password": "TEXT-PW", "n": 1}
