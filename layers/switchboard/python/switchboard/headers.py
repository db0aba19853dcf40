"""HTTP header lookup: API Gateway passes header names as the client wrote them."""

from __future__ import annotations


def header(headers: dict[str, str] | None, name: str) -> str | None:
    """A request header by case-insensitive name, None when absent."""
    wanted = name.lower()
    return next((v for k, v in (headers or {}).items() if k.lower() == wanted), None)
