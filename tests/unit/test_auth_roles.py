"""Roles: any one accepted role suffices; org.admin grants everything; keys are stored hashed."""

import pytest

from switchboard.domain import auth
from switchboard.domain.auth import Principal
from switchboard.errors import Forbidden


def principal(*roles: str) -> Principal:
    return Principal(org="o", key_id="k", user_id="u", roles=frozenset(roles))


@pytest.mark.parametrize("role", ["org.permission.customer.read", "org.user.customer.read", "org.admin"])
def test_new_legacy_and_admin_roles_read_customers(role):
    principal(role).require(auth.CUSTOMER["read"])


def test_a_read_role_does_not_write():
    with pytest.raises(Forbidden):
        principal("org.permission.customer.read").require(auth.CUSTOMER["create"])


def test_kobject_wildcard_role_is_accepted():
    principal("org.permission.kobject.kobject_*.create").require(auth.KOBJECT["create"])


def test_any_valid_key_reads_its_current_user():
    principal("org.permission.tag.read").require(auth.ANY_KEY)


def test_keys_are_random_and_only_hashes_are_kept():
    first, second = auth.generate_key(), auth.generate_key()
    assert first != second and first.startswith("sbk_") and len(first) > 40
    assert auth.hash_key(first) != first and len(auth.hash_key(first)) == 64
