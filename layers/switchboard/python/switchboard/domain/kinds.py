"""What differs between object kinds: their body model, identifiers, parent and page size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from switchboard.domain import models
from switchboard.domain.records import UniqueKey

Extractor = Callable[[dict[str, Any]], list[str]]


def _emails(attributes: dict[str, Any]) -> list[str]:
    return sorted({models.normalize_email(e["email"]) for e in attributes.get("emails") or []})


def _phones(attributes: dict[str, Any]) -> list[str]:
    return sorted({models.normalize_phone(p["phone"]) for p in attributes.get("phones") or []})


def _attribute(name: str, normalize: Callable[[str], str] = lambda v: v) -> Extractor:
    def extract(attributes: dict[str, Any]) -> list[str]:
        value = attributes.get(name)
        return [normalize(value)] if isinstance(value, str) and value else []

    return extract


@dataclass(frozen=True)
class Kind:
    name: str  # JSON:API type; kobjects use "kobject.<klass>"
    path: str  # collection path under /v1
    model: type[BaseModel]
    identifiers: tuple[tuple[str, Extractor], ...] = ()
    parent: str | None = None  # relationship that keys the byParent index
    required: tuple[str, ...] = ()
    max_page_size: int = 100
    relationships: tuple[str, ...] = ()  # body fields that are ids of related objects
    # Body fields that are lists of ids of objects of one kind (field, kind): kept in the
    # attributes, each id checked to name an object of that kind in the caller's org.
    references: tuple[tuple[str, str], ...] = ()
    # For kobjects: the klass's declared custom properties when already known (empty: any name);
    # None means the service looks the klass up when `custom` has to be checked.
    custom_properties: frozenset[str] | None = None

    def unique_keys(self, attributes: dict[str, Any]) -> list[UniqueKey]:
        return [
            UniqueKey(self.name, field, value)
            for field, extract in self.identifiers
            for value in extract(attributes)
        ]


CUSTOMER = Kind(
    name="customer",
    path="customers",
    model=models.CustomerBody,
    identifiers=(("email", _emails), ("phone", _phones), ("externalId", _attribute("externalId"))),
    references=(("tags", "tag"),),
)
KLASS = Kind(
    name="klass",
    path="klasses",
    model=models.KlassBody,
    identifiers=(("name", _attribute("name")),),
    required=("name",),
)
CONVERSATION = Kind(
    name="conversation",
    path="conversations",
    model=models.ConversationBody,
    identifiers=(("externalId", _attribute("externalId")),),
    parent="customer",
    required=("customer",),
    relationships=("customer",),
    references=(("assignedUsers", "user"), ("assignedTeams", "team"), ("tags", "tag")),
)
MESSAGE = Kind(
    name="message",
    path="messages",
    model=models.MessageBody,
    identifiers=(("externalId", _attribute("externalId")),),
    parent="conversation",
    required=("channel",),
    relationships=("conversation", "customer"),
)
USER = Kind(
    name="user",
    path="users",
    model=models.UserBody,
    identifiers=(("email", _attribute("email", models.normalize_email)),),
    required=("name",),
    max_page_size=500,
)
TEAM = Kind(
    name="team",
    path="teams",
    model=models.TeamBody,
    identifiers=(("name", _attribute("name")),),
    required=("name",),
    max_page_size=500,
    references=(("members", "user"),),
)
TAG = Kind(
    name="tag",
    path="tags",
    model=models.TagBody,
    identifiers=(("name", _attribute("name")),),
    required=("name",),
)

BY_NAME: dict[str, Kind] = {k.name: k for k in (CUSTOMER, KLASS, CONVERSATION, MESSAGE, USER, TEAM, TAG)}


def klass_properties(klass_attributes: dict[str, Any]) -> frozenset[str]:
    return frozenset(((klass_attributes.get("metadata") or {}).get("properties") or {}).keys())


def kobject_kind(klass_name: str, custom_properties: frozenset[str] | None = None) -> Kind:
    """KObjects of one klass form a kind of their own: own list, own externalId scope."""
    return Kind(
        custom_properties=custom_properties,
        name=f"kobject.{klass_name}",
        path=f"klasses/{klass_name}",
        model=models.KObjectBody,
        identifiers=(("externalId", _attribute("externalId")),),
        parent="customer",
        required=("title",),
        relationships=("customer",),
        references=(("tags", "tag"),),
    )
