"""HttpSender against real servers on 127.0.0.1: delivery, failures, SSRF refusals without a
connection, TLS verification by host name while dialling an address, and DNS rebinding."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from switchboard.adapters import http_sender
from switchboard.adapters.http_sender import HttpSender

Behaviour = Callable[[BaseHTTPRequestHandler, "Server"], None]


@dataclass
class Seen:
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    def reply(handler: BaseHTTPRequestHandler, server: Server) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return reply


class Server:
    """A recording HTTP(S) server on 127.0.0.1; `behave` writes each answer."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.behave: Behaviour = answer(200, b"ok")
        self.release = threading.Event()  # set at teardown: frees handlers that hold a request
        self.changed = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # head and body are separate writes here

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.changed:
                    server.seen.append(
                        Seen(self.path, list(self.headers.items()), body, self.client_address[1])
                    )
                    server.changed.notify_all()
                server.behave(self, server)

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # peers that give up (timeouts, TLS refusals) are expected here

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait_for(self, count: int) -> list[Seen]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.seen) >= count, timeout=10)
            return list(self.seen)

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def local() -> Iterator[HttpSender]:
    sender = HttpSender(allow_private=True, timeout_s=5.0)
    yield sender
    sender.close()


@pytest.fixture
def no_dialling(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Records every outbound connection attempt and makes none."""
    dialled: list[tuple[Any, ...]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return dialled


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


# -- delivery and answers ------------------------------------------------------------------------


def test_post_delivers_exact_bytes_and_headers(server: Server, local: HttpSender) -> None:
    body = '{"name":"Zoë","n":1}'.encode() + b"\n"
    headers = {
        "Content-Type": "application/json",
        "X-Kustomer-Webhook-Signature": "abc123",
        "X-Source": "k",
        "Host": "evil.example",  # owned by the sender
        "Content-Length": "1",  # owned by the sender
    }
    result = local.post(server.url("/hook?a=1"), body, headers)
    assert result.ok and result.status == 200 and result.error is None
    assert result.body_head == "ok"
    assert result.retry_after_s is None
    assert result.latency_ms > 0
    assert result.headers["content-length"] == "2"
    [seen] = server.seen
    assert seen.path == "/hook?a=1"
    assert seen.body == body
    got = dict(seen.headers)
    assert got["Content-Type"] == "application/json"
    assert got["X-Kustomer-Webhook-Signature"] == "abc123"
    assert got["X-Source"] == "k"
    assert got["Host"] == f"127.0.0.1:{server.port}"
    assert got["Content-Length"] == str(len(body))
    assert [name for name, _ in seen.headers].count("Host") == 1


def test_connections_are_reused(server: Server, local: HttpSender) -> None:
    results = [local.post(server.url(), b"{}", {}) for _ in range(5)]
    assert all(r.ok for r in results)
    assert len({seen.client_port for seen in server.seen}) == 1


def test_a_stale_pooled_connection_is_retried_once_on_a_fresh_one(
    server: Server, local: HttpSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ok_then_hang_up(handler: BaseHTTPRequestHandler, srv: Server) -> None:
        answer(200, b"ok")(handler, srv)  # promises keep-alive, then closes
        handler.close_connection = True

    server.behave = ok_then_hang_up
    monkeypatch.setattr(http_sender, "_still_open", lambda conn: True)  # miss the close on checkout
    first = local.post(server.url(), b"1", {})
    second = local.post(server.url(), b"2", {})
    assert first.ok and second.ok, second.error
    assert [s.body for s in server.seen] == [b"1", b"2"]
    assert server.seen[0].client_port != server.seen[1].client_port


def test_500_is_an_answer(server: Server, local: HttpSender) -> None:
    server.behave = answer(500, b"\xffboom", {"X-Trace": "t1"})
    result = local.post(server.url(), b"{}", {})
    assert result.status == 500 and not result.ok and result.error is None
    assert result.body_head == "\ufffdboom"
    assert result.headers["x-trace"] == "t1"


def test_429_with_retry_after(server: Server, local: HttpSender) -> None:
    server.behave = answer(429, b"slow down", {"Retry-After": "30"})
    result = local.post(server.url(), b"{}", {})
    assert (result.status, result.retry_after_s, result.error) == (429, 30.0, None)
    when = email_date(time.time() + 120)
    server.behave = answer(503, b"", {"Retry-After": when})
    result = local.post(server.url(), b"{}", {})
    assert result.status == 503 and result.retry_after_s is not None and 100 < result.retry_after_s <= 120


def email_date(epoch: float) -> str:
    from email.utils import formatdate

    return formatdate(epoch, usegmt=True)


def test_redirect_is_not_followed(server: Server, local: HttpSender) -> None:
    server.behave = answer(302, b"", {"Location": server.url("/elsewhere")})
    result = local.post(server.url(), b"{}", {})
    assert result.status == 302 and not result.ok
    assert result.error == "redirect not followed (302)"
    assert [s.path for s in server.seen] == ["/hook"]


def test_only_the_head_of_a_long_body_is_read(server: Server, local: HttpSender) -> None:
    server.behave = answer(200, b"x" * 1_000_000)
    result = local.post(server.url(), b"{}", {})
    assert result.ok and result.body_head == "x" * 2048
    assert local.post(server.url(), b"{}", {}).ok  # the unread rest did not poison a pooled socket
    assert len({seen.client_port for seen in server.seen}) == 2


# -- failures --------------------------------------------------------------------------------------


def test_timeout_is_bounded(server: Server) -> None:
    def hold(handler: BaseHTTPRequestHandler, srv: Server) -> None:
        srv.release.wait(30)

    server.behave = hold
    sender = HttpSender(allow_private=True, timeout_s=0.5)
    started = time.monotonic()
    result = sender.post(server.url(), b"{}", {})
    elapsed = time.monotonic() - started
    assert result.status is None and result.error == "timeout after 0.5 s"
    assert 0.45 <= elapsed < 2.0 and 450 <= result.latency_ms < 2000
    assert len(server.wait_for(1)) == 1


def test_a_dripping_server_cannot_stretch_the_total_timeout(server: Server) -> None:
    def drip(handler: BaseHTTPRequestHandler, srv: Server) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        while not srv.release.wait(0.05):  # one header byte per 50 ms, far under any read timeout
            handler.wfile.write(b"X")
            handler.wfile.flush()

    server.behave = drip
    sender = HttpSender(allow_private=True)
    started = time.monotonic()
    result = sender.post(server.url(), b"{}", {}, timeout_s=0.5)
    assert result.error == "timeout after 0.5 s"
    assert time.monotonic() - started < 2.0


def test_connection_refused(local: HttpSender) -> None:
    result = local.post(f"http://127.0.0.1:{closed_port()}/hook", b"{}", {})
    assert (result.status, result.error) == (None, "connection refused")


@pytest.fixture
def garbage_server() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    thread.join(5)


def test_garbage_reply(garbage_server: int, local: HttpSender) -> None:
    result = local.post(f"http://127.0.0.1:{garbage_server}/hook", b"{}", {})
    assert result.status is None
    assert result.error is not None and result.error.startswith("invalid HTTP response")


def test_bad_header_value_is_an_error_not_an_exception(server: Server, local: HttpSender) -> None:
    for headers, error in [
        (
            {"X-Bad": "secret\r\nInjected: 1"},
            "invalid header: the value of X-Bad contains a line break or NUL",
        ),
        ({"X-Bad": "秘密"}, "invalid header: the value of X-Bad is not Latin-1 text"),
        (
            {"Bad Name": "v"},
            "invalid header: 'Bad Name' is not an HTTP header name "
            "(letters, digits and !#$%&'*+-.^_`|~ only)",
        ),
        ({"X-Bad": " padded"}, "invalid header: the value of X-Bad starts or ends with whitespace"),
        ({"X-Bad": "bell\x07"}, "invalid header: the value of X-Bad contains a control character"),
    ]:
        result = local.post(server.url(), b"{}", headers)
        assert (result.status, result.error) == (None, error)
    assert server.seen == []


# -- SSRF -----------------------------------------------------------------------------------------


MAPPED_LOOPBACK = ipaddress.ip_address("::ffff:7f00:1")  # printed as ::ffff:127.0.0.1 from Python 3.13


def test_refuses_loopback_and_private_without_connecting(
    server: Server, no_dialling: list[tuple[Any, ...]]
) -> None:
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return {"private.test": ["10.0.0.1"], "mixed.test": ["1.1.1.1", "127.0.0.1"]}[host]

    sender = HttpSender(allow_private=False, resolve=resolve)
    cases = {
        server.url(scheme="https"): "refused: 127.0.0.1 is a loopback address",
        server.url(scheme="http"): "refused: the scheme must be https, not http",
        server.url(scheme="https", host="localhost"): "refused: localhost is a loopback name",
        "https://private.test/hook": "refused: private.test resolves to 10.0.0.1, a private address",
        "https://mixed.test/hook": "refused: mixed.test resolves to 127.0.0.1, a loopback address",
        "https://[::ffff:7f00:1]/hook": (
            f"refused: {MAPPED_LOOPBACK} is an IPv4-mapped form of 127.0.0.1, a loopback address"
        ),
        "https://169.254.169.254/latest/meta-data/": "refused: 169.254.169.254 is a cloud metadata address",
    }
    for url, error in cases.items():
        result = sender.post(url, b"{}", {})
        assert (result.status, result.error) == (None, error), url
    assert resolved == ["private.test", "mixed.test"]
    assert no_dialling == []
    assert server.seen == []


def test_the_system_resolver_is_vetted_too(
    server: Server, no_dialling: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host == "inside.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sender = HttpSender(allow_private=False)
    result = sender.post(f"https://inside.test:{server.port}/", b"{}", {})
    assert result.error == "refused: inside.test resolves to 10.1.2.3, a private address"
    result = sender.post(f"https://nowhere.test:{server.port}/", b"{}", {})
    assert result.error == "DNS: cannot resolve nowhere.test (Name or service not known)"
    assert no_dialling == [] and server.seen == []


def test_local_run_still_refuses_metadata(no_dialling: list[tuple[Any, ...]]) -> None:
    sender = HttpSender(allow_private=True, resolve=lambda host, port: ["169.254.169.254"])
    result = sender.post("http://metadata.test/latest/api/token", b"", {})
    assert result.error == "refused: metadata.test resolves to 169.254.169.254, a cloud metadata address"
    assert no_dialling == []


def test_dns_rebinding_gets_no_second_lookup(server: Server, no_dialling: list[tuple[Any, ...]]) -> None:
    """The name first resolves to a public address, then to loopback. The sender must dial the
    address it vetted, and never look the name up again on its way to the socket."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["1.1.1.1"] if len(calls) == 1 else ["127.0.0.1"]

    sender = HttpSender(allow_private=False, resolve=rebinding)
    result = sender.post(f"https://rebind.test:{server.port}/hook", b"{}", {})
    assert calls == ["rebind.test"]
    assert no_dialling == [("1.1.1.1", server.port)]  # the vetted address; the stub refuses it
    assert result.error == "connection refused"
    assert server.seen == []


# -- TLS ------------------------------------------------------------------------------------------


def self_signed(name: str, directory: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path, cert_pem.decode()


@dataclass
class TlsServer:
    server: Server
    trust: ssl.SSLContext  # a client context that trusts the server's certificate
    sni: list[str | None]


@pytest.fixture
def tls_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TlsServer]:
    cert, key, pem = self_signed(request.param, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    running = Server(tls=context)
    yield TlsServer(running, ssl.create_default_context(cadata=pem), sni)
    running.stop()


def loopback_for(name: str) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        assert host == name
        return ["127.0.0.1"]

    return resolve


@pytest.mark.parametrize("tls_server", ["hooks.test"], indirect=True)
def test_https_by_address_keeps_the_host_name_for_tls(tls_server: TlsServer) -> None:
    sender = HttpSender(allow_private=True, resolve=loopback_for("hooks.test"), ssl_context=tls_server.trust)
    url = tls_server.server.url(host="hooks.test", scheme="https")
    first = sender.post(url, b'{"a":1}', {"Content-Type": "application/json"})
    second = sender.post(url, b'{"a":2}', {})
    assert first.ok and second.ok, first.error
    assert first.body_head == "ok"
    assert [s.body for s in tls_server.server.seen] == [b'{"a":1}', b'{"a":2}']
    assert dict(tls_server.server.seen[0].headers)["Host"] == f"hooks.test:{tls_server.server.port}"
    assert tls_server.sni == ["hooks.test"]  # one handshake: the second POST reused the connection
    sender.close()


@pytest.mark.parametrize("tls_server", ["other.test"], indirect=True)
def test_https_certificate_for_another_name_fails(tls_server: TlsServer) -> None:
    sender = HttpSender(allow_private=True, resolve=loopback_for("hooks.test"), ssl_context=tls_server.trust)
    result = sender.post(tls_server.server.url(host="hooks.test", scheme="https"), b"{}", {})
    assert result.status is None
    assert result.error is not None and result.error.startswith("TLS: certificate verify failed")
    assert "hooks.test" in result.error
    assert tls_server.server.seen == []


@pytest.mark.parametrize("tls_server", ["hooks.test"], indirect=True)
def test_https_untrusted_certificate_fails(tls_server: TlsServer) -> None:
    sender = HttpSender(allow_private=True, resolve=loopback_for("hooks.test"))  # system trust store
    result = sender.post(tls_server.server.url(host="hooks.test", scheme="https"), b"{}", {})
    assert result.error is not None and result.error.startswith("TLS: certificate verify failed")
    assert tls_server.server.seen == []


def test_https_through_the_system_resolver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The certificate names `localhost`, the URL says localhost, and the socket goes to the
    address getaddrinfo gave (pinned to 127.0.0.1 here, where the server listens)."""
    cert, key, pem = self_signed("localhost", tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        looked_up.append(host)
        return real("127.0.0.1" if host == "localhost" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    running = Server(tls=context)
    try:
        sender = HttpSender(allow_private=True, ssl_context=ssl.create_default_context(cadata=pem))
        for _ in range(2):
            result = sender.post(running.url(host="localhost", scheme="https"), b"{}", {})
            assert result.ok, result.error
        # One lookup of the name (the second POST used the short-lived cache); the socket itself was
        # opened to the vetted address, whose numeric "lookup" involves no DNS.
        assert looked_up == ["localhost", "127.0.0.1"]
        sender.close()
    finally:
        running.stop()
