"""Lazily created boto3 clients, one per service per container (cold starts stay short)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3  # imported here so modules that never call AWS do not pay for it
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)
    return boto3.session.Session().client(service, config=config)


def wired(env_var: str) -> str:
    """A resource name the deployment put in the environment (a table name, a queue URL)."""
    try:
        return os.environ[env_var]
    except KeyError as exc:
        raise RuntimeError(f"{env_var} is not set: the function is not wired to that resource") from exc
