"""Middleware for pull-only services: poll a partner's JSON endpoint with a cursor and post each
new item to a hook, exactly as if the partner had pushed it.

A run (every minute for the due pullers, or `POST /v1/pullers/{id}/run`) takes the puller's
lease, then for each page: GET the URL with the stored cursor; hand every item not yet seen under
that cursor to `HookService.receive` with `Idempotency-Key: pull:{pullerId}:{item id}`; and only
once every item of the page has been accepted, store the next cursor. A crash in between makes
the next run poll the same page again, and the idempotency key turns its items into the
transactions already stored: no item is skipped and none yields a second transaction or run.
Any failure (network, HTTP status, JSON, the response's shape, an item the hook refuses) is
recorded on the puller and leaves the cursor where it was.

Where the next cursor comes from:
- `nextCursorPath`: a field of the response (`meta.next`); none, or the same one, ends the run;
- `cursorField`: the last item's field (`updated_at`; items must come oldest first). The items
  that carry the new cursor value are remembered (`seen`), so an API that answers
  `updated_since=X` inclusively does not post them again on the next run.
When the cursor does not move, the items of the page are remembered too, so a feed whose last
page keeps growing posts only what is new on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from aws_lambda_powertools import Logger
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from switchboard import ids, strictjson
from switchboard.adapters.dynamo_automation import StaleItem
from switchboard.adapters.http_sender import OWNED_HEADERS, header_problem
from switchboard.domain import http_fields
from switchboard.domain.hooks import MAX_KEY_LENGTH, BodyPath, Hook, OptionalBodyPath, body_path, lookup
from switchboard.errors import BadRequest, Conflict, NotFound, SwitchboardError
from switchboard.patching import changes_from, check_rev, not_null, stale

if TYPE_CHECKING:
    from switchboard.adapters.dynamo_pullers import DynamoPullerStore
    from switchboard.adapters.http_sender import Requester
    from switchboard.pipeline.hooks import HookService

logger = Logger()

MAX_PAGES = 100  # per run, the most a puller may ask for
SEEN_MAX = 200  # item digests remembered under one cursor (8 bytes each on the item)
FETCH_TIMEOUT_S = 10.0  # one GET
MIN_FETCH_S = 2.0  # below this much time left a run starts no further page
RUN_NOW_BUDGET_S = 20.0  # a run from the API answers within API Gateway's 29 s
SCHEDULE_RESERVE_S = 15.0  # the scheduled function stops starting runs this long before its timeout
DEFAULT_BUDGET_S = 90.0  # without a Lambda context
LEASE_MARGIN_S = 60.0  # a lease outlives its run's budget by this much (posting the last page)
DUE_LIMIT = 500  # pullers looked at per scheduled invocation; the rest stay due for the next
CONCURRENCY = 4  # pullers run side by side in one invocation
USER_AGENT = "Switchboard-Pull/1"
MAX_HEADERS = 20
HEADER_VALUE_MAX = 4096


class PullError(Exception):
    """Why a run stopped without advancing the cursor; recorded as the puller's lastError."""


class Leased(Exception):
    """A run holds the puller's lease: a cursor change must wait for it to end."""


class LeaseLost(Exception):
    """The puller was deleted, its cursor reset, or another run took it over: stop writing."""


# --- request bodies -------------------------------------------------------------------------


