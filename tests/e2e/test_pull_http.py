"""The pull middleware on the local run: the scheduled pull function (invoked every second by
the local run's schedule) polls a partner feed on loopback and posts each new item to a hook
exactly once, across runs (a scheduled one, then one asked for), as items keep arriving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_pull import Feed
from tests.support.waiting import wait_until


@pytest.fixture
def feed() -> Iterator[Feed]:
    server = Feed()
    yield server
    server.close()


def test_scheduled_puller_posts_every_new_item_once(local_run: Any, feed: Feed) -> None:
    status, _, hook = local_run.request("POST", "/hooks/web", {"title": "feed", "debug": True})
    assert status == 201, hook
    hook_id = hook["data"]["id"]
    feed.add(1, 2, 3)
    status, _, puller = local_run.request(
        "POST",
        "/pullers",
        {
            "name": "partner feed",
            "url": feed.url(),
            "hookId": hook_id,
            "itemsPath": "data",
            "idField": "id",
            "cursorParam": "after",
            "nextCursorPath": "meta.next",
            "intervalMinutes": 1,
        },
    )
    assert status == 201, puller

    def posted() -> list[Any]:
        _, _, body = local_run.request("GET", f"/hooks/web/{hook_id}/transactions")
        return [t["attributes"]["data"]["id"] for t in body["data"]]

    assert sorted(wait_until(lambda: len(posted()) >= 3 and posted(), timeout_s=90, what="first items")) == [
        "o1",
        "o2",
        "o3",
    ]
    feed.add(4, 5)
    # The next scheduled run is a minute away; running now takes the same path with the cursor.
    status, _, run = local_run.request("POST", f"/pullers/{puller['data']['id']}/run")
    assert status == 200, run
    final = wait_until(lambda: len(posted()) >= 5 and posted(), timeout_s=30, what="new items")
    assert sorted(final) == ["o1", "o2", "o3", "o4", "o5"]  # each once, none skipped
    try:
        _, _, state = local_run.request("GET", f"/pullers/{puller['data']['id']}")
        assert state["data"]["attributes"]["lastError"] in (None, "")
    finally:
        local_run.request("DELETE", f"/pullers/{puller['data']['id']}")
