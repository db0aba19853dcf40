"""Request bodies: identifiers are normalised, unknown attributes refused."""

import pytest
from pydantic import ValidationError

from switchboard.domain import kinds, models
from switchboard.domain.service import body_dict
from switchboard.errors import BadRequest


def test_phones_are_normalised_to_e164():
    body = models.CustomerBody.model_validate({"phones": [{"phone": "+1 (415) 555-0100"}]})
    assert body.phones[0].phone == "+14155550100"


@pytest.mark.parametrize("phone", ["555-0100", "+0123456789", "call me"])
def test_phones_outside_e164_are_refused(phone):
    with pytest.raises(ValidationError):
        models.CustomerBody.model_validate({"phones": [{"phone": phone}]})


def test_customer_identifiers_compare_case_insensitively():
    attributes = {
        "emails": [{"email": "Jane@Example.com"}, {"email": "jane@example.com"}],
        "externalId": "c-1",
    }
    keys = kinds.CUSTOMER.unique_keys(attributes)
    assert {(k.field, k.value) for k in keys} == {("email", "jane@example.com"), ("externalId", "c-1")}


def test_unknown_attribute_is_a_400_with_pointer():
    with pytest.raises(BadRequest) as raised:
        body_dict(kinds.CUSTOMER, {"name": "A", "nickname": "B"})
    assert raised.value.pointer == "/nickname"


def test_nested_fault_points_into_the_list():
    with pytest.raises(BadRequest) as raised:
        body_dict(kinds.CUSTOMER, {"emails": [{"email": "ok@example.com"}, {"email": "nope"}]})
    assert raised.value.pointer == "/emails/1/email"


def test_klass_names_are_system_names():
    with pytest.raises(ValidationError):
        models.KlassBody.model_validate({"name": "my order"})
    assert models.KlassBody.model_validate({"name": "ecomm-order_2"}).name == "ecomm-order_2"


def test_only_sent_attributes_are_kept():
    assert body_dict(kinds.TAG, {"name": "vip", "color": None}) == {"name": "vip", "color": None}
