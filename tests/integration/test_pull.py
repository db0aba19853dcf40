"""Pullers against moto and a pull-only partner API on 127.0.0.1: management through the api
handler, runs through `POST /v1/pullers/{id}/run` and the scheduled pull function, and what lands
in the hook's transactions and the workflow-runs FIFO queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from switchboard import admin, ids, wiring
from switchboard.adapters.dynamo_pullers import DynamoPullerStore
from switchboard.pipeline import pull
from tests.integration.conftest import ApiClient, load_handler

# --- a pull-only partner ------------------------------------------------------------------------


class Feed:
    """`GET /orders?after=<id>`: the orders after that id, `page_size` at a time, with
    `meta.next` = the page's last id (null on an empty page). `GET /changes?since=<t>`: a
    top-level array of the orders with `updated_at >= t` (inclusive), oldest first."""

    def __init__(self, page_size: int = 2) -> None:
        self.orders: list[dict[str, Any]] = []
        self.page_size = page_size
        self.broken: dict[str | None, tuple[int, str, bytes]] = {}  # cursor -> one scripted answer
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hold = False  # answer only once `release` is set
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, content_type, body = feed.answer(self.path, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/orders") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def add(self, *numbers: int, at: str = "2026-01-01T00:00:00Z") -> None:
        with self._lock:
            self.orders += [{"id": f"o{n}", "total": n, "updated_at": at} for n in numbers]

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((path, headers))
            orders = list(self.orders)
        if self.hold:
            self.arrived.set()
            self.release.wait(5)
        if parts.path == "/changes":
            since = query.get("since", "")
            rows = sorted((o for o in orders if o["updated_at"] >= since), key=lambda o: o["updated_at"])
            return 200, "application/json", json.dumps(rows[: self.page_size]).encode()
        cursor = query.get("after")
        if cursor in self.broken:
            return self.broken.pop(cursor)
        start = next((n + 1 for n, o in enumerate(orders) if o["id"] == cursor), 0)
        page = orders[start : start + self.page_size]
        document = {"data": page, "meta": {"next": page[-1]["id"] if page else None}}
        return 200, "application/json", json.dumps(document).encode()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed() -> Iterator[Feed]:
    server = Feed()
    yield server
    server.close()


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_LOCAL", "1")  # the loopback partner is allowed, as in `make run`


class Context:
    """The Lambda context the scheduled function reads its remaining time from."""

    def __init__(self, seconds: float = 100.0) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


SCHEDULED_EVENT = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.fixture
def scheduled(aws: Any) -> Any:
    handler = load_handler(wiring.PULL)
    return lambda: handler(SCHEDULED_EVENT, Context())


def later(minutes: float) -> None:
    """Let the pull service's clock run `minutes` ahead, so pullers come due without waiting."""
    pull.pull_service().clock = lambda: ids.format_iso(datetime.now(UTC) + timedelta(minutes=minutes))


def create_hook(api: ApiClient) -> dict[str, Any]:
    reply = api.post("/v1/hooks/web", {"title": "Orders", "debug": True})
    assert reply.status == 201, reply.json
    return reply.json["data"]


def create_puller(api: ApiClient, hook: dict[str, Any], url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Shop orders",
        "url": url,
        "hookId": hook["id"],
        "itemsPath": "data",
        "idField": "id",
        "cursorParam": "after",
        "nextCursorPath": "meta.next",
        "intervalMinutes": 1,
        **extra,
    }
    reply = api.post("/v1/pullers", body)
    assert reply.status == 201, reply.json
    return reply.json["data"]


def run(api: ApiClient, puller: dict[str, Any]) -> dict[str, Any]:
    reply = api.post(f"/v1/pullers/{puller['id']}/run")
    assert reply.status == 200, reply.json
    return reply.json["data"]["attributes"]


def posted_ids(api: ApiClient, hook: dict[str, Any]) -> list[str]:
    """The item ids of every stored transaction of the hook (one per accepted item)."""
    rows = api.get(f"/v1/hooks/web/{hook['id']}/transactions").json["data"]
    return sorted(row["attributes"]["data"]["id"] for row in rows)


