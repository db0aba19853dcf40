"""SQS entry point: each message is one attempt to deliver one event to one webhook."""

from switchboard.pipeline.handlers import deliver_batch


def handler(event: dict, context: object) -> dict:
    return deliver_batch(event.get("Records", []))
