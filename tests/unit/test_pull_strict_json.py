"""Pulled feeds under the one JSON policy: an item holding NaN, Infinity or a number out of
range is a refused item (the items before it are posted, the cursor stays); a page that is not
standard JSON elsewhere, or nested too deep, is not JSON at all."""

from __future__ import annotations

import pytest

from switchboard.adapters.http_sender import Response
from tests.unit.test_pull_run import HOOK, Log, build, key


@pytest.fixture
def log() -> Log:
    return Log()


def page(items: str, nxt: str | None = "c1") -> Response:
    meta = f'"{nxt}"' if nxt else "null"
    return Response(200, {}, f'{{"data": [{items}], "meta": {{"next": {meta}}}}}'.encode(), 1.0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("Infinity", "Infinity is not a JSON value"),
        ("-Infinity", "-Infinity is not a JSON value"),
        ("1e400", "the number 1e400 is out of range"),
        ('{"x": [NaN]}', "NaN is not a JSON value"),
    ],
)
def test_an_item_with_a_non_standard_number_is_refused(log: Log, value: str, reason: str) -> None:
    service, store, hooks, sender = build(log)
    sender.pages = {None: page(f'{{"id": "o1", "total": 1}}, {{"id": "o2", "total": {value}}}')}
    failed = service.run_now(HOOK.org, "b" * 24)
    assert failed.error == f"hook {HOOK.id} refused item 'o2': {reason}"
    assert store.state.last_error == failed.error
    assert list(hooks.stored) == [key("o1")]  # the item before it went through
    assert store.state.cursor is None and not any(entry[0] == "commit" for entry in log)
    for body in hooks.stored.values():
        assert b"NaN" not in body and b"Infinity" not in body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"data": [], "meta": {"next": NaN}}', "NaN is not a JSON value"),
        (b'{"data": [], "count": 1e400}', "out of range"),
        (b'{"data": [' + b"[" * 2000 + b"]" * 2000 + b"]}", "nested deeper"),
        (b'{"data": [{"id": "o1", "name": "\xff"}]}', "UTF-8"),
        (b'{"data": [{"id": "o1", "name": "\\ud800"}]}', "surrogate"),
    ],
)
def test_a_page_that_is_not_standard_json_posts_nothing(log: Log, body: bytes, reason: str) -> None:
    service, store, hooks, sender = build(log)
    sender.pages = {None: Response(200, {}, body, 1.0)}
    failed = service.run_now(HOOK.org, "b" * 24)
    assert failed.error is not None and failed.error.startswith("the response is not JSON")
    assert reason in failed.error
    assert hooks.stored == {} and store.state.cursor is None
