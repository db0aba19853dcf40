"""moto in-process with the declared tables and queues, for the benchmarks that count calls."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from unittest import mock

REGION = "us-east-1"


@contextlib.contextmanager
def in_process_aws(**extra: str) -> Iterator[str]:
    """moto in-process with the declared tables and queues, wired into the environment as the
    stack wires a function's; yields a new org's id. The environment is restored afterwards."""
    import boto3
    from moto import mock_aws

    from switchboard import admin, services, wiring
    from switchboard.adapters.provision import create_queues, create_tables

    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SWITCHBOARD_LOCAL": "1",  # as in `make run`: the receiver is on loopback
        **extra,
    }
    with mock.patch.dict(os.environ, env), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
        for key, name in create_tables(boto3.client("dynamodb")).items():
            os.environ[wiring.table(key).env_var] = name
        urls = create_queues(boto3.client("sqs"))
        for queue in wiring.QUEUES:
            os.environ[queue.env_var] = urls[queue.key]
        services.reset()
        try:
            yield admin.create_org("Bench")["id"]
        finally:
            services.reset()
