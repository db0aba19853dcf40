"""The page logic of pullers: where the items are, what identifies them, where the cursor moves."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from switchboard.pipeline.pull import (
    SEEN_MAX,
    Puller,
    PullerBody,
    PullerPatch,
    PullError,
    digest,
    idempotency_key,
    item_key,
    items_at,
    plan_page,
    with_cursor,
)


def puller(**changes: Any) -> Puller:
    values: dict[str, Any] = {
        "org": "a" * 24,
        "id": "b" * 24,
        "name": "orders",
        "url": "https://shop.example/orders",
        "hook_id": "c" * 24,
        "items_path": "data",
        "id_field": "id",
        "version_field": None,
        "cursor_param": "after",
        "next_cursor_path": "meta.next",
        "cursor_field": None,
        "headers": {},
        "interval_minutes": 1,
        "enabled": True,
        "max_pages": 5,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    values.update(changes)
    return Puller(**values)


# --- itemsPath --------------------------------------------------------------------------------


def test_items_at_a_dotted_path_and_at_the_top_level() -> None:
    assert items_at({"data": {"orders": [1, 2]}}, "data.orders") == [1, 2]
    assert items_at([{"id": 1}], "") == [{"id": 1}]
    assert items_at({"data": []}, "data") == []


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        ({"items": []}, "data", "at itemsPath 'data'"),
        ({"data": {"id": 1}}, "data", "at itemsPath 'data'"),
        ({"data": []}, "", "at the top level"),
        (None, "data", "at itemsPath"),
    ],
)
def test_items_at_says_where_the_array_is_missing(document: Any, path: str, words: str) -> None:
    with pytest.raises(PullError, match=words):
        items_at(document, path)


# --- idField / versionField ------------------------------------------------------------------


def test_item_key_reads_nested_and_numeric_ids() -> None:
    assert item_key({"order": {"id": "o-1"}}, puller(id_field="order.id"), 0) == "o-1"
    assert item_key({"id": 7}, puller(), 0) == "7"
    assert item_key({"id": 7}, puller(), 0) != item_key({"id": "7.0"}, puller(), 0)


@pytest.mark.parametrize("item", [{}, {"id": None}, {"id": ""}, {"id": True}, {"id": {"x": 1}}, "o-1", 5])
def test_item_without_a_usable_id_stops_the_page(item: Any) -> None:
    with pytest.raises(PullError, match="item 3 of the page has no id at 'id'"):
        item_key(item, puller(), 3)


def test_version_field_makes_each_version_its_own_item() -> None:
    versioned = puller(version_field="updated_at")
    v1 = item_key({"id": 1, "updated_at": "2026-01-01"}, versioned, 0)
    v2 = item_key({"id": 1, "updated_at": "2026-01-02"}, versioned, 0)
    assert v1 != v2
    with pytest.raises(PullError, match="no version at 'updated_at'"):
        item_key({"id": 1}, versioned, 0)


def test_idempotency_key_stays_within_what_a_hook_accepts() -> None:
    assert idempotency_key("p" * 24, "o-1") == f"pull:{'p' * 24}:o-1"
    long = idempotency_key("p" * 24, "x" * 400)
    assert len(long) <= 255 and long.startswith(f"pull:{'p' * 24}:sha256:")
    assert long != idempotency_key("p" * 24, "x" * 401)


# --- nextCursorPath ---------------------------------------------------------------------------


def page(ids: list[Any], nxt: Any = None, **extra: Any) -> dict[str, Any]:
    return {"data": [{"id": i, **extra} for i in ids], "meta": {"next": nxt}}


def test_a_new_next_cursor_advances_and_forgets_what_was_seen() -> None:
    plan = plan_page(puller(), None, [], page(["o1", "o2"], "o2"))
    assert [key for key, _ in plan.items] == ["o1", "o2"]
    assert (plan.cursor, plan.seen, plan.advanced, plan.skipped) == ("o2", [], True, 0)


def test_no_next_cursor_keeps_the_cursor_and_remembers_the_page() -> None:
    first = plan_page(puller(), "c1", [], page(["o1", "o2"], None))
    assert (first.cursor, first.advanced) == ("c1", False)
    assert first.seen == [digest("o1"), digest("o2")]
    # The same page, grown by one item: only the new item is posted.
    again = plan_page(puller(), "c1", first.seen, page(["o1", "o2", "o3"], None))
    assert [key for key, _ in again.items] == ["o3"]
    assert again.skipped == 2
    assert again.seen == [digest("o1"), digest("o2"), digest("o3")]


def test_the_same_cursor_back_is_not_an_advance() -> None:
    plan = plan_page(puller(), "c1", [], page(["o1"], "c1"))
    assert (plan.cursor, plan.advanced) == ("c1", False)


def test_numeric_next_cursor_is_text() -> None:
    assert plan_page(puller(), None, [], page([1], 1700000000)).cursor == "1700000000"


def test_next_cursor_that_is_not_a_scalar_is_an_error() -> None:
    with pytest.raises(PullError, match=r"'meta\.next' in the response is not a cursor"):
        plan_page(puller(), None, [], page([1], {"after": 1}))


def test_an_empty_page_with_a_new_cursor_still_advances() -> None:
    plan = plan_page(puller(), "c1", [digest("o1")], page([], "c2"))
    assert (plan.items, plan.cursor, plan.seen, plan.advanced) == ([], "c2", [], True)


def test_repeated_ids_within_one_page_are_posted_once() -> None:
    plan = plan_page(puller(), None, [], page(["o1", "o1"], None))
    assert [key for key, _ in plan.items] == ["o1"]
    assert plan.skipped == 1 and plan.seen == [digest("o1")]


def test_seen_is_bounded() -> None:
    plan = plan_page(puller(), None, [], page(list(range(SEEN_MAX + 50)), None))
    assert len(plan.items) == SEEN_MAX + 50
    assert len(plan.seen) == SEEN_MAX and plan.seen[-1] == digest(str(SEEN_MAX + 49))


# --- cursorField ------------------------------------------------------------------------------


def changes(*rows: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"id": i, "updated_at": at} for i, at in rows]


def test_cursor_field_takes_the_last_items_value_and_remembers_its_ties() -> None:
    by_time = puller(items_path="", next_cursor_path=None, cursor_field="updated_at")
    plan = plan_page(by_time, None, [], changes(("a", "t1"), ("b", "t2"), ("c", "t2")))
    assert [key for key, _ in plan.items] == ["a", "b", "c"]
    assert (plan.cursor, plan.advanced) == ("t2", True)
    assert plan.seen == [digest("b"), digest("c")]
    # An inclusive `since=t2` sends b and c again with a new d: only d is posted.
    nxt = plan_page(by_time, plan.cursor, plan.seen, changes(("b", "t2"), ("c", "t2"), ("d", "t3")))
    assert [key for key, _ in nxt.items] == ["d"]
    assert (nxt.skipped, nxt.cursor, nxt.seen) == (2, "t3", [digest("d")])
    # Nothing new: the boundary items come back, nothing is posted, the cursor stays.
    idle = plan_page(by_time, nxt.cursor, nxt.seen, changes(("d", "t3")))
    assert (idle.items, idle.skipped, idle.cursor, idle.advanced) == ([], 1, "t3", False)


def test_cursor_field_on_an_empty_page_does_not_move() -> None:
    by_time = puller(items_path="", next_cursor_path=None, cursor_field="updated_at")
    plan = plan_page(by_time, "t1", [digest("a")], [])
    assert (plan.cursor, plan.seen, plan.advanced) == ("t1", [digest("a")], False)


def test_cursor_field_missing_on_the_last_item_is_an_error() -> None:
    by_time = puller(items_path="", next_cursor_path=None, cursor_field="updated_at")
    with pytest.raises(PullError, match="last item of the page has no cursor at 'updated_at'"):
        plan_page(by_time, None, [], [{"id": "a", "updated_at": "t1"}, {"id": "b"}])


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "cursor", "expected"),
    [
        ("https://x.example/o", None, "https://x.example/o"),
        ("https://x.example/o", "c1", "https://x.example/o?after=c1"),
        ("https://x.example/o?limit=2", "c1", "https://x.example/o?limit=2&after=c1"),
        (
            "https://x.example/o?after=old&limit=2",
            "c 2&x=1",
            "https://x.example/o?limit=2&after=c%202%26x%3D1",
        ),
        (
            "https://x.example/o?after=old",
            "2026-01-01T00:00:00+00:00",
            "https://x.example/o?after=2026-01-01T00%3A00%3A00%2B00%3A00",
        ),
    ],
)
def test_with_cursor(url: str, cursor: str | None, expected: str) -> None:
    from switchboard.pipeline.pull import with_cursor as build

    assert build(url, "after", cursor) == expected


def test_with_cursor_keeps_a_fragment_out_of_the_query() -> None:
    assert with_cursor("https://x.example/o#top", "after", "c") == "https://x.example/o?after=c#top"


# --- bodies -----------------------------------------------------------------------------------


def valid() -> dict[str, Any]:
    return {
        "name": "orders",
        "url": "https://shop.example/orders",
        "hookId": "c" * 24,
        "idField": "id",
        "cursorParam": "after",
        "itemsPath": "data",
        "nextCursorPath": "meta.next",
    }


def test_a_valid_body_takes_the_defaults() -> None:
    body = PullerBody.model_validate(valid())
    assert (body.intervalMinutes, body.maxPages, body.enabled, body.headers) == (5, 10, True, {})


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"surprise": 1}, ("surprise",)),
        ({"idField": "a..b"}, ("idField",)),
        ({"itemsPath": "."}, ("itemsPath",)),
        ({"intervalMinutes": 0}, ("intervalMinutes",)),
        ({"intervalMinutes": "5"}, ("intervalMinutes",)),
        ({"maxPages": 101}, ("maxPages",)),
        ({"cursorParam": "a b"}, ("cursorParam",)),
        ({"headers": {"Bad Name": "x"}}, ("headers",)),
        ({"headers": {"Host": "evil.example"}}, ("headers",)),
        ({"headers": {"X-Token": "a\r\nInjected: 1"}}, ("headers",)),
        ({"headers": {f"X-{n}": "v" for n in range(21)}}, ("headers",)),
        ({"enabled": "yes"}, ("enabled",)),
    ],
)
def test_bad_bodies_name_the_field(change: dict[str, Any], location: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        PullerBody.model_validate({**valid(), **change})
    assert caught.value.errors()[0]["loc"][: len(location)] == location


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        PullerBody.model_validate({k: v for k, v in valid().items() if k != "idField"})
    assert caught.value.errors()[0]["loc"] == ("idField",)


def test_patch_knows_what_was_sent() -> None:
    patch = PullerPatch.model_validate({"enabled": False, "cursor": None})
    assert patch.model_dump(exclude_unset=True) == {"enabled": False, "cursor": None}
