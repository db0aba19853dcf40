"""The data stream forwarder: an org's events, as they happen, into its own Kinesis stream.

For each batch (events of any orgs, in the order their changes happened):
- events are grouped by org; an org without an active registration is skipped, and so is
  every event created before the registration's activation: "events are only streamed going
  forward after activation" (the seed). A backfill sends the current state instead
  (`backfill`: no activation filter).
- each event envelope is the record, as compact JSON (the same body outbound webhooks sign),
  with the object's id (`dataId`) as partition key: all events of one object land on one
  shard, in order, so a consumer reading a shard sees each object's changes in order; the
  envelope's `data` carries `rev` for whatever still arrives twice or late (the seed).
- an org's records go out through one `StreamWriter.put` (PutRecords of up to 500 records);
  what still fails after the writer's retry budget, or cannot be sent at all (the role cannot
  be assumed, the stream is gone), is handed to `Parking` with the reason: nothing is
  dropped, and `redrive` sends parked events again once the cause is fixed.
- the result counts forwarded / parked / skipped events per org for the caller to record,
  and the PutRecords calls made. Orgs are written one after the other, each within its
  writer's retry budget: the function's timeout must cover a batch's orgs all throttled.

An envelope over Kinesis's 1 MiB record limit (an update of a near-400 KB object carries it
twice: `data` and `changes`) is sent without `changes` (`changesOmitted: true`); `data` still
holds the whole object. One still too large is parked.

Other sources become envelopes of the same shape (`source_event`), so the stream carries
them too:
- `kustomer.hooks.<form|web>.<hookId>.receive`: a hook transaction was accepted (the name a
  workflow trigger uses); `data.attributes.data` is the posted JSON, headers are left out
  (they may carry a partner's credentials).
- `kustomer.workflow.run.<succeeded|failed|timed_out>`: a workflow run finished; its steps
  without their inputs and outputs (those stay in the run record, readable through the API).
- `kustomer.outbound_webhook.disabled`: an outbound webhook was turned off (by an admin, or
  after its tenth failed attempt); without its token and custom headers.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from switchboard import strictjson
from switchboard.adapters.kinesis import MAX_KEY_CHARS, MAX_RECORD_BYTES, PutOutcome, StreamWriter
from switchboard.domain.events import event_id


@dataclass(frozen=True)
class Registration:
    """An org's data stream: where its events go, and since when."""

    org: str
    id: str
    accountId: str
    region: str
    externalId: str
    streamArn: str
    status: Literal["active", "inactive"]
    activatedAt: str

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_config(cls, org: str, config: Mapping[str, Any] | None) -> Registration | None:
        """From the stored config document (`{"externalId", "registration": {...}}`)."""
        found = config.get("registration") if config else None
        if not config or not found:
            return None
        return cls(
            org=org,
            id=found["id"],
            accountId=found["accountId"],
            region=found["region"],
            externalId=config["externalId"],
            streamArn=found["streamArn"],
            status=found["status"],
            activatedAt=found["activatedAt"],
        )


class Registrations(Protocol):
    def active(self, org: str) -> Registration | None:
        """The org's active registration, if any (the caller caches it: one look-up per org
        per container for a short while, not one per batch)."""
        ...


class CachedRegistrations:
    """`Registrations` over a config look-up (the store's `config(org)`), remembered for
    `ttl_s` per org in this container: a registration or deactivation takes effect within
    that time, and a busy org costs one GetItem a minute instead of one per batch."""

    def __init__(
        self,
        config: Callable[[str], Mapping[str, Any] | None],
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.ttl_s = ttl_s
        self.clock = clock
        self._found: dict[str, tuple[float, Registration | None]] = {}

    def active(self, org: str) -> Registration | None:
        cached = self._found.get(org)
        if cached is not None and self.clock() < cached[0]:
            return cached[1]
        found = Registration.from_config(org, self.config(org))
        active = found if found is not None and found.active else None
        self._found[org] = (self.clock() + self.ttl_s, active)
        return active

    def forget(self, org: str) -> None:
        self._found.pop(org, None)


class Parking(Protocol):
    def park(self, org: str, registration_id: str, events: list[dict[str, Any]], reason: str) -> None:
        """Keep events that could not be written, for a redrive; raises if it cannot (then the
        whole batch is retried by the event source, which is safe: records carry ids)."""
        ...


@dataclass
class OrgForward:
    """What happened to one org's events in one call."""

    forwarded: int = 0
    parked: int = 0  # handed to parking (handle) or still parked (redrive)
    skipped: int = 0  # no active registration, or created before activation
    calls: int = 0  # PutRecords requests
    sent: int = 0  # entries in them (retries included)
    written: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[dict[str, Any], str]] = field(default_factory=list)


