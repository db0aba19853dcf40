"""An SSRF-safe HTTP client for webhook deliveries and workflow requests, on the standard library only.

A URL is checked when a webhook is saved (`check_url`) and again at every delivery, where the
host is resolved once, every address it resolves to is vetted, and the socket is opened to the
first vetted address itself: there is no second lookup, so DNS rebinding has no window. For
https the TLS layer still verifies the certificate against the URL's host name.

`HttpSender.post` never raises for network trouble: each failure is a `PostResult` with an
`error` that says what happened, ready for the attempt log. `HttpSender.request` is the same
exchange for any of GET, POST, PUT, PATCH and DELETE, answering a `Response` with the body (at
most 1 MB) for callers that read what the server says (workflow REST steps).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import email.utils
import functools
import heapq
import http.client
import ipaddress
import itertools
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Protocol
from urllib.parse import urlsplit

from switchboard.domain import http_fields

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
BODY_HEAD_BYTES = 2048
MAX_RESPONSE_BYTES = 1024 * 1024  # what `request` reads of a body; the rest is cut (`truncated`)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_BODYLESS = frozenset({"GET", "DELETE"})  # no Content-Length unless a body is given

# Headers the sender owns: the Host comes from the URL and the framing from the body, whatever a
# webhook's custom headers say, so a pooled connection can never be desynchronised.
OWNED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "upgrade", "expect"}
)


class UnsafeDestination(Exception):
    """A webhook URL or address that Switchboard will not send to; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- Address policy -------------------------------------------------------------------------------

_net = ipaddress.ip_network

# Instance metadata and similar services: refused even in the local run.
_METADATA_V4 = frozenset(
    ipaddress.IPv4Address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # ECS task metadata and credentials
        "169.254.170.23",  # EKS pod identity
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud metadata
    )
)
_METADATA_V6 = _net("fd00:ec2::/32")  # AWS IPv6 metadata, DNS and time sync

