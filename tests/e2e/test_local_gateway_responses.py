"""The local run answers API Gateway's own errors with the declared JSON:API gateway responses,
and the HTTP server's refusals (long URL, huge header, unknown method) in the same envelope."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from switchboard import wiring

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalRun

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
NO_SUCH_ROUTE = {"status": "404", "code": "not_found", "title": "Not found", "detail": "no such route"}


def exchange(run: LocalRun, request: bytes) -> tuple[int, dict[str, str], dict]:
    """Send raw bytes, read the answer until the server closes, parse status, headers, JSON body."""
    address = urlsplit(run.root_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as raw:
        raw.sendall(request)
        reply = b""
        while True:
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            reply += chunk
            head, sep, body = reply.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def only_error(body: dict) -> dict:
    (error,) = body["errors"]
    return error


@pytest.mark.parametrize("path", ["/", "/V1/Customers", "/v2/customers", "/prod"])
def test_a_path_no_resource_matches_is_a_json_api_404(local_run: LocalRun, path: str) -> None:
    status, headers, body = local_run.request("GET", local_run.root_url + path)
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert only_error(body) == NO_SUCH_ROUTE
    # the same body the deployed API's gateway response renders
    declared = wiring.gateway_response("MISSING_AUTHENTICATION_TOKEN")
    assert body == json.loads(declared.body("Missing Authentication Token"))


def test_a_body_over_10_mb_is_a_json_api_413(local_run: LocalRun) -> None:
    for path in ("/v1/customers", "/v1/hooks/web/0123456789abcdef"):
        request = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {11 * MB}\r\n\r\n"
        ).encode() + b"x" * 1024
        status, headers, body = exchange(local_run, request)
        assert status == 413, path
        assert headers["content-type"] == "application/json"
        assert body == json.loads(wiring.gateway_response("REQUEST_TOO_LARGE").body("Request Too Long"))
        assert only_error(body)["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/customers", "/hooks/web/0123456789abcdef"])
def test_a_body_over_lambdas_6_mb_is_the_same_json_api_413(local_run: LocalRun, path: str) -> None:
    status, _, body = local_run.request(
        "POST", path, raw=b"x" * (7 * MB), headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert body == json.loads(wiring.gateway_response("REQUEST_TOO_LARGE").body("Request Too Long"))


def test_a_70_kb_url_is_a_json_api_414(local_run: LocalRun) -> None:
    status, headers, body = exchange(
        local_run, f"GET /v1/customers?q={'a' * 70_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    assert status == 414
    assert headers["content-type"] == "application/json"
    error = only_error(body)
    assert error["status"] == "414" and error["code"] == "request_uri_too_long" and error["detail"]


def test_a_70_kb_header_is_a_json_api_431(local_run: LocalRun) -> None:
    status, headers, body = exchange(
        local_run, f"GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 70_000}\r\n\r\n".encode()
    )
    assert status == 431
    assert headers["content-type"] == "application/json"
    error = only_error(body)
    assert error["status"] == "431" and error["code"] == "request_header_fields_too_large"


@pytest.mark.parametrize("method", ["CONNECT", "PROPFIND"])
def test_an_unknown_method_is_a_json_api_501(local_run: LocalRun, method: str) -> None:
    status, headers, body = exchange(
        local_run, f"{method} /v1/customers HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    assert status == 501
    assert headers["content-type"] == "application/json"
    error = only_error(body)
    assert error["status"] == "501" and error["code"] == "not_implemented"
    assert method in error["detail"]
