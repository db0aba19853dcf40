"""Inbound hooks: what an admin configures, and the rules every received request must pass.

Kustomer's form and web hooks (wire format section 6), plus what partners need to push safely:
an idempotency key (the `Idempotency-Key` header, or fields of the body), a `groupBy` field that
keeps one entity's requests in order, and an HMAC signature check (Shopify and GitHub style).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard import strictjson
from switchboard.errors import (
    BadRequest,
    PayloadTooLarge,
    SwitchboardError,
    Unauthorized,
    UnsupportedMediaType,
)
from switchboard.headers import header

HookType = Literal["form", "web"]
HOOK_TYPES: tuple[str, ...] = ("form", "web")
MAX_BODY_BYTES = 400 * 1024  # the seed's cap; 413 beyond it
IDEMPOTENCY_WINDOW_S = 24 * 3600  # the same key within a day yields the same transaction
DEBUG_WINDOW_S = 24 * 3600  # debug transactions are listed for a day
MAX_KEY_LENGTH = 255
# Request headers kept with a transaction (beside any `X-` header); credentials never are.
KEPT_HEADERS = frozenset({"content-type", "user-agent", "idempotency-key"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})


class HookNotFound(SwitchboardError):
    status = 404
    code = "not_found"
    title = "Not found"


# A dotted path into a JSON body: 1 to 10 non-empty segments of at most 128 characters.
BODY_PATH = r"^[^.]{1,128}(?:\.[^.]{1,128}){0,9}$"
_BODY_PATH = re.compile(BODY_PATH)


def body_path(value: str) -> str:
    """A dotted path into a JSON body (`order.id`, `items.0.sku`)."""
    if not _BODY_PATH.fullmatch(value):
        raise ValueError("must be a dotted path such as order.id")
    return value


# The same rule in the OpenAPI document (optional paths may also be empty).
BodyPath = Annotated[str, Field(json_schema_extra={"pattern": BODY_PATH})]
OptionalBodyPath = Annotated[str, Field(json_schema_extra={"pattern": f"^$|{BODY_PATH}"})]


class Signature(BaseModel):
    """A partner signature: `header` carries HMAC-SHA256(secret, raw body), hex or base64,
    optionally after a prefix such as `sha256=` (GitHub) or none (Shopify, base64)."""

    model_config = ConfigDict(extra="forbid")
    header: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9-]+$")]
    secret: Annotated[str, Field(min_length=16, max_length=512)]
    encoding: Literal["hex", "base64"] = "hex"
    prefix: Annotated[str, Field(max_length=32)] = ""


class HookBody(BaseModel):
    """Create and update body; on update only the fields sent change."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    title: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None
    enabled: bool | None = None
    debug: bool | None = None
    idempotencyKey: Annotated[list[BodyPath], Field(min_length=1, max_length=5)] | None = None
    groupBy: OptionalBodyPath | None = None
    signature: Signature | None = None

    @field_validator("idempotencyKey")
    @classmethod
    def _key_paths(cls, value: list[str] | None) -> list[str] | None:
        return [body_path(v) for v in value] if value is not None else None

    @field_validator("groupBy")
    @classmethod
    def _group_path(cls, value: str | None) -> str | None:
        return body_path(value) if value else None


@dataclass
class Hook:
    org: str
    id: str
    type: str
    hash: str
    title: str
    description: str
    enabled: bool
    debug: bool
    created_at: str
    updated_at: str
    idempotency_key: list[str] = field(default_factory=list)
    group_by: str | None = None
    signature: dict[str, str] | None = None
    rev: int = 1

    @property
    def event_name(self) -> str:
        return receive_event(self.type, self.id)

    def path(self) -> str:
        """The receive address (below the API's base URL)."""
        if self.type == "form":
            return f"/v1/hooks/form/{self.org}/{self.hash}"
        return f"/v1/hooks/web/{self.hash}"


def receive_event(hook_type: str, hook_id: str) -> str:
    return f"kustomer.hooks.{hook_type}.{hook_id}.receive"


