"""The events function (DynamoDB stream of objects): each change becomes an event, fanned out
to the subscribed webhooks and the workflows it triggers."""

from __future__ import annotations

from typing import Any

from switchboard import services
from switchboard.entrypoints import batch


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return batch.response(services.fanout().handle(event.get("Records", [])))
