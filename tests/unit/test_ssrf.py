"""Which destinations a webhook may have: address vetting and the save-time URL check."""

from __future__ import annotations

import ipaddress

import pytest

from switchboard.adapters.http_sender import UnsafeDestination, check_url, parse_retry_after, vet_address

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.10.10", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "this network"),  # noqa: S104 - an address to refuse, not a bind
    ("0.1.2.3", "this network"),
    ("192.0.0.8", "IETF protocol"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fd00:ec2::254", "metadata"),
    ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, a private"),
    ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a cloud metadata"),
    ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1"),
    ("2002:a00:1::", "6to4 form of 10.0.0.1"),
    ("2001::1", "Teredo"),
    ("2001:db8::1", "documentation"),
    ("ff02::1", "multicast"),
    ("fec0::1", "site-local"),
]


@pytest.mark.parametrize(("address", "what"), REFUSED)
def test_refused_addresses(address: str, what: str) -> None:
    reason = vet_address(ipaddress.ip_address(address), allow_private=False)
    assert reason is not None and reason.startswith(f"{ipaddress.ip_address(address)} is ")
    assert what in reason


@pytest.mark.parametrize(
    "address",
    ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1", "2002:101:101::", "64:ff9b::101:101"],
)
def test_global_addresses_allowed(address: str) -> None:
    assert vet_address(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "fd12::1", "::ffff:127.0.0.1"]
)
def test_local_run_allows_loopback_and_private(address: str) -> None:
    assert vet_address(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "169.254.170.2", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0"],  # noqa: S104
)
def test_local_run_still_refuses_metadata_and_link_local(address: str) -> None:
    assert vet_address(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/k",
        "https://hooks.example.com:8443/k?a=1&b=2",
        "https://1.1.1.1/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://bücher.example/hook",
        "HTTPS://Hooks.Example.COM",
    ],
)
def test_check_url_accepts(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/k", "scheme must be https"),
        ("ftp://hooks.example.com/k", "scheme must be https"),
        ("hooks.example.com/k", "scheme must be https"),
        ("https://user:pw@hooks.example.com/k", "credentials"),
        ("https://user@hooks.example.com/k", "credentials"),
        ("https:///k", "no host"),
        ("https://", "no host"),
        ("https://hooks.example.com:0/k", "port"),
        ("https://hooks.example.com:70000/k", "port"),
        ("https://hooks.example.com:abc/k", "port"),
        ("https://hooks.example.com/" + "a" * 2048, "longer than 2048"),
        ("https://hooks.example.com/a b", "spaces or control"),
        ("https://hooks.example.com/\r\nX: y", "spaces or control"),
        ("https://hooks_ex!ample.com/", "not a valid domain name"),
        ("https://10.0.0.1/k", "10.0.0.1 is a private address"),
        ("https://127.1/k", "127.0.0.1 is a loopback address"),
        ("https://2130706433/k", "127.0.0.1 is a loopback address"),
        ("https://0x7f.0.0.1/k", "127.0.0.1 is a loopback address"),
        ("https://[::1]/k", "::1 is a loopback address"),
        ("https://[::ffff:a9fe:a9fe]/k", "cloud metadata"),
        ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("https://localhost/k", "loopback name"),
        ("https://api.localhost./k", "loopback name"),
        ("", "empty"),
    ],
)
def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeDestination) as caught:
        check_url(url, allow_private=False)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_check_url_in_the_local_run() -> None:
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://localhost:3000/",
        "https://10.1.2.3/k",
        "http://[::1]:9/",
    ):
        check_url(url, allow_private=True)
    for url, reason in [
        ("http://169.254.169.254/latest", "cloud metadata"),
        ("ftp://127.0.0.1/", "https or http"),
        ("http://u:p@127.0.0.1/", "credentials"),
    ]:
        with pytest.raises(UnsafeDestination, match=reason):
            check_url(url, allow_private=True)


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412460.0) == 20.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0
