"""The stored form of every object, its uniqueness guards, and the store it lives in.

The store is a Protocol so the domain never imports boto3; `adapters.dynamo` implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Record:
    """One object: a customer, klass, kobject, conversation, message, user, team or tag.

    `kind` is the JSON:API type ("customer", "kobject.order"); `relationships` maps a name to
    (type, id); `list_key`/`parent_key` place the object in the lists it is paged through.
    """

    org: str
    kind: str
    id: str
    rev: int
    created_at: str
    updated_at: str
    attributes: dict[str, Any]
    relationships: dict[str, tuple[str, str]] = field(default_factory=dict)
    list_key: str = ""
    parent_key: str | None = None

    def related_id(self, name: str) -> str | None:
        rel = self.relationships.get(name)
        return rel[1] if rel else None


@dataclass(frozen=True)
class UniqueKey:
    """A value that may identify at most one object in its scope inside an org."""

    scope: str  # "customer", "kobject.order", "klass", "user", "team", "tag"
    field: str  # "email", "phone", "externalId", "name", "id"
    value: str


class StaleRevision(Exception):
    """The object changed (or vanished) since it was read: the conditional write failed."""


class UniqueTaken(Exception):
    """An identifier is already held by another object."""

    def __init__(self, key: UniqueKey, owner_id: str | None = None) -> None:
        super().__init__(f"{key.field} {key.value!r} is already in use")
        self.key = key
        self.owner_id = owner_id


@dataclass
class Page:
    records: list[Record]
    total: int
    total_capped: bool
    has_more: bool


class ObjectStore(Protocol):
    """Persistence of records; every write is conditional and all-or-nothing."""

    def get(self, org: str, kind: str, object_id: str) -> Record | None: ...

    def owner_of(self, org: str, key: UniqueKey) -> str | None: ...

    def create(self, items: list[tuple[Record, list[UniqueKey]]]) -> None:
        """Write new records with their guards in one transaction; UniqueTaken on a clash."""

    def replace(
        self, record: Record, expected_rev: int, add: list[UniqueKey], remove: list[UniqueKey]
    ) -> None:
        """Write `record` if the stored rev is `expected_rev`; StaleRevision / UniqueTaken otherwise."""

    def delete(self, record: Record, uniques: list[UniqueKey]) -> None: ...

    def page(self, org: str, list_key: str, *, by_parent: bool, page: int, size: int) -> Page: ...

    def exists_in(self, org: str, list_key: str) -> bool: ...

    def existing(self, org: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of at most 100 (kind, id) objects exist in the org, in one batch read."""
