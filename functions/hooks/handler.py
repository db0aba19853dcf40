"""API Gateway proxy entry point for hook receive addresses; the work is in switchboard.pipeline."""

from switchboard.pipeline.hook_receiver import receive


def handler(event: dict, context: object) -> dict:
    return receive(event)
