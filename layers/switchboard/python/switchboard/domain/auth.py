"""API keys, principals and the roles each operation accepts (new and legacy role names)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from switchboard.errors import Forbidden

KEY_PREFIX = "sbk_"
ADMIN = "org.admin"


def generate_key() -> str:
    """A new API key: 256 random bits. Only its hash is ever stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 is enough for 256-bit random keys (no dictionary to guess from) and costs microseconds.

    The store is looked up by this hash, so no secret is ever compared in our code.
    """
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    org: str
    key_id: str
    user_id: str
    roles: frozenset[str]

    def require(self, permission: Permission) -> None:
        if not permission.roles or ADMIN in self.roles or not self.roles.isdisjoint(permission.roles):
            return
        raise Forbidden(f"this key needs one of the roles: {', '.join(sorted(permission.roles))}")


@dataclass(frozen=True)
class Permission:
    """An operation and every role that grants it (any one suffices; org.admin grants all)."""

    name: str
    roles: frozenset[str]


def _permission(resource: str, action: str, *legacy: str, extra: tuple[str, ...] = ()) -> Permission:
    roles = {f"org.permission.{resource}.{action}", *legacy, *extra}
    return Permission(f"{resource}.{action}", frozenset(roles))


def _crud(
    resource: str, legacy_read: str, legacy_write: str, *, delete: bool = True
) -> dict[str, Permission]:
    actions = {
        "read": _permission(resource, "read", legacy_read),
        "create": _permission(resource, "create", legacy_write),
        "update": _permission(resource, "update", legacy_write),
    }
    if delete:
        actions["delete"] = _permission(resource, "delete", legacy_write)
    return actions


CUSTOMER = _crud("customer", "org.user.customer.read", "org.user.customer.write")
CONVERSATION = _crud("conversation", "org.user.conversation.read", "org.user.conversation.write")
MESSAGE = _crud("message", "org.user.message.read", "org.user.message.write")
USER = _crud("user", "org.admin.user.read", "org.admin.user.write")
TEAM = _crud("team", "org.admin.team.read", "org.admin.team.write")
TAG = _crud("tag", "org.user.tag.read", "org.user.tag.write")
KLASS = _crud("klass", "org.admin.klass.read", "org.admin.klass.write")
KOBJECT = {
    action: _permission(
        "kobject",
        action,
        "org.user.kobject.read" if action == "read" else "org.user.kobject.write",
        extra=(f"org.permission.kobject.kobject_*.{action}",),
    )
    for action in ("read", "create", "update", "delete")
}
# Reading a customer's timeline objects is part of reading the customer (as in Kustomer).
CUSTOMER_KOBJECTS = Permission("customer.kobjects.read", CUSTOMER["read"].roles | KOBJECT["read"].roles)
# The seed: managing outbound webhooks requires org.permission.outbound_webhook.
OUTBOUND_WEBHOOK = Permission("outbound_webhook", frozenset({"org.permission.outbound_webhook"}))
# Inbound hooks and workflows (org.permission.hook.*, org.permission.workflow.*); a web hook's
# sender needs org.hooks, the role Kustomer gives keys that post to web hooks.
HOOK = {action: _permission("hook", action) for action in ("read", "create", "update")}
HOOK_RECEIVE = Permission("hooks.receive", frozenset({"org.hooks"}))
WORKFLOW = {action: _permission("workflow", action) for action in ("read", "create", "update", "call")}
# Registering a data stream hands the org's events to another AWS account: admins only.
DATA_STREAM = Permission("data_stream", frozenset({ADMIN}))
ANY_KEY = Permission("key.valid", frozenset())  # any valid key: GET /v1/users/current

ALL_ROLES: frozenset[str] = frozenset(
    {ADMIN}
    | OUTBOUND_WEBHOOK.roles
    | HOOK_RECEIVE.roles
    | {
        role
        for group in (CUSTOMER, CONVERSATION, MESSAGE, USER, TEAM, TAG, KLASS, KOBJECT, HOOK, WORKFLOW)
        for permission in group.values()
        for role in permission.roles
    }
)
