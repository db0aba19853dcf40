"""Workflow definitions the tests build: a callable workflow of one step."""

from __future__ import annotations

from typing import Any


def callable_one_step(
    name: str, action: str, params: dict[str, Any], step_id: str = "step"
) -> dict[str, Any]:
    """A workflow started by `POST /v1/workflows/{id}/call` that runs one action."""
    return {
        "name": name,
        "trigger": {
            "id": "1",
            "eventName": "kustomer.workflow.call",
            "transitions": [{"target": step_id, "condition": {"op": "true", "values": [True]}}],
        },
        "steps": [{"id": step_id, "action": action, "params": params, "transitions": []}],
    }