@dataclass
class ForwardResult:
    orgs: dict[str, OrgForward] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return sum(org.calls for org in self.orgs.values())

    @property
    def sent(self) -> int:
        return sum(org.sent for org in self.orgs.values())

    @property
    def records_per_call(self) -> float:
        return self.sent / self.calls if self.calls else 0.0

    @property
    def forwarded(self) -> int:
        return sum(org.forwarded for org in self.orgs.values())

    @property
    def parked(self) -> int:
        return sum(org.parked for org in self.orgs.values())

    @property
    def skipped(self) -> int:
        return sum(org.skipped for org in self.orgs.values())


def partition_key(event: Mapping[str, Any]) -> str:
    """The object's id: one object's events share a shard and keep their order there. A key
    over Kinesis's 256 characters is replaced by its digest (still one key per object)."""
    key = str(event.get("dataId") or event["id"])
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def encode(event: Mapping[str, Any]) -> bytes:
    """Standard JSON only: an event holding NaN or Infinity raises rather than reach a stream."""
    return strictjson.dumps(event, ensure_ascii=False, default=str).encode()


def without_changes(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event without its `changes` (marked `changesOmitted`): `data` still holds the whole
    object with `rev`. For a record, or a parked item, that would be too large otherwise."""
    return {**event, "changes": None, "changesOmitted": True}


def record(event: Mapping[str, Any]) -> tuple[str, bytes]:
    """(partition key, data) of an event; over the record limit, the same event without
    `changes` (a writer then rejects it only if `data` alone is too large)."""
    key = partition_key(event)
    data = encode(event)
    if len(data) + len(key.encode()) > MAX_RECORD_BYTES and event.get("changes"):
        data = encode(without_changes(event))
    return key, data


class Forwarder:
    """`writers` gives the StreamWriter for a registration (a client with fresh credentials
    of the customer's role: ask per batch, the credentials are cached underneath)."""

    def __init__(
        self,
        registrations: Registrations,
        writers: Callable[[Registration], StreamWriter],
        parking: Parking,
    ) -> None:
        self.registrations = registrations
        self.writers = writers
        self.parking = parking

    def handle(self, events: list[dict[str, Any]]) -> ForwardResult:
        """Forward a batch of new events; failures are parked."""
        return self._forward(events, after_activation=True, park=True)

    def backfill(self, events: list[dict[str, Any]]) -> ForwardResult:
        """Send envelopes of objects' current state, asked for after activation (so their
        `createdAt` may be older); failures are parked like any others."""
        return self._forward(events, after_activation=False, park=True)

    def redrive(self, events: list[dict[str, Any]]) -> ForwardResult:
        """Send parked events again to the org's active stream, whatever their age (they were
        accepted once). Nothing is parked again: the caller removes `written` from parking
        and leaves the rest (`failed`) where it is."""
        return self._forward(events, after_activation=False, park=False)

    def _forward(self, events: list[dict[str, Any]], after_activation: bool, park: bool) -> ForwardResult:
        result = ForwardResult()
        by_org: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_org.setdefault(event["org"], []).append(event)
        for org, org_events in by_org.items():
            counts = result.orgs[org] = OrgForward()
            registration = self.registrations.active(org)
            if registration is None or not registration.active:
                counts.skipped = len(org_events)
                continue
            sending = [
                e for e in org_events if not after_activation or e["createdAt"] >= registration.activatedAt
            ]
            counts.skipped = len(org_events) - len(sending)
            if not sending:
                continue
            outcome = self._put(registration, sending)
            counts.calls, counts.sent = outcome.calls, outcome.sent
            counts.forwarded = len(outcome.written)
            counts.written = [sending[i] for i in outcome.written]
            counts.failed = [(sending[i], outcome.failed[i]) for i in sorted(outcome.failed)]
            counts.parked = len(counts.failed)
            if park and counts.failed:
                for reason, group in _by_reason(counts.failed):
                    self.parking.park(org, registration.id, group, reason)
        return result

    def _put(self, registration: Registration, events: list[dict[str, Any]]) -> PutOutcome:
        """Write through the org's writer; an org whose account cannot be reached at all
        (role gone, ExternalId changed) fails as a whole, and the other orgs go on."""
        try:
            records = [record(event) for event in events]
            return self.writers(registration).put(registration.streamArn, records)
        except Exception as exc:
            reason = f"cannot write to {registration.streamArn}: {type(exc).__name__}: {exc}"
            return PutOutcome(failed=dict.fromkeys(range(len(events)), reason[:1000]))


def _by_reason(failed: list[tuple[dict[str, Any], str]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for event, reason in failed:
        groups.setdefault(reason, []).append(event)
    return list(groups.items())


# --- other sources as event envelopes -------------------------------------------------------
Source = Literal["hook_transaction", "workflow_run", "outbound_webhook_disabled"]


def _envelope(
    org: str, name: str, kind: str, object_id: str, rev: int, action: str, data: dict[str, Any], at: str
) -> dict[str, Any]:
    return {
        "id": event_id(org, kind, object_id, rev, action),
        "name": name,
        "org": org,
        "partition": org,
        "data": data,
        "changes": None,
        "createdAt": at,
        "dataId": object_id,
        "persist": True,
        "client": "switchboard",
    }


def _json_body(body: Any) -> Any:
    """The posted body as JSON (hooks accept JSON only); text that is not JSON stays text."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            return strictjson.loads(body)
        except ValueError:
            return body
    return body


def hook_received_event(org: str, transaction: Mapping[str, Any]) -> dict[str, Any]:
    """`transaction`: `id`, `hookId`, `hookType` (form|web), `receivedAt`, `data` (the posted
    body: JSON, text or bytes). A transaction never changes: rev 1."""
    tx_id, hook_id, hook_type = transaction["id"], transaction["hookId"], transaction["hookType"]
    at = transaction["receivedAt"]
    data = {
        "type": "hook_transaction",
        "id": tx_id,
        "attributes": {
            "hookId": hook_id,
            "hookType": hook_type,
            "data": _json_body(transaction.get("data")),
            "receivedAt": at,
            "createdAt": at,
            "rev": 1,
        },
        "relationships": {
            "hook": {"data": {"type": "hook", "id": hook_id}},
            "org": {"data": {"type": "org", "id": org}},
        },
    }
    name = f"kustomer.hooks.{hook_type}.{hook_id}.receive"
    return _envelope(org, name, "hook_transaction", tx_id, 1, "receive", data, at)


def workflow_run_event(org: str, run: Mapping[str, Any]) -> dict[str, Any]:
    """`run`: the stored run record (`id`, `workflowId`, `workflowRev`, `eventName`, `status`,
    `error`, `startedAt`, `finishedAt`, `steps`). A finished run never changes: rev 1."""
    status = run["status"]
    steps = [
        {k: step.get(k) for k in ("id", "action", "error", "startedAt", "finishedAt")}
        for step in run.get("steps") or []
    ]
    data = {
        "type": "workflow_run",
        "id": run["id"],
        "attributes": {
            "workflowId": run["workflowId"],
            "workflowRev": run.get("workflowRev"),
            "trigger": run.get("eventName"),
            "status": status,
            "error": run.get("error"),
            "steps": steps,
            "startedAt": run.get("startedAt"),
            "finishedAt": run["finishedAt"],
            "createdAt": run.get("startedAt") or run["finishedAt"],
            "rev": 1,
        },
        "relationships": {
            "workflow": {"data": {"type": "workflow", "id": run["workflowId"]}},
            "org": {"data": {"type": "org", "id": org}},
        },
    }
    name = f"kustomer.workflow.run.{status}"
    return _envelope(org, name, "workflow_run", run["id"], 1, status, data, run["finishedAt"])


WEBHOOK_ATTRIBUTES = (
    "name",
    "url",
    "events",
    "enabled",
    "isError",
    "disabledReason",
    "createdAt",
    "updatedAt",
)


def webhook_disabled_event(org: str, webhook: Mapping[str, Any]) -> dict[str, Any]:
    """`webhook`: `id`, `rev` and the resource's attributes (camelCase) after it was turned
    off; call it when the old image was enabled and the new one is not."""
    attributes = {k: webhook.get(k) for k in WEBHOOK_ATTRIBUTES}
    attributes["rev"] = int(webhook["rev"])
    at = webhook["updatedAt"]
    data = {
        "type": "outbound_webhook",
        "id": webhook["id"],
        "attributes": attributes,
        "relationships": {"org": {"data": {"type": "org", "id": org}}},
        "links": {"self": f"/v1/outbound-webhooks/{webhook['id']}"},
    }
    return _envelope(
        org,
        "kustomer.outbound_webhook.disabled",
        "outbound_webhook",
        webhook["id"],
        attributes["rev"],
        "disabled",
        data,
        at,
    )


def turned_off(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """A webhook change that is a `disabled` event: enabled before, present and off after."""
    return bool(old and new and old.get("enabled") and not new.get("enabled"))


_BUILDERS: dict[str, Callable[[str, Mapping[str, Any]], dict[str, Any]]] = {
    "hook_transaction": hook_received_event,
    "workflow_run": workflow_run_event,
    "outbound_webhook_disabled": webhook_disabled_event,
}


def source_event(source: Source, org: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope of a hook transaction, a finished workflow run or a webhook turned off."""
    return _BUILDERS[source](org, payload)
