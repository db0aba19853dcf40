"""Pullers (middleware for pull-only services): create, list, get, update (enable, disable, move
the cursor), delete, and run now. Managing them needs the hook permissions: a puller posts to a
hook as its partner would.

No `from __future__ import annotations`: routing reads the body models from the annotations.
"""

from switchboard import ids
from switchboard.api import jsonapi
from switchboard.api.routes.crud import Revision
from switchboard.api.routing import endpoint, principal
from switchboard.domain.auth import HOOK
from switchboard.pipeline.pull import PullerBody, PullerPatch, pull_service, resource

BASE = "/v1/pullers"
ONE = f"{BASE}/<puller_id>"
TAGS = ["pullers"]


def register(app) -> None:
    @endpoint(app, "POST", BASE, HOOK["create"], summary="Create a puller for a pull-only service", tags=TAGS)
    def create_puller(body: PullerBody):
        puller, state = pull_service().create(principal().org, body)
        return jsonapi.respond({"data": resource(puller, state, ids.now_iso())}, 201)

    @endpoint(app, "GET", BASE, HOOK["read"], summary="List pullers", tags=TAGS)
    def list_pullers():
        found = pull_service().list(principal().org)
        now = ids.now_iso()
        data = [resource(puller, state, now) for puller, state in found]
        return jsonapi.respond({"meta": {"total": len(data)}, "data": data})

    @endpoint(app, "GET", ONE, HOOK["read"], summary="Get a puller with its cursor and last run", tags=TAGS)
    def get_puller(puller_id: str):
        puller, state = pull_service().get(principal().org, puller_id)
        return jsonapi.respond({"data": resource(puller, state, ids.now_iso())})

    for method in ("PATCH", "PUT"):

        def update_puller(puller_id: str, body: PullerPatch, rev: Revision | None = None):
            puller, state = pull_service().update(principal().org, puller_id, body, rev)
            return jsonapi.respond({"data": resource(puller, state, ids.now_iso())})

        update_puller.__name__ = f"update_puller_{method.lower()}"
        endpoint(
            app,
            method,
            ONE,
            HOOK["update"],
            summary="Edit, enable or disable a puller, or move its cursor",
            tags=TAGS,
        )(update_puller)

    @endpoint(app, "DELETE", ONE, HOOK["update"], summary="Delete a puller", tags=TAGS)
    def delete_puller(puller_id: str):
        pull_service().delete(principal().org, puller_id)
        return jsonapi.respond(None, 204)

    @endpoint(app, "POST", f"{ONE}/run", HOOK["update"], summary="Poll a puller now", tags=TAGS, status=200)
    def run_puller(puller_id: str):
        result = pull_service().run_now(principal().org, puller_id)
        attributes = {k: v for k, v in result.summary().items() if k not in {"org", "id"}}
        document = {
            "data": {
                "type": "puller_run",
                "id": puller_id,
                "attributes": {**attributes, "cursor": result.cursor},
                "links": {"puller": f"{BASE}/{puller_id}"},
            }
        }
        return jsonapi.respond(document)
