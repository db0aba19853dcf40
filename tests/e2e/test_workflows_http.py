"""Hooks and workflows on the local run over real HTTP: the seed's pull pattern (a workflow on
conversation create that asks an external API about the customer), a Kustomer-shaped export
that runs unchanged, and bad hook bodies refused with nothing run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.waiting import wait_until


class ProfileApi:
    """An external JSON API on loopback: GET /profile?email=... answers one object (or a list)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                email = query.get("email", [""])[0]
                api.seen.append(email)
                if email.startswith("many"):
                    payload: Any = [{"tier": "gold"}, {"tier": "silver"}]
                else:
                    payload = {"email": email, "tier": "gold", "lifetimeValue": 1234.5}
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def profile_api() -> Iterator[ProfileApi]:
    server = ProfileApi()
    yield server
    server.stop()


@pytest.fixture
def workflow(local_run: Any) -> Iterator[Any]:
    """Create workflows for a test; disable them afterwards so later tests are not affected."""
    created: list[str] = []

    def make(definition: dict[str, Any]) -> dict[str, Any]:
        status, _, body = local_run.request("POST", "/workflows", definition)
        assert status == 201, body
        created.append(body["data"]["id"])
        return body["data"]

    yield make
    for workflow_id in created:
        local_run.request("PATCH", f"/workflows/{workflow_id}", {"enabled": False})


def runs_of(local_run: Any, workflow_id: str) -> list[dict[str, Any]]:
    status, _, body = local_run.request("GET", f"/workflows/{workflow_id}/runs")
    assert status == 200, body
    return body["data"]


def enrich_on_conversation(api_url: str) -> dict[str, Any]:
    return {
        "name": "enrich customer from the profile service",
        "trigger": {
            "id": "1",
            "eventName": "kustomer.conversation.create",
            "transitions": [{"target": "customer", "condition": {"op": "true", "values": [True]}}],
        },
        "steps": [
            {
                "id": "customer",
                "action": "kustomer.customer.find",
                "params": {"id": "/#steps.1.relationships.customer.data.id"},
                "transitions": [
                    {"target": "lookup", "condition": {"op": "exists", "values": ["/#steps.customer.emails"]}}
                ],
            },
            {
                "id": "lookup",
                "action": "kustomer.rest-api.json",
                "params": {
                    "method": "GET",
                    "uri": api_url + "/profile?email={{{steps.customer.emails.0.email}}}",
                    "headers": {"Accept": "application/json"},
                },
                "transitions": [{"target": "update", "condition": {"op": "true", "values": [True]}}],
            },
            {
                "id": "update",
                "action": "kustomer.customer.update",
                "params": {
                    "id": "/#steps.customer.id",
                    "custom": {
                        "tierStr": "/#steps.lookup.body.tier",
                        "lifetimeValueNum": "/#steps.lookup.body.lifetimeValue",
                    },
                },
                "transitions": [],
            },
        ],
    }


def test_conversation_create_updates_the_customer_from_an_external_api(
    local_run: Any, profile_api: ProfileApi, workflow: Any
) -> None:
    created = workflow(enrich_on_conversation(profile_api.url))
    status, _, customer = local_run.request(
        "POST", "/customers", {"name": "Grace", "emails": [{"email": "grace@example.com"}]}
    )
    assert status == 201
    customer_id = customer["data"]["id"]
    status, _, _ = local_run.request(
        "POST", f"/customers/{customer_id}/conversations", {"name": "Where is my order?"}
    )
    assert status == 201

    def enriched() -> dict[str, Any] | None:
        _, _, body = local_run.request("GET", f"/customers/{customer_id}")
        custom = body["data"]["attributes"].get("custom") or {}
        return custom if "tierStr" in custom else None

    custom = wait_until(enriched, timeout_s=30, what="the customer enriched by the workflow")
    assert custom == {"tierStr": "gold", "lifetimeValueNum": 1234.5}
    assert profile_api.seen == ["grace@example.com"]
    [run] = runs_of(local_run, created["id"])
    assert run["attributes"]["status"] == "succeeded"
    assert [s["id"] for s in run["attributes"]["steps"]] == ["customer", "lookup", "update"]


def test_an_array_from_the_external_api_is_a_step_error(
    local_run: Any, profile_api: ProfileApi, workflow: Any
) -> None:
    created = workflow(enrich_on_conversation(profile_api.url))
    _, _, customer = local_run.request(
        "POST", "/customers", {"name": "Many", "emails": [{"email": "many@example.com"}]}
    )
    local_run.request("POST", f"/customers/{customer['data']['id']}/conversations", {"name": "hi"})
    [run] = wait_until(lambda: runs_of(local_run, created["id"]) or None, timeout_s=30, what="the run")
    attributes = run["attributes"]
    assert attributes["status"] == "failed"
    assert attributes["error"]["step"] == "lookup"
    assert "array" in attributes["error"]["message"]
    _, _, body = local_run.request("GET", f"/customers/{customer['data']['id']}")
    assert "tierStr" not in (body["data"]["attributes"].get("custom") or {})


