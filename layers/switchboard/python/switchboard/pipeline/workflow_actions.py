"""The actions of Kustomer workflows (wire format section 7), on the object service and HttpSender.

Object actions make the same ObjectService calls as the REST API, so a workflow's customer or
order is validated, guarded and evented exactly like one created through `/v1`. Their output is
the flattened object: `id`, the attributes at the top level, `rev`, `createdAt`, `updatedAt`,
`modifiedAt`, and each relationship's id (`customer`, `conversation`, `klass`).

Runs are retried whole after an infrastructure error, so every action is safe to repeat:
- a create also takes a guard `UniqueKey(kind, "workflowStep", "<run>:<step>[:<visit>]")` in the
  same transaction; when a retry finds the guard taken, the object that holds it is the answer;
- an update that would change nothing writes nothing (and so fires no event);
- finds and the REST call's GET read only (other REST methods are the remote's business).
Params that resolve to null are left out of bodies (at the top level and inside `custom`), so a
field missing from a hook's payload never erases data.
"""

from __future__ import annotations

import gc
import json
import os
import re
import select
import signal
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from switchboard import strictjson
from switchboard.adapters.http_sender import METHODS, Requester, UnsafeDestination, check_url
from switchboard.domain import kinds, redaction
from switchboard.domain.kinds import Kind
from switchboard.domain.records import Record, UniqueKey
from switchboard.domain.service import ObjectService, body_dict
from switchboard.domain.workflows.engine import Action, StepContext
from switchboard.domain.workflows.errors import StepError
from switchboard.domain.workflows.patterns import compile_pattern
from switchboard.domain.workflows.values import to_text
from switchboard.errors import BadRequest, NotFound

WORKFLOW_STEP_FIELD = "workflowStep"  # the UniqueKey field of create guards
REST_TIMEOUT_S = 10.0
REGEX_TIMEOUT_S = 1.0
MAX_TEST_STRING = 20_000
ERROR_BODY_PREVIEW = 4096


def flatten(record: Record) -> dict[str, Any]:
    """A record as a workflow step's output: id, attributes, bookkeeping and relationship ids."""
    output: dict[str, Any] = {"id": record.id, **record.attributes}
    output.update(
        rev=record.rev,
        createdAt=record.created_at,
        updatedAt=record.updated_at,
        modifiedAt=record.updated_at,
    )
    for name, (_, related) in record.relationships.items():
        output[name] = related
    return output


def build_actions(objects: ObjectService, http: Requester, allow_private: bool) -> dict[str, Action]:
    """Every action of section 7 by name. `allow_private` (the local run only) lets REST steps
    reach loopback and private addresses; `http` applies its own policy as well."""
    a = _Actions(objects, http, allow_private)
    return {
        "kustomer.customer.find": a.customer_find,
        "kustomer.customer.find-by-email": a.finder(kinds.CUSTOMER, "email"),
        "kustomer.customer.find-by-phone": a.finder(kinds.CUSTOMER, "phone"),
        "kustomer.customer.find-by-external-id": a.finder(kinds.CUSTOMER, "externalId"),
        "kustomer.customer.create": a.customer_create,
        "kustomer.customer.update": a.updater(lambda params: kinds.CUSTOMER),
        "kustomer.kobject.create": a.kobject_create,
        "kustomer.kobject.create-with-customer": a.kobject_create_with_customer,
        "kustomer.kobject.find-by-external-id": a.kobject_find_by_external_id,
        "kustomer.kobject.update": a.updater(
            lambda params: kinds.kobject_kind(_klass_name(params)), drop=("klass",)
        ),
        "kustomer.conversation.create": a.conversation_create,
        "kustomer.conversation.update": a.updater(lambda params: kinds.CONVERSATION),
        "kustomer.message.create": a.message_create,
        "kustomer.rest-api.json": _Redacting(a.rest_api_json, _redact_rest_input),
        "kustomer.regex-match.generic": a.regex_match,
    }


