"""API Gateway proxy entry point for the REST API; all HTTP shaping lives in switchboard.api."""

from switchboard.api.app import build_app

app = build_app()


def handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
