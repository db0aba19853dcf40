"""Domain errors. Each maps to one HTTP status and a JSON:API error object."""

from __future__ import annotations


class SwitchboardError(Exception):
    """Base class: a client-visible error with a status, a code and an optional JSON pointer."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, pointer: str | None = None, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter

    def to_error(self) -> dict:
        error: dict = {
            "status": str(self.status),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.pointer is not None:
            error["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            error["source"] = {"parameter": self.parameter}
        return error


class BadRequest(SwitchboardError):
    pass


class Unauthorized(SwitchboardError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(SwitchboardError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(SwitchboardError):
    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(SwitchboardError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(SwitchboardError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(SwitchboardError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(SwitchboardError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