def new_hash() -> str:
    """The 64-hex address secret of a hook (256 random bits)."""
    return secrets.token_hex(32)


def is_hash(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def resource(hook: Hook, base_url: str = "") -> dict[str, Any]:
    """A hook as a JSON:API resource. A signature's secret is write-only."""
    signature = None
    if hook.signature:
        signature = {k: v for k, v in hook.signature.items() if k != "secret"} | {"hasSecret": True}
    return {
        "type": "hook",
        "id": hook.id,
        "attributes": {
            "type": hook.type,
            "title": hook.title,
            "description": hook.description,
            "eventName": hook.event_name,
            "hash": hook.hash,
            "url": base_url + hook.path(),
            "enabled": hook.enabled,
            "debug": hook.debug,
            "idempotencyKey": hook.idempotency_key or None,
            "groupBy": hook.group_by,
            "signature": signature,
            "rev": hook.rev,
            "createdAt": hook.created_at,
            "updatedAt": hook.updated_at,
        },
        "relationships": {"org": {"data": {"type": "org", "id": hook.org}}},
        "links": {"self": f"/v1/hooks/{hook.type}/{hook.id}"},
    }


# --- receiving ----------------------------------------------------------------------------


def check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KB")


def check_content_type(value: str | None) -> None:
    """The seed: hooks take JSON only (`application/json`, or `application/<x>+json`)."""
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(
            f"hooks accept JSON only (Content-Type: application/json), not {media or 'no content type'}"
        )


def parse_json(body: bytes) -> Any:
    """The body under the one JSON policy (`switchboard.strictjson`): RFC 8259 in UTF-8, no
    NaN/Infinity or out-of-range numbers, nesting bounded; 400 with the reason otherwise."""
    try:
        return strictjson.loads(body)
    except strictjson.JsonRejected as exc:
        raise BadRequest(str(exc)) from None


def check_signature(hook: Hook, headers: dict[str, str], body: bytes) -> None:
    """401 unless the configured header holds HMAC-SHA256(secret, raw body); constant time."""
    if not hook.signature:
        return
    config = hook.signature
    sent = header(headers, config["header"])
    if sent is None:
        raise Unauthorized(f"the {config['header']} signature header is missing")
    digest = hmac.new(config["secret"].encode(), body, hashlib.sha256).digest()
    expected = digest.hex() if config.get("encoding", "hex") == "hex" else base64.b64encode(digest).decode()
    expected = config.get("prefix", "") + expected
    if not hmac.compare_digest(sent.strip().encode(), expected.encode()):
        raise Unauthorized(f"the {config['header']} signature does not match the body")


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path (dict keys, list indices), or None."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return json.dumps(value) if not isinstance(value, str) else value


def idempotency_key(hook: Hook, headers: dict[str, str], document: Any) -> str | None:
    """The `Idempotency-Key` header, else the hook's configured body fields (all present), else None."""
    sent = header(headers, "idempotency-key")
    if sent is not None:
        sent = sent.strip()
        if not sent or len(sent) > MAX_KEY_LENGTH:
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        return f"header:{sent}"
    if hook.idempotency_key:
        values = [_scalar(lookup(document, path)) for path in hook.idempotency_key]
        if all(v is not None for v in values):
            return "body:" + json.dumps(values, separators=(",", ":"))
    return None


def group_of(hook: Hook, document: Any) -> str:
    """The FIFO group: requests for the same `groupBy` value run one after another, in order."""
    value = _scalar(lookup(document, hook.group_by)) if hook.group_by else None
    group = f"{hook.id}:{value}" if value is not None else hook.id
    return group if len(group) <= 128 else hashlib.sha256(group.encode()).hexdigest()


def dedupe_key(org: str, hook_id: str, key: str) -> str:
    return hashlib.sha256(f"{org}\x00{hook_id}\x00{key}".encode()).hexdigest()[:40]


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in SECRET_HEADERS:
            continue
        if lowered in KEPT_HEADERS or lowered.startswith("x-"):
            kept[lowered] = value[:1024]
    return dict(list(kept.items())[:30])
