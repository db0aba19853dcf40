"""Object rules shared by every entry point (REST API now, workflows later).

Creates, updates and deletes go through here so that identifiers stay unique, `rev` rises by
one per write, related objects exist in the same org, and no partial state is ever written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from switchboard.domain import kinds, models
from switchboard.domain.attributes import check_custom
from switchboard.domain.kinds import Kind
from switchboard.domain.records import ObjectStore, Page, Record, StaleRevision, UniqueKey, UniqueTaken
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.ids import is_id, new_id, now_iso

UPDATE_ATTEMPTS = 30
# Objects one write may name (relationships and id lists together): one BatchGetItem checks them.
MAX_REFERENCES = 100
# `custom` attributes are fields of their own: PUT and PATCH both merge them key by key (null
# removes one). `data` is one free JSON value: PUT replaces it, PATCH merges its top-level keys.
MERGED_ALWAYS = ("custom",)
MERGED_ON_PATCH = ("custom", "data")
_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "email": models.normalize_email,
    "phone": models.normalize_phone,
}


# A reference to check: (JSON pointer in the body, kind of the object it must name, the id).
Reference = tuple[str, str, Any]


def validation_error(exc: ValidationError, prefix: str = "") -> BadRequest:
    """The first pydantic error as a 400 with a JSON pointer into the request body."""
    first = exc.errors()[0]
    # A refused key of a mapping (a klass property's name) points at that member.
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "[key]")]
    pointer = prefix + "".join(f"/{part}" for part in location)
    message = first.get("msg", "invalid value")
    where = "/".join(location) or "body"
    return BadRequest(f"{where}: {message}", pointer)


def body_dict(kind: Kind, body: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Validate a body against the kind's model; only the attributes the client sent are kept."""
    if isinstance(body, dict):
        try:
            body = kind.model.model_validate(body)
        except ValidationError as exc:
            raise validation_error(exc) from exc
    return body.model_dump(exclude_unset=True, by_alias=True)


