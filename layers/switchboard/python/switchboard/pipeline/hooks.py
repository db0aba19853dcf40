"""Inbound hooks: management, and receiving a partner's request as a queued transaction.

Receiving costs three AWS calls: the hook by its hash (GetItem), the transaction (a conditional
PutItem keyed by the idempotency key's digest) and the workflow-runs message (SendMessage to a
FIFO queue, grouped by the hook's `groupBy` value). A partner's retry with the same key finds
the stored transaction, answers with its id, and queues it again: the FIFO queue drops a repeat
within five minutes and the runner never runs a transaction's workflow twice, so a request
whose first queueing failed after the put is still run once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from switchboard import ids
from switchboard.adapters.dynamo_automation import DynamoAutomationStore, StaleItem
from switchboard.adapters.queues import SqsQueue
from switchboard.domain import hooks, redaction
from switchboard.domain.hooks import Hook, HookBody, HookNotFound
from switchboard.errors import BadRequest, NotFound
from switchboard.headers import header
from switchboard.patching import changes_from, check_rev, not_null, stale

# Body field -> Hook attribute, and what a null clears the optional ones to.
_UPDATABLE = (
    ("title", "title"),
    ("description", "description"),
    ("enabled", "enabled"),
    ("debug", "debug"),
    ("idempotencyKey", "idempotency_key"),
    ("groupBy", "group_by"),
    ("signature", "signature"),
)
_CLEARED: dict[str, Any] = {"description": "", "idempotencyKey": [], "groupBy": None, "signature": None}
REQUIRED = ("title",)  # what a create must name
NOT_NULL = not_null(_UPDATABLE, _CLEARED)


@dataclass(frozen=True)
class Accepted:
    transaction_id: str
    received_at: str
    replayed: bool  # an earlier request with the same idempotency key


def hook_message(org: str, hook: Hook, dedupe: str) -> dict[str, Any]:
    """The workflow-runs message of one transaction (the body stays in the table)."""
    return {"source": "hook", "org": org, "hookId": hook.id, "hookType": hook.type, "dedupe": dedupe}


def shown(transaction: dict[str, Any]) -> dict[str, Any]:
    """A transaction as the debug list shows it: credentials masked in its headers and body
    (`switchboard.domain.redaction`). The stored transaction, which the workflow runs on,
    keeps the request as it came."""
    headers = transaction.get("headers") or {}
    return {
        **transaction,
        "headers": redaction.mask_headers(headers),
        "body": redaction.mask_body(transaction["body"], header(headers, "content-type")),
    }


class HookService:
    def __init__(
        self,
        store: DynamoAutomationStore,
        runs_queue: SqsQueue,
        clock: Callable[[], str] = ids.now_iso,
        new_id: Callable[[], str] = ids.new_id,
    ) -> None:
        self.store = store
        self.queue = runs_queue
        self.clock = clock
        self.new_id = new_id

    # --- management -------------------------------------------------------------------------
    def create(self, org: str, hook_type: str, body: HookBody) -> Hook:
        if not body.title:
            raise BadRequest("title is required", "/title")
        now = self.clock()
        hook = Hook(
            org=org,
            id=self.new_id(),
            type=hook_type,
            hash=hooks.new_hash(),
            title=body.title,
            description=body.description or "",
            enabled=True if body.enabled is None else body.enabled,
            debug=bool(body.debug),
            created_at=now,
            updated_at=now,
            idempotency_key=list(body.idempotencyKey or []),
            group_by=body.groupBy,
            signature=body.signature.model_dump() if body.signature else None,
        )
        self.store.put_hook(hook, None)
        return hook

    def get(self, org: str, hook_type: str, hook_id: str) -> Hook:
        hook = self.store.get_hook(org, hook_id) if ids.is_id(hook_id) else None
        if hook is None or hook.type != hook_type:
            raise NotFound(f"{hook_type} hook {hook_id} not found")
        return hook

    def list(self, org: str, hook_type: str) -> list[Hook]:
        return sorted(
            (h for h in self.store.list_hooks(org) if h.type == hook_type), key=lambda h: h.created_at
        )

    def update(
        self, org: str, hook_type: str, hook_id: str, body: HookBody, expected_rev: int | None = None
    ) -> Hook:
        """Apply the fields sent; with `expected_rev` (`?rev=`), only if the hook is still at it."""
        current = self.get(org, hook_type, hook_id)
        check_rev(current.rev, expected_rev)
        changes = changes_from(body, _UPDATABLE, _CLEARED)
        updated = replace(current, **changes, rev=current.rev + 1, updated_at=self.clock())
        try:
            self.store.put_hook(updated, current.rev)
        except StaleItem:
            raise stale(f"hook {hook_id}", expected_rev) from None
        return updated

    def transactions(self, org: str, hook_type: str, hook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        hook = self.get(org, hook_type, hook_id)
        if not hook.debug:
            raise BadRequest("transactions are kept only while the hook has debug: true")
        since = ids.format_iso(ids.parse_iso(self.clock()) - timedelta(seconds=hooks.DEBUG_WINDOW_S))
        return [shown(row) for row in self.store.recent_transactions(org, hook.id, since, limit)]

    # --- receiving --------------------------------------------------------------------------
    def receive(
        self, org: str, hook_type: str, digest: str, headers: dict[str, str], body: bytes
    ) -> Accepted:
        """Check, store and queue one request; raises the 4xx error it deserves otherwise.

        Cheap refusals come first: size and media type, then the hook (an unknown or disabled
        address is a 404 whatever the body holds), then its signature; only then is the body
        parsed, under the one JSON policy."""
        hooks.check_size(body)
        hooks.check_content_type(header(headers, "content-type"))
        hook = self.store.hook_by_hash(org, digest) if ids.is_id(org) and hooks.is_hash(digest) else None
        if hook is None or hook.type != hook_type or not hook.enabled:
            raise HookNotFound("no enabled hook at this address")
        hooks.check_signature(hook, headers, body)
        document = hooks.parse_json(body)
        key = hooks.idempotency_key(hook, headers, document)
        tx_id = self.new_id()
        dedupe = hooks.dedupe_key(org, hook.id, key) if key else tx_id
        now = self.clock()
        window_start = ids.format_iso(ids.parse_iso(now) - timedelta(seconds=hooks.IDEMPOTENCY_WINDOW_S))
        group = hooks.group_of(hook, document)
        earlier = self.store.put_transaction(
            org=org,
            hook_id=hook.id,
            hook_type=hook.type,
            dedupe=dedupe,
            tx_id=tx_id,
            received_at=now,
            body=body,
            headers=hooks.kept_headers(headers),
            group=group,
            debug=hook.debug,
            replace_before=window_start,
        )
        if earlier is not None:
            tx_id, now, group = earlier["id"], earlier["receivedAt"], earlier["group"]
        self.queue.send(hook_message(org, hook, dedupe), group=group, dedupe=tx_id)
        return Accepted(transaction_id=tx_id, received_at=now, replayed=earlier is not None)
