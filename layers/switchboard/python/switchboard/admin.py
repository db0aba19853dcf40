"""Operator actions: create orgs and issue, list and revoke API keys.

Used by the ops CLI and the local run. They write the auth table directly with the operator's
own AWS credentials; the API function can only read that table.
"""

from __future__ import annotations

from switchboard import services
from switchboard.domain import kinds
from switchboard.domain.auth import ALL_ROLES, generate_key, hash_key
from switchboard.errors import BadRequest, NotFound
from switchboard.ids import is_id, new_id, now_iso


def create_org(name: str, org_id: str | None = None) -> dict:
    """Create an org (idempotent when `org_id` is given and already exists)."""
    org_id = org_id or new_id()
    if not is_id(org_id):
        raise BadRequest("an org id is 24 hex characters")
    store = services.auth_store()
    if not store.put_org(org_id, name, now_iso()):
        existing = store.get_org(org_id)
        assert existing is not None
        return existing
    return {"id": org_id, "name": name, "createdAt": now_iso()}


def list_orgs() -> list[dict]:
    return services.auth_store().list_orgs()


def issue_key(org_id: str, name: str, roles: list[str]) -> dict:
    """Issue a key with these roles; the returned `key` is shown once and never stored."""
    store = services.auth_store()
    if store.get_org(org_id) is None:
        raise NotFound(f"org {org_id} does not exist")
    unknown = sorted(set(roles) - ALL_ROLES)
    if unknown or not roles:
        raise BadRequest(f"unknown roles: {', '.join(unknown)}" if unknown else "give at least one role")
    user = services.objects().create(org_id, kinds.USER, {"name": name, "userType": "machine"})
    key = generate_key()
    key_id = new_id()
    store.put_key(
        hash_key(key),
        org=org_id,
        key_id=key_id,
        user_id=user.id,
        name=name,
        roles=roles,
        created_at=now_iso(),
    )
    return {
        "id": key_id,
        "key": key,
        "name": name,
        "roles": sorted(set(roles)),
        "userId": user.id,
        "org": org_id,
    }


def list_keys(org_id: str) -> list[dict]:
    return services.auth_store().list_keys(org_id)


def revoke_key(org_id: str, key_id: str) -> None:
    if not services.auth_store().delete_key(org_id, key_id):
        raise NotFound(f"key {key_id} not found in org {org_id}")
