"""Routes about the API itself: the caller's user, the OpenAPI document and its docs page."""

import json

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
        from switchboard.api.app import openapi_json

        return Response(200, jsonapi.JSON, openapi_json())

    @endpoint(app, "GET", "/v1/docs", PUBLIC, include_in_schema=False)
    def docs_page():
        """Swagger UI (bundled with Powertools) showing the same document as `/v1/openapi.json`."""
        from pathlib import Path

        import aws_lambda_powertools.event_handler as handler
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

        from switchboard.api.app import openapi_json

        # the page calls the API where it was served from (the stage prefix `/prod` when deployed)
        document = json.loads(openapi_json())
        document["servers"] = [{"url": app._get_base_path() or "/"}]
        spec = json.dumps(document, indent=2).replace("</", "<\\/")
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return Response(200, jsonapi.JSON, spec)
        bundle = Path(handler.__file__).parent / "openapi" / "swagger_ui"
        page = generate_swagger_html(
            spec,
            (bundle / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            (bundle / "swagger-ui.min.css").read_text(encoding="utf-8"),
            "",
            None,
        )
        return Response(200, "text/html", page)
