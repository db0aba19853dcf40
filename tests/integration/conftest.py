"""Integration fixtures: moto as AWS in-process, the declared tables, and the real api handler."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulator.functions import run_handler_file
from switchboard import admin, services, wiring
from switchboard.adapters.provision import create_queues, create_tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        for key, name in create_tables(client).items():
            monkeypatch.setenv(wiring.table(key).env_var, name)
        urls = create_queues(boto3.client("sqs"))
        for queue in wiring.QUEUES:
            monkeypatch.setenv(queue.env_var, urls[queue.key])
        services.reset()
        yield client
        services.reset()


def load_handler(spec: wiring.FunctionSpec) -> Any:
    """Import a function's handler from its code folder, as Lambda does in a new container."""
    module_file, attribute = spec.handler.rsplit(".", 1)
    path = ROOT / spec.code / f"{module_file}.py"
    return getattr(run_handler_file(path, f"fn_{spec.name}_{uuid.uuid4().hex}"), attribute)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    json: Any


class ApiClient:
    """Calls the api handler with API Gateway REST proxy events, as a key of one org."""

    def __init__(self, handler: Any, key: str | None, org: str) -> None:
        self.handler = handler
        self.key = key
        self.org = org

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        key: str | None = "",
        raw: str | None = None,
    ) -> Reply:
        headers = {"Content-Type": "application/json"}
        token = self.key if key == "" else key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        event = {
            "resource": "/v1/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": {"proxy": path.removeprefix("/v1/")},
            "stageVariables": None,
            "requestContext": {
                "stage": "prod",
                "requestId": uuid.uuid4().hex,
                "httpMethod": method,
                "resourcePath": "/v1/{proxy+}",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": raw if raw is not None else (None if body is None else json.dumps(body)),
            "isBase64Encoded": False,
        }
        response = self.handler(event, None)
        headers_out = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        for k, values in (response.get("multiValueHeaders") or {}).items():
            headers_out[k.lower()] = values[-1]
        text = response.get("body") or ""
        return Reply(response["statusCode"], headers_out, json.loads(text) if text else None)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)


@pytest.fixture
def handler(aws: Any) -> Any:
    return load_handler(wiring.API)


def org_client(handler: Any, name: str, roles: list[str] | None = None) -> ApiClient:
    org = admin.create_org(name)
    issued = admin.issue_key(org["id"], f"{name} admin", roles or ["org.admin"])
    return ApiClient(handler, issued["key"], org["id"])


@pytest.fixture
def api(handler: Any) -> ApiClient:
    return org_client(handler, "Acme")


@pytest.fixture
def other(handler: Any) -> ApiClient:
    return org_client(handler, "Globex")


# --- the workflow REST action against a loopback server (shared by the workflow action tests) ---


@pytest.fixture
def sender() -> Iterator[Any]:
    """A real HTTP sender that may reach loopback, as in the local run."""
    from switchboard.adapters.http_sender import HttpSender

    http = HttpSender(allow_private=True, timeout_s=5.0)
    yield http
    http.close()


@pytest.fixture
def remote() -> Iterator[Any]:
    """A loopback JSON server that records what it is sent (`test_workflow_actions.Remote`)."""
    from tests.integration.test_workflow_actions import Remote

    server = Remote()
    yield server
    server.stop()


@pytest.fixture
def rest(sender: Any) -> Any:
    """The REST action alone: it needs no tables."""
    from switchboard.pipeline.workflow_actions import build_actions
    from tests.integration.test_workflow_actions import no_objects, step

    action = build_actions(no_objects(), sender, allow_private=True)["kustomer.rest-api.json"]
    return lambda params: action(params, step("call"))
