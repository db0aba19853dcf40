"""SQS FIFO entry point: each message is a hook transaction, an event or a call to run workflows for."""

from switchboard.pipeline.handlers import run_workflows_batch


def handler(event: dict, context: object) -> dict:
    return run_workflows_batch(event.get("Records", []))
