"""Masking secrets in what Switchboard records: one rule, by name, for every log.

Workflow run records (each step's input, output and error), hook debug transactions and
outbound webhook attempts show requests and responses to anyone who may read them, so every
value whose *name* says it is a credential is replaced by `MASK` before it is shown or stored
as a record:
- header names (`Authorization`, `Cookie`, `Set-Cookie`, `Proxy-Authorization`, `X-Api-Key`,
  `X-Hub-Signature-256`, `X-Shopify-Hmac-Sha256`, `webhook-signature`...);
- URL query parameters (`?api_key=`, `token`, `signature`, `access_token`, `key`, `sig`...)
  and a password in the URL's user info;
- JSON fields at any depth (`password`, `secret`, `token`, `apiKey`, `api_key`,
  `accessToken`, `clientSecret`, `authorization`...), and `{name, value}` pairs whose name is
  one of those (a header list); a body kept as text (`body`, `data`, `response`, `preview`)
  has the `"name": "value"` pairs it shows masked.
Names are compared case- and separator-insensitively (`API-Key`, `api_key` and `apiKey` are
one name). Masking works on copies: what is sent, received or processed never changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from switchboard import strictjson

MASK = "[redacted]"

# A normalized name (lower case, letters and digits only) containing one of these is secret...
_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "signingkey",
    "authkey",
    "signature",
    "authorization",
    "cookie",
    "credential",
    "hmac",
)
# ... and so is one equal to one of these (short words that are secrets on their own)...
_SECRET_NAMES = frozenset({"auth", "xauth", "pwd", "pass", "jwt", "otp", "sessionid"})
# ... and, in a URL's query, these too (`?key=` is a credential; a JSON `key` seldom is).
_SECRET_QUERY_NAMES = _SECRET_NAMES | {"key", "sig"}
_SEPARATORS = re.compile(r"[^a-z0-9]")
_BODY_FIELDS = frozenset({"body", "data", "response", "preview"})
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def secret_name(name: Any, *, query: bool = False) -> bool:
    """Whether a header or field (or with `query`, a URL parameter) called `name` holds a
    credential."""
    if not isinstance(name, str):
        return False
    normal = _SEPARATORS.sub("", name.lower())
    names = _SECRET_QUERY_NAMES if query else _SECRET_NAMES
    return normal in names or any(part in normal for part in _SECRET_PARTS)


def mask(value: Any) -> Any:
    """A copy of `value` (JSON-like: dicts, lists, scalars) with every secret masked: fields
    named as secrets, `{name, value}` pairs naming one, and credentials inside URLs."""
    if isinstance(value, Mapping):
        if _is_pair(value) and secret_name(value["name"]):
            return {k: (_masked(v) if k == "value" else mask(v)) for k, v in value.items()}
        return {k: _field(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, str) and _URL.match(value):
        return mask_url(value)
    return value


def mask_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Headers with every credential's value masked (names kept, so the log shows it was sent)."""
    return {name: _masked(value) if secret_name(name) else value for name, value in (headers or {}).items()}


def mask_url(url: str) -> str:
    """The URL with secret query parameters and a user-info password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else netloc
    query = mask_query(parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_query(query: str) -> str:
    """A query string (or a form body) with secret parameters masked; unchanged otherwise."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(secret_name(name, query=True) for name, _ in pairs):
        return query
    return "&".join(
        f"{quote(name, safe='')}={MASK if secret_name(name, query=True) and value else quote(value, safe='')}"
        for name, value in pairs
    )


def mask_body(body: bytes | str, content_type: str | None = None) -> bytes | str:
    """A recorded request or response body: JSON has its secret fields masked, a form body its
    secret parameters; anything else (or JSON that does not parse) is returned unchanged."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    media = (content_type or "").split(";", 1)[0].strip().lower()
    masked = text
    if media == "application/x-www-form-urlencoded":
        masked = mask_query(text)
    else:
        try:
            document = strictjson.loads(text)
        except ValueError:  # a cut or broken body: mask the `"name": "value"` pairs it shows
            masked = _JSON_PAIR.sub(_mask_pair, text)
        else:
            shown = mask(document)
            if shown != document:
                masked = strictjson.dumps(shown, ensure_ascii=False)
    if masked == text:
        return body
    return masked.encode() if isinstance(body, bytes) else masked


_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.){1,128})"\s*:\s*)"(?:[^"\\]|\\.)*("|$)')


def _mask_pair(match: re.Match[str]) -> str:
    if not secret_name(match.group(2)):
        return match.group(0)
    return f'{match.group(1)}"{MASK}"'


def _field(name: Any, value: Any) -> Any:
    if secret_name(name):
        return _masked(value)
    if isinstance(value, str) and name in _BODY_FIELDS:
        return mask_body(value)  # a body kept as text (a preview, a cut answer, a JSON string)
    return mask(value)


def _is_pair(value: Mapping[str, Any]) -> bool:
    return "name" in value and "value" in value and len(value) <= 3 and isinstance(value["name"], str)


def _masked(value: Any) -> Any:
    """Null and empty stay as they are (nothing to hide, and the log shows it was empty)."""
    return value if value is None or value == "" else MASK
