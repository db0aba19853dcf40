"""Deployment-wide switches read from the environment."""

from __future__ import annotations

import os


def local_run() -> bool:
    """True only in `make run`: outbound calls may then reach loopback and private addresses."""
    return os.environ.get("SWITCHBOARD_LOCAL") == "1"
