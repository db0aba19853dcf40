"""One masking rule for every record: secrets by name, in headers, URLs and JSON bodies."""

from __future__ import annotations

import copy
import json

import pytest

from switchboard.domain.redaction import (
    MASK,
    mask,
    mask_body,
    mask_headers,
    mask_query,
    mask_url,
    secret_name,
)


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "Password",
        "secret",
        "token",
        "apiKey",
        "api_key",
        "API-KEY",
        "accessToken",
        "access_token",
        "clientSecret",
        "client_secret",
        "authorization",
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "X-Auth-Token",
        "X-Hub-Signature-256",
        "X-Shopify-Hmac-Sha256",
        "X-Kustomer-Webhook-Signature",
        "webhook-signature",
        "refresh_token",
        "db_password",
        "privateKey",
        "auth",
    ],
)
def test_secret_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["email", "name", "id", "author", "Content-Type", "webhook-id", "webhook-timestamp", "User-Agent", "key"],
)
def test_plain_names(name: str) -> None:
    assert not secret_name(name)


@pytest.mark.parametrize("name", ["key", "sig", "api_key", "token", "signature", "access_token", "auth"])
def test_secret_query_names(name: str) -> None:
    assert secret_name(name, query=True)


def test_urls_lose_their_secret_parameters_and_password() -> None:
    url = "https://api.example.com/v1/orders?api_key=k1&page=2&token=t1&key=k2&sig=s&q=a%20b"
    masked = mask_url(url)
    for secret in ("k1", "t1", "k2", "=s&"):
        assert secret not in masked
    assert masked.startswith("https://api.example.com/v1/orders?")
    assert "page=2" in masked and "q=a%20b" in masked and masked.count(MASK) == 4
    assert mask_url("https://ada:hunter2@example.com/x") == f"https://ada:{MASK}@example.com/x"
    plain = "https://example.com/x?page=2&sort=name"
    assert mask_url(plain) == plain
    assert mask_query("password=p&user=ada") == f"password={MASK}&user=ada"


def test_json_fields_are_masked_at_any_depth_and_the_input_is_untouched() -> None:
    document = {
        "user": "ada",
        "Password": "p",
        "nested": [{"client_secret": "cs", "list": [{"accessToken": "at", "n": 1}]}],
        "credentials": {"user": "u", "pass": "x"},
        "headers": [{"name": "Authorization", "value": "Bearer b"}, {"name": "X-Plain", "value": "v"}],
        "callback": "https://example.com/cb?token=t2",
        "empty": {"token": None, "secret": ""},
    }
    original = copy.deepcopy(document)
    shown = mask(document)
    assert document == original
    text = json.dumps(shown)
    for secret in ('"p"', "cs", '"at"', '"x"', "Bearer b", "t2"):
        assert secret not in text
    assert shown["user"] == "ada" and shown["nested"][0]["list"][0]["n"] == 1
    assert shown["credentials"] == MASK
    assert shown["headers"] == [{"name": "Authorization", "value": MASK}, {"name": "X-Plain", "value": "v"}]
    assert shown["empty"] == {"token": None, "secret": ""}


def test_headers_keep_their_names() -> None:
    headers = {"Set-Cookie": "sid=1", "Content-Type": "application/json", "X-Api-Key": "k"}
    assert mask_headers(headers) == {
        "Set-Cookie": MASK,
        "Content-Type": "application/json",
        "X-Api-Key": MASK,
    }
    assert headers["Set-Cookie"] == "sid=1"


def test_bodies() -> None:
    assert json.loads(mask_body(b'{"password": "p", "a": 1}')) == {"password": MASK, "a": 1}
    assert mask_body('{"a":  1}') == '{"a":  1}'  # nothing secret: the very same text
    assert mask_body(b"not json password=p") == b"not json password=p"
    # not JSON (non-standard, or cut at 2 KB): the "name": "value" pairs it shows are masked
    assert mask_body(b'{"a": NaN, "password": "p"}') == b'{"a": NaN, "password": "[redacted]"}'
    assert mask_body('{"user": "ada", "token" : "abc\\"def", "x": [{"secret": "cut-he') == (
        '{"user": "ada", "token" : "[redacted]", "x": [{"secret": "[redacted]"'
    )
    assert mask_body("password=p&a=1", "application/x-www-form-urlencoded") == f"password={MASK}&a=1"


