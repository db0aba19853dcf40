"""A webhook's custom headers and URL host are judged once, by the rules the sender applies.

A header saved is a header the sender can send (and one refused at save would have failed
every delivery); a URL host is normalized (case, the root's trailing dot, IPv4 spellings,
IPv4-mapped IPv6) the same way when the webhook is saved and when a delivery connects, so
`https://127.0.0.1./` cannot pass one and reach loopback through the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from switchboard.adapters.http_sender import HttpSender, header_problem, normalize_host
from switchboard.domain.webhooks import RESERVED_HEADERS
from tests.integration.conftest import ApiClient, Reply
from tests.integration.test_http_sender import Server

BASE = "/v1/outbound-webhooks"


@pytest.fixture(autouse=True)
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the local run unless a test says otherwise."""
    monkeypatch.delenv("SWITCHBOARD_LOCAL", raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Headers",
        "url": "https://hooks.example.com/switchboard",
        "events": ["kustomer.customer.create"],
        **changes,
    }


def refusal(reply: Reply, pointer: str) -> str:
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["status"] == "400"
    assert error["source"] == {"pointer": pointer}
    return error["detail"]


def send_with(server: Server, name: str, value: str) -> tuple[str | None, list[tuple[str, str]]]:
    """What the sender makes of one custom header: its error, and the headers the server saw."""
    with HttpSender(allow_private=True, timeout_s=5.0) as sender:
        result = sender.post(server.url(), b"{}", {name: value})
    return result.error, (server.seen[-1].headers if server.seen else [])


# --- header values --------------------------------------------------------------------------

BAD_VALUES = [
    ("Grüße ✓", "not Latin-1 text"),  # the value that used to turn webhooks off after 10 sends
    ("中文", "not Latin-1 text"),
    ("a\r\nInjected: 1", "line break or NUL"),
    ("a\nb", "line break or NUL"),
    ("nul\x00", "line break or NUL"),
    ("bell\x07", "control character"),
    ("del\x7f", "control character"),
    (" leading", "starts or ends with whitespace"),
    ("trailing\t", "starts or ends with whitespace"),
]
GOOD_VALUES = ["plain", "Grüße", "inner  spaces\tand tab", "obs-text \xa0\xff", "", "Bearer abc.def-ghi_=="]


@pytest.mark.parametrize(("value", "why"), BAD_VALUES)
def test_a_value_the_sender_refuses_is_refused_when_saved(
    api: ApiClient, server: Server, value: str, why: str
) -> None:
    reason = refusal(api.post(BASE, body(headers=[{"name": "X-Foo", "value": value}])), "/headers/0/value")
    assert why in reason and "X-Foo" in reason
    assert value not in reason  # a value may be a credential
    assert api.get(BASE).json["meta"]["total"] == 0
    # The sender's verdict on the same header: an error, nothing sent.
    error, _ = send_with(server, "X-Foo", value)
    assert error is not None and why in error
    assert server.seen == []


@pytest.mark.parametrize("value", GOOD_VALUES)
def test_a_value_saved_is_sent_unchanged(api: ApiClient, server: Server, value: str) -> None:
    reply = api.post(BASE, body(headers=[{"name": "X-Foo", "value": value}]))
    assert reply.status == 201, reply.json
    assert reply.json["data"]["attributes"]["headers"] == [{"name": "X-Foo", "value": value}]
    error, seen = send_with(server, "X-Foo", value)
    assert error is None
    assert ("X-Foo", value) in seen


def test_a_changed_header_is_checked_too(api: ApiClient) -> None:
    hook = api.post(BASE, body()).json["data"]
    reply = api.patch(
        f"{BASE}/{hook['id']}", {"headers": [{"name": "X-Ok", "value": "1"}, {"name": "X-Bad", "value": "✓"}]}
    )
    assert "X-Bad" in refusal(reply, "/headers/1/value")
    assert api.get(f"{BASE}/{hook['id']}").json["data"]["attributes"]["headers"] == []


# --- header names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Bad Name", "X-Foo:", "Grüße", "X(1)", 'X"q"', "X/Y", "X@Y", "X\tY"])
def test_a_name_that_is_not_a_token_is_refused(api: ApiClient, name: str) -> None:
    reason = refusal(api.post(BASE, body(headers=[{"name": name, "value": "v"}])), "/headers/0/name")
    assert "not an HTTP header name" in reason