# A workflow as Kustomer exports it: ids, app metadata and display fields Switchboard ignores.
KUSTOMER_EXPORT = {
    "id": "5f3c9a2b1d4e8a0012345678",
    "name": "vip-domain-tagging",
    "displayName": "Tag customers from partner domains",
    "description": "Marks customers whose email is at a partner domain",
    "enabled": True,
    "app": "org",
    "appVersion": "1.0.0",
    "meta": {"createdBy": "5f3c9a2b1d4e8a0012340000"},
    "callable": False,
    "trigger": {
        "id": "1",
        "eventName": "kustomer.customer.create",
        "callable": False,
        "meta": {"displayName": "Customer created"},
        "transitions": [
            {
                "target": "domain",
                "condition": {"op": "exists", "values": ["/#steps.1.attributes.emails"]},
                "meta": {"name": "has an email"},
            }
        ],
    },
    "steps": [
        {
            "id": "domain",
            "action": "kustomer.regex-match.generic",
            "appVersion": "kustomer-^1.0.0",
            "meta": {"displayName": "Partner domain?"},
            "params": {"testString": "/#steps.1.attributes.emails.0.email", "regex": "@partner\\.example$"},
            "transitions": [
                {
                    "target": "mark",
                    "condition": {
                        "op": "and",
                        "values": [
                            {"op": "exists", "values": ["/#steps.domain.match"]},
                            {"op": "neq", "values": ["/#steps.domain.match", None]},
                        ],
                    },
                }
            ],
            "errorCases": [],
        },
        {
            "id": "mark",
            "action": "kustomer.customer.update",
            "appVersion": "kustomer-^1.0.0",
            "params": {
                "id": "/#steps.1.id",
                "custom": {"partnerBool": True, "sourceStr": "workflow {{{steps.1.attributes.name}}}"},
            },
            "transitions": [],
            "errorCases": [],
        },
    ],
}


def test_a_kustomer_export_runs_unchanged(local_run: Any, workflow: Any) -> None:
    created = workflow(KUSTOMER_EXPORT)
    _, _, partner = local_run.request(
        "POST", "/customers", {"name": "Pat", "emails": [{"email": "pat@partner.example"}]}
    )
    _, _, other = local_run.request(
        "POST", "/customers", {"name": "Oz", "emails": [{"email": "oz@else.example"}]}
    )

    def marked() -> dict[str, Any] | None:
        _, _, body = local_run.request("GET", f"/customers/{partner['data']['id']}")
        custom = body["data"]["attributes"].get("custom") or {}
        return custom if custom.get("partnerBool") else None

    assert wait_until(marked, timeout_s=30, what="the partner customer marked") == {
        "partnerBool": True,
        "sourceStr": "workflow Pat",
    }
    wait_until(lambda: len(runs_of(local_run, created["id"])) >= 2 or None, timeout_s=30, what="both runs")
    _, _, body = local_run.request("GET", f"/customers/{other['data']['id']}")
    assert not (body["data"]["attributes"].get("custom") or {}).get("partnerBool")


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"<order><id>1</id></order>", "application/xml", 415),
        (b'{"order": ', "application/json", 400),
        (json.dumps({"pad": "x" * (401 * 1024)}).encode(), "application/json", 413),
    ],
)
def test_bad_hook_bodies_over_http(local_run: Any, body: bytes, content_type: str, status: int) -> None:
    code, _, document = local_run.request(
        "POST", local_run.state["hookUrl"], raw=body, headers={"Content-Type": content_type}
    )
    assert code == status, document
    assert document["errors"][0]["status"] == str(status)


def test_unknown_hook_over_http_is_404(local_run: Any) -> None:
    url = local_run.state["hookUrl"].rsplit("/", 1)[0] + "/" + "0" * 64
    code, _, document = local_run.request(
        "POST", url, raw=b"{}", headers={"Content-Type": "application/json"}
    )
    assert code == 404, document


def test_demo_hook_accepts_json(local_run: Any) -> None:
    code, _, document = local_run.request(
        "POST",
        local_run.state["hookUrl"],
        raw=b'{"hello": "world"}',
        headers={"Content-Type": "application/json"},
    )
    assert code == 202, document
    assert document["data"]["type"] == "hook_transaction"
