"""Custom attributes are typed by their name's suffix; faults carry a JSON pointer."""

import pytest

from switchboard.domain.attributes import check_custom, suffix_of
from switchboard.errors import BadRequest


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("tierStr", "Str"),
        ("notesTxt", "Txt"),
        ("totalNum", "Num"),
        ("placedAt", "At"),
        ("vipBool", "Bool"),
        ("siteUrl", "Url"),
        ("orderId", "Id"),
        ("Str", None),
        ("tier", None),
        ("TierStr", None),
    ],
)
def test_suffix_names_the_type(name, suffix):
    assert suffix_of(name) == suffix


def test_valid_values_are_kept_and_dates_normalised():
    custom = check_custom(
        {
            "tierStr": "gold",
            "totalNum": 9.5,
            "placedAt": "2025-03-21T20:23:52+02:00",
            "vipBool": True,
            "siteUrl": "https://example.com/a",
            "clearedStr": None,
            "orderId": "o-1",
        }
    )
    assert custom["placedAt"] == "2025-03-21T18:23:52.000Z"
    assert custom["clearedStr"] is None
    assert custom["totalNum"] == 9.5


@pytest.mark.parametrize(
    ("custom", "pointer"),
    [
        ({"totalNum": "12"}, "/custom/totalNum"),
        ({"totalNum": True}, "/custom/totalNum"),
        ({"vipBool": "yes"}, "/custom/vipBool"),
        ({"placedAt": "yesterday"}, "/custom/placedAt"),
        ({"siteUrl": "ftp://x"}, "/custom/siteUrl"),
        ({"siteUrl": "https://exa mple.com/"}, "/custom/siteUrl"),
        ({"siteUrl": "https://example.com/\n"}, "/custom/siteUrl"),
        ({"tierStr": "x" * 1025}, "/custom/tierStr"),
        ({"tier": "gold"}, "/custom/tier"),
    ],
)
def test_wrong_types_are_refused_with_a_pointer(custom, pointer):
    with pytest.raises(BadRequest) as raised:
        check_custom(custom)
    assert raised.value.pointer == pointer


def test_klass_properties_limit_the_names():
    allowed = {"totalNum": {}}
    assert check_custom({"totalNum": 1}, allowed=allowed) == {"totalNum": 1}
    with pytest.raises(BadRequest) as raised:
        check_custom({"colorStr": "red"}, allowed=allowed)
    assert raised.value.pointer == "/custom/colorStr"


def test_custom_must_be_an_object():
    with pytest.raises(BadRequest):
        check_custom(["tierStr"])
