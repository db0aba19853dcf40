"""Per-container singletons: the stores and services, built on first use from the environment."""

from __future__ import annotations

from functools import cache

from switchboard import wiring
from switchboard.adapters.aws import client, table_name
from switchboard.adapters.dynamo import DynamoObjectStore
from switchboard.adapters.dynamo_auth import DynamoAuthStore
from switchboard.domain.service import ObjectService


@cache
def objects() -> ObjectService:
    return ObjectService(DynamoObjectStore(client("dynamodb"), table_name(wiring.OBJECTS.env_var)))


@cache
def auth_store() -> DynamoAuthStore:
    return DynamoAuthStore(client("dynamodb"), table_name(wiring.AUTH.env_var))


def reset() -> None:
    """Forget cached clients and services (tests switch environments between cases)."""
    objects.cache_clear()
    auth_store.cache_clear()
    client.cache_clear()
