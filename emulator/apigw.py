"""API Gateway (REST API, Lambda proxy integration, payload format 1.0) on 127.0.0.1.

Each HTTP request becomes the event API Gateway would send to the function whose declared
route (`wiring.FunctionSpec.routes`) matches, and the function's result becomes the HTTP
response, with API Gateway's own answers where it would give them:

- no declared resource/method matches: MISSING_AUTHENTICATION_TOKEN;
- body over 10 MB: REQUEST_TOO_LARGE;
- an event over Lambda's 6 MB invocation limit (a body of about 6 to 10 MB): Lambda refuses the
  invocation and API Gateway answers REQUEST_TOO_LARGE (error type BadRequestException), as a
  deployed REST API does; the function never runs. Smaller bodies reach the function, which
  answers its own JSON:API 413 above the API's limits;
- the function raised, timed out, or returned a malformed proxy response: DEFAULT_5XX, 502
  (the traceback is in the function's log);
- no answer within the 29 s integration timeout: INTEGRATION_TIMEOUT, 504.

Each answer is the gateway response `wiring.GATEWAY_RESPONSES` declares for its type (the same
JSON:API body the deployed API's gateway responses give, e.g. 404 `not_found` "no such route"
for an unknown path), with API Gateway's `x-amzn-ErrorType`. What the HTTP server itself
refuses before API Gateway's rules apply (a request line over 64 KB: 414, a header line over
64 KB or over 100 headers: 431, a method it does not know such as PROPFIND or CONNECT: 501, a
malformed request: 400) is answered in the same JSON:API envelope, with the status's name as
`code`; these limits are the local server's, not API Gateway's.

URLs: `http://127.0.0.1:<port>/v1/...` acts like a custom domain mapped to the stage, and
`/prod/v1/...` like the stage's execute-api URL; `path` never holds the stage and
`requestContext.path` holds it only in the second form, as in AWS.

Encoding, as a REST API passes it: `path`, `pathParameters` and `requestContext.path` keep
the percent-encoding the client sent (`/v1/customers/email=a%40b.com` arrives as written;
only HTTP APIs decode the path), while query string names and values are decoded, `+` as a
space. Route matching compares the raw segments and ignores a trailing slash.

Where the local run differs from AWS, on purpose: `X-Forwarded-Proto`/`-Port` and `Host`
describe this server (http, its port) so that links a handler builds from them work here.
Bodies are treated as under binary media types `*/*`: a request body that is not UTF-8
arrives base64-encoded with `isBase64Encoded`, and a base64 response is decoded. The deployed
API declares no binary media types, where a base64 response would reach the client as text.
The stage's access log is written as JSON lines in the stage's format to
`<logs>/api-gateway-access.log`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulator.aws import ACCOUNT_ID
from emulator.functions import Functions, InvocationError, InvocationTimeout, PayloadTooLarge
from emulator.logs import FunctionLog
from switchboard import wiring

STAGE = wiring.API_STAGE
API_ID = "sblocalapi"
MAX_BODY_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_S = 29.0
# Hop-by-hop headers end at API Gateway's front door; they never reach the function or the client.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    kind: str  # "literal", "var" or "greedy"
    value: str  # the literal text, or the parameter name

    @property
    def rank(self) -> int:
        """API Gateway prefers a literal resource to a {var} to a {proxy+} at every level."""
        return {"literal": 2, "var": 1, "greedy": 0}[self.kind]


@dataclass(frozen=True)
class CompiledRoute:
    method: str
    path: str  # the declared resource path, e.g. /v1/{proxy+}
    function: str
    segments: tuple[Segment, ...]

    @property
    def resource_id(self) -> str:
        return hashlib.sha256(self.path.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class RouteMatch:
    route: CompiledRoute
    path_parameters: dict[str, str] | None


def compile_route(route: wiring.Route, function: str) -> CompiledRoute:
    segments: list[Segment] = []
    parts = _split(route.path)
    for position, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if position != len(parts) - 1:
                raise ValueError(f"{route.path}: a greedy {{name+}} segment must be the last")
            segments.append(Segment("greedy", part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(Segment("var", part[1:-1]))
        else:
            segments.append(Segment("literal", part))
    return CompiledRoute(route.method.upper(), route.path, function, tuple(segments))


def compile_routes(specs: Iterable[wiring.FunctionSpec]) -> list[CompiledRoute]:
    return [compile_route(route, spec.name) for spec in specs for route in spec.routes]


def _split(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _bind(route: CompiledRoute, parts: list[str]) -> dict[str, str] | None:
    """The path parameters when the route's resource path matches these raw segments."""
    params: dict[str, str] = {}
    for position, segment in enumerate(route.segments):
        if segment.kind == "greedy":
            rest = parts[position:]
            if not rest:
                return None
            params[segment.value] = "/".join(rest)
            return params
        if position >= len(parts):
            return None
        part = parts[position]
        if segment.kind == "literal":
            if part != segment.value:
                return None
        elif not part:
            return None
        else:
            params[segment.value] = part
    return params if len(parts) == len(route.segments) else None


