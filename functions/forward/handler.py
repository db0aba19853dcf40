"""Stream and backfill entry point: every event of an org to its Kinesis data stream."""

from switchboard.pipeline.forward_handler import handle


def handler(event: dict, context: object) -> dict:
    return handle(event)