def test_bodies_kept_as_text_are_masked_inside_records() -> None:
    record = {
        "response": '{"access_token": "AT", "id": 1}',
        "error": {"response": {"body": '<html>{"password": "PW"'}},
        "data": "password=PW2&x=1",
        "name": '{"password": "kept: not a body field"}',
    }
    shown = mask(record)
    assert json.loads(shown["response"]) == {"access_token": MASK, "id": 1}
    assert shown["error"]["response"]["body"] == '<html>{"password": "[redacted]"'
    assert shown["name"] == record["name"]


# -- known secrets ----------------------------------------------------------------------------


def test_collecting_gathers_every_value_masked_by_name() -> None:
    from switchboard.domain.redaction import collecting

    with collecting() as found:
        mask(
            {
                "uri": "https://u:USERPW-1@api.example.com/x?api_key=QUERYKEY&page=2",
                "headers": [{"name": "Authorization", "value": "Bearer HEADERTOKEN"}],
                "data": {"password": "BODYPASSWORD", "nested": {"clientSecret": ["S1-LONGER", None]}},
                "body": '{"token": "TEXT\\"TOKEN"',
            }
        )
    assert found == {"USERPW-1", "QUERYKEY", "Bearer HEADERTOKEN", "BODYPASSWORD", "S1-LONGER", 'TEXT"TOKEN'}


def test_collecting_nests_and_outside_a_block_nothing_is_kept() -> None:
    from switchboard.domain.redaction import collecting, secrets_in

    mask({"password": "NOT-KEPT-1"})
    with collecting() as outer:
        with collecting() as inner:
            mask({"password": "INNER-PW"})
        assert inner == {"INNER-PW"}
    assert outer == {"INNER-PW"}
    assert secrets_in({"token": "TOKEN-123", "name": "ada"}) == {"TOKEN-123"}


def test_scrubber_masks_known_values_everywhere_and_leaves_short_ones() -> None:
    from switchboard.domain.redaction import MIN_KNOWN_LENGTH, Scrubber

    scrub = Scrubber({"Bearer SECRET-TOKEN", "a b/c+d=e", "short", ""})
    assert MIN_KNOWN_LENGTH == 6
    record = {
        "match": "SECRET-TOKEN",
        "text": "sent Bearer SECRET-TOKEN to x",
        "SECRET-TOKEN": ["url?k=a%20b%2Fc%2Bd%3De", "form a+b%2Fc%2Bd%3De", 7],
        "short": "short stays",
    }
    assert scrub(record) == {
        "match": MASK,
        "text": f"sent {MASK} to x",
        MASK: [f"url?k={MASK}", f"form {MASK}", 7],
        "short": "short stays",
    }
    assert not Scrubber(["tiny", MASK])
    assert Scrubber([])({"a": "b"}) == {"a": "b"}


def test_mask_definition_masks_step_params_and_copies_of_their_secrets() -> None:
    from switchboard.domain.redaction import mask_definition, placeholders

    workflow = {
        "name": "wf",
        "trigger": {"id": "1", "eventName": "kustomer.conversation.create"},
        "steps": [
            {
                "id": "call",
                "action": "kustomer.rest-api.json",
                "params": {
                    "uri": "https://api.example.com/x?api_key=SECRETQ&access_token=ATOKEN&page=2",
                    "headers": {"Authorization": "Bearer HDRBEARER", "Accept": "application/json"},
                    "data": {"password": "BODYPW-1", "apiKey": "BODYAK-1", "user": "ada"},
                },
            },
            {
                "id": "text",
                "action": "kustomer.rest-api.json",
                "params": {
                    "uri": "https://api.example.com/y",
                    "headers": [{"name": "X-Api-Key", "value": "LISTKEY-1"}],
                    "data": '{"secret": "TEXTSECRET", "copy": "HDRBEARER"}',
                },
            },
        ],
    }
    original = copy.deepcopy(workflow)
    shown = mask_definition(workflow)
    assert workflow == original
    text = json.dumps(shown)
    for secret in ("SECRETQ", "ATOKEN", "HDRBEARER", "BODYPW-1", "BODYAK-1", "LISTKEY-1", "TEXTSECRET"):
        assert secret not in text, secret
    params = shown["steps"][0]["params"]
    assert params["uri"] == f"https://api.example.com/x?api_key={MASK}&access_token={MASK}&page=2"
    assert params["headers"] == {"Authorization": MASK, "Accept": "application/json"}
    assert params["data"]["user"] == "ada"
    assert shown["name"] == "wf" and shown["trigger"] == workflow["trigger"]
    assert placeholders(original) == []
    assert placeholders(shown) == [
        "/steps/0/params/uri",
        "/steps/0/params/headers/Authorization",
        "/steps/0/params/data/password",
        "/steps/0/params/data/apiKey",
        "/steps/1/params/headers/0/value",
        "/steps/1/params/data",
    ]