class ObjectService:
    """Create, read, update, delete and page objects of every kind inside one org."""

    def __init__(
        self,
        store: ObjectStore,
        clock: Callable[[], str] = now_iso,
        ids: Callable[[], str] = new_id,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.pause = pause

    # ----- reads -----------------------------------------------------------------------------
    def get(self, org: str, kind: Kind, object_id: str) -> Record:
        record = self.store.get(org, kind.name, object_id) if is_id(object_id) else None
        if record is None:
            raise NotFound(f"{kind.name} {object_id} not found")
        return record

    def find(self, org: str, kind: Kind, field: str, value: str) -> Record:
        """Look an object up by one of its identifiers (email, phone, externalId, name)."""
        if field not in {name for name, _ in kind.identifiers}:
            # A path segment that names no object is an unknown object (404), as an unknown id is.
            raise NotFound(f"{kind.name} cannot be looked up by {field!r}")
        normalized = _NORMALIZERS.get(field, lambda v: v)(value)
        owner = self.store.owner_of(org, UniqueKey(kind.name, field, normalized)) if normalized else None
        record = self.store.get(org, kind.name, owner) if owner else None
        if record is None:
            raise NotFound(f"no {kind.name} with {field} {value!r}")
        return record

    def klass(self, org: str, name_or_id: str) -> Record:
        if is_id(name_or_id):
            record = self.store.get(org, kinds.KLASS.name, name_or_id)
            if record is not None:
                return record
        return self.find(org, kinds.KLASS, "name", name_or_id)

    def page(self, org: str, kind: Kind, page: int, size: int, parent: tuple[str, str] | None = None) -> Page:
        if parent is None:
            return self.store.page(org, kind.name, by_parent=False, page=page, size=size)
        return self.store.page(org, _parent_key(parent, kind), by_parent=True, page=page, size=size)

    # ----- writes ----------------------------------------------------------------------------
    def create(
        self,
        org: str,
        kind: Kind,
        body: BaseModel | dict[str, Any],
        links: dict[str, tuple[str, str]] | None = None,
    ) -> Record:
        """Create an object; `links` are relationships already resolved from the path."""
        record, uniques = self.prepare(org, kind, body, links)
        self._write_new([(record, uniques)])
        return record

    def prepare(
        self,
        org: str,
        kind: Kind,
        body: BaseModel | dict[str, Any],
        links: dict[str, tuple[str, str]] | None = None,
    ) -> tuple[Record, list[UniqueKey]]:
        """Validate a new object and build its record without writing it."""
        attributes = body_dict(kind, body)
        attributes.pop("rev", None)
        relationships = dict(links or {})
        named: list[Reference] = []
        for name in kind.relationships:
            related = attributes.pop(name, None)
            if related is not None and name not in relationships:
                named.append((f"/{name}", name, related))
                relationships[name] = (name, related)
        for name in kind.required:
            if attributes.get(name) in (None, "") and name not in relationships:
                raise BadRequest(f"{name} is required", f"/{name}")
        attributes = {k: v for k, v in attributes.items() if v is not None}
        for field, target in kind.references:
            named += [(f"/{field}/{n}", target, value) for n, value in enumerate(attributes.get(field) or [])]
        self._check_custom(org, kind, attributes)
        self._check_references(org, named)
        if kind is kinds.KLASS:
            attributes.setdefault("displayName", attributes["name"])
        now = self.clock()
        created_at = attributes.pop("createdAt", None) or now
        record = Record(
            org=org,
            kind=kind.name,
            id=self.ids(),
            rev=1,
            created_at=created_at,
            updated_at=now,
            attributes=attributes,
            relationships=relationships,
            list_key=kind.name,
        )
        record.parent_key = self._parent_of(kind, record)
        return record, kind.unique_keys(attributes)

    def create_many(self, items: list[tuple[Record, list[UniqueKey]]]) -> None:
        """Write several prepared records in one transaction (a message and its new conversation)."""
        self._write_new(items)

    def create_once(self, items: list[tuple[Record, list[UniqueKey]]], guard: UniqueKey) -> Record | None:
        """Write prepared records at most once per `guard` (an operation's idempotency key, held
        by the last record): when the guard is taken already, the object holding it is returned
        and nothing is written; None when that object has been deleted since."""
        record = items[-1][0]
        items = [*items[:-1], (record, [guard, *items[-1][1]])]
        for attempt in range(3):
            try:
                self.store.create(items)
                return record
            except UniqueTaken as taken:
                owner = self.store.owner_of(record.org, guard)
                if owner is None:
                    raise _conflict(taken) from None
                return self.store.get(record.org, record.kind, owner)
            except StaleRevision:
                self.pause(random.uniform(0.005, 0.02) * (attempt + 1))
        raise Conflict("a concurrent write holds one of these identifiers; try again")

    def update(
        self,
        org: str,
        kind: Kind,
        object_id: str,
        body: BaseModel | dict[str, Any],
        *,
        patch: bool,
        current: Record | None = None,
    ) -> Record:
        """PUT replaces the given attributes (merging `custom`); PATCH also merges `data` key by key.

        A null value removes an attribute. An update that changes nothing writes nothing (the
        object keeps its rev and no event is produced). A concurrent write is retried on the fresh object,
        unless the client sent `rev`, in which case a mismatch is a 409. `current`, when the
        caller has just read the object, saves the first read.
        """
        changes = body_dict(kind, body)
        expected = changes.pop("rev", None)
        checked: set[tuple[str, str]] = set()  # references found once stay found across retries
        for attempt in range(UPDATE_ATTEMPTS):
            if current is None or current.id != object_id:
                current = self.get(org, kind, object_id)
            if expected is not None and expected != current.rev:
                raise Conflict(f"rev is {current.rev}, not {expected}", "/rev")
            updated, add, remove = self._apply(org, kind, current, changes, patch, checked)
            if (updated.attributes, updated.relationships) == (current.attributes, current.relationships):
                return current  # nothing changes: no write, no new rev, no event
            try:
                self.store.replace(updated, current.rev, add, remove)
                return updated
            except StaleRevision:
                current = None
                if expected is not None:
                    raise Conflict(f"{kind.name} {object_id} changed concurrently", "/rev") from None
                self.pause(random.uniform(0.005, 0.02) * (attempt + 1))
            except UniqueTaken as taken:
                raise _conflict(taken) from None
        raise Conflict(f"{kind.name} {object_id} is being updated too often; try again")

    def delete(self, org: str, kind: Kind, object_id: str, current: Record | None = None) -> Record:
        for _ in range(UPDATE_ATTEMPTS):
            if current is None or current.id != object_id:
                current = self.get(org, kind, object_id)
            if kind is kinds.KLASS and self.store.exists_in(org, f"kobject.{current.attributes['name']}"):
                raise Conflict(f"klass {current.attributes['name']} still has kobjects")
            try:
                self.store.delete(current, kind.unique_keys(current.attributes))
                return current
            except StaleRevision:
                current = None
                self.pause(random.uniform(0.005, 0.02))
        raise Conflict(f"{kind.name} {object_id} is being updated too often; try again")

    # ----- helpers ---------------------------------------------------------------------------
    def _apply(
        self,
        org: str,
        kind: Kind,
        current: Record,
        changes: dict[str, Any],
        patch: bool,
        checked: set[tuple[str, str]] | None = None,
    ) -> tuple[Record, list[UniqueKey], list[UniqueKey]]:
        changes = dict(changes)
        changes.pop("createdAt", None)
        if kind is kinds.KLASS and "name" in changes and changes["name"] != current.attributes["name"]:
            raise BadRequest("a klass's name cannot be changed", "/name")
        relationships = dict(current.relationships)
        named: list[Reference] = []
        for name in kind.relationships:
            if name in changes:
                related = changes.pop(name)
                if related is None:
                    relationships.pop(name, None)
                else:
                    if related != current.related_id(name):
                        named.append((f"/{name}", name, related))
                    relationships[name] = (name, related)
        # Only ids the object does not hold yet are checked: those it holds were checked when
        # they were added (an update that resends a list reads nothing for it).
        for field, target in kind.references:
            held = set(current.attributes.get(field) or [])
            for n, value in enumerate(changes.get(field) or []):
                if value not in held:
                    named.append((f"/{field}/{n}", target, value))
        attributes = dict(current.attributes)
        for name, value in changes.items():
            if (name in MERGED_ALWAYS or (patch and name in MERGED_ON_PATCH)) and isinstance(value, dict):
                merged = {**(attributes.get(name) or {}), **value}
                attributes[name] = {k: v for k, v in merged.items() if v is not None}
            elif value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        for name in kind.required:
            if attributes.get(name) in (None, "") and name not in relationships:
                raise BadRequest(f"{name} is required", f"/{name}")
        if "custom" in changes:
            self._check_custom(org, kind, attributes)
        self._check_references(org, named, checked)
        updated = replace(
            current,
            rev=current.rev + 1,
            updated_at=self.clock(),
            attributes=attributes,
            relationships=relationships,
        )
        updated.parent_key = self._parent_of(kind, updated)
        old = set(kind.unique_keys(current.attributes))
        new = set(kind.unique_keys(attributes))
        return updated, sorted(new - old, key=repr), sorted(old - new, key=repr)

    def _check_custom(self, org: str, kind: Kind, attributes: dict[str, Any]) -> None:
        if "custom" not in attributes:
            return
        allowed: frozenset[str] | None = None
        if kind.name.startswith("kobject."):
            allowed = kind.custom_properties
            if allowed is None:
                klass = self.find(org, kinds.KLASS, "name", kind.name.removeprefix("kobject."))
                allowed = kinds.klass_properties(klass.attributes)
        attributes["custom"] = check_custom(attributes["custom"], "/custom", allowed or None)

    def _check_references(
        self, org: str, named: list[Reference], checked: set[tuple[str, str]] | None = None
    ) -> None:
        """Every (pointer, kind, id) must name an existing object of that kind in `org`: one
        batch read for them all; else a 400 pointing at the first that does not."""
        checked = set() if checked is None else checked
        wanted: dict[tuple[str, str], str] = {}
        for pointer, kind_name, object_id in named:
            if not isinstance(object_id, str) or not is_id(object_id):
                raise BadRequest(f"{object_id!r} is not an id of a {kind_name}", pointer)
            if (kind_name, object_id) not in checked:
                wanted.setdefault((kind_name, object_id), pointer)
                if len(wanted) > MAX_REFERENCES:
                    raise BadRequest(f"one write may name at most {MAX_REFERENCES} other objects", pointer)
        found = self.store.existing(org, list(wanted)) if wanted else set()
        checked |= found
        for pointer, kind_name, object_id in named:
            if (kind_name, object_id) not in checked:
                raise BadRequest(f"no {kind_name} {object_id} in this org", pointer)

    def _write_new(self, items: list[tuple[Record, list[UniqueKey]]]) -> None:
        for attempt in range(3):
            try:
                self.store.create(items)
                return
            except UniqueTaken as taken:
                raise _conflict(taken) from None
            except StaleRevision:
                # A concurrent transaction touched one of our guards; the retry tells who won.
                self.pause(random.uniform(0.005, 0.02) * (attempt + 1))
        raise Conflict("a concurrent write holds one of these identifiers; try again")

    @staticmethod
    def _parent_of(kind: Kind, record: Record) -> str | None:
        if kind.parent is None:
            return None
        parent_id = record.related_id(kind.parent)
        return _parent_key((kind.parent, parent_id), kind) if parent_id else None


def _parent_key(parent: tuple[str, str], kind: Kind) -> str:
    return f"{parent[0]}#{parent[1]}#{kind.name}"


def _conflict(taken: UniqueTaken) -> Conflict:
    plural = {"email": "/emails", "phone": "/phones"} if taken.key.scope == "customer" else {}
    pointer = plural.get(taken.key.field, f"/{taken.key.field}")
    return Conflict(
        f"{taken.key.field} {taken.key.value!r} already identifies another {taken.key.scope}", pointer
    )