class _Redacting:
    """An action whose logged input hides secrets (the engine calls `redact` for the step log)."""

    def __init__(
        self,
        action: Callable[[dict[str, Any], StepContext], dict[str, Any]],
        redact: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self.action = action
        self.redact = redact

    def __call__(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        return self.action(params, step)


class _Actions:
    def __init__(self, objects: ObjectService, http: Requester, allow_private: bool) -> None:
        self.objects = objects
        self.http = http
        self.allow_private = allow_private

    # -- customers ----------------------------------------------------------------------------

    def customer_find(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        object_id = _id_of(params.get("id"))
        if not object_id:
            return {}
        try:
            return flatten(self.objects.get(step.org, kinds.CUSTOMER, object_id))
        except NotFound:
            return {}

    def finder(self, kind: Kind, field: str) -> Action:
        def find(params: dict[str, Any], step: StepContext) -> dict[str, Any]:
            return self._find(step.org, kind, field, params.get(field))

        return find

    def customer_create(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        body = _customer_body(_body(params))
        record, uniques = self.objects.prepare(step.org, kinds.CUSTOMER, body)
        return flatten(self._create_once(step, record, uniques))

    # -- kobjects -----------------------------------------------------------------------------

    def kobject_create(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        klass = self._klass(step.org, _klass_name(params))
        name = klass.attributes["name"]
        kind = kinds.kobject_kind(name, kinds.klass_properties(klass.attributes))
        body = _body(params, drop=("klass",))
        if "customer" in body:
            body["customer"] = _id_of(body["customer"])
        record, uniques = self.objects.prepare(step.org, kind, body, {"klass": ("klass", klass.id)})
        return flatten(self._create_once(step, record, uniques))

    def kobject_create_with_customer(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        """As kobject.create, with the customer required: the order lands on a timeline."""
        if not _id_of(params.get("customer")):
            raise BadRequest("customer is required", "/customer")
        return self.kobject_create(params, step)

    def kobject_find_by_external_id(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        kind = kinds.kobject_kind(_klass_name(params))
        return self._find(step.org, kind, "externalId", params.get("externalId"))

    # -- conversations and messages -----------------------------------------------------------

    def conversation_create(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        body = _body(params)
        if "customer" in body:
            body["customer"] = _id_of(body["customer"])
        record, uniques = self.objects.prepare(step.org, kinds.CONVERSATION, body)
        return flatten(self._create_once(step, record, uniques))

    def message_create(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        """As `POST /v1/messages`: into a conversation, or a customer's new conversation."""
        body = _body(params)
        for name in ("conversation", "customer"):
            if name in body:
                body[name] = _id_of(body[name])
        attributes = body_dict(kinds.MESSAGE, body)
        conversation_id = attributes.pop("conversation", None)
        customer_id = attributes.pop("customer", None)
        org = step.org
        if conversation_id:
            conversation = self.objects.get(org, kinds.CONVERSATION, conversation_id)
            owner = conversation.related_id("customer")
            if customer_id and owner and customer_id != owner:
                raise BadRequest("the conversation belongs to another customer", "/customer")
            links = {"conversation": ("conversation", conversation.id)}
            if owner:
                links["customer"] = ("customer", owner)
            record, uniques = self.objects.prepare(org, kinds.MESSAGE, attributes, links)
            return flatten(self._create_once(step, record, uniques))
        if not customer_id:
            raise BadRequest("a message needs a conversation or a customer", "/conversation")
        customer = self.objects.get(org, kinds.CUSTOMER, customer_id)
        opened = self.objects.prepare(
            org,
            kinds.CONVERSATION,
            {"channels": [attributes["channel"]]} if attributes.get("channel") else {},
            {"customer": ("customer", customer.id)},
        )
        links = {"conversation": ("conversation", opened[0].id), "customer": ("customer", customer.id)}
        record, uniques = self.objects.prepare(org, kinds.MESSAGE, attributes, links)
        return flatten(self._create_once(step, record, uniques, before=[opened]))

    # -- updates ------------------------------------------------------------------------------

    def updater(self, kind_of: Callable[[dict[str, Any]], Kind], drop: tuple[str, ...] = ()) -> Action:
        """An update action: `id` names the object, the other params are a PUT body (given
        attributes replace, `custom` merges key by key)."""

        def update(params: dict[str, Any], step: StepContext) -> dict[str, Any]:
            kind = kind_of(params)
            object_id = _id_of(params.get("id"))
            if not object_id:
                raise BadRequest("id is required", "/id")
            body = _body(params, drop=("id", *drop))
            for name in kind.relationships:
                if name in body:
                    body[name] = _id_of(body[name])
            return flatten(self._update(step.org, kind, object_id, body))

        return update

    def _update(self, org: str, kind: Kind, object_id: str, body: dict[str, Any]) -> Record:
        return self.objects.update(org, kind, object_id, body, patch=False)

    # -- REST ---------------------------------------------------------------------------------

    def rest_api_json(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        """Call a JSON API and expose its answer. The answer must be one JSON object: a workflow
        cannot iterate over an array, so an array is an error, as is any non-2xx status."""
        method = to_text(params.get("method") or "GET").strip().upper()
        if method not in METHODS:
            raise StepError(f"method must be one of {', '.join(sorted(METHODS))}, not {method!r}")
        uri = params.get("uri")
        if not isinstance(uri, str) or not uri.strip():
            raise StepError("uri is required")
        uri = uri.strip()
        try:
            check_url(uri, allow_private=self.allow_private)
        except UnsafeDestination as exc:
            raise StepError(f"refused: {exc.reason}") from None
        headers = _headers(params.get("headers"))
        body = _request_body(method, params.get("data"), headers)
        headers.setdefault("Accept", "application/json")
        timeout = max(0.5, min(REST_TIMEOUT_S, step.remaining_s))
        response = self.http.request(method, uri, headers, body, timeout)
        where = f"{method} {_display(uri)}"
        if response.status is None:
            raise StepError(f"{where}: {response.error}")
        if response.truncated:
            raise StepError(f"{where}: the response is larger than 1 MB", response.status)
        parsed, rejected = _parse_json(response.body)
        is_json = rejected is None
        answer = {
            "statusCode": response.status,
            "headers": dict(response.headers),
            "body": parsed if is_json else _preview(response.body),
        }
        if response.error is not None or not 200 <= response.status < 300:
            reason = response.error or f"answered {response.status}"
            raise StepError(f"{where}: {reason}", response.status, {"response": _shortened(answer)})
        if not is_json:
            raise StepError(
                f"{where}: the response is not JSON ({rejected})",
                response.status,
                {"response": answer},
            )
        if isinstance(parsed, list):
            raise StepError(
                f"{where}: the response is a JSON array, and a workflow cannot iterate over an "
                "array; make the request return a single object",
                response.status,
            )
        if parsed is None:
            parsed = {}
        if not isinstance(parsed, dict):
            raise StepError(f"{where}: the response is not a JSON object", response.status)
        return {"response": {**answer, "body": parsed}, "body": parsed}

    # -- regex --------------------------------------------------------------------------------

    def regex_match(self, params: dict[str, Any], step: StepContext) -> dict[str, Any]:
        """The first match of `regex` in `testString`: {match (text or null), matched, groups,
        namedGroups}. The input is capped and the match runs under a time limit, so a regex
        that backtracks catastrophically fails the step instead of hanging the run."""
        regex = params.get("regex")
        if not isinstance(regex, str) or not regex:
            raise StepError("regex is required")
        text = to_text(params.get("testString"))
        if len(text) > MAX_TEST_STRING:
            raise StepError(f"testString is longer than {MAX_TEST_STRING} characters")
        try:
            pattern = compile_pattern(regex, to_text(params.get("flags")))
        except ValueError as exc:
            raise StepError(str(exc)) from None
        found = bounded_search(pattern, text, min(REGEX_TIMEOUT_S, max(0.1, step.remaining_s)))
        if found is None:
            return {"match": None, "matched": False, "groups": [], "namedGroups": {}}
        whole, groups, named = found
        return {"match": whole, "matched": True, "groups": groups, "namedGroups": named}

    # -- helpers ------------------------------------------------------------------------------

    def _find(self, org: str, kind: Kind, field: str, value: Any) -> dict[str, Any]:
        """A lookup that finds nothing answers {}, so `exists /#steps.<id>.id` can branch."""
        if value is None or value == "":
            return {}
        try:
            return flatten(self.objects.find(org, kind, field, to_text(value)))
        except NotFound:
            return {}

    def _klass(self, org: str, name: str) -> Record:
        try:
            return self.objects.klass(org, name)
        except NotFound:
            raise NotFound(f"klass {name} not found") from None

    def _create_once(
        self,
        step: StepContext,
        record: Record,
        uniques: list[UniqueKey],
        before: list[tuple[Record, list[UniqueKey]]] | None = None,
    ) -> Record:
        """Write a prepared record (and `before`, in the same transaction) at most once per step
        execution: a guard on the execution key travels with it, and a retry that finds the
        guard taken answers with the object that holds it."""
        guard = UniqueKey(record.kind, WORKFLOW_STEP_FIELD, step.execution_key)
        written = self.objects.create_once([*(before or []), (record, uniques)], guard)
        if written is None:
            raise StepError(
                f"the {record.kind} this step created in an earlier attempt was deleted since", 410
            )
        return written


# -- bodies ---------------------------------------------------------------------------------------


def _body(params: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Params as a request body, without nulls (top level and `custom`): see the module docstring."""
    body = {k: v for k, v in params.items() if v is not None and k not in drop}
    if isinstance(body.get("custom"), dict):
        body["custom"] = {k: v for k, v in body["custom"].items() if v is not None}
    return body


def _customer_body(body: dict[str, Any]) -> dict[str, Any]:
    """Entries of emails, phones and urls whose value resolved to nothing are dropped."""
    for name, key in (("emails", "email"), ("phones", "phone"), ("urls", "url")):
        entries = body.get(name)
        if isinstance(entries, list):
            body[name] = [e for e in entries if not (isinstance(e, dict) and e.get(key) in (None, ""))]
    return body


def _id_of(value: Any) -> str | None:
    """An object id param: the id itself, or a whole step output (`/#steps.findCustomer`)."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    return to_text(value)


def _klass_name(params: dict[str, Any]) -> str:
    name = params.get("klass")
    if isinstance(name, dict):
        name = name.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("klass is required", "/klass")
    return name


# -- REST helpers ---------------------------------------------------------------------------------


def _headers(value: Any) -> dict[str, str]:
    """Headers as an object {name: value} or a list [{name, value}]; null values are left out."""
    if value is None:
        return {}
    if isinstance(value, list):
        pairs = []
        for entry in value:
            if not isinstance(entry, dict) or "name" not in entry:
                raise StepError("headers must be an object, or a list of {name, value}")
            pairs.append((entry["name"], entry.get("value")))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise StepError("headers must be an object, or a list of {name, value}")
    return {to_text(name): to_text(item) for name, item in pairs if item is not None}


def _request_body(method: str, data: Any, headers: dict[str, str]) -> bytes | None:
    """`data` as JSON (a string is sent as it is); none for a GET or DELETE without data."""
    if data is None or (method in ("GET", "DELETE") and data in ("", {})):
        return None
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    if isinstance(data, str):
        return data.encode()
    try:
        return strictjson.dumps(data, ensure_ascii=False).encode()
    except ValueError:
        raise StepError("data must be standard JSON (no NaN or Infinity)") from None


def _redact_rest_input(params: dict[str, Any]) -> dict[str, Any]:
    """The REST step's input for the run log: credentials masked in its URL, headers and body
    (`switchboard.domain.redaction`), a body given as text included."""
    return redaction.mask_params(params)


def _display(uri: str) -> str:
    """A URL for messages: no query string, which may hold a credential."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    """The answer under the one JSON policy (`switchboard.strictjson`): (value, None), or
    (None, why not) for anything else, NaN, Infinity and 1e400 included."""
    if not body.strip():
        return None, None
    try:
        return strictjson.loads(body), None
    except strictjson.JsonRejected as exc:
        return None, str(exc)[:200]


def _preview(body: bytes) -> str:
    return body[:ERROR_BODY_PREVIEW].decode("utf-8", errors="replace")


def _shortened(answer: dict[str, Any]) -> dict[str, Any]:
    """An error's copy of the answer, with a large body cut to a preview."""
    text = json.dumps(answer["body"], default=str)
    if len(text) <= ERROR_BODY_PREVIEW:
        return answer
    return {**answer, "body": text[:ERROR_BODY_PREVIEW]}


# -- bounded regex search -------------------------------------------------------------------------

Found = tuple[str, list[str | None], dict[str, str | None]]


def _parts(match: re.Match[str] | None) -> Found | None:
    return None if match is None else (match.group(0), list(match.groups()), match.groupdict())


def bounded_search(pattern: re.Pattern[str], text: str, timeout_s: float) -> Found | None:
    """`pattern.search(text)` in a forked child that is killed after `timeout_s`: Python's `re`
    cannot be interrupted, and a catastrophic pattern must not hold the run for minutes. The
    child only searches and writes JSON to a pipe. Without fork (not POSIX) it runs inline."""
    if not hasattr(os, "fork"):
        return _parts(pattern.search(text))
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12 warns on fork with threads
        pid = os.fork()
    if pid == 0:  # the child: no locks, no imports, no finalizers
        code = 1
        try:
            gc.disable()
            os.close(read_fd)
            payload = memoryview(json.dumps(_parts(pattern.search(text))).encode())
            while payload:
                payload = payload[os.write(write_fd, payload) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    finished = False
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not poller.poll(max(1, int(left * 1000))):
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if not finished:
        raise StepError(
            f"the regex took longer than {timeout_s:g} s on this input (catastrophic backtracking?)"
        )
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise StepError("the regex search failed")
    found = json.loads(b"".join(chunks))
    if found is None:
        return None
    whole, groups, named = found
    return whole, groups, named