def match_route(routes: Iterable[CompiledRoute], method: str, raw_path: str) -> RouteMatch | None:
    """API Gateway's choice: the most specific resource first, then its method (exact beats ANY).

    None means API Gateway answers its MISSING_AUTHENTICATION_TOKEN gateway response (declared
    as a 404), which it also does when the best resource lacks the method rather than falling
    back to a less specific one.
    """
    parts = _split(raw_path)
    candidates: list[tuple[tuple[int, ...], CompiledRoute, dict[str, str]]] = []
    for route in routes:
        params = _bind(route, parts)
        if params is not None:
            candidates.append((tuple(s.rank for s in route.segments), route, params))
    if not candidates:
        return None
    best = max(rank for rank, _, _ in candidates)
    on_resource = [(route, params) for rank, route, params in candidates if rank == best]
    for wanted in (method.upper(), "ANY"):
        for route, params in on_resource:
            if route.method == wanted:
                return RouteMatch(route, params or None)
    return None


# --- events -------------------------------------------------------------------------------


def request_time(epoch_ms: int) -> str:
    """`requestContext.requestTime` in API Gateway's CLF form, independent of the locale."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def build_event(
    match: RouteMatch,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
    source_ip: str,
    server_port: int,
    stage_in_path: bool = False,
    request_id: str | None = None,
    epoch_ms: int | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """The Lambda proxy event (REST API, payload 1.0) API Gateway would send for this request.

    `raw_path` is the path without the stage; `stage_in_path` says the client called the
    stage URL (`/prod/v1/...`, as on execute-api) rather than a custom-domain style URL
    (`/v1/...`): only `requestContext.path` differs, exactly as in AWS.
    """
    request_id = request_id or str(uuid.uuid4())
    epoch_ms = epoch_ms if epoch_ms is not None else int(time.time() * 1000)
    trace_id = trace_id or f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"
    single, multi = _headers(headers, source_ip=source_ip, server_port=server_port, trace_id=trace_id)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True, errors="replace"):
        query_single[name] = value  # the last value wins, as in API Gateway
        query_multi.setdefault(name, []).append(value)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    host = (_get(single, "Host") or "").split(":")[0]
    user_agent = _get(single, "User-Agent")
    route = match.route
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": match.path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": route.resource_id,
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": request_time(epoch_ms),
            "path": f"/{STAGE}{raw_path}" if stage_in_path else raw_path,
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": host.split(".")[0],
            "requestTimeEpoch": epoch_ms,
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": host,
            "apiId": API_ID,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _get(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def _headers(
    raw: Iterable[tuple[str, str]], *, source_ip: str, server_port: int, trace_id: str
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Header names keep the client's spelling (REST APIs do not lower-case them); last value wins."""
    multi: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in raw:
        if name.lower() in _HOP_BY_HOP:
            continue
        key = spelling.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)

    def put(name: str, value: str) -> None:
        key = spelling.setdefault(name.lower(), name)
        multi[key] = [value]

    forwarded = multi.get(spelling.get("x-forwarded-for", ""), [])
    put("X-Forwarded-For", ", ".join([*forwarded, source_ip]))
    put("X-Forwarded-Port", str(server_port))
    put("X-Forwarded-Proto", "http")
    put("X-Amzn-Trace-Id", trace_id)
    single = {key: values[-1] for key, values in multi.items()}
    return single, multi


# --- responses ----------------------------------------------------------------------------


class MalformedResponse(Exception):
    """What API Gateway logs as 'Malformed Lambda proxy response' before answering 502."""


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error_message: str | None = None  # for the access log's errorMessage
    integration_ms: float | None = None
    integration_status: int | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def gateway_error(response_type: str, message: str, error_type: str) -> GatewayResponse:
    """One of API Gateway's own answers: the declared gateway response for `response_type`,
    with API Gateway's `message` where the declaration takes it."""
    declared = wiring.gateway_response(response_type)
    return _answer(declared, message, [("x-amzn-ErrorType", error_type)])


