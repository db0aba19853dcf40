"""A secret masked by name in a run record is masked wherever else the record shows it.

A REST step's answer `{"token": ...}` is recorded as `[redacted]`; a later step that copies the
token (a regex match on it, a template that embeds it) must not record it in plain text either,
and neither may a step that reuses an `Authorization` value written in the definition. What the
steps send and compute is unchanged: only the record is masked.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from switchboard.adapters.http_sender import HttpSender
from switchboard.domain.redaction import MASK
from switchboard.domain.workflows.definition import validate_definition
from switchboard.domain.workflows.engine import RunContext, WorkflowEngine
from switchboard.pipeline.workflow_actions import build_actions
from tests.integration.test_workflow_actions import ORG, Remote, no_objects

TOKEN = "RESPTOKEN2"
BEARER = "HDRBEARER-77"


def run(sender: HttpSender, steps: list[dict[str, Any]]) -> Any:
    workflow = validate_definition(
        {
            "name": "known secrets",
            "trigger": {
                "id": "1",
                "eventName": "kustomer.conversation.create",
                "transitions": [{"target": steps[0]["id"]}],
            },
            "steps": steps,
        }
    )
    engine = WorkflowEngine(build_actions(no_objects(), sender, allow_private=True))
    return engine.run(workflow, {"id": "c1"}, RunContext(ORG, "run-k", "wf"))


def chain(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    linked = [dict(s) for s in steps]
    for here, after in pairwise(linked):
        here["transitions"] = [{"target": after["id"]}]
    return linked


def test_a_token_from_an_answer_is_masked_in_the_steps_that_copy_it(
    remote: Remote, sender: HttpSender
) -> None:
    remote.routes["/login"] = (200, json.dumps({"token": TOKEN, "user": "ada"}).encode(), {})
    remote.routes["/next"] = (200, b'{"ok": true}', {})
    result = run(
        sender,
        chain(
            {"id": "call", "action": "kustomer.rest-api.json", "params": {"uri": remote.url("/login")}},
            {
                "id": "match",
                "action": "kustomer.regex-match.generic",
                "params": {"regex": "[A-Z0-9]+", "testString": "/#steps.call.body.token"},
            },
            {
                "id": "use",
                "action": "kustomer.rest-api.json",
                "params": {
                    "uri": remote.url("/next"),
                    "method": "POST",
                    "data": {"note": "token was {{{steps.call.body.token}}} for {{{steps.call.body.user}}}"},
                },
            },
        ),
    )
    assert result.status == "succeeded"
    # the steps worked on the real value ...
    assert result.steps[1].output["match"] == TOKEN
    assert json.loads(remote.seen[-1][3]) == {"note": f"token was {TOKEN} for ada"}
    # ... and the record shows it nowhere
    record = result.to_dict()
    assert TOKEN not in json.dumps(record)
    call, match, use = record["steps"]
    assert call["output"]["body"] == {"token": MASK, "user": "ada"}
    assert match["input"]["testString"] == MASK
    assert match["output"]["match"] == MASK
    assert use["input"]["data"] == {"note": f"token was {MASK} for ada"}
    # the step objects the runner keeps are untouched by recording
    assert result.steps[1].output["match"] == TOKEN


def test_a_header_written_in_the_definition_is_masked_where_another_step_reads_it(
    remote: Remote, sender: HttpSender
) -> None:
    remote.routes["/ping"] = (200, b'{"ok": true}', {})
    result = run(
        sender,
        chain(
            {
                "id": "call",
                "action": "kustomer.rest-api.json",
                "params": {"uri": remote.url("/ping"), "headers": {"Authorization": f"Bearer {BEARER}"}},
            },
            {
                "id": "match",
                "action": "kustomer.regex-match.generic",
                "params": {"regex": "Bearer (.*)", "testString": f"Bearer {BEARER}"},
            },
        ),
    )
    assert result.status == "succeeded"
    assert result.steps[1].output["groups"] == [BEARER]
    assert remote.seen[0][2]["Authorization"] == f"Bearer {BEARER}"
    record = result.to_dict()
    assert BEARER not in json.dumps(record)
    assert record["steps"][1]["output"]["groups"] == [MASK]


def test_a_secret_in_the_definition_is_masked_even_in_a_step_before_the_one_that_sends_it(
    remote: Remote, sender: HttpSender
) -> None:
    remote.routes["/ping"] = (200, b'{"ok": true}', {})
    result = run(
        sender,
        chain(
            {
                "id": "first",
                "action": "kustomer.regex-match.generic",
                "params": {"regex": ".+", "testString": "key is SECRETQ-123"},
            },
            {
                "id": "call",
                "action": "kustomer.rest-api.json",
                "params": {"uri": remote.url("/ping?api_key=SECRETQ-123")},
            },
        ),
    )
    assert result.status == "succeeded"
    assert "SECRETQ-123" not in json.dumps(result.to_dict())
    assert result.to_dict()["steps"][0]["output"]["match"] == f"key is {MASK}"


def test_short_masked_values_are_not_hunted_elsewhere(remote: Remote, sender: HttpSender) -> None:
    remote.routes["/login"] = (200, b'{"token": "abc", "user": "abc"}', {})
    result = run(
        sender,
        [{"id": "call", "action": "kustomer.rest-api.json", "params": {"uri": remote.url("/login")}}],
    )
    body = result.to_dict()["steps"][0]["output"]["body"]
    assert body == {"token": MASK, "user": "abc"}
