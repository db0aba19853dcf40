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

A value masked by name is masked wherever else it shows up, too, as CI systems mask their
secrets: a run record collects every text value the rules above masked (`collecting`, at least
`MIN_KNOWN_LENGTH` characters long, so that `yes` or `1234` are not hidden all over a record)
and `Scrubber` replaces each later occurrence of one, whole or inside a longer text, by `MASK`
(a token copied from a login answer into the next step's input, an `Authorization` header
written in a workflow's params and read by another step). A workflow definition shown to a
caller who may read but not change it is masked by the same rules (`mask_definition`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

from switchboard import strictjson

MASK = "[redacted]"
# A masked text value shorter than this is not looked for elsewhere in a record (see `Scrubber`).
MIN_KNOWN_LENGTH = 6

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
        user, colon, password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else netloc
        if colon:
            _note(password)
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
    for name, value in pairs:
        if secret_name(name, query=True):
            _note(value)
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


_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.){1,128})"\s*:\s*)"((?:[^"\\]|\\.)*)("|$)')


def _mask_pair(match: re.Match[str]) -> str:
    if not secret_name(match.group(2)):
        return match.group(0)
    _note(_unescaped(match.group(3)))
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
    if value is None or value == "":
        return value
    _note(value)
    return MASK


# -- known secrets: a masked value is masked wherever else it shows up -------------------------

_FOUND: ContextVar[set[str] | None] = ContextVar("switchboard_masked_values", default=None)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*\s+(\S+)$")


@contextmanager
def collecting() -> Iterator[set[str]]:
    """Within the block, every text value masked by name (a field's, a header's, a URL query
    parameter's, a user-info password) is added to the yielded set; an enclosing block gets
    them too. What is masked, and how, does not change."""
    found: set[str] = set()
    outer = _FOUND.get()
    token = _FOUND.set(found)
    try:
        yield found
    finally:
        _FOUND.reset(token)
        if outer is not None:
            outer |= found


def secrets_in(value: Any) -> set[str]:
    """The text values `mask` hides in `value` (the known secrets it brings to a record)."""
    with collecting() as found:
        mask(value)
    return found


def _note(value: Any) -> None:
    found = _FOUND.get()
    if found is None:
        return
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _note(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _note(item)


def _unescaped(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


class Scrubber:
    """Replaces every occurrence of known secrets in a record by `MASK`: in every text value
    and object key, whole or as part of a longer text. A secret is looked for as written, URL-
    and JSON-encoded, and, for `<scheme> <credential>` (`Bearer abc...`), the credential alone.
    Secrets shorter than `MIN_KNOWN_LENGTH` characters are not looked for."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if MASK not in secret:  # a value masked before (a step's input) hides nothing new
                forms.update(_forms(secret))
        known = sorted(
            (f for f in forms if len(f) >= MIN_KNOWN_LENGTH and f not in MASK),
            key=lambda f: (-len(f), f),
        )
        self._pattern = re.compile("|".join(re.escape(f) for f in known)) if known else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, value: Any) -> Any:
        """A copy of `value` (JSON-like) with every known secret replaced."""
        if self._pattern is None:
            return value
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pattern.sub(MASK, value) if self._pattern else value
        if isinstance(value, Mapping):
            return {self._scrub(k) if isinstance(k, str) else k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(item) for item in value]
        return value


def _forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
    scheme = _SCHEME.match(secret)
    if scheme is not None:
        forms |= _forms(scheme.group(1))
    return forms


# -- workflow definitions shown to readers ------------------------------------------------------


def mask_definition(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow definition as a caller who may read but not change it sees it: in each step's
    params, secrets masked by name (URL queries, header maps and lists, body fields, a body
    given as text) and every other occurrence of a masked value masked too."""
    shown = dict(workflow)
    steps = workflow.get("steps")
    if not isinstance(steps, list):
        return shown
    masked_steps: list[Any] = []
    with collecting() as found:
        for step in steps:
            if isinstance(step, Mapping) and "params" in step:
                masked_steps.append({**step, "params": mask_params(step["params"])})
            else:
                masked_steps.append(step)
    scrub = Scrubber(found)
    shown["steps"] = [
        {**step, "params": scrub(step["params"])} if isinstance(step, Mapping) and "params" in step else step
        for step in masked_steps
    ]
    return shown


def mask_params(params: Any) -> Any:
    """A step's params (a REST call's `uri`, `headers`, `data`...) with secrets masked; `data`
    given as text is masked as the body it is, by the `Content-Type` among the headers."""
    shown = mask(params)
    if isinstance(params, Mapping) and isinstance(params.get("data"), str) and isinstance(shown, dict):
        headers = params.get("headers")
        content_type = None
        if isinstance(headers, Mapping):
            content_type = next((v for k, v in headers.items() if str(k).lower() == "content-type"), None)
        shown["data"] = mask_body(params["data"], content_type if isinstance(content_type, str) else None)
    return shown


def placeholders(workflow: Mapping[str, Any]) -> list[str]:
    """JSON pointers of the step params that hold `MASK` (a masked definition sent back as it
    was shown): saving one would replace a secret by the placeholder."""
    found: list[str] = []

    def walk(value: Any, pointer: str) -> None:
        if isinstance(value, str):
            if MASK in value:
                found.append(pointer)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                here = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
                if isinstance(key, str) and MASK in key:
                    found.append(here)
                walk(item, here)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{pointer}/{index}")

    steps = workflow.get("steps")
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, Mapping):
            walk(step.get("params"), f"/steps/{index}/params")
    return found
