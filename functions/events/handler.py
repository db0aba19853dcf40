"""DynamoDB stream entry point: object changes become events, fanned out to webhooks."""

from switchboard import services


def handler(event: dict, context: object) -> dict:
    failed = services.fanout().handle(event.get("Records", []))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
