"""Dates from outside at the edges of the range: years 0001 to 9999 in UTC are stored in the
wire form with a four-digit year; an offset that pushes the instant past either end is a 400
with a pointer, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import ApiClient, Reply

BEFORE_YEAR_1 = "0001-01-01T00:00:00+01:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-01:00"


def out_of_range(reply: Reply, pointer: str) -> None:
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["status"] == "400"
    assert error["source"] == {"pointer": pointer}
    assert "out of range" in error["detail"]


def customer(api: ApiClient, **attributes: Any) -> dict[str, Any]:
    reply = api.post("/v1/customers", {"name": "Jane Doe", **attributes})
    assert reply.status == 201, reply.json
    return reply.json["data"]


@pytest.mark.parametrize("value", [BEFORE_YEAR_1, AFTER_YEAR_9999])
def test_a_custom_date_past_the_range_is_a_400(api: ApiClient, value: str) -> None:
    jane = customer(api)
    reply = api.patch(f"/v1/customers/{jane['id']}", {"custom": {"fooAt": value}})
    out_of_range(reply, "/custom/fooAt")
    out_of_range(api.post("/v1/customers", {"name": "Joe", "custom": {"fooAt": value}}), "/custom/fooAt")


@pytest.mark.parametrize("value", [BEFORE_YEAR_1, AFTER_YEAR_9999])
def test_a_standard_date_past_the_range_is_a_400(api: ApiClient, value: str) -> None:
    out_of_range(api.post("/v1/customers", {"name": "Jane", "importedAt": value}), "/importedAt")
    out_of_range(api.post("/v1/customers", {"name": "Jane", "signedUpAt": value}), "/signedUpAt")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("0001-01-01T00:30:00-00:30", "0001-01-01T01:00:00.000Z"),
        ("0999-06-15T12:00:00+02:00", "0999-06-15T10:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("9999-12-31T23:00:00-00:59", "9999-12-31T23:59:00.000Z"),
    ],
)
def test_the_ends_of_the_range_are_stored_with_four_digit_years(
    api: ApiClient, sent: str, stored: str
) -> None:
    jane = customer(api, importedAt=sent, custom={"fooAt": sent})
    assert jane["attributes"]["custom"]["fooAt"] == stored
    assert jane["attributes"]["importedAt"] == stored
    again = api.get(f"/v1/customers/{jane['id']}").json["data"]["attributes"]
    assert again["custom"]["fooAt"] == stored


def test_a_redrive_since_a_date_past_the_range_is_a_400(api: ApiClient) -> None:
    body = {"name": "Sync", "url": "https://hooks.example.com/s", "events": ["kustomer.customer.create"]}
    reply = api.post("/v1/outbound-webhooks", body)
    assert reply.status == 201, reply.json
    hook = reply.json["data"]["id"]
    for value in (BEFORE_YEAR_1, AFTER_YEAR_9999):
        out_of_range(api.post(f"/v1/outbound-webhooks/{hook}/redrive", {"since": value}), "/since")
    refused = api.post(f"/v1/outbound-webhooks/{hook}/redrive", {"since": "yesterday"})
    assert refused.status == 400 and refused.json["errors"][0]["source"] == {"pointer": "/since"}


@pytest.mark.parametrize("rev", [True, False, "1", 1.5])
def test_a_rev_that_is_not_an_integer_is_a_400(api: ApiClient, rev: Any) -> None:
    jane = customer(api)
    reply = api.patch(f"/v1/customers/{jane['id']}", {"rev": rev, "name": "Jane Roe"})
    assert reply.status == 400, reply.json
    assert reply.json["errors"][0]["source"] == {"pointer": "/rev"}
    assert api.patch(f"/v1/customers/{jane['id']}", {"rev": 1, "name": "Jane Roe"}).status == 200


def test_a_rev_written_as_a_whole_float_is_that_integer(api: ApiClient) -> None:
    """JSON Schema's `integer` (and so the OpenAPI document) counts 1.0 as the integer 1."""
    jane = api.post("/v1/customers", {"name": "Jane"}).json["data"]
    assert api.patch(f"/v1/customers/{jane['id']}", {"rev": 1.0, "name": "Jane Roe"}).status == 200
    assert api.patch(f"/v1/customers/{jane['id']}", {"rev": 1.0, "name": "Jane Poe"}).status == 409
