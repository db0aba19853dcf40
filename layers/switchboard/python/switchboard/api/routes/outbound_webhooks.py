"""Outbound webhooks: management, secret rotation, redrive, the attempt log and transactions.

No `from __future__ import annotations`: routing reads the body models from the annotations.
"""

from typing import Any
from urllib.parse import urlencode

from switchboard import cursors, ids, services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import Revision
from switchboard.api.routing import endpoint, principal
from switchboard.domain.auth import OUTBOUND_WEBHOOK
from switchboard.domain.events import SUBSCRIBABLE
from switchboard.domain.webhooks import RedriveBody, WebhookBody, resource

BASE = "/v1/outbound-webhooks"
ONE = f"{BASE}/<webhook_id>"
TAGS = ["outbound webhooks"]
PAGE_MAX = 100


def _page(
    path: str, rows: list[dict[str, Any]], size: int, shape: cursors.Shape, last: dict[str, Any] | None
):
    next_cursor = jsonapi.cursor_out(shape, last)
    links = {
        "self": path,
        "next": f"{path.split('?')[0]}?{urlencode({'pageSize': size, 'cursor': next_cursor})}"
        if next_cursor
        else None,
    }
    return jsonapi.respond({"meta": {"pageSize": size}, "links": links, "data": rows})


def register(app) -> None:
    @endpoint(
        app, "GET", f"{BASE}/events", OUTBOUND_WEBHOOK, summary="Events a webhook can subscribe to", tags=TAGS
    )
    def subscribable_events():
        return jsonapi.respond({"data": [{"type": "event", "id": name} for name in SUBSCRIBABLE]})

    @endpoint(
        app,
        "GET",
        f"{BASE}/transactions",
        OUTBOUND_WEBHOOK,
        summary="Every delivery of the org, newest first",
        tags=TAGS,
    )
    def transactions(pageSize: int = 50, cursor: str | None = None):
        org = principal().org
        size = min(pageSize, PAGE_MAX)
        shape = cursors.webhook_transactions(org)
        rows, last = services.delivery_store().transactions(org, size, jsonapi.cursor_in(shape, cursor))
        data = [
            {
                "type": "webhook_transaction",
                "id": f"{row['webhookId']}-{row['eventId']}",
                "attributes": {
                    k: row.get(k)
                    for k in (
                        "webhookId",
                        "eventId",
                        "eventName",
                        "eventCreatedAt",
                        "status",
                        "attempts",
                        "updatedAt",
                        "last",
                    )
                },
            }
            for row in rows
        ]
        return _page(f"{BASE}/transactions", data, size, shape, last)

    @endpoint(app, "POST", BASE, OUTBOUND_WEBHOOK, summary="Create an outbound webhook", tags=TAGS)
    def create_webhook(body: WebhookBody):
        hook = services.webhooks().create(principal().org, body)
        return jsonapi.respond({"data": resource(hook)}, 201)

    @endpoint(app, "GET", BASE, OUTBOUND_WEBHOOK, summary="List outbound webhooks", tags=TAGS)
    def list_webhooks():
        hooks = services.webhooks().list(principal().org)
        return jsonapi.respond({"meta": {"total": len(hooks)}, "data": [resource(h) for h in hooks]})

    @endpoint(
        app, "GET", ONE, OUTBOUND_WEBHOOK, summary="Get an outbound webhook (with its token)", tags=TAGS
    )
    def get_webhook(webhook_id: str):
        return jsonapi.respond({"data": resource(services.webhooks().get(principal().org, webhook_id))})

    def update(webhook_id: str, body: WebhookBody, rev: int | None):
        hook = services.webhooks().update(principal().org, webhook_id, body, rev)
        return jsonapi.respond({"data": resource(hook)})

    for method in ("PUT", "PATCH"):

        def update_webhook(webhook_id: str, body: WebhookBody, rev: Revision | None = None):
            return update(webhook_id, body, rev)

        update_webhook.__name__ = f"update_webhook_{method.lower()}"
        endpoint(
            app, method, ONE, OUTBOUND_WEBHOOK, summary="Edit; turn on or off with `enabled`", tags=TAGS
        )(update_webhook)

    @endpoint(app, "DELETE", ONE, OUTBOUND_WEBHOOK, summary="Delete an outbound webhook", tags=TAGS)
    def delete_webhook(webhook_id: str):
        services.webhooks().delete(principal().org, webhook_id)
        return jsonapi.respond(None, 204)

    @endpoint(
        app,
        "POST",
        f"{ONE}/rotate-secret",
        OUTBOUND_WEBHOOK,
        summary="New signing secret; the old one keeps signing for 24 h",
        tags=TAGS,
        status=200,
    )
    def rotate_secret(webhook_id: str):
        return jsonapi.respond(
            {"data": resource(services.webhooks().rotate_secret(principal().org, webhook_id))}
        )

    @endpoint(
        app,
        "POST",
        f"{ONE}/redrive",
        OUTBOUND_WEBHOOK,
        summary="Send again every failed or held event since a time",
        tags=TAGS,
        status=202,
    )
    def redrive(webhook_id: str, body: RedriveBody):
        queued = services.webhooks().redrive(principal().org, webhook_id, body.since)
        since = ids.format_iso(ids.parse_iso(body.since))  # as the redrive read it: UTC, ms, Z
        return jsonapi.respond(
            {
                "data": {
                    "type": "redrive",
                    "id": webhook_id,
                    "attributes": {"since": since, "queued": queued},
                }
            },
            202,
        )

    @endpoint(
        app, "GET", f"{ONE}/attempts", OUTBOUND_WEBHOOK, summary="The attempt log, newest first", tags=TAGS
    )
    def attempts(webhook_id: str, pageSize: int = 50, cursor: str | None = None):
        org = principal().org
        hook = services.webhooks().get(org, webhook_id)
        size = min(pageSize, PAGE_MAX)
        shape = cursors.webhook_attempts(org, hook.id)
        rows, last = services.delivery_store().attempts(org, hook.id, size, jsonapi.cursor_in(shape, cursor))
        data = [
            {"type": "webhook_attempt", "id": f"{row['eventId']}-{row['attempt']}", "attributes": row}
            for row in rows
        ]
        return _page(f"{BASE}/{hook.id}/attempts", data, size, shape, last)