def _whole(value: Any) -> Any:
    """A JSON number with no fraction (`10.0`) is an integer, as in JSON Schema."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _items_path(value: str) -> str:
    return body_path(value) if value else value


def _check_headers(value: dict[str, str]) -> dict[str, str]:
    """The sender's own rule (`header_problem`, as for webhooks' headers): a header that is saved
    is one that every poll can send. The schema states the same (`_HEADERS_SCHEMA`)."""
    for name, text in value.items():
        if len(name) > http_fields.NAME_MAX:
            raise ValueError(f"{name[:64]!r} is longer than {http_fields.NAME_MAX} characters")
        problem = header_problem(name, text)
        if problem:
            raise ValueError(problem)
        if name.lower() in OWNED_HEADERS:
            raise ValueError(f"{name} is set by the HTTP client")
        if len(text) > HEADER_VALUE_MAX:
            raise ValueError(f"the value of {name} is longer than {HEADER_VALUE_MAX} characters")
    return value


_HEADERS_SCHEMA: dict[str, Any] = {
    "propertyNames": {
        "minLength": 1,
        "maxLength": http_fields.NAME_MAX,
        "pattern": http_fields.NAME,
        "not": {"pattern": http_fields.any_case(OWNED_HEADERS)},
    },
    "additionalProperties": {
        "type": "string",
        "maxLength": HEADER_VALUE_MAX,
        "pattern": http_fields.VALUE,
    },
}


Name = Annotated[str, Field(min_length=1, max_length=255)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
HookId = Annotated[str, Field(min_length=1, max_length=64)]
Path = Annotated[BodyPath, AfterValidator(body_path)]
ItemsPath = Annotated[OptionalBodyPath, AfterValidator(_items_path)]
CursorParam = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\[\]-]{1,128}$")]
Cursor = Annotated[str, Field(min_length=1, max_length=1024)]
Headers = Annotated[
    dict[str, str],
    Field(max_length=MAX_HEADERS, json_schema_extra=_HEADERS_SCHEMA),
    AfterValidator(_check_headers),
]
Interval = Annotated[int, Field(ge=1, le=1440), BeforeValidator(_whole)]
Pages = Annotated[int, Field(ge=1, le=MAX_PAGES), BeforeValidator(_whole)]


_STRING: dict[str, Any] = {"type": "string"}
_ABSENT: dict[str, Any] = {"type": "null"}  # a `properties` entry: left out, or null
_NO_ITEMS_PATH: dict[str, Any] = {"anyOf": [{"const": ""}, {"type": "null"}]}  # null clears it to ""

# The cross-field rules `PullService._check` enforces, stated in the OpenAPI document.
# A create names exactly one source of the next cursor; `nextCursorPath` needs an `itemsPath`
# (a top-level array has nowhere to carry a cursor).
_CREATE_RULES: dict[str, Any] = {
    "oneOf": [
        {
            "required": ["nextCursorPath", "itemsPath"],
            "properties": {"nextCursorPath": _STRING, "itemsPath": {"minLength": 1}, "cursorField": _ABSENT},
        },
        {"required": ["cursorField"], "properties": {"cursorField": _STRING, "nextCursorPath": _ABSENT}},
    ]
}
# An update is checked on the puller it makes, so what it may send depends on the stored puller;
# what no stored puller can make right: both sources at once, or `nextCursorPath` with no
# `itemsPath`.
_UPDATE_RULES: dict[str, Any] = {
    "allOf": [
        {
            "not": {
                "required": ["nextCursorPath", "cursorField"],
                "properties": {"nextCursorPath": _STRING, "cursorField": _STRING},
            }
        },
        {
            "not": {
                "required": ["nextCursorPath", "itemsPath"],
                "properties": {"nextCursorPath": _STRING, "itemsPath": _NO_ITEMS_PATH},
            }
        },
    ]
}


class PullerBody(BaseModel):
    """Create body. `headers` (credentials for the partner's API) are never shown again."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True, json_schema_extra=_CREATE_RULES)
    name: Name
    url: Url
    hookId: HookId
    itemsPath: ItemsPath = ""
    idField: Path
    versionField: Path | None = None
    cursorParam: CursorParam
    nextCursorPath: Path | None = None
    cursorField: Path | None = None
    cursor: Cursor | None = None
    headers: Headers = {}
    intervalMinutes: Interval = 5
    enabled: bool = True
    maxPages: Pages = 10


class PullerPatch(BaseModel):
    """Update body: only the fields sent change; `headers` replaces every header; `cursor`
    (null: start over) moves where the next poll starts."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True, json_schema_extra=_UPDATE_RULES)
    name: Name | None = None
    url: Url | None = None
    hookId: HookId | None = None
    itemsPath: ItemsPath | None = None
    idField: Path | None = None
    versionField: Path | None = None
    cursorParam: CursorParam | None = None
    nextCursorPath: Path | None = None
    cursorField: Path | None = None
    cursor: Cursor | None = None
    headers: Headers | None = None
    intervalMinutes: Interval | None = None
    enabled: bool | None = None
    maxPages: Pages | None = None


# Body field -> Puller attribute, and what a null clears the optional ones to.
_UPDATABLE = (
    ("name", "name"),
    ("url", "url"),
    ("hookId", "hook_id"),
    ("itemsPath", "items_path"),
    ("idField", "id_field"),
    ("versionField", "version_field"),
    ("cursorParam", "cursor_param"),
    ("nextCursorPath", "next_cursor_path"),
    ("cursorField", "cursor_field"),
    ("headers", "headers"),
    ("intervalMinutes", "interval_minutes"),
    ("enabled", "enabled"),
    ("maxPages", "max_pages"),
)
_CLEARED: dict[str, Any] = {
    "itemsPath": "",
    "versionField": None,
    "nextCursorPath": None,
    "cursorField": None,
    "headers": {},
}
NOT_NULL = not_null(_UPDATABLE, _CLEARED)


# --- the model --------------------------------------------------------------------------------


@dataclass
class Puller:
    org: str
    id: str
    name: str
    url: str
    hook_id: str
    items_path: str
    id_field: str
    version_field: str | None
    cursor_param: str
    next_cursor_path: str | None
    cursor_field: str | None
    headers: dict[str, str]
    interval_minutes: int
    enabled: bool
    max_pages: int
    created_at: str
    updated_at: str
    rev: int = 1


@dataclass
class PullerState:
    """What runs write: the cursor, what was posted under it, the lease, the schedule, counts."""

    cursor: str | None = None
    seen: list[str] = field(default_factory=list)
    next_run_at: str | None = None
    lease_until: str | None = None
    last_run_at: str | None = None
    last_success_at: str | None = None
    last_error: str | None = None
    last_posted: int = 0
    last_pages: int = 0
    runs: int = 0
    failures: int = 0
    posted: int = 0


@dataclass
class PagePlan:
    """What one page asks for: the items to post (key, item), and the state to store after."""

    items: list[tuple[str, Any]]
    skipped: int
    cursor: str | None
    seen: list[str]
    advanced: bool


@dataclass
class RunResult:
    org: str
    puller_id: str
    pages: int = 0
    posted: int = 0
    replayed: int = 0  # accepted, but already stored under the same idempotency key
    skipped: int = 0  # seen under this cursor before: not posted again
    cursor: str | None = None
    more: bool = False  # stopped by maxPages or time with the cursor still moving
    error: str | None = None
    lost: bool = False  # the lease was lost: nothing recorded

    def summary(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "id": self.puller_id,
            "pages": self.pages,
            "posted": self.posted,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "more": self.more,
            "error": self.error,
        }


def resource(puller: Puller, state: PullerState, now: str) -> dict[str, Any]:
    """A puller as a JSON:API resource; header values are write-only."""
    return {
        "type": "puller",
        "id": puller.id,
        "attributes": {
            "name": puller.name,
            "url": puller.url,
            "hookId": puller.hook_id,
            "itemsPath": puller.items_path,
            "idField": puller.id_field,
            "versionField": puller.version_field,
            "cursorParam": puller.cursor_param,
            "nextCursorPath": puller.next_cursor_path,
            "cursorField": puller.cursor_field,
            "headerNames": sorted(puller.headers),
            "intervalMinutes": puller.interval_minutes,
            "enabled": puller.enabled,
            "maxPages": puller.max_pages,
            "cursor": state.cursor,
            "nextRunAt": state.next_run_at if puller.enabled else None,
            "running": bool(state.lease_until and state.lease_until > now),
            "lastRunAt": state.last_run_at,
            "lastSuccessAt": state.last_success_at,
            "lastError": state.last_error,
            "lastRunPosted": state.last_posted,
            "lastRunPages": state.last_pages,
            "runs": state.runs,
            "consecutiveFailures": state.failures,
            "itemsPosted": state.posted,
            "rev": puller.rev,
            "createdAt": puller.created_at,
            "updatedAt": puller.updated_at,
        },
        "relationships": {"hook": {"data": {"type": "hook", "id": puller.hook_id}}},
        "links": {"self": f"/v1/pullers/{puller.id}"},
    }


# --- one page, pure -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A scalar as text (ids, versions, cursors); None for null, "", booleans and containers."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def items_at(document: Any, path: str) -> list[Any]:
    found = lookup(document, path) if path else document
    if not isinstance(found, list):
        where = f"at itemsPath {path!r}" if path else "at the top level (itemsPath is empty)"
        raise PullError(f"the response has no array {where}")
    return found


def item_key(item: Any, puller: Puller, index: int) -> str:
    """The item's id (with its version when `versionField` is set): what makes it unique."""
    ident = _text(lookup(item, puller.id_field))
    if ident is None:
        raise PullError(f"item {index} of the page has no id at {puller.id_field!r}")
    if not puller.version_field:
        return ident
    version = _text(lookup(item, puller.version_field))
    if version is None:
        raise PullError(f"item {index} of the page has no version at {puller.version_field!r}")
    return json.dumps([ident, version], separators=(",", ":"))


def digest(key: str) -> str:
    """What `seen` remembers of an item: 8 bytes of its key's SHA-256, as hex."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def idempotency_key(puller_id: str, key: str) -> str:
    """`pull:{pullerId}:{item key}`, digested when longer than a hook accepts."""
    full = f"pull:{puller_id}:{key}"
    if len(full) <= MAX_KEY_LENGTH:
        return full
    return f"pull:{puller_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def next_cursor(puller: Puller, document: Any, items: list[Any]) -> str | None:
    if puller.cursor_field:
        if not items:
            return None
        value = _text(lookup(items[-1], puller.cursor_field))
        if value is None:
            raise PullError(f"the last item of the page has no cursor at {puller.cursor_field!r}")
        return value
    if not puller.next_cursor_path:
        return None
    raw = lookup(document, puller.next_cursor_path)
    if raw is None or raw == "":
        return None
    value = _text(raw)
    if value is None:
        raise PullError(f"{puller.next_cursor_path!r} in the response is not a cursor (text or number)")
    return value


def _unique(marks: list[str]) -> list[str]:
    return list(dict.fromkeys(marks))[-SEEN_MAX:]


def plan_page(puller: Puller, cursor: str | None, seen: list[str], document: Any) -> PagePlan:
    """What to post from one response and what to store once it is posted."""
    items = items_at(document, puller.items_path)
    known = set(seen)
    marks: list[str] = []
    fresh: list[tuple[str, Any]] = []
    skipped = 0
    for index, item in enumerate(items):
        key = item_key(item, puller, index)
        mark = digest(key)
        if mark in known:
            skipped += 1
        else:
            known.add(mark)
            fresh.append((key, item))
        marks.append(mark)
    new = next_cursor(puller, document, items)
    if new is not None and new != cursor:
        kept: list[str] = []
        if puller.cursor_field:  # the items an inclusive `since=new` will send again
            field_path = puller.cursor_field
            kept = [m for item, m in zip(items, marks, strict=True) if _text(lookup(item, field_path)) == new]
        return PagePlan(fresh, skipped, new, _unique(kept), advanced=True)
    return PagePlan(fresh, skipped, cursor, _unique(seen + marks), advanced=False)


def with_cursor(url: str, param: str, cursor: str | None) -> str:
    """The URL with `param=cursor` in its query (replacing a value already there)."""
    if cursor is None:
        return url
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == param for name, _ in pairs):
        kept = "&".join(
            f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs if name != param
        )
    else:
        kept = parts.query
    added = f"{quote(param, safe='')}={quote(cursor, safe='')}"
    return urlunsplit(parts._replace(query=f"{kept}&{added}" if kept else added))


def _signature(hook: Hook, body: bytes) -> dict[str, str]:
    """The partner signature a signed hook checks: the puller holds the secret, so it signs."""
    if not hook.signature:
        return {}
    config = hook.signature
    mac = hmac.new(config["secret"].encode(), body, hashlib.sha256).digest()
    text = mac.hex() if config.get("encoding", "hex") == "hex" else base64.b64encode(mac).decode()
    return {config["header"]: config.get("prefix", "") + text}


def _later(moment: str, seconds: float) -> str:
    return ids.format_iso(ids.parse_iso(moment) + timedelta(seconds=seconds))


class _NonStandard:
    """Where a fetched page holds a number JSON does not allow (NaN, Infinity, 1e400)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _first_non_standard(value: Any) -> _NonStandard | None:
    """The first such number in a parsed value (nesting is bounded by the depth check)."""
    if isinstance(value, _NonStandard):
        return value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        found = _first_non_standard(child)
        if found is not None:
            return found
    return None


def _count_non_standard(value: Any) -> int:
    if isinstance(value, _NonStandard):
        return 1
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return sum(_count_non_standard(child) for child in children)


def _lenient_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _NonStandard(f"the number {text[:40]} is out of range")


def parse_page(body: bytes, items_path: str) -> Any:
    """A fetched page under the one JSON policy (`switchboard.strictjson`). One exception keeps
    a feed moving item by item: a non-standard number inside an item stays in the document as
    a marker, so the items before it are posted and that item is refused when its turn comes.
    Anywhere else, or any other breach (syntax, UTF-8, nesting), the page is not JSON."""
    try:
        return strictjson.loads(body)
    except strictjson.JsonRejected as exc:
        reason = str(exc)[:200]
    try:
        strictjson.check_depth(body)
        strictjson.check_surrogates(body)
        document = json.loads(
            body.decode("utf-8"),
            parse_constant=lambda name: _NonStandard(f"{name} is not a JSON value"),
            parse_float=_lenient_float,
        )
    except ValueError:
        raise PullError(f"the response is not JSON ({reason})") from None
    try:
        items = items_at(document, items_path)
    except PullError:
        items = []
    if _count_non_standard(document) > sum(_count_non_standard(item) for item in items):
        raise PullError(f"the response is not JSON ({reason})")
    return document


# --- the service --------------------------------------------------------------------------------


class PullService:
    def __init__(
        self,
        store: DynamoPullerStore,
        hooks: HookService,
        sender: Requester,
        check_url: Callable[[str], None],
        clock: Callable[[], str] = ids.now_iso,
        new_id: Callable[[], str] = ids.new_id,
        monotonic: Callable[[], float] = time.monotonic,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.store = store
        self.hooks = hooks
        self.sender = sender
        self.check_url = check_url
        self.clock = clock
        self.new_id = new_id
        self.monotonic = monotonic
        self.concurrency = concurrency

    # --- management -------------------------------------------------------------------------
    def _check(self, puller: Puller, *, url: bool, hook: bool) -> None:
        """The rules a body model cannot express alone; the hook is read last (one GetItem)."""
        if bool(puller.next_cursor_path) == bool(puller.cursor_field):
            raise BadRequest("set exactly one of nextCursorPath and cursorField", "/cursorField")
        if puller.next_cursor_path and not puller.items_path:
            raise BadRequest(
                "a top-level array has no next cursor: set itemsPath, or use cursorField", "/nextCursorPath"
            )
        if url:
            self.check_url(puller.url)
        if hook:
            found = ids.is_id(puller.hook_id) and self.hooks.store.get_hook(puller.org, puller.hook_id)
            if not found:
                raise BadRequest(f"no hook {puller.hook_id} in this org", "/hookId")

    def create(self, org: str, body: PullerBody) -> tuple[Puller, PullerState]:
        now = self.clock()
        puller = Puller(
            org=org,
            id=self.new_id(),
            name=body.name,
            url=body.url,
            hook_id=body.hookId,
            items_path=body.itemsPath,
            id_field=body.idField,
            version_field=body.versionField,
            cursor_param=body.cursorParam,
            next_cursor_path=body.nextCursorPath,
            cursor_field=body.cursorField,
            headers=dict(body.headers),
            interval_minutes=body.intervalMinutes,
            enabled=body.enabled,
            max_pages=body.maxPages,
            created_at=now,
            updated_at=now,
        )
        self._check(puller, url=True, hook=True)
        self.store.create(puller, body.cursor, now)
        return puller, PullerState(cursor=body.cursor, next_run_at=now)

    def get(self, org: str, puller_id: str) -> tuple[Puller, PullerState]:
        found = self.store.get(org, puller_id) if ids.is_id(puller_id) else None
        if found is None:
            raise NotFound(f"puller {puller_id} not found")
        return found

    def list(self, org: str) -> list[tuple[Puller, PullerState]]:
        return sorted(self.store.list(org), key=lambda found: found[0].created_at)

    def update(
        self, org: str, puller_id: str, body: PullerPatch, expected_rev: int | None = None
    ) -> tuple[Puller, PullerState]:
        """Apply the fields sent; with `expected_rev` (`?rev=`), only if the puller is still at it."""
        current, _ = self.get(org, puller_id)
        check_rev(current.rev, expected_rev)
        sent = body.model_dump(exclude_unset=True)
        changes = changes_from(body, _UPDATABLE, _CLEARED)
        now = self.clock()
        updated = replace(current, **changes, rev=current.rev + 1, updated_at=now)
        self._check(updated, url=updated.url != current.url, hook=updated.hook_id != current.hook_id)
        try:
            self.store.update(
                updated,
                current.rev,
                now,
                was_enabled=current.enabled,
                reset_cursor="cursor" in sent,
                cursor=sent.get("cursor"),
            )
        except StaleItem:
            raise stale(f"puller {puller_id}", expected_rev) from None
        except Leased:
            raise Conflict(
                f"puller {puller_id} is running; change its cursor when the run has ended"
            ) from None
        return self.get(org, puller_id)

    def delete(self, org: str, puller_id: str) -> None:
        if not ids.is_id(puller_id) or not self.store.delete(org, puller_id):
            raise NotFound(f"puller {puller_id} not found")

    # --- runs -------------------------------------------------------------------------------
    def run_now(self, org: str, puller_id: str) -> RunResult:
        """Poll one puller at once (enabled or not: a way to try a configuration)."""
        self.get(org, puller_id)
        now = self.clock()
        owner = self.new_id()
        leased = self.store.acquire(
            org, puller_id, owner, now, _later(now, RUN_NOW_BUDGET_S + LEASE_MARGIN_S), due_only=False
        )
        if leased is None:
            raise Conflict(f"puller {puller_id} is already running")
        return self._run(*leased, owner, self.monotonic() + RUN_NOW_BUDGET_S)

    def run_due(self, time_left: Callable[[], float]) -> dict[str, Any]:
        """Run every due puller while time is left; returns what happened, for the log."""
        due = self.store.due(self.clock(), DUE_LIMIT)
        counts = {"due": len(due), "ran": 0, "busy": 0, "deferred": 0, "failed": 0, "posted": 0}

        def one(org: str, puller_id: str) -> RunResult | str:
            left = time_left()
            if left < MIN_FETCH_S:
                return "deferred"
            now, owner = self.clock(), self.new_id()
            try:
                leased = self.store.acquire(
                    org, puller_id, owner, now, _later(now, left + LEASE_MARGIN_S), due_only=True
                )
                if leased is None:
                    return "busy"  # another invocation has it, or it is no longer due
                return self._run(*leased, owner, self.monotonic() + left)
            except Exception:
                logger.exception("puller run failed", extra={"org": org, "puller": puller_id})
                return "failed"

        results: list[RunResult | str] = []
        if due:
            with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(due)))) as pool:
                results = list(pool.map(lambda key: one(*key), due))
        runs: list[dict[str, Any]] = []
        for result in results:
            if isinstance(result, str):
                counts[result] += 1
                continue
            counts["ran"] += 1
            counts["failed"] += 1 if result.error else 0
            counts["posted"] += result.posted
            runs.append(result.summary())
        return {**counts, "runs": runs}

    def _run(self, puller: Puller, state: PullerState, owner: str, deadline: float) -> RunResult:
        """Pages until the cursor stops moving, maxPages, or the deadline; then record the run."""
        result = RunResult(puller.org, puller.id, cursor=state.cursor)
        cursor, seen = state.cursor, list(state.seen)
        hook: Hook | None = None
        try:
            while True:
                left = deadline - self.monotonic()
                if result.pages >= puller.max_pages or left < MIN_FETCH_S:
                    result.more = True
                    break
                document = self._fetch(puller, cursor, min(FETCH_TIMEOUT_S, left))
                plan = plan_page(puller, cursor, seen, document)
                if plan.items:
                    hook = hook or self._hook(puller)  # read once a page has something to post
                    for key, item in plan.items:
                        self._post(puller, hook, key, item, result)
                result.pages += 1
                result.skipped += plan.skipped
                if (plan.cursor, plan.seen) != (cursor, seen):
                    if not self.store.commit(puller.org, puller.id, owner, plan.cursor, plan.seen):
                        raise LeaseLost
                    cursor, seen = plan.cursor, plan.seen
                    result.cursor = cursor
                if not plan.advanced:
                    break
        except PullError as exc:
            result.error = str(exc)[:1000]
        except LeaseLost:
            result.error, result.lost = "the lease was lost to another run, a cursor reset or a delete", True
            return result
        except Exception as exc:
            logger.exception("puller run error", extra={"org": puller.org, "puller": puller.id})
            result.error = f"internal error ({type(exc).__name__}); the run will be retried"
        now = self.clock()
        wait_s = 0 if result.more and result.error is None else puller.interval_minutes * 60
        if not self.store.finish(
            puller.org,
            puller.id,
            owner,
            now=now,
            next_run_at=_later(now, wait_s),
            error=result.error,
            posted=result.posted,
            pages=result.pages,
        ):
            result.lost = True
        logger.info("puller run", extra=result.summary())
        return result

    def _fetch(self, puller: Puller, cursor: str | None, timeout_s: float) -> Any:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **puller.headers}
        response = self.sender.request(
            "GET", with_cursor(puller.url, puller.cursor_param, cursor), headers, None, timeout_s
        )
        if response.error is not None or response.status is None:
            raise PullError(f"GET failed: {response.error}")
        if not 200 <= response.status < 300:
            head = response.body[:200].decode("utf-8", errors="replace")
            raise PullError(f"GET answered HTTP {response.status}: {head}")
        if response.truncated:
            raise PullError(f"the response is larger than {len(response.body)} bytes: ask for smaller pages")
        return parse_page(response.body, puller.items_path)

    def _hook(self, puller: Puller) -> Hook:
        hook = self.hooks.store.get_hook(puller.org, puller.hook_id)
        if hook is None:
            raise PullError(f"hook {puller.hook_id} does not exist")
        if not hook.enabled:
            raise PullError(f"hook {puller.hook_id} is disabled: enable it, or the puller waits")
        return hook

    def _post(self, puller: Puller, hook: Hook, key: str, item: Any, result: RunResult) -> None:
        """The item as a partner request to the hook: same checks, storage and queueing."""
        refused = _first_non_standard(item)
        if refused is not None:  # what the hook's JSON policy would say, without sending it
            raise PullError(f"hook {hook.id} refused item {key[:100]!r}: {refused.reason}")
        body = strictjson.dumps(item, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key(puller.id, key),
            "User-Agent": USER_AGENT,
            "X-Switchboard-Puller": puller.id,
            **_signature(hook, body),
        }
        try:
            accepted = self.hooks.receive(puller.org, hook.type, hook.hash, headers, body)
        except SwitchboardError as exc:
            raise PullError(f"hook {hook.id} refused item {key[:100]!r}: {exc.detail}") from None
        if accepted.replayed:
            result.replayed += 1
        else:
            result.posted += 1


@cache
def pull_service() -> PullService:
    """The container's PullService, on the shared automation table, hooks and an SSRF-safe client."""
    from switchboard import services
    from switchboard.adapters.dynamo_pullers import DynamoPullerStore
    from switchboard.adapters.http_sender import HttpSender
    from switchboard.config import local_run

    automation = services.automation_store()
    return PullService(
        DynamoPullerStore(automation.client, automation.table),
        services.hooks(),
        HttpSender(allow_private=local_run(), timeout_s=FETCH_TIMEOUT_S),
        services.check_webhook_url,
    )
