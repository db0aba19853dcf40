"""Bearer API key authentication, shared by the REST API and the hook receiver.

Light on purpose (no web framework import): the hook receiver's cold start pays only for this.
"""

from __future__ import annotations

import time

from switchboard import services
from switchboard.domain.auth import Principal, hash_key
from switchboard.errors import Unauthorized
from switchboard.headers import header

PRINCIPAL_TTL_S = 60.0
_principals: dict[str, tuple[Principal, float]] = {}


def authenticate(headers: dict[str, str] | None) -> Principal:
    """Find the key's principal by the key's hash; results are cached for a minute per container."""
    scheme, _, key = (header(headers, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    digest = hash_key(key.strip())
    cached = _principals.get(digest)
    now = time.monotonic()
    if cached and cached[1] > now:
        return cached[0]
    found = services.auth_store().principal(digest)
    if found is None:
        raise Unauthorized("unknown or revoked API key")
    if len(_principals) > 1000:
        _principals.clear()
    _principals[digest] = (found, now + PRINCIPAL_TTL_S)
    return found


def forget() -> None:
    """Drop cached principals (a new container; tests that revoke keys)."""
    _principals.clear()
