"""The one error type a workflow step reports besides the domain errors of `switchboard.errors`."""

from __future__ import annotations

from typing import Any


class StepError(Exception):
    """A step failed for a reason the workflow may handle (errorCases), not an infrastructure fault.

    `status` is an HTTP-like code when one applies (the REST answer's status, 404, 409...);
    `details` are extra JSON fields shown next to the message in `steps.<id>.error`.
    """

    def __init__(
        self, message: str, status: int | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details or {}

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {**self.details, "message": self.message}
        if self.status is not None:
            error["status"] = self.status
        return error