def server_error(status: int, message: str | None) -> GatewayResponse:
    """The HTTP server's own refusal (414, 431, 501, 400, ...) in the same JSON:API envelope."""
    phrase = HTTPStatus(status).phrase
    declared = wiring.GatewayResponse(
        type=f"LOCAL_{status}",
        status=status,
        code=re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_"),
        title=phrase[:1] + phrase[1:].lower(),
    )
    return _answer(declared, message or HTTPStatus(status).description, [])


def _answer(
    declared: wiring.GatewayResponse, message: str, headers: list[tuple[str, str]]
) -> GatewayResponse:
    return GatewayResponse(
        declared.status,
        [("Content-Type", "application/json"), *headers],
        declared.body(message),
        error_message=message,
    )


MISSING_TOKEN = (
    "MISSING_AUTHENTICATION_TOKEN",
    "Missing Authentication Token",
    "MissingAuthenticationTokenException",
)
TOO_LARGE = ("REQUEST_TOO_LARGE", "Request Too Long")
INTERNAL = ("DEFAULT_5XX", "Internal server error", "InternalServerErrorException")


def parse_response(result: Any) -> GatewayResponse:
    """The HTTP response for a function's proxy result, checked as API Gateway checks it."""
    if not isinstance(result, dict):
        raise MalformedResponse("the result is not a JSON object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an HTTP status, not {status!r}")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    multi_names = {name.lower() for name in multi}
    # Both maps are merged; for a name in both, only the multiValueHeaders values are kept.
    for name, value in single.items():
        if name.lower() not in multi_names:
            headers.append((name, _header_value(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((name, _header_value(value)) for value in values)
    headers = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise MalformedResponse("isBase64Encoded is true but the body is not base64") from exc
    else:
        payload = body.encode("utf-8")
    return GatewayResponse(status, headers, payload)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header values must be scalars, not {type(value).__name__}")


# --- the server ---------------------------------------------------------------------------


class _GatewayServer(ThreadingHTTPServer):
    """A listen backlog of 128 (the default 5 resets bursts of parallel clients, unlike API Gateway)."""

    request_queue_size = 128


class ApiGateway:
    """A threading HTTP server that dispatches to the declared functions by their routes."""

    def __init__(
        self,
        functions: Functions,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        access_log: FunctionLog | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.functions = functions
        self.routes = compile_routes(f.spec for f in functions)
        self.access_log = access_log
        self.echo = echo
        self._server = _GatewayServer((host, port), _RequestHandler)
        self._server.daemon_threads = True
        self._server.gateway = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def respond(self, request: _RequestHandler, body: bytes | None, too_large: bool) -> GatewayResponse:
        """Route, invoke and translate one request; the caller writes the response."""
        method = request.command
        raw_path, raw_query, stage_in_path = _target(request.path)
        request_id = str(uuid.uuid4())
        match = match_route(self.routes, method, raw_path)
        if too_large:
            response = gateway_error(*TOO_LARGE, "RequestTooLargeException")
        elif match is None:
            response = gateway_error(*MISSING_TOKEN)
        else:
            event = build_event(
                match,
                method=method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=request.headers.items(),
                body=body,
                source_ip=request.client_address[0],
                server_port=self.port,
                stage_in_path=stage_in_path,
                request_id=request_id,
            )
            trace_header = event["headers"]["X-Amzn-Trace-Id"]
            response = self._invoke(match.route.function, event, trace_header)
            response.headers.append(("X-Amzn-Trace-Id", trace_header))
        response.headers.append(("x-amzn-RequestId", request_id))
        request.gateway_request_id = request_id
        request.gateway_route = match.route.path if match else None
        return response

    def _invoke(self, function: str, event: dict[str, Any], trace_header: str) -> GatewayResponse:
        started = time.perf_counter()
        try:
            result = self.functions[function].invoke(
                event, wait_s=INTEGRATION_TIMEOUT_S, trace_header=trace_header
            )
            response = parse_response(result)
            response.integration_status = 200
        except PayloadTooLarge as exc:
            response = gateway_error(*TOO_LARGE, "BadRequestException")
            response.error_message = f"Request Too Long: {exc.error_message}"
            response.integration_status = 413  # Lambda's Invoke answered 413
        except InvocationTimeout as exc:
            if exc.function_timed_out:
                response = gateway_error(*INTERNAL)
            else:
                response = gateway_error(
                    "INTEGRATION_TIMEOUT", "Endpoint request timed out", "IntegrationTimeout"
                )
            response.error_message = f"{response.error_message}: {exc.error_message}"
        except InvocationError as exc:
            response = gateway_error(*INTERNAL)
            response.error_message = f"Internal server error: {exc.error_type}"
            response.integration_status = 200  # Lambda answered, with X-Amz-Function-Error
        except MalformedResponse as exc:
            response = gateway_error(*INTERNAL)
            response.error_message = f"Malformed Lambda proxy response: {exc}"
        response.integration_ms = (time.perf_counter() - started) * 1000
        return response

    def record(self, request: _RequestHandler, response: GatewayResponse, started: float) -> None:
        """The stage's access log line (same fields as infra/api.py ACCESS_LOG_FORMAT) and the echo."""
        raw_path, _, stage_in_path = _target(request.path)
        latency = int((time.perf_counter() - started) * 1000)
        integration = response.integration_ms
        if self.access_log is not None:
            epoch_ms = int(time.time() * 1000)
            self.access_log.record(
                {
                    "requestId": getattr(request, "gateway_request_id", None),
                    "requestTime": request_time(epoch_ms),
                    "ip": request.client_address[0],
                    "userAgent": request.headers.get("User-Agent"),
                    "httpMethod": request.command,
                    "resourcePath": getattr(request, "gateway_route", None),
                    "path": f"/{STAGE}{raw_path}" if stage_in_path else raw_path,
                    "protocol": request.request_version,
                    "status": response.status,
                    "responseLength": len(response.body),
                    "responseLatency": latency,
                    "integrationLatency": int(integration) if integration is not None else None,
                    "integrationStatus": response.integration_status,
                    "errorMessage": response.error_message,
                }
            )
        if self.echo is not None:
            self.echo(f"{request.command} {raw_path} -> {response.status} ({latency} ms)")


def _target(target: str) -> tuple[str, str, bool]:
    """Raw (still percent-encoded) path without the stage, query, and whether the stage led the path.

    Both URL forms of a deployed API answer: the stage URL (`/prod/v1/...`) and the custom-domain
    form (`/v1/...`). Powertools derives its base path from `requestContext.path`, so the docs
    page's "Try it out" calls come back in the form the page was loaded with.
    """
    if not target.startswith("/"):
        parts = urlsplit(target)  # absolute-form, as a proxy would send
        path, query = parts.path or "/", parts.query
    else:
        path, _, query = target.partition("?")
        path = path.split("#", 1)[0]
    stage = f"/{STAGE}"
    if path == stage or path.startswith(stage + "/"):
        return path[len(stage) :] or "/", query, True
    return path, query, False


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Switchboard-local"
    gateway_request_id: str | None = None
    gateway_route: str | None = None

    def _handle(self) -> None:
        started = time.perf_counter()
        gateway: ApiGateway = self.server.gateway  # type: ignore[attr-defined]
        try:
            body, too_large = self._read_body()
        except ValueError:
            response = gateway_error("DEFAULT_4XX", "Bad Request", "BadRequestException")
            self.close_connection = True
            self._write(response)
            return
        if too_large:
            self.close_connection = True  # the unread body must not be parsed as the next request
        try:
            response = gateway.respond(self, body, too_large)
        except Exception:
            # A fault of the emulator itself, not of a function: say so on the terminal.
            traceback.print_exc(file=sys.__stderr__)
            response = gateway_error(
                "API_CONFIGURATION_ERROR", "Internal server error", "InternalServerErrorException"
            )
        self._write(response)
        gateway.record(self, response, started)

    def _read_body(self) -> tuple[bytes | None, bool]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return None, False
        length = int(length_header)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            return None, True
        return self.rfile.read(length), False

    def _read_chunked(self) -> tuple[bytes | None, bool]:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks), False
            total += size
            if total > MAX_BODY_BYTES:
                return None, True
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)

    def _write(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP server's refusals (request line or headers too long, unknown method, a
        malformed request) as JSON:API, like every other answer of the local API."""
        self.close_connection = True
        self._write(server_error(code, message))

    # Every method reaches the API, which answers 405 with `Allow` for one it does not serve.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_QUERY = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are recorded in the access log (and echoed) by the gateway."""
