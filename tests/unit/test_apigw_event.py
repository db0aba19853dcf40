"""The local API Gateway: route choice, the proxy event it builds, and how it answers.

Pure functions first; then a loopback server in front of small handlers written to tmp_path,
for what only shows over HTTP (gateway errors, the function's log, timeouts).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import functions as functions_module
from emulator.apigw import (
    MAX_BODY_BYTES,
    ApiGateway,
    MalformedResponse,
    build_event,
    compile_route,
    compile_routes,
    match_route,
    parse_response,
    request_time,
)
from emulator.functions import Functions
from emulator.logs import LogRouter
from switchboard import wiring

Route = wiring.Route


def routes(*declared: tuple[str, str]) -> list[Any]:
    return [compile_route(Route(method, path), "fn") for method, path in declared]


# --- route matching -----------------------------------------------------------------------


def test_the_declared_api_routes_match_as_api_gateway_would() -> None:
    compiled = compile_routes(wiring.FUNCTIONS)
    root = match_route(compiled, "GET", "/v1")
    assert root is not None and root.route.path == "/v1" and root.path_parameters is None
    deep = match_route(compiled, "DELETE", "/v1/customers/abc")
    assert deep is not None and deep.route.path == "/v1/{proxy+}"
    assert deep.path_parameters == {"proxy": "customers/abc"}
    assert match_route(compiled, "GET", "/nope") is None
    assert match_route(compiled, "GET", "/") is None
    assert match_route(compiled, "GET", "/v2/customers") is None


def test_literal_beats_variable_beats_greedy() -> None:
    table = routes(("ANY", "/a/{proxy+}"), ("GET", "/a/{id}"), ("GET", "/a/current"))
    assert match_route(table, "GET", "/a/current").route.path == "/a/current"
    variable = match_route(table, "GET", "/a/123")
    assert variable.route.path == "/a/{id}" and variable.path_parameters == {"id": "123"}
    greedy = match_route(table, "GET", "/a/123/b")
    assert greedy.route.path == "/a/{proxy+}" and greedy.path_parameters == {"proxy": "123/b"}


def test_specificity_is_decided_at_the_first_differing_segment() -> None:
    table = routes(("GET", "/a/{x}/b"), ("GET", "/a/{proxy+}"))
    assert match_route(table, "GET", "/a/1/b").route.path == "/a/{x}/b"
    assert match_route(table, "GET", "/a/1/c").route.path == "/a/{proxy+}"


def test_an_exact_method_beats_any_and_a_missing_method_is_a_miss() -> None:
    table = routes(("ANY", "/a"), ("POST", "/a"), ("GET", "/b/{id}"), ("ANY", "/b/{proxy+}"))
    assert match_route(table, "POST", "/a").route.method == "POST"
    assert match_route(table, "GET", "/a").route.method == "ANY"
    # The most specific resource lacks DELETE: API Gateway does not fall back to {proxy+}.
    assert match_route(table, "DELETE", "/b/1") is None


def test_greedy_needs_a_segment_and_a_trailing_slash_is_ignored() -> None:
    table = routes(("ANY", "/v1/{proxy+}"))
    assert match_route(table, "GET", "/v1") is None
    assert match_route(table, "GET", "/v1/") is None
    assert match_route(table, "GET", "/v1/customers/").path_parameters == {"proxy": "customers"}


def test_a_greedy_segment_must_be_last() -> None:
    with pytest.raises(ValueError, match="last"):
        compile_route(Route("ANY", "/{proxy+}/x"), "fn")


def test_path_parameters_keep_their_percent_encoding() -> None:
    table = routes(("GET", "/v1/customers/{lookup}"))
    found = match_route(table, "GET", "/v1/customers/email=a%40b.com")
    assert found.path_parameters == {"lookup": "email=a%40b.com"}


# --- the event ----------------------------------------------------------------------------


def event_for(
    path: str = "/v1/customers/abc",
    *,
    method: str = "GET",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
) -> dict[str, Any]:
    table = compile_routes(wiring.FUNCTIONS)
    found = match_route(table, method, path)
    assert found is not None
    return build_event(
        found,
        method=method,
        raw_path=path,
        raw_query=query,
        headers=headers if headers is not None else [("Host", "127.0.0.1:8000"), ("User-Agent", "t/1")],
        body=body,
        source_ip="127.0.0.1",
        server_port=8000,
        request_id="req-1",
        epoch_ms=1_764_201_600_000,
    )


def test_the_event_has_the_rest_api_proxy_shape() -> None:
    event = event_for()
    assert event["resource"] == "/v1/{proxy+}"
    assert event["path"] == "/v1/customers/abc"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "customers/abc"}
    assert event["stageVariables"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/v1/{proxy+}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/v1/customers/abc"  # called without the stage, as on a custom domain
    assert context["stage"] == "prod"
    assert context["requestId"] == "req-1"
    assert context["requestTimeEpoch"] == 1_764_201_600_000
    assert context["requestTime"] == "27/Nov/2025:00:00:00 +0000"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "t/1"
    assert context["accountId"] and context["apiId"]
    json.dumps(event)  # what Lambda receives is JSON


def test_the_path_stays_percent_encoded() -> None:
    event = event_for("/v1/customers/email=a%40b.com")
    assert event["path"] == "/v1/customers/email=a%40b.com"
    assert event["pathParameters"] == {"proxy": "customers/email=a%40b.com"}
    assert event["requestContext"]["path"] == "/v1/customers/email=a%40b.com"


def test_the_stage_url_form_puts_the_stage_in_the_request_context_path_only() -> None:
    table = compile_routes(wiring.FUNCTIONS)
    found = match_route(table, "GET", "/v1/users/current")
    event = build_event(
        found,
        method="GET",
        raw_path="/v1/users/current",
        raw_query="",
        headers=[],
        body=None,
        source_ip="127.0.0.1",
        server_port=8000,
        stage_in_path=True,
    )
    assert event["path"] == "/v1/users/current"
    assert event["requestContext"]["path"] == "/prod/v1/users/current"


def test_query_strings_are_decoded_and_the_last_value_wins() -> None:
    event = event_for(query="q=a+b&q=c%2Bd&flag&email=x%40y.z")
    assert event["queryStringParameters"] == {"q": "c+d", "flag": "", "email": "x@y.z"}
    assert event["multiValueQueryStringParameters"] == {"q": ["a b", "c+d"], "flag": [""], "email": ["x@y.z"]}


def test_headers_keep_their_spelling_and_gain_the_forwarding_headers() -> None:
    event = event_for(
        headers=[
            ("Host", "127.0.0.1:8000"),
            ("Accept", "a/1"),
            ("accept", "a/2"),
            ("Connection", "keep-alive"),
            ("X-Forwarded-For", "10.0.0.1"),
        ]
    )
    assert event["multiValueHeaders"]["Accept"] == ["a/1", "a/2"]
    assert event["headers"]["Accept"] == "a/2"
    assert "Connection" not in event["headers"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "8000"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["requestContext"]["domainName"] == "127.0.0.1"


def test_bodies_are_text_or_base64() -> None:
    assert event_for(method="POST", body=b'{"name":"\xc3\xa9"}')["body"] == '{"name":"é"}'
    binary = event_for(method="POST", body=b"\xff\x00\xfe")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\x00\xfe"
    assert event_for(method="POST", body=b"")["body"] is None


def test_request_time_does_not_depend_on_the_locale() -> None:
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"


# --- the response -------------------------------------------------------------------------


def test_headers_and_multi_value_headers_are_merged() -> None:
    response = parse_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "X-Both": "single", "Content-Length": "999"},
            "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
            "body": "{}",
        }
    )
    assert response.status == 201
    assert ("X-One", "1") in response.headers
    assert [v for k, v in response.headers if k == "X-Both"] == ["m1", "m2"]
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.header("content-length") is None  # the gateway computes its own
    assert response.header("Content-Type") == "application/json"  # API Gateway's default
    assert response.body == b"{}"


def test_base64_bodies_are_decoded() -> None:
    payload = b"\x1f\x8b\x00binary"
    response = parse_response(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(payload).decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.body == payload
    assert response.header("content-type") == "application/octet-stream"


@pytest.mark.parametrize(
    "result",
    [
        "hello",
        {"body": "{}"},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"an": "object"}},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_responses_are_refused(result: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_response(result)


# --- over loopback ------------------------------------------------------------------------


NO_SUCH_ROUTE = {
    "errors": [{"status": "404", "code": "not_found", "title": "Not found", "detail": "no such route"}]
}
BAD_GATEWAY = {
    "errors": [
        {"status": "502", "code": "bad_gateway", "title": "Bad gateway", "detail": "Internal server error"}
    ]
}

HANDLERS = {
    "echo": """
        import os

        def handler(event, context):
            return {
                "statusCode": 200,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps({
                    "event": event,
                    "function": context.function_name,
                    "memory": context.memory_limit_in_mb,
                    "remaining": context.get_remaining_time_in_millis(),
                    "request_id": context.aws_request_id,
                    "local": os.environ.get("SWITCHBOARD_LOCAL"),
                    "service": os.getenv("POWERTOOLS_SERVICE_NAME"),
                    "objects_table": os.environ.get("OBJECTS_TABLE"),
                    "auth_table": os.environ.get("AUTH_TABLE"),
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                }),
            }
    """,
    "boom": """
        def handler(event, context):
            raise ValueError("boom at " + event["path"])
    """,
    "malformed": """
        def handler(event, context):
            return "not a proxy response"
    """,
    "slow": """
        import time

        def handler(event, context):
            time.sleep(3)
            return {"statusCode": 200, "body": "late"}
    """,
    "binary": """
        import base64

        def handler(event, context):
            return {
                "statusCode": 200,
                "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG\\xff").decode(),
                "isBase64Encoded": True,
            }
    """,
}


@pytest.fixture
def scoped_environ() -> Iterator[None]:
    """The gateway's functions swap os.environ for a per-function view; put the real one back."""
    saved = os.environ
    yield
    os.environ = saved  # noqa: B003


