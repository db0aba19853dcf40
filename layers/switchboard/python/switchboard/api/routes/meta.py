"""Routes about the API itself: the OpenAPI document, its docs page and the caller's user."""

from aws_lambda_powertools.event_handler import Response

from switchboard import services
from switchboard.api import jsonapi, routing
from switchboard.api.routing import PUBLIC, endpoint, principal
from switchboard.domain import kinds
from switchboard.domain.auth import ANY_KEY


def register(app) -> None:
    @endpoint(app, "GET", "/v1/openapi.json", PUBLIC, include_in_schema=False)
    def openapi_document():
        return Response(200, jsonapi.JSON, app.get_openapi_json_schema(title="Switchboard API", version="1"))

    app.enable_swagger(path="/v1/docs", title="Switchboard API", version="1")
    routing.ENDPOINTS.append(routing.Endpoint("GET", "/v1/docs", routing._pattern("/v1/docs"), PUBLIC))

    @endpoint(
        app, "GET", "/v1/users/current", ANY_KEY, summary="The user behind this API key", tags=["users"]
    )
    def current_user():
        return jsonapi.one(services.objects().get(principal().org, kinds.USER, principal().user_id))