def queued() -> list[dict[str, Any]]:
    """Every message in the workflow-runs FIFO queue (received, then left to reappear)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=wiring.WORKFLOW_RUNS_QUEUE.local_name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        fresh = [m for m in page if m["MessageId"] not in {f["MessageId"] for f in found}]
        if not fresh:
            return found
        found += fresh


def one_message_per_transaction(count: int) -> None:
    dedupes = [json.loads(m["Body"])["dedupe"] for m in queued()]
    assert len(dedupes) == len(set(dedupes)) == count


def numbered(*numbers: int) -> list[str]:
    return sorted(f"o{n}" for n in numbers)


# --- runs ---------------------------------------------------------------------------------------


def test_two_runs_with_new_items_between_post_every_item_once(
    api: ApiClient, feed: Feed, local: None, scheduled: Any
) -> None:
    hook = create_hook(api)
    feed.add(1, 2, 3)
    puller = create_puller(api, hook, feed.url())
    first = run(api, puller)
    assert (first["posted"], first["replayed"], first["error"], first["cursor"]) == (3, 0, None, "o3")
    assert posted_ids(api, hook) == numbered(1, 2, 3)
    feed.add(4, 5)
    later(2)
    summary = scheduled()
    assert (summary["due"], summary["ran"], summary["posted"], summary["failed"]) == (1, 1, 2, 0)
    assert posted_ids(api, hook) == numbered(1, 2, 3, 4, 5)
    one_message_per_transaction(5)
    attributes = api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]
    assert (attributes["cursor"], attributes["itemsPosted"], attributes["runs"]) == ("o5", 5, 2)
    assert attributes["lastError"] is None and attributes["lastSuccessAt"]
    # Each GET after the first carried the cursor of the page before.
    cursors = [parse_qs(urlsplit(path).query).get("after", [None])[0] for path, _ in feed.requests]
    assert cursors == [None, "o2", "o3", "o3", "o5"]


def test_a_server_error_mid_way_keeps_the_cursor_and_the_next_run_catches_up(
    api: ApiClient, feed: Feed, local: None, scheduled: Any
) -> None:
    hook = create_hook(api)
    feed.add(1, 2, 3, 4, 5)
    feed.broken["o2"] = (500, "application/json", b'{"error": "database is down"}')
    puller = create_puller(api, hook, feed.url())
    failed = run(api, puller)
    assert failed["posted"] == 2
    assert failed["error"].startswith("GET answered HTTP 500")
    attributes = api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]
    assert attributes["cursor"] == "o2"  # the page that was accepted, not one further
    assert attributes["lastError"] == failed["error"] and attributes["consecutiveFailures"] == 1
    assert posted_ids(api, hook) == numbered(1, 2)
    later(2)
    summary = scheduled()
    assert (summary["ran"], summary["posted"], summary["failed"]) == (1, 3, 0)
    assert posted_ids(api, hook) == numbered(1, 2, 3, 4, 5)
    one_message_per_transaction(5)
    attributes = api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]
    assert attributes["lastError"] is None and attributes["consecutiveFailures"] == 0


class Crash(BaseException):
    """The function dies (a timeout, an out-of-memory kill): no handler runs after it."""


def test_a_crash_before_the_cursor_is_stored_re_polls_without_repeating(
    api: ApiClient, feed: Feed, local: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = create_hook(api)
    feed.add(1, 2, 3)
    puller = create_puller(api, hook, feed.url())

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(DynamoPullerStore, "commit", crash)
        with pytest.raises(Crash):
            pull.pull_service().run_now(api.org, puller["id"])
    assert posted_ids(api, hook) == numbered(1, 2)  # posted, but the cursor was never stored
    assert api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]["cursor"] is None
    # The dead run's lease still holds the puller until it expires.
    assert api.post(f"/v1/pullers/{puller['id']}/run").status == 409
    later(5)
    again = pull.pull_service().run_now(api.org, puller["id"])
    assert (again.replayed, again.posted, again.error, again.cursor) == (2, 1, None, "o3")
    assert posted_ids(api, hook) == numbered(1, 2, 3)
    one_message_per_transaction(3)


def test_overlapping_runs_poll_a_puller_once(api: ApiClient, feed: Feed, local: None, scheduled: Any) -> None:
    hook = create_hook(api)
    feed.add(1)
    puller = create_puller(api, hook, feed.url())
    feed.hold = True
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(scheduled()))
    worker.start()
    try:
        assert feed.arrived.wait(5), "the first run never polled"
        second = scheduled()  # the schedule comes round while the first run is still polling
        assert (second["due"], second["busy"], second["ran"]) == (1, 1, 0)
        assert api.post(f"/v1/pullers/{puller['id']}/run").status == 409
        moved = api.patch(f"/v1/pullers/{puller['id']}", {"cursor": "o9"})
        assert moved.status == 409 and "running" in moved.json["errors"][0]["detail"]
        attributes = api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]
        assert attributes["running"] is True
        assert len(feed.requests) == 1
    finally:
        feed.release.set()
        worker.join(10)
    assert (first["ran"], first["posted"]) == (1, 1)
    assert len(feed.requests) == 2  # the first run's two pages; nothing from the others
    assert posted_ids(api, hook) == ["o1"]


def test_a_non_json_answer_is_recorded_as_last_error(api: ApiClient, feed: Feed, local: None) -> None:
    hook = create_hook(api)
    feed.add(1)
    feed.broken[None] = (200, "text/html", b"<html>maintenance</html>")
    puller = create_puller(api, hook, feed.url())
    result = run(api, puller)
    assert result["error"].startswith("the response is not JSON") and result["posted"] == 0
    attributes = api.get(f"/v1/pullers/{puller['id']}").json["data"]["attributes"]
    assert attributes["lastError"] == result["error"]
    assert attributes["cursor"] is None and attributes["lastRunAt"] and attributes["lastSuccessAt"] is None
    assert posted_ids(api, hook) == [] and queued() == []
    assert run(api, puller)["posted"] == 1  # the partner is back: nothing was lost


def test_cursor_field_with_an_inclusive_api_posts_boundary_items_once(
    api: ApiClient, feed: Feed, local: None
) -> None:
    hook = create_hook(api)
    feed.add(1, at="2026-01-01T10:00:00Z")
    feed.add(2, 3, at="2026-01-01T11:00:00Z")
    puller = create_puller(
        api,
        hook,
        feed.url("/changes"),
        itemsPath="",
        nextCursorPath=None,
        cursorField="updated_at",
        versionField="updated_at",
        cursorParam="since",
        maxPages=5,
    )
    first = run(api, puller)
    assert (first["posted"], first["cursor"]) == (3, "2026-01-01T11:00:00Z")
    idle = run(api, puller)  # `since` is inclusive: o2 and o3 come back and are not posted
    assert (idle["posted"], idle["replayed"], idle["skipped"]) == (0, 0, 2)
    feed.orders[1]["updated_at"] = "2026-01-01T12:00:00Z"  # o2 changes: a new version
    feed.orders.append(feed.orders.pop(1))
    changed = run(api, puller)
    assert (changed["posted"], changed["cursor"]) == (1, "2026-01-01T12:00:00Z")
    rows = api.get(f"/v1/hooks/web/{hook['id']}/transactions").json["data"]
    versions = sorted((r["attributes"]["data"]["id"], r["attributes"]["data"]["updated_at"]) for r in rows)
    assert versions == [
        ("o1", "2026-01-01T10:00:00Z"),
        ("o2", "2026-01-01T11:00:00Z"),
        ("o2", "2026-01-01T12:00:00Z"),
        ("o3", "2026-01-01T11:00:00Z"),
    ]


def test_moving_the_cursor_back_replays_nothing(api: ApiClient, feed: Feed, local: None) -> None:
    hook = create_hook(api)
    feed.add(1, 2, 3)
    puller = create_puller(api, hook, feed.url())
    assert run(api, puller)["posted"] == 3
    reset = api.patch(f"/v1/pullers/{puller['id']}", {"cursor": None})
    assert reset.status == 200 and reset.json["data"]["attributes"]["cursor"] is None
    again = run(api, puller)
    assert (again["posted"], again["replayed"]) == (0, 3)
    assert posted_ids(api, hook) == numbered(1, 2, 3)
    one_message_per_transaction(3)


def test_the_schedule_runs_only_enabled_pullers_that_are_due(
    api: ApiClient, feed: Feed, local: None, scheduled: Any
) -> None:
    hook = create_hook(api)
    feed.add(1)
    on = create_puller(api, hook, feed.url("/orders"))
    off = create_puller(api, hook, feed.url("/orders?shop=2"), enabled=False)
    assert api.get(f"/v1/pullers/{off['id']}").json["data"]["attributes"]["nextRunAt"] is None
    summary = scheduled()
    assert (summary["due"], summary["ran"]) == (1, 1)
    assert summary["runs"][0]["id"] == on["id"]
    assert scheduled()["due"] == 0  # not due again for a minute
    assert all("shop=2" not in path for path, _ in feed.requests)
    enabled = api.patch(f"/v1/pullers/{off['id']}", {"enabled": True})
    assert enabled.json["data"]["attributes"]["nextRunAt"] is not None
    summary = scheduled()
    assert [r["id"] for r in summary["runs"]] == [off["id"]]
    assert any("shop=2" in path for path, _ in feed.requests)


def test_a_signed_hook_accepts_what_the_puller_posts(api: ApiClient, feed: Feed, local: None) -> None:
    reply = api.post(
        "/v1/hooks/web",
        {"title": "Signed", "debug": True, "signature": {"header": "X-Sig", "secret": "s" * 24}},
    )
    hook = reply.json["data"]
    feed.add(1)
    result = run(api, create_puller(api, hook, feed.url()))
    assert (result["posted"], result["error"]) == (1, None)


def test_partner_credentials_are_sent_and_never_shown(api: ApiClient, feed: Feed, local: None) -> None:
    hook = create_hook(api)
    puller = create_puller(api, hook, feed.url(), headers={"Authorization": "Bearer partner-secret"})
    assert puller["attributes"]["headerNames"] == ["Authorization"]
    run(api, puller)
    assert feed.requests[0][1]["Authorization"] == "Bearer partner-secret"
    for reply in (api.get(f"/v1/pullers/{puller['id']}"), api.get("/v1/pullers")):
        assert "partner-secret" not in json.dumps(reply.json)


# --- management ---------------------------------------------------------------------------------


def test_create_list_get_update_delete(api: ApiClient, local: None) -> None:
    hook = create_hook(api)
    puller = create_puller(api, hook, "http://127.0.0.1:9/orders", maxPages=3)
    attributes = puller["attributes"]
    assert (attributes["enabled"], attributes["maxPages"], attributes["cursor"]) == (True, 3, None)
    assert puller["relationships"]["hook"]["data"]["id"] == hook["id"]
    assert [p["id"] for p in api.get("/v1/pullers").json["data"]] == [puller["id"]]
    path = f"/v1/pullers/{puller['id']}"
    changed = api.put(path, {"name": "Renamed", "enabled": False, "intervalMinutes": 15})
    assert changed.status == 200
    attributes = changed.json["data"]["attributes"]
    assert (attributes["name"], attributes["enabled"], attributes["intervalMinutes"]) == (
        "Renamed",
        False,
        15,
    )
    assert attributes["nextRunAt"] is None and attributes["rev"] == 2
    assert api.patch(path, {"name": None}).status == 400
    assert api.delete(path).status == 204
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_another_orgs_puller_is_404(api: ApiClient, other: ApiClient, local: None) -> None:
    puller = create_puller(api, create_hook(api), "http://127.0.0.1:9/orders")
    path = f"/v1/pullers/{puller['id']}"
    assert other.get(path).status == 404
    assert other.patch(path, {"enabled": False}).status == 404
    assert other.post(f"{path}/run").status == 404
    assert other.delete(path).status == 404
    assert other.get("/v1/pullers").json["data"] == []
    assert api.get(path).json["data"]["attributes"]["enabled"] is True
    # Nor may a puller post to another org's hook.
    reply = other.post("/v1/pullers", {**valid_body(create_hook(api)["id"])})
    assert reply.status == 400 and reply.json["errors"][0]["source"]["pointer"] == "/hookId"


def valid_body(hook_id: str) -> dict[str, Any]:
    return {
        "name": "orders",
        "url": "https://shop.example/orders",
        "hookId": hook_id,
        "itemsPath": "data",
        "idField": "id",
        "cursorParam": "after",
        "nextCursorPath": "meta.next",
    }


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"surprise": 1}, "/surprise"),
        ({"name": ""}, "/name"),
        ({"idField": None}, "/idField"),
        ({"intervalMinutes": 0}, "/intervalMinutes"),
        ({"maxPages": 0}, "/maxPages"),
        ({"headers": {"Host": "x"}}, "/headers"),
        ({"hookId": "0" * 24}, "/hookId"),
        ({"hookId": "nope"}, "/hookId"),
        ({"url": "http://shop.example/orders"}, "/url"),
        ({"url": "https://127.0.0.1/orders"}, "/url"),
        ({"url": "https://169.254.169.254/latest"}, "/url"),
        ({"cursorField": "updated_at"}, "/cursorField"),
        ({"nextCursorPath": None}, "/cursorField"),
        ({"itemsPath": ""}, "/nextCursorPath"),
    ],
)
def test_bad_definitions_are_400_with_a_pointer(api: ApiClient, change: dict[str, Any], pointer: str) -> None:
    body = {**valid_body(create_hook(api)["id"]), **change}
    reply = api.post("/v1/pullers", body)
    assert reply.status == 400, reply.json
    assert reply.json["errors"][0]["source"]["pointer"] == pointer
    assert api.get("/v1/pullers").json["data"] == []


def test_an_https_partner_is_accepted_outside_the_local_run(api: ApiClient) -> None:
    reply = api.post("/v1/pullers", valid_body(create_hook(api)["id"]))
    assert reply.status == 201, reply.json


def test_hook_permissions_guard_pullers(api: ApiClient, handler: Any) -> None:
    hook = create_hook(api)
    created = api.post("/v1/pullers", valid_body(hook["id"])).json["data"]
    reader = ApiClient(handler, admin.issue_key(api.org, "r", ["org.permission.hook.read"])["key"], api.org)
    assert reader.get("/v1/pullers").status == 200
    assert reader.post("/v1/pullers", valid_body(hook["id"])).status == 403
    assert reader.patch(f"/v1/pullers/{created['id']}", {"enabled": False}).status == 403
    assert reader.post(f"/v1/pullers/{created['id']}/run").status == 403
    assert reader.delete(f"/v1/pullers/{created['id']}").status == 403
    nobody = ApiClient(
        handler, admin.issue_key(api.org, "c", ["org.permission.customer.read"])["key"], api.org
    )
    assert nobody.get("/v1/pullers").status == 403


def test_the_lease_and_the_schedule_are_conditional_writes(api: ApiClient, local: None) -> None:
    created = create_puller(api, create_hook(api), "http://127.0.0.1:9/orders")
    store = pull.pull_service().store
    org, pid = api.org, created["id"]
    due_at = ids.parse_iso(created["attributes"]["nextRunAt"])

    def at(minutes: float) -> str:
        return ids.format_iso(due_at + timedelta(minutes=minutes))

    assert store.due(at(-1), 10) == [] and store.due(at(0), 10) == [(org, pid)]
    assert store.acquire(org, pid, "A", at(-1), at(1), due_only=True) is None  # not due yet
    leased = store.acquire(org, pid, "A", at(0), at(2), due_only=True)
    assert leased is not None and leased[0].id == pid
    assert store.acquire(org, pid, "B", at(1), at(3), due_only=False) is None  # A holds it
    assert not store.commit(org, pid, "B", "c1", [])
    assert store.commit(org, pid, "A", "c1", [])
    assert store.acquire(org, pid, "B", at(3), at(5), due_only=False) is not None  # A's expired
    assert not store.commit(org, pid, "A", "c2", []) and not store.finish(
        org, pid, "A", now=at(3), next_run_at=at(4), error=None, posted=0, pages=0
    )
    assert store.finish(org, pid, "B", now=at(4), next_run_at=at(10), error="x", posted=0, pages=1)
    assert store.due(at(9), 10) == [] and store.due(at(10), 10) == [(org, pid)]
    _, state = store.get(org, pid)
    assert (state.cursor, state.last_error, state.failures, state.runs) == ("c1", "x", 1, 1)
    # Disabled: off the schedule, and a run now (allowed) does not put it back.
    api.patch(f"/v1/pullers/{pid}", {"enabled": False})
    assert store.due(at(20), 10) == []
    assert store.acquire(org, pid, "C", at(20), at(21), due_only=True) is None
    assert store.acquire(org, pid, "C", at(20), at(21), due_only=False) is not None
    assert store.finish(org, pid, "C", now=at(20), next_run_at=at(21), error=None, posted=0, pages=0)
    assert store.due(at(60), 10) == []
    # Deleted mid-run: the run's writes do not bring it back.
    assert store.acquire(org, pid, "D", at(30), at(31), due_only=False) is not None
    assert api.delete(f"/v1/pullers/{pid}").status == 204
    assert not store.commit(org, pid, "D", "c3", [])
    assert not store.finish(org, pid, "D", now=at(30), next_run_at=at(31), error=None, posted=0, pages=0)
    assert store.get(org, pid) is None
