"""All routes of the REST API, registered on one resolver."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from switchboard.api import routing


def register_all(app: APIGatewayRestResolver) -> None:
    from switchboard.api.routes import (
        conversations,
        customers,
        datastreams,
        directory,
        hooks,
        klasses,
        meta,
        outbound_webhooks,
        pullers,
        workflows,
    )

    if not routing.documenting(app):
        routing.ENDPOINTS.clear()
    for module in (
        meta,
        customers,
        klasses,
        conversations,
        directory,
        outbound_webhooks,
        hooks,
        workflows,
        pullers,
        datastreams,
    ):
        module.register(app)
