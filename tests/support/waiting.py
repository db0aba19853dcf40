"""Await a condition of an asynchronous pipeline with a deadline (polling, never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    """Return the first truthy result of `check`, or fail once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.02)
