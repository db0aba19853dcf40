"""Routes about the API itself: the caller's user, the OpenAPI document and its docs page."""

from aws_lambda_powertools.event_handler import Response

from switchboard import services
from switchboard.api import jsonapi, routing
from switchboard.api.routing import PUBLIC, endpoint, principal
from switchboard.domain import kinds
from switchboard.domain.auth import ANY_KEY


def register(app) -> None:
    @endpoint(
        app, "GET", "/v1/users/current", ANY_KEY, summary="The user behind this API key", tags=["users"]
    )
    def current_user():
        return jsonapi.one(services.objects().get(principal().org, kinds.USER, principal().user_id))

    if routing.documenting(app):
        return  # the documentation resolver describes the API; it does not serve its own docs

    @endpoint(app, "GET", "/v1/openapi.json", PUBLIC, include_in_schema=False)
    def openapi_document():
        from switchboard.api.app import TITLE, VERSION, documentation

        schema = documentation().get_openapi_json_schema(title=TITLE, version=VERSION)
        return Response(200, jsonapi.JSON, schema)

    @endpoint(app, "GET", "/v1/docs", PUBLIC, include_in_schema=False)
    def docs_page():
        """Swagger UI, served by the documentation resolver (loaded only when asked for)."""
        from switchboard.api.app import documentation

        reply = documentation().resolve(app.current_event.raw_event, app.lambda_context)
        headers = {k: v[-1] for k, v in (reply.get("multiValueHeaders") or {}).items()}
        headers.update(reply.get("headers") or {})
        content_type = headers.pop("Content-Type", "text/html")
        return Response(reply["statusCode"], content_type, reply.get("body") or "", headers)
