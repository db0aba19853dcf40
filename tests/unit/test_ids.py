"""Timestamps in the wire form: four-digit years, UTC, and a range that never overflows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from switchboard import ids
from switchboard.domain.attributes import check_custom
from switchboard.errors import BadRequest


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(42, 3, 4, 5, 6, 7, 891_999, tzinfo=UTC), "0042-03-04T05:06:07.891Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59.000Z"),
        (datetime(2024, 2, 29, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2024-02-29T10:00:00.000Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "9999-12-31T23:59:59.999Z"),
    ],
)
def test_format_iso_always_writes_a_four_digit_year(moment: datetime, text: str) -> None:
    assert ids.format_iso(moment) == text


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
    ],
)
def test_format_iso_refuses_an_instant_past_the_range_with_a_value_error(moment: datetime) -> None:
    with pytest.raises(ids.DateOutOfRange, match="out of range"):
        ids.format_iso(moment)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:59:59.999+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:00:00-23:59",
    ],
)
def test_a_text_past_the_range_is_out_of_range(text: str) -> None:
    with pytest.raises(ids.DateOutOfRange):
        ids.parse_iso(text)
    with pytest.raises(ValueError, match="out of range"):
        ids.normalize_iso(text)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T22:59:59.999-01:00", "9999-12-31T23:59:59.999Z"),
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00.000Z"),
    ],
)
def test_the_ends_of_the_range_are_kept(text: str, stored: str) -> None:
    assert ids.normalize_iso(text) == stored
    assert ids.parse_iso(text).tzinfo == UTC


@pytest.mark.parametrize("text", ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "2024-05-01", "soon"])
def test_other_texts_are_not_date_times(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        ids.parse_iso(text)
    assert not isinstance(caught.value, ids.DateOutOfRange)


def test_now_is_in_the_wire_form() -> None:
    text = ids.now_iso()
    assert len(text) == 24 and text.endswith("Z") and text[4] == "-" and text[10] == "T"


def test_a_custom_date_past_the_range_is_a_bad_request_that_says_so() -> None:
    with pytest.raises(BadRequest) as caught:
        check_custom({"fooAt": "0001-01-01T00:00:00+01:00"})
    assert caught.value.pointer == "/custom/fooAt"
    assert "out of range" in caught.value.detail
    with pytest.raises(BadRequest) as caught:
        check_custom({"fooAt": "yesterday"})
    assert "ISO-8601" in caught.value.detail
    assert check_custom({"fooAt": "0001-01-01T00:00:00Z"}) == {"fooAt": "0001-01-01T00:00:00.000Z"}