_Rule = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, bool]
_V4_RULES: list[_Rule] = [
    # (network, what it is, allowed when allow_private)
    (_net("255.255.255.255/32"), "the broadcast address", False),
    (_net("0.0.0.0/8"), "a 'this network' address (0.0.0.0/8)", False),
    (_net("10.0.0.0/8"), "a private address", True),
    (_net("172.16.0.0/12"), "a private address", True),
    (_net("192.168.0.0/16"), "a private address", True),
    (_net("127.0.0.0/8"), "a loopback address", True),
    (_net("169.254.0.0/16"), "a link-local address", False),
    (_net("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)", False),
    (_net("192.0.0.0/24"), "an IETF protocol address (192.0.0.0/24)", False),
    (_net("192.0.2.0/24"), "a documentation address", False),
    (_net("198.51.100.0/24"), "a documentation address", False),
    (_net("203.0.113.0/24"), "a documentation address", False),
    (_net("192.88.99.0/24"), "a 6to4 relay address", False),
    (_net("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)", False),
    (_net("224.0.0.0/4"), "a multicast address", False),
    (_net("240.0.0.0/4"), "a reserved address", False),
]
_V6_RULES: list[_Rule] = [
    (_net("::1/128"), "a loopback address", True),
    (_net("::/128"), "the unspecified address", False),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address", False),
    (_net("2001::/32"), "a Teredo tunnel address", False),
    (_net("2001:db8::/32"), "a documentation address", False),
    (_net("100::/64"), "a discard-only address", False),
    (_net("fc00::/7"), "a unique-local (private) address", True),
    (_net("fe80::/10"), "a link-local address", False),
    (_net("fec0::/10"), "a site-local address", False),
    (_net("ff00::/8"), "a multicast address", False),
    (_net("::/8"), "a reserved address", False),
]
_MAPPED = _net("::ffff:0:0/96")
_NAT64 = _net("64:ff9b::/96")
_SIX_TO_FOUR = _net("2002::/16")


def _refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """What kind of address this is when it is refused (a phrase), or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    if ip in _METADATA_V4 or (isinstance(ip, ipaddress.IPv6Address) and ip in _METADATA_V6):
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv4Address):
        rules = _V4_RULES
    else:
        embedded, how = None, ""
        if ip in _MAPPED:
            embedded, how = ip.ipv4_mapped, "an IPv4-mapped form"
        elif ip in _NAT64:
            embedded, how = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "a NAT64 form"
        elif ip in _SIX_TO_FOUR:
            embedded, how = ip.sixtofour, "a 6to4 form"
        if embedded is not None:
            inner = _refusal(embedded, allow_private)
            return f"{how} of {embedded}, {inner}" if inner else None
        rules = _V6_RULES
    for network, what, local_ok in rules:
        if ip in network:
            return None if (allow_private and local_ok) else what
    if not ip.is_global:
        return "not a globally routable address"
    return None


@functools.lru_cache(maxsize=4096)
def _judge(text: str, allow_private: bool) -> tuple[IPAddress, str | None]:
    """A resolved address and what it is when refused; cached, as receivers' addresses repeat."""
    ip = ipaddress.ip_address(text)
    return ip, _refusal(ip, allow_private)


def vet_address(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to `ip`, or None when it may. Only globally routable
    addresses pass; `allow_private` (the local run only) lets loopback and private ranges through,
    never cloud metadata or link-local addresses."""
    what = _refusal(ip, allow_private)
    return f"{ip} is {what}" if what else None


# -- URLs -----------------------------------------------------------------------------------------

_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_LEGACY_V4 = re.compile(r"[0-9a-fx.]+")
# A last label that is a number (decimal, octal or 0x hex): the host is an IPv4 address or nothing
# (the WHATWG URL standard's rule); resolvers would read it as one, so it is never a name.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA), lower case, no brackets
    port: int
    path: str  # path and query, as sent on the request line
    ip: IPAddress | None  # when the host is an address literal


def _literal(host: str) -> IPAddress | None:
    """The address a host spells, including the legacy IPv4 forms resolvers accept (127.1,
    2130706433, 0x7f.1, 0177.0.0.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def normalize_host(host: str) -> tuple[str, IPAddress | None]:
    """The one form of a URL host that is both checked and connected to: IDNA (ASCII), lower
    case, without the root label's trailing dot ("127.0.0.1." is 127.0.0.1), and an address
    literal in any IPv4 spelling resolvers accept written as the address it means. Answers
    (host, address) with address None for a domain name; raises UnsafeDestination for a host
    that is neither. `host` is the URL's host without brackets; an IPv6 literal is given in
    brackets' content form ("::ffff:127.0.0.1") and comes back canonical ("::ffff:7f00:1")."""
    if ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeDestination("the host is not a valid IPv6 address") from None
        if ip6.scope_id:
            raise UnsafeDestination("IPv6 zone identifiers are not allowed")
        return str(ip6), ip6
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnsafeDestination("the host is not a valid domain name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # the root label: "example.com." and "example.com" are one host
    if not host or len(host) > 253 or not _NAME.fullmatch(host):
        raise UnsafeDestination("the host is not a valid domain name")
    ip = _literal(host)
    if ip is not None:
        return str(ip), ip
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise UnsafeDestination("the host is not a valid IPv4 address")
    return host, None


@functools.lru_cache(maxsize=1024)
def _parse(url: str, allow_private: bool) -> _Target:
    """Parse and check a URL; every refusal is an UnsafeDestination with a reason. Cached: a
    webhook's URL is parsed once per container, not once per delivery."""
    if not isinstance(url, str) or not url:
        raise UnsafeDestination("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE_CHARS.search(url):
        raise UnsafeDestination("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("the URL cannot be parsed (is the port a number from 1 to 65535?)") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        allowed = "https or http" if allow_private else "https"
        raise UnsafeDestination(f"the scheme must be {allowed}, not {scheme or 'missing'}")
    if "@" in parts.netloc:
        raise UnsafeDestination("credentials in the URL (user:password@host) are not allowed")
    host = parts.hostname or ""
    if not host:
        raise UnsafeDestination("the URL has no host")
    if port is None:
        port = 443 if scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise UnsafeDestination("the port must be a number from 1 to 65535")
    if ("[" in parts.netloc) != (":" in host):
        raise UnsafeDestination("the host is not a valid domain name or address")
    host, ip = normalize_host(host)
    if ip is not None:
        reason = vet_address(ip, allow_private=allow_private)
        if reason:
            raise UnsafeDestination(reason)
    elif not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeDestination(f"{host} is a loopback name")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host, port, path, ip)


def check_url(url: str, *, allow_private: bool) -> None:
    """Check a webhook URL when it is saved: https (http only in the local run), a host, no
    credentials, a valid port, at most 2048 characters, and an allowed address if the host is one.
    Names are resolved only at delivery time, where every address is vetted again."""
    _parse(url, allow_private)


# -- Results --------------------------------------------------------------------------------------


@dataclass
class PostResult:
    """One POST's outcome. `status` is None when no HTTP response arrived; `error` is None only
    for a complete, non-redirect response (a 500 is an answer, not an error)."""

    status: int | None
    latency_ms: float
    error: str | None = None
    body_head: str = ""
    retry_after_s: float | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Response:
    """One request's outcome. `status` is None when no HTTP response arrived; `error` says why,
    and is also set for a redirect, which is never followed. `body` holds at most
    MAX_RESPONSE_BYTES; `truncated` says the server sent more."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    error: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class Requester(Protocol):
    """What callers need of `HttpSender.request` (tests may pass any object that does this)."""

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float | None = None,
    ) -> Response: ...


@dataclass
class _Answer:
    """What `_send` got: shared by `post` and `request`, which shape it for their callers."""

    status: int | None
    latency_ms: float
    error: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


_DELAY_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or an HTTP-date), else None."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# -- Connections ----------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket goes to a vetted address, never to a fresh lookup of
    `host`; `host` still names the server in the Host header."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_ip = ip
        self.idle_since = 0.0
        self.answered = False  # a status line arrived in the current exchange
        self._hold_next = False
        self._held: bytes | None = None

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)
        with contextlib.suppress(OSError):  # a platform without TCP_NODELAY
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> None:
        """Send a request whose head and body leave in one write (one segment for most events),
        which saves a syscall and a round of Nagle/delayed-ACK trouble at the receiver."""
        self.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            self.putheader(name, value)
        if body is not None or method not in _BODYLESS:
            self.putheader("Content-Length", str(len(body or b"")))
        self._hold_next, self._held = bool(body), None
        self.endheaders(body or None)

    def send(self, data: bytes) -> None:
        if self._hold_next:  # the head: keep it for the body's write
            self._hold_next, self._held = False, bytes(data)
            return
        if self._held is not None:
            data, self._held = self._held + bytes(data), None
        super().send(data)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """As above, with TLS whose SNI and certificate check use the URL's host name."""

    default_port = 443

    def __init__(self, host: str, port: int, ip: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, ip, timeout)
        self._context = context

    def connect(self) -> None:
        super().connect()
        raw = self.sock
        try:
            # The handshake runs after `self.sock` is the TLS socket, so the deadline watchdog can
            # cut a handshake that drips.
            self.sock = self._context.wrap_socket(
                raw, server_hostname=self.host, do_handshake_on_connect=False
            )
            self.sock.do_handshake()
        except BaseException:
            self.sock.close()
            self.sock = None
            raise


class _Alarm:
    """A deadline for one exchange. `sock` is set once connected: a response that ends the
    connection detaches the socket from `conn`, and its body must still be cut at the deadline."""

    __slots__ = ("conn", "fired", "sock")

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn: http.client.HTTPConnection | None = conn
        self.sock: socket.socket | None = None
        self.fired = False


class _Watchdog:
    """One daemon thread that shuts down the socket of any request past its total deadline.
    Socket timeouts bound each read; this bounds a server that drips bytes to stay under them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Alarm]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the thread will next look at the heap

    def arm(self, deadline: float, conn: http.client.HTTPConnection) -> _Alarm:
        alarm = _Alarm(conn)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._seq), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-sender-watchdog", daemon=True)
                self._thread.start()
            if deadline < self._wake_at:  # rare: usually an earlier deadline is already pending
                self._cond.notify()
        return alarm

    def disarm(self, alarm: _Alarm) -> bool:
        """Stop the alarm; True when it had already fired (the socket is shut down)."""
        with self._cond:
            alarm.conn = alarm.sock = None
            return alarm.fired

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].conn is None or self._heap[0][0] <= now):
                    alarm = heapq.heappop(self._heap)[2]
                    if alarm.conn is not None:
                        alarm.fired = True
                        sock = alarm.sock or alarm.conn.sock
                        alarm.conn = alarm.sock = None
                        if sock is not None:
                            # The plain socket's shutdown, also under TLS: it unblocks any read.
                            with contextlib.suppress(OSError):
                                socket.socket.shutdown(sock, socket.SHUT_RDWR)
                self._wake_at = self._heap[0][0] if self._heap else float("inf")
                self._cond.wait(self._wake_at - now if self._heap else None)


_WATCHDOG = _Watchdog()
_DNS_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_DNS_POOL_LOCK = threading.Lock()


def _dns_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _DNS_POOL
    with _DNS_POOL_LOCK:
        if _DNS_POOL is None:
            _DNS_POOL = concurrent.futures.ThreadPoolExecutor(
                max_workers=8, thread_name_prefix="http-sender-dns"
            )
        return _DNS_POOL


def system_resolve(host: str, port: int) -> list[str]:
    """Every address getaddrinfo gives for a host, in its order, without repeats."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if sockaddr[0] not in found:
            found.append(sockaddr[0])
    return found


class _Timeout(Exception):
    pass


class _Failed(Exception):
    pass


# Failures of a reused keep-alive connection that mean the server had closed it: worth one more
# try on a fresh connection.
_STALE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected)

_Key = tuple[str, str, int, str]


class HttpSender:
    """POSTs webhook bodies and sends workflow requests. Thread-safe; keeps idle keep-alive
    connections per (scheme, host, port, address) for a few seconds, since most deliveries go to
    few receivers."""

    max_idle_s = 4.0  # below common keep-alive timeouts (Node 5 s), so a reused socket is rarely stale
    max_idle_per_key = 16
    dns_cache_s = 5.0  # system lookups only; every cached address was vetted and is vetted again

    def __init__(
        self,
        allow_private: bool = False,
        timeout_s: float = 10.0,
        resolve: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self._resolve = resolve
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._idle: dict[_Key, list[_PinnedHTTPConnection]] = {}
        self._dns: dict[tuple[str, int], tuple[list[str], float]] = {}
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------------------------

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float | None = None
    ) -> PostResult:
        """POST `body` as given. Never raises for network trouble: see `PostResult.error`."""
        answer = self._send("POST", url, body, headers, timeout_s, BODY_HEAD_BYTES)
        if answer.status is None:
            return PostResult(None, answer.latency_ms, answer.error)
        return PostResult(
            answer.status,
            answer.latency_ms,
            answer.error,
            answer.body.decode("utf-8", errors="replace"),
            parse_retry_after(answer.headers.get("retry-after")),
            answer.headers,
        )

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float | None = None,
    ) -> Response:
        """Send one GET, POST, PUT, PATCH or DELETE with the same guards as `post` and read up to
        MAX_RESPONSE_BYTES of the answer. Never raises for network trouble: see `Response.error`;
        an unsupported method is a ValueError (a caller's bug, not the network's)."""
        verb = method.upper() if isinstance(method, str) else ""
        if verb not in METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        answer = self._send(verb, url, body, headers or {}, timeout_s, MAX_RESPONSE_BYTES + 1)
        data, truncated = answer.body, False
        if len(data) > MAX_RESPONSE_BYTES:
            data, truncated = data[:MAX_RESPONSE_BYTES], True
        return Response(answer.status, answer.headers, data, answer.latency_ms, answer.error, truncated)

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout_s: float | None,
        limit: int,
    ) -> _Answer:
        """One exchange with every guard: URL policy, one vetted lookup, a pinned address, a total
        deadline, no redirects. Reads at most `limit` bytes of the body."""
        timeout = float(timeout_s if timeout_s is not None else self.timeout_s)
        started = time.perf_counter()
        deadline = time.monotonic() + timeout

        def failed(error: str) -> _Answer:
            return _Answer(None, (time.perf_counter() - started) * 1000, error)

        try:
            target = _parse(url, self.allow_private)
            address = self._vetted_address(target, deadline)
            key: _Key = (target.scheme, target.host, target.port, address)
            sent = _outgoing(headers)
            for attempt in range(2):
                conn, reused = self._checkout(key, target, deadline)
                try:
                    status, data, response_headers, reusable = self._exchange(
                        conn, method, target.path, body, sent, deadline, limit
                    )
                except _STALE:
                    conn.close()
                    # Only a reused socket that died before any answer: the receiver most likely
                    # closed it while idle and never saw this request.
                    if reused and attempt == 0 and not conn.answered and time.monotonic() < deadline:
                        continue
                    raise
                except BaseException:
                    conn.close()
                    raise
                if reusable:
                    self._checkin(key, conn)
                else:
                    conn.close()
                break
        except UnsafeDestination as exc:
            return failed(f"refused: {exc.reason}")
        except _Failed as exc:
            return failed(str(exc))
        except (_Timeout, TimeoutError):
            return failed(f"timeout after {_seconds(timeout)} s")
        except Exception as exc:
            return failed(_describe(exc))
        latency = (time.perf_counter() - started) * 1000
        error = f"redirect not followed ({status})" if 300 <= status < 400 else None
        return _Answer(status, latency, error, data, response_headers)

    def close(self) -> None:
        """Close every idle pooled connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __enter__(self) -> HttpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps ----------------------------------------------------------------------------------

    def _vetted_address(self, target: _Target, deadline: float) -> str:
        """Resolve the host once; refuse if ANY address is refused; else the first address."""
        if target.ip is not None:
            return target.host  # the literal, vetted by _parse
        addresses = self._lookup(target.host, target.port, deadline)
        if not addresses:
            raise _Failed(f"DNS: {target.host} has no addresses")
        for text in addresses:
            try:
                ip, what = _judge(text, self.allow_private)
            except ValueError:
                raise _Failed(f"DNS: {target.host} resolved to {text!r}, not an address") from None
            if what:
                raise UnsafeDestination(f"{target.host} resolves to {ip}, {what}")
        return addresses[0]

    def _lookup(self, host: str, port: int, deadline: float) -> list[str]:
        if self._resolve is not None:
            try:
                return list(self._resolve(host, port))
            except OSError as exc:
                raise _Failed(f"DNS: cannot resolve {host} ({_strerror(exc)})") from None
        now = time.monotonic()
        with self._lock:
            cached = self._dns.get((host, port))
        if cached and cached[1] > now:
            return cached[0]
        future = _dns_pool().submit(system_resolve, host, port)
        try:
            addresses = future.result(timeout=max(0.0, deadline - now))
        except concurrent.futures.TimeoutError:
            raise _Timeout from None
        except OSError as exc:
            raise _Failed(f"DNS: cannot resolve {host} ({_strerror(exc)})") from None
        with self._lock:
            if len(self._dns) > 1024:
                self._dns.clear()
            self._dns[(host, port)] = (addresses, now + self.dns_cache_s)
        return addresses

    def _checkout(self, key: _Key, target: _Target, deadline: float) -> tuple[_PinnedHTTPConnection, bool]:
        """An idle pooled connection that is still open, or a new one (not yet connected)."""
        now = time.monotonic()
        while True:
            with self._lock:
                conns = self._idle.get(key)
                conn = conns.pop() if conns else None
            if conn is None:
                break
            if now - conn.idle_since <= self.max_idle_s and _still_open(conn):
                return conn, True
            conn.close()
        remaining = max(0.001, deadline - now)
        if target.scheme == "https":
            return _PinnedHTTPSConnection(
                target.host, target.port, key[3], remaining, self._ssl_context
            ), False
        return _PinnedHTTPConnection(target.host, target.port, key[3], remaining), False

    def _checkin(self, key: _Key, conn: _PinnedHTTPConnection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < self.max_idle_per_key:
                conns.append(conn)
                return
        conn.close()

    def _exchange(
        self,
        conn: _PinnedHTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        limit: int,
    ) -> tuple[int, bytes, dict[str, str], bool]:
        """Send one request and read the status, headers and at most `limit` bytes of body."""
        alarm = _WATCHDOG.arm(deadline, conn)
        conn.answered = False
        try:
            conn.timeout = _remaining(deadline)
            if conn.sock is None:
                conn.connect()
            sock = alarm.sock = conn.sock
            sock.settimeout(_remaining(deadline))
            conn.send_request(method, path, body, headers)
            sock.settimeout(_remaining(deadline))
            response = conn.getresponse()
            conn.answered = True
            response_headers: dict[str, str] = {}
            for name, value in response.getheaders():
                name = name.lower()
                response_headers[name] = (
                    f"{response_headers[name]}, {value}" if name in response_headers else value
                )
            head = bytearray()
            while len(head) < limit and not response.isclosed():
                sock.settimeout(_remaining(deadline))
                chunk = response.read(min(limit - len(head), 65536))
                if not chunk:
                    break
                head += chunk
            reusable = (
                response.status >= 200
                and response.isclosed()
                and not response.will_close
                and conn.sock is not None
            )
            if not reusable:
                response.close()  # stop reading: the rest of a long body is not needed
        except BaseException:
            if _WATCHDOG.disarm(alarm):
                raise _Timeout from None
            raise
        if _WATCHDOG.disarm(alarm):
            reusable = False  # the watchdog shut the socket as the answer completed
        return response.status, bytes(head), response_headers, reusable


# RFC 9110 field syntax (`domain.http_fields`, also stated in the OpenAPI document).
_TOKEN = re.compile(http_fields.NAME)
_FIELD_VALUE = re.compile(http_fields.VALUE)


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent as given, or None when it can: the rules that the sender
    applies to every request and that a webhook's custom headers are checked with when saved.
    The answer names the header, never its value (which may be a credential)."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        shown = name[:64] if isinstance(name, str) else type(name).__name__
        return f"{shown!r} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    if not isinstance(value, str):
        return f"the value of {name} is not text"
    if _FIELD_VALUE.fullmatch(value):
        return None
    if any(c in value for c in "\r\n\x00"):
        return f"the value of {name} contains a line break or NUL"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return f"the value of {name} is not Latin-1 text"
    if value != value.strip(" \t"):
        return f"the value of {name} starts or ends with whitespace"
    return f"the value of {name} contains a control character"


def _outgoing(headers: dict[str, str]) -> dict[str, str]:
    """The caller's headers minus those the sender owns; a header that cannot be sent safely is a
    failure that names it (never its value, which may be a credential)."""
    sent: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in OWNED_HEADERS:
            continue
        text = str(value)
        problem = header_problem(name, text)
        if problem:
            raise _Failed(f"invalid header: {problem}")
        sent[name] = text
    return sent


def _seconds(value: float) -> str:
    """10 -> "10.0", 0.5 -> "0.5", 0.25 -> "0.25"."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Timeout
    return left


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed (or spoken on) by the server."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _describe(exc: BaseException) -> str:
    """A short, stable description of a failed exchange for the attempt log."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return "TLS: " + (exc.reason or str(exc)).replace("_", " ").lower()
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, BrokenPipeError | ConnectionAbortedError):
        return "connection closed while sending"
    if isinstance(exc, http.client.IncompleteRead):
        return "response ended early"
    if isinstance(exc, http.client.HTTPException):
        detail = str(exc).strip()
        return f"invalid HTTP response ({type(exc).__name__}{': ' + detail[:120] if detail else ''})"
    if isinstance(exc, ValueError):
        return f"invalid request: {exc}"
    if isinstance(exc, OSError):
        return f"network: {_strerror(exc)}"
    return f"{type(exc).__name__}: {exc}"
