"""A puller's run against in-memory fakes of its store, the hook service and the HTTP client:
the cursor is stored only after a whole page is accepted, and failures never move it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard.adapters.http_sender import Response
from switchboard.domain import hooks as hook_rules
from switchboard.domain.hooks import Hook
from switchboard.errors import BadRequest, Conflict
from switchboard.pipeline.hooks import Accepted
from switchboard.pipeline.pull import Puller, PullerState, PullService
from tests.unit.test_pull_page import puller as make_puller

NOW = "2026-01-01T00:00:00.000Z"
HOOK = Hook(
    org="a" * 24,
    id="c" * 24,
    type="web",
    hash="d" * 64,
    title="orders",
    description="",
    enabled=True,
    debug=False,
    created_at=NOW,
    updated_at=NOW,
)


class Log(list):
    """What happened, in order, across the fakes."""


class FakeStore:
    def __init__(self, puller: Puller, log: Log, state: PullerState | None = None) -> None:
        self.puller = puller
        self.state = state or PullerState()
        self.owner: str | None = None
        self.log = log
        self.lose_lease = False
        self.finished: list[dict[str, Any]] = []

    def get(self, org: str, puller_id: str) -> tuple[Puller, PullerState] | None:
        return (self.puller, self.state) if (org, puller_id) == (self.puller.org, self.puller.id) else None

    def acquire(
        self, org: str, puller_id: str, owner: str, now: str, until: str, *, due_only: bool
    ) -> tuple[Puller, PullerState] | None:
        if self.owner is not None:
            return None
        self.owner = owner
        return replace(self.puller), replace(self.state, seen=list(self.state.seen))

    def commit(self, org: str, puller_id: str, owner: str, cursor: str | None, seen: list[str]) -> bool:
        if self.lose_lease or owner != self.owner:
            return False
        self.state.cursor, self.state.seen = cursor, list(seen)
        self.log.append(("commit", cursor))
        return True

    def finish(self, org: str, puller_id: str, owner: str, **outcome: Any) -> bool:
        if owner != self.owner:
            return False
        self.owner = None
        self.state.last_error = outcome["error"]
        self.finished.append(outcome)
        return True


class FakeAutomation:
    def __init__(self, hook: Hook) -> None:
        self.hook = hook

    def get_hook(self, org: str, hook_id: str) -> Hook | None:
        return self.hook if hook_id == self.hook.id else None


class FakeHooks:
    """Receives as HookService does for what matters here: the signature and the idempotency key."""

    def __init__(self, hook: Hook, log: Log) -> None:
        self.store = FakeAutomation(hook)
        self.log = log
        self.stored: dict[str, bytes] = {}
        self.refuse: set[str] = set()

    def receive(
        self, org: str, hook_type: str, digest: str, headers: dict[str, str], body: bytes
    ) -> Accepted:
        hook = self.store.hook
        assert (org, hook_type, digest) == (hook.org, hook.type, hook.hash)
        hook_rules.check_content_type(headers["Content-Type"])
        hook_rules.check_signature(hook, headers, body)
        key = headers["Idempotency-Key"]
        if key in self.refuse:
            raise BadRequest("the hook says no")
        self.log.append(("post", key))
        replayed = key in self.stored
        self.stored.setdefault(key, body)
        return Accepted(transaction_id=key, received_at=NOW, replayed=replayed)


class FakeSender:
    """Answers GETs from `pages`, keyed by the cursor sent (None for none)."""

    def __init__(self, log: Log) -> None:
        self.pages: dict[str | None, Response] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.log = log

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float | None = None,
    ) -> Response:
        assert method == "GET" and body is None and timeout_s is not None and timeout_s <= 10
        self.requests.append((url, dict(headers or {})))
        cursor = parse_qs(urlsplit(url).query).get("after", [None])[0]
        self.log.append(("get", cursor))
        return self.pages[cursor]


def ok(ids: list[str], nxt: str | None) -> Response:
    document = {"data": [{"id": i, "total": 1} for i in ids], "meta": {"next": nxt}}
    return Response(200, {}, json.dumps(document).encode(), 1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log() -> Log:
    return Log()


def build(log: Log, **changes: Any) -> tuple[PullService, FakeStore, FakeHooks, FakeSender]:
    hook = changes.pop("hook", HOOK)
    puller = make_puller(hook_id=HOOK.id, org=HOOK.org, **changes)
    store = FakeStore(puller, log)
    hooks = FakeHooks(hook, log)
    sender = FakeSender(log)
    service = PullService(
        store,  # type: ignore[arg-type]
        hooks,  # type: ignore[arg-type]
        sender,
        check_url=lambda url: None,
        clock=lambda: NOW,
        new_id=iter(f"{n:024x}" for n in range(1, 100)).__next__,
    )
    return service, store, hooks, sender


def key(item: str) -> str:
    return f"pull:{'b' * 24}:{item}"


def test_pages_are_followed_and_each_cursor_is_stored_after_its_page(log: Log) -> None:
    service, store, hooks, sender = build(log)
    sender.pages = {None: ok(["o1", "o2"], "c1"), "c1": ok(["o3"], "c2"), "c2": ok([], None)}
    result = service.run_now(HOOK.org, "b" * 24)
    assert (result.pages, result.posted, result.error, result.cursor) == (3, 3, None, "c2")
    assert log == [
        ("get", None),
        ("post", key("o1")),
        ("post", key("o2")),
        ("commit", "c1"),
        ("get", "c1"),
        ("post", key("o3")),
        ("commit", "c2"),
        ("get", "c2"),
    ]
    assert store.state.cursor == "c2" and store.owner is None
    assert store.finished[0]["next_run_at"] == "2026-01-01T00:01:00.000Z"  # intervalMinutes 1
    url, headers = sender.requests[1]
    assert url == "https://shop.example/orders?after=c1"
    assert headers["Accept"] == "application/json"
    assert json.loads(hooks.stored[key("o3")]) == {"id": "o3", "total": 1}


def test_an_http_error_mid_way_keeps_the_last_good_cursor_and_the_next_run_catches_up(log: Log) -> None:
    service, store, _, sender = build(log)
    sender.pages = {None: ok(["o1", "o2"], "c1"), "c1": Response(503, {}, b"busy", 1.0)}
    failed = service.run_now(HOOK.org, "b" * 24)
    assert failed.error == "GET answered HTTP 503: busy"
    assert store.state.cursor == "c1" and store.state.last_error == failed.error
    sender.pages.update({"c1": ok(["o3"], "c2"), "c2": ok([], None)})
    caught_up = service.run_now(HOOK.org, "b" * 24)
    assert caught_up.error is None and store.state.last_error is None
    assert [entry for entry in log if entry[0] == "post"] == [("post", key(i)) for i in ("o1", "o2", "o3")]


def test_a_refused_item_leaves_the_cursor_and_the_retry_replays_the_accepted_ones(log: Log) -> None:
    service, store, hooks, sender = build(log)
    sender.pages = {None: ok(["o1", "o2"], "c1"), "c1": ok([], None)}
    hooks.refuse.add(key("o2"))
    failed = service.run_now(HOOK.org, "b" * 24)
    assert failed.error == f"hook {HOOK.id} refused item 'o2': the hook says no"
    assert store.state.cursor is None and ("commit", "c1") not in log
    hooks.refuse.clear()
    retried = service.run_now(HOOK.org, "b" * 24)
    assert (retried.posted, retried.replayed, retried.cursor) == (1, 1, "c1")
    assert sorted(hooks.stored) == [key("o1"), key("o2")]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (Response(200, {}, b"<html>maintenance</html>", 1.0), "the response is not JSON"),
        (Response(200, {}, b'{"data": NaN}', 1.0), "the response is not JSON"),
        (Response(200, {}, b'{"items": []}', 1.0), "no array at itemsPath 'data'"),
        (Response(200, {}, b'{"data": [{"sku": 1}]}', 1.0), "item 0 of the page has no id at 'id'"),
        (Response(None, {}, b"", 1.0, error="timeout after 10.0 s"), "GET failed: timeout after 10.0 s"),
        (Response(302, {}, b"", 1.0, error="redirect not followed (302)"), "redirect not followed"),
        (Response(200, {}, b"[" * 10, 1.0, truncated=True), "the response is larger than"),
    ],
)
def test_bad_answers_are_recorded_and_post_nothing(log: Log, response: Response, error: str) -> None:
    service, store, _, sender = build(log)
    sender.pages = {None: response}
    result = service.run_now(HOOK.org, "b" * 24)
    assert result.error is not None and error in result.error
    assert store.state.last_error == result.error
    assert [entry[0] for entry in log] == ["get"]


def test_max_pages_stops_with_more_and_comes_back_at_once(log: Log) -> None:
    service, store, _, sender = build(log, max_pages=2)
    sender.pages = {None: ok(["o1"], "c1"), "c1": ok(["o2"], "c2"), "c2": ok(["o3"], None)}
    result = service.run_now(HOOK.org, "b" * 24)
    assert (result.pages, result.more, result.cursor) == (2, True, "c2")
    assert store.finished[0]["next_run_at"] == NOW  # a backlog is due again now


def test_no_page_is_started_past_the_deadline(log: Log) -> None:
    service, _, _, sender = build(log)
    clock = Clock()
    service.monotonic = clock
    sender.pages = {None: ok(["o1"], "c1")}

    def late(*args: Any, **kwargs: Any) -> Response:
        clock.now = 1000.0  # the first GET used up the budget
        return FakeSender.request(sender, *args, **kwargs)

    sender.request = late  # type: ignore[method-assign]
    result = service.run_now(HOOK.org, "b" * 24)
    assert (result.pages, result.more, result.cursor) == (1, True, "c1")
    assert [entry for entry in log if entry[0] == "get"] == [("get", None)]


def test_a_held_lease_refuses_a_second_run(log: Log) -> None:
    service, store, _, sender = build(log)
    store.owner = "someone else"
    with pytest.raises(Conflict, match="already running"):
        service.run_now(HOOK.org, "b" * 24)
    assert sender.requests == []


def test_a_lost_lease_stops_the_run_and_records_nothing(log: Log) -> None:
    service, store, _, sender = build(log)
    sender.pages = {None: ok(["o1"], "c1"), "c1": ok(["o2"], None)}
    store.lose_lease = True
    result = service.run_now(HOOK.org, "b" * 24)
    assert result.lost and result.pages == 1
    assert store.finished == [] and store.state.cursor is None


def test_a_signed_hook_gets_items_signed_with_its_secret(log: Log) -> None:
    signed = replace(
        HOOK, signature={"header": "X-Sig", "secret": "s" * 20, "encoding": "base64", "prefix": ""}
    )
    service, _, hooks, sender = build(log, hook=signed)
    sender.pages = {None: ok(["o1"], None)}
    result = service.run_now(HOOK.org, "b" * 24)
    assert (result.error, result.posted) == (None, 1)
    assert list(hooks.stored) == [key("o1")]  # the fake checked the signature before storing


def test_a_disabled_hook_is_recorded_and_the_page_waits(log: Log) -> None:
    service, store, _, sender = build(log, hook=replace(HOOK, enabled=False))
    sender.pages = {None: ok(["o1"], "c1")}
    result = service.run_now(HOOK.org, "b" * 24)
    assert result.error is not None and "is disabled" in result.error
    assert store.state.cursor is None


def test_configured_headers_are_sent(log: Log) -> None:
    service, _, _, sender = build(log, headers={"Authorization": "Bearer partner-token"})
    sender.pages = {None: ok([], None)}
    service.run_now(HOOK.org, "b" * 24)
    assert sender.requests[0][1]["Authorization"] == "Bearer partner-token"
