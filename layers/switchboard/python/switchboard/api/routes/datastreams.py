"""The org's data stream (Kinesis in the org's own AWS account): register, show, deactivate,
the onboarding template, backfill and redrive. Admins only.

No `from __future__ import annotations`: routing reads the body models from the annotations.
"""

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routing import endpoint, principal
from switchboard.domain.auth import DATA_STREAM
from switchboard.pipeline.datastreams import RegistrationBody

BASE = "/v1/data-streams"
ONE = f"{BASE}/<stream_id>"
TAGS = ["data streams"]


def resource(view: dict) -> dict:
    return {
        "type": "data_stream",
        "id": view["id"],
        "attributes": {k: v for k, v in view.items() if k != "id"},
        "links": {"self": f"{BASE}/{view['id']}"},
    }


def register(app) -> None:
    @endpoint(
        app,
        "GET",
        f"{BASE}/template",
        DATA_STREAM,
        summary="The onboarding CloudFormation template, with this org's ExternalId",
        tags=TAGS,
    )
    def onboarding_template():
        return jsonapi.respond(services.data_streams().template(principal().org))

    @endpoint(
        app, "POST", BASE, DATA_STREAM, summary="Register and activate the org's data stream", tags=TAGS
    )
    def register_stream(body: RegistrationBody):
        view = services.data_streams().register(principal().org, body)
        return jsonapi.respond({"data": resource(view)}, 201)

    @endpoint(
        app, "GET", BASE, DATA_STREAM, summary="The org's data stream, its status and counters", tags=TAGS
    )
    def list_streams():
        org = principal().org
        current = services.data_streams().current(org)
        rows = [resource(services.data_streams().view(org, current))] if current else []
        return jsonapi.respond({"meta": {"total": len(rows)}, "data": rows})

    @endpoint(app, "GET", ONE, DATA_STREAM, summary="One data stream", tags=TAGS)
    def get_stream(stream_id: str):
        return jsonapi.respond({"data": resource(services.data_streams().get(principal().org, stream_id))})

    @endpoint(app, "DELETE", ONE, DATA_STREAM, summary="Deactivate: stop forwarding", tags=TAGS, status=200)
    def delete_stream(stream_id: str):
        view = services.data_streams().deactivate(principal().org, stream_id)
        return jsonapi.respond({"data": resource(view)})

    @endpoint(
        app,
        "POST",
        f"{ONE}/backfill",
        DATA_STREAM,
        summary="Send the current state of every object once; progress on the stream",
        tags=TAGS,
        status=202,
    )
    def backfill(stream_id: str):
        view = services.data_streams().backfill(principal().org, stream_id)
        return jsonapi.respond({"data": resource(view)}, 202)

    @endpoint(
        app,
        "POST",
        f"{ONE}/redrive",
        DATA_STREAM,
        summary="Send parked events (never dropped) again",
        tags=TAGS,
        status=200,
    )
    def redrive(stream_id: str):
        outcome = services.data_streams().redrive(principal().org, stream_id)
        return jsonapi.respond(
            {"data": {"type": "data_stream_redrive", "id": stream_id, "attributes": outcome}}
        )