@pytest.mark.parametrize("name", ["X-Foo", "x_foo", "A1!#$%&'*+-.^_`|~"])
def test_a_token_name_is_accepted(api: ApiClient, name: str) -> None:
    assert api.post(BASE, body(headers=[{"name": name, "value": "v"}])).status == 201


@pytest.mark.parametrize(
    "name",
    [
        *sorted(RESERVED_HEADERS),
        "Content-Type",
        "HOST",
        "Webhook-Id",
        "webhook-signature",
        "webhook-timestamp",
        "X-Kustomer-Webhook-Signature",
        "X-Kustomer-Webhook-Event",
        "x-kustomer-org",
    ],
)
def test_a_header_switchboard_sets_is_refused(api: ApiClient, name: str) -> None:
    reason = refusal(api.post(BASE, body(headers=[{"name": name, "value": "v"}])), "/headers/0/name")
    assert reason.endswith(f"{name} is set by Switchboard")


def test_reserved_names_cover_what_the_delivery_sets() -> None:
    assert {"host", "content-length", "transfer-encoding", "connection", "content-type", "user-agent"} <= (
        RESERVED_HEADERS
    )


def test_a_name_given_twice_is_one_header_as_rfc_9110_combines_field_lines(api: ApiClient) -> None:
    headers = [
        {"name": "X-Foo", "value": "1"},
        {"name": "x-foo", "value": "2"},
        {"name": "X-FOO", "value": ""},
    ]
    reply = api.post(BASE, body(headers=headers))
    assert reply.status == 201, reply.json
    assert reply.json["data"]["attributes"]["headers"] == [{"name": "X-Foo", "value": "1, 2"}]


def test_save_and_send_share_one_rule() -> None:
    for value, why in BAD_VALUES:
        problem = header_problem("X-Foo", value)
        assert problem is not None and why in problem
    for value in GOOD_VALUES:
        assert header_problem("X-Foo", value) is None


# --- hosts ----------------------------------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1.",  # the root label's trailing dot
    "2130706433",  # one 32-bit number
    "2130706433.",
    "0x7f.1",  # hex, two parts
    "0X7F.0.0.1",
    "0177.0.0.1",  # octal
    "127.1",  # short form
    "127.0.1",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::FFFF:7F00:1]",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits, which IDNA maps to ASCII
    "LOCALHOST.",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_when_saved(api: ApiClient, host: str) -> None:
    reason = refusal(api.post(BASE, body(url=f"https://{host}/hook")), "/url")
    assert "loopback" in reason


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_when_connecting(host: str) -> None:
    def no_lookup(name: str, port: int) -> list[str]:
        raise AssertionError(f"{name} was looked up: the address literal was not recognised")

    with HttpSender(allow_private=False, timeout_s=2.0, resolve=no_lookup) as sender:
        result = sender.post(f"https://{host}/hook", b"{}", {})
    assert result.status is None
    assert result.error is not None and result.error.startswith("refused:") and "loopback" in result.error


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        ("127.0.0.1.", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("Hooks.Example.COM.", "hooks.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_hosts_have_one_normal_form(host: str, normal: str) -> None:
    assert normalize_host(host)[0] == normal


@pytest.mark.parametrize("host", ["127.0.0.1..", "127.0.0.256", "hooks.example.123", "1.2.3.4.5"])
def test_a_host_that_is_neither_a_name_nor_an_address_is_refused(api: ApiClient, host: str) -> None:
    reason = refusal(api.post(BASE, body(url=f"https://{host}/hook")), "/url")
    assert "not a valid" in reason


def test_a_name_with_the_roots_dot_is_still_a_name(api: ApiClient) -> None:
    assert api.post(BASE, body(url="https://Hooks.Example.com./hook")).status == 201


def test_the_local_run_connects_to_the_normalized_host(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where loopback is allowed, `127.0.0.1.` is 127.0.0.1: no lookup, the Host header normal."""

    def no_lookup(name: str, port: int) -> list[str]:
        raise AssertionError(f"{name} was looked up")

    with HttpSender(allow_private=True, timeout_s=5.0, resolve=no_lookup) as sender:
        result = sender.post(f"http://127.0.0.1.:{server.port}/hook", b"{}", {})
    assert result.status == 200, result.error
    assert ("Host", f"127.0.0.1:{server.port}") in server.seen[-1].headers
