"""Workflows: create, list, get, replace, enable/disable, call, and their runs.

A caller who may read workflows but not change them (no workflow create or update role, not an
admin) gets each definition with its secrets masked (`redaction.mask_definition`); one who may
change them gets it as written, so an export saved back is the workflow it was. A definition
sent to be saved that holds the placeholder a masked read shows is refused (400, naming the
field): saved, it would replace a secret by the placeholder.

No `from __future__ import annotations`: routing reads the body models from the annotations.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from switchboard import cursors, services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import Revision
from switchboard.api.routing import endpoint, principal
from switchboard.domain import redaction
from switchboard.domain.auth import WORKFLOW, Principal
from switchboard.errors import BadRequest, Forbidden

BASE = "/v1/workflows"
ONE = f"{BASE}/<workflow_id>"
TAGS = ["workflows"]
PAGE_MAX = 100


class WorkflowDocument(BaseModel):
    """Kustomer workflow JSON; checked by the definition validator, which names a pointer."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class WorkflowPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    enabled: bool


class CallBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    inputs: dict[str, Any] = {}


def may_change(who: Principal) -> bool:
    """Whether the caller may create or replace workflows (and so may see their secrets)."""
    for action in ("update", "create"):
        try:
            who.require(WORKFLOW[action])
        except Forbidden:
            continue
        return True
    return False


def shown(workflow: dict[str, Any]) -> dict[str, Any]:
    """The definition as this caller may see it: as written, or with its secrets masked."""
    return workflow if may_change(principal()) else redaction.mask_definition(workflow)


def refuse_placeholders(body: dict[str, Any]) -> dict[str, Any]:
    """The body to save, unless a step param holds the masking placeholder (400 naming it)."""
    found = redaction.placeholders(body)
    if found:
        raise BadRequest(
            f"{found[0]} holds {redaction.MASK!r}, the placeholder a masked read shows in place of a"
            " secret; send the value itself (a key that may change workflows reads it as written)",
            found[0],
        )
    return body


def resource(workflow: dict[str, Any]) -> dict[str, Any]:
    attributes = {k: v for k, v in workflow.items() if k != "id"}
    return {
        "type": "workflow",
        "id": workflow["id"],
        "attributes": attributes,
        "links": {"self": f"{BASE}/{workflow['id']}"},
    }


def run_resource(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "workflow_run",
        "id": run["id"],
        "attributes": {k: v for k, v in run.items() if k != "id"},
        "links": {"self": f"{BASE}/{run['workflowId']}/runs/{run['id']}"},
    }


def register(app) -> None:
    @endpoint(app, "POST", BASE, WORKFLOW["create"], summary="Create a workflow (Kustomer JSON)", tags=TAGS)
    def create_workflow(body: WorkflowDocument):
        workflow = services.workflows().create(principal().org, refuse_placeholders(body.model_dump()))
        return jsonapi.respond({"data": resource(workflow)}, 201)

    @endpoint(app, "GET", BASE, WORKFLOW["read"], summary="List workflows", tags=TAGS)
    def list_workflows():
        found = services.workflows().list(principal().org)
        return jsonapi.respond({"meta": {"total": len(found)}, "data": [resource(shown(w)) for w in found]})

    @endpoint(app, "GET", ONE, WORKFLOW["read"], summary="Get a workflow", tags=TAGS)
    def get_workflow(workflow_id: str):
        return jsonapi.respond(
            {"data": resource(shown(services.workflows().get(principal().org, workflow_id)))}
        )

    @endpoint(app, "PUT", ONE, WORKFLOW["update"], summary="Replace a workflow's definition", tags=TAGS)
    def replace_workflow(workflow_id: str, body: WorkflowDocument, rev: Revision | None = None):
        workflow = services.workflows().replace(
            principal().org, workflow_id, refuse_placeholders(body.model_dump()), rev
        )
        return jsonapi.respond({"data": resource(workflow)})

    @endpoint(app, "PATCH", ONE, WORKFLOW["update"], summary="Enable or disable a workflow", tags=TAGS)
    def patch_workflow(workflow_id: str, body: WorkflowPatch, rev: Revision | None = None):
        workflow = services.workflows().set_enabled(principal().org, workflow_id, body.enabled, rev)
        return jsonapi.respond({"data": resource(workflow)})

    @endpoint(
        app, "POST", f"{ONE}/call", WORKFLOW["call"], summary="Run a callable workflow", tags=TAGS, status=202
    )
    def call_workflow(workflow_id: str, body: CallBody):
        run_id = services.workflows().call(principal().org, workflow_id, body.inputs)
        document = {
            "data": {
                "type": "workflow_run",
                "id": run_id,
                "attributes": {"workflowId": workflow_id, "status": "queued"},
                "links": {"self": f"{BASE}/{workflow_id}/runs/{run_id}"},
            }
        }
        return jsonapi.respond(document, 202)

    @endpoint(
        app, "GET", f"{ONE}/runs", WORKFLOW["read"], summary="Runs of a workflow, newest first", tags=TAGS
    )
    def list_runs(workflow_id: str, pageSize: int = 50, cursor: str | None = None):
        org = principal().org
        size = min(pageSize, PAGE_MAX)
        shape = cursors.workflow_runs(org, workflow_id)
        runs, last = services.workflows().runs(org, workflow_id, size, jsonapi.cursor_in(shape, cursor))
        next_cursor = jsonapi.cursor_out(shape, last)
        links = {
            "self": f"{BASE}/{workflow_id}/runs",
            "next": f"{BASE}/{workflow_id}/runs?pageSize={size}&cursor={next_cursor}"
            if next_cursor
            else None,
        }
        return jsonapi.respond(
            {"meta": {"pageSize": size}, "links": links, "data": [run_resource(r) for r in runs]}
        )

    @endpoint(
        app,
        "GET",
        f"{ONE}/runs/<run_id>",
        WORKFLOW["read"],
        summary="One run with every step's input, output and error",
        tags=TAGS,
    )
    def get_run(workflow_id: str, run_id: str):
        return jsonapi.respond(
            {"data": run_resource(services.workflows().run(principal().org, workflow_id, run_id))}
        )
