"""Event envelopes: Kustomer's shape, deterministic ids, add/replace/remove changes."""

from switchboard.domain.events import SUBSCRIBABLE, changes, envelope, event_id
from switchboard.domain.records import Record


def record(rev: int = 1, **attributes) -> Record:
    return Record(
        org="0" * 24,
        kind="customer",
        id="a" * 24,
        rev=rev,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at=f"2026-01-01T00:00:0{rev}.000Z",
        attributes=attributes,
        list_key="customer",
    )


def test_create_update_delete_envelopes() -> None:
    created = envelope(record(1, name="A"), None, "2026-01-01T00:00:09.000Z")
    assert created["name"] == "kustomer.customer.create" and created["changes"] is None
    assert created["data"]["attributes"]["rev"] == 1 and created["dataId"] == "a" * 24
    assert created["org"] == created["partition"] == "0" * 24
    assert created["createdAt"] == "2026-01-01T00:00:01.000Z"
    updated = envelope(record(2, name="B", vip=True), record(1, name="A"), "x")
    assert updated["name"] == "kustomer.customer.update"
    ops = updated["changes"]["attributes"]
    assert ops["name"] == {"op": "replace", "before": "A", "after": "B"}
    assert ops["vip"] == {"op": "add", "after": True}
    assert ops["rev"] == {"op": "replace", "before": 1, "after": 2}
    removed = envelope(None, record(2, name="B"), "2026-01-02T00:00:00.000Z")
    assert (
        removed["name"] == "kustomer.customer.delete" and removed["createdAt"] == "2026-01-02T00:00:00.000Z"
    )


def test_event_ids_are_stable_and_distinct() -> None:
    first = envelope(record(1, name="A"), None, "t1")["id"]
    assert first == envelope(record(1, name="A"), None, "t2")["id"]
    assert len(first) == 24 and first != event_id("0" * 24, "customer", "a" * 24, 1, "delete")


def test_kobject_events_name_their_klass() -> None:
    order = Record(
        org="o",
        kind="kobject.order",
        id="b" * 24,
        rev=1,
        created_at="t",
        updated_at="t",
        attributes={"title": "x"},
    )
    assert envelope(order, None, "t")["name"] == "kustomer.kobject.order.create"


def test_remove_op_and_the_ten_subscribable_events() -> None:
    assert changes({"attributes": {"a": 1}}, {"attributes": {}}) == {
        "attributes": {"a": {"op": "remove", "before": 1}}
    }
    assert len(SUBSCRIBABLE) == 10 and "kustomer.team.update" in SUBSCRIBABLE
