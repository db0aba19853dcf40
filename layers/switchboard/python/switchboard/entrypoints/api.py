"""The api function: API Gateway proxy events to the REST API (all HTTP shaping in `switchboard.api`)."""

from __future__ import annotations

from typing import Any

from switchboard.api.app import build_app

app = build_app()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