@pytest.fixture
def gateway(tmp_path: Path, scoped_environ: None) -> Iterator[Callable[..., Any]]:
    """A loopback gateway with one small function per route: /echo/..., /boom, /slow, ..."""
    specs = []
    for name, source in HANDLERS.items():
        folder = tmp_path / "functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text("import json\n" + textwrap.dedent(source))
        specs.append(
            wiring.FunctionSpec(
                name=f"t{tmp_path.name[-6:]}_{name}",
                code=str(folder),
                handler="handler.handler",
                description=name,
                memory_mb=256,
                timeout_s=1 if name == "slow" else 5,
                tables={"objects": wiring.Access.READ},
                routes=(Route("ANY", f"/{name}"), Route("ANY", f"/{name}/{{proxy+}}")),
                environment={"POWERTOOLS_SERVICE_NAME": f"svc-{name}"},
            )
        )
    router = LogRouter(tmp_path / "logs")
    tables = {table.key: table.local_name for table in wiring.TABLES}
    registry = Functions(tuple(specs), tables, router)
    registry.load_all()
    server = ApiGateway(registry, port=0)
    server.start()

    def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    call.server = server  # type: ignore[attr-defined]
    call.logs = tmp_path / "logs"  # type: ignore[attr-defined]
    call.names = {name: spec.name for name, spec in zip(HANDLERS, specs, strict=True)}  # type: ignore[attr-defined]
    try:
        yield call
    finally:
        server.stop()
        router.uninstall()


