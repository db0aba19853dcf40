"""EventBridge schedule entry point: polls every due puller; the work is in switchboard.pipeline.pull."""

from switchboard.pipeline.pull import run_scheduled


def handler(event: dict, context: object) -> dict:
    return run_scheduled(event, context)