def test_a_request_reaches_the_function_as_a_proxy_event(
    gateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_TABLE", "set-in-the-process")  # the runner has it; the function must not
    status, headers, body = gateway("POST", "/echo/x%2Fy/z?a=1&a=2", b'{"k": 1}', {"X-Custom": "v"})
    assert status == 200
    reply = json.loads(body)
    event = reply["event"]
    assert event["resource"] == "/echo/{proxy+}"
    assert event["path"] == "/echo/x%2Fy/z"
    assert event["pathParameters"] == {"proxy": "x%2Fy/z"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["headers"]["X-Custom"] == "v"
    assert event["body"] == '{"k": 1}'
    assert event["requestContext"]["requestId"] == headers["x-amzn-requestid"]
    assert reply["function"] == f"switchboard-{gateway.names['echo']}"
    assert reply["memory"] == "256"
    assert 0 < reply["remaining"] <= 5000
    assert reply["local"] == "1"
    assert reply["service"] == "svc-echo"
    assert reply["objects_table"] == "switchboard-objects"
    assert reply["auth_table"] is None, "a table the function is not wired to must stay hidden"
    assert reply["trace"].startswith(headers["x-amzn-trace-id"] + ";Parent=")


def test_the_stage_url_form_reaches_the_same_route(gateway: Any) -> None:
    status, _, body = gateway("GET", "/prod/echo/a?x=1")
    assert status == 200
    event = json.loads(body)["event"]
    assert event["path"] == "/echo/a"
    assert event["pathParameters"] == {"proxy": "a"}
    assert event["requestContext"]["path"] == "/prod/echo/a"
    assert gateway("GET", "/prod")[0] == 404


def test_each_invocation_gets_its_own_request_id(gateway: Any) -> None:
    ids = {json.loads(gateway("GET", "/echo")[2])["request_id"] for _ in range(3)}
    assert len(ids) == 3


def test_an_unknown_route_is_the_missing_authentication_token_gateway_response(gateway: Any) -> None:
    status, headers, body = gateway("GET", "/nowhere")
    assert status == 404
    assert json.loads(body) == NO_SUCH_ROUTE
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_handler_exception_is_502_with_the_traceback_in_its_log(gateway: Any) -> None:
    status, _, body = gateway("GET", "/boom")
    assert status == 502
    assert json.loads(body) == BAD_GATEWAY
    log = gateway.logs / f"{gateway.names['boom']}.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    error = next(line for line in lines if line.get("level") == "ERROR")
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom at /boom"
    assert any("raise ValueError" in frame for frame in error["stackTrace"])
    assert lines[-1]["type"] == "platform.report" and lines[-1]["record"]["status"] == "error"


def test_a_malformed_proxy_response_is_502(gateway: Any) -> None:
    status, _, body = gateway("GET", "/malformed")
    assert status == 502
    assert json.loads(body) == BAD_GATEWAY


def test_a_function_past_its_timeout_is_502_and_logged(gateway: Any) -> None:
    status, _, body = gateway("GET", "/slow")
    assert status == 502
    assert json.loads(body) == BAD_GATEWAY
    log = gateway.logs / f"{gateway.names['slow']}.log"
    reports = [json.loads(line) for line in log.read_text().splitlines() if '"platform.report"' in line]
    assert reports[-1]["record"]["status"] == "timeout"


def test_a_base64_response_is_sent_as_bytes(gateway: Any) -> None:
    status, headers, body = gateway("GET", "/binary")
    assert status == 200
    assert headers["content-type"] == "image/png"
    assert body == b"\x89PNG\xff"


def test_head_gets_headers_without_a_body(gateway: Any) -> None:
    status, headers, body = gateway("HEAD", "/echo")
    assert status == 200
    assert body == b""
    assert int(headers["content-length"]) > 0


def test_a_body_over_10_mb_is_413_without_being_read(gateway: Any) -> None:
    with socket.create_connection(("127.0.0.1", gateway.server.port), timeout=10) as raw:
        raw.sendall(
            f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
            + b"x" * 1024
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.endswith(b"}"):
            chunk = raw.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["errors"][0]["code"] == "payload_too_large"


def test_the_lambda_context_counts_down(scoped_environ: None, tmp_path: Path) -> None:
    spec = wiring.FunctionSpec(
        name="ctx", code=str(tmp_path), handler="h.handler", description="", timeout_s=2
    )
    function = functions_module.LocalFunction(spec, {}, LogRouter(tmp_path / "logs"))
    context = functions_module.LambdaContext(function, "r-1", deadline=time.monotonic() + 2)
    assert 1000 < context.get_remaining_time_in_millis() <= 2000
    assert context.invoked_function_arn.endswith(":function:switchboard-ctx")
    assert context.log_group_name == "/aws/lambda/switchboard-ctx"


def test_trace_and_other_methods_reach_the_function(gateway: Any) -> None:
    """Not a 501 from the HTTP server: the API itself answers 405 with `Allow` for a method it
    does not serve, as behind API Gateway's ANY method."""
    for method in ("TRACE", "QUERY"):
        status, _, body = gateway(method, "/echo/a")
        assert status == 200, method
        assert json.loads(body)["event"]["httpMethod"] == method
