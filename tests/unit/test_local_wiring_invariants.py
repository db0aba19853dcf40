"""Invariants of the one wiring declaration in the local run's function configuration.

`emulator/functions.py` builds each local container's environment from wiring; every table
whose stream triggers a function must be named there (the deployed side is checked on the
synthesized template in `tests/infra/test_stack_wiring_invariants.py`). The expected set comes from
the triggers, not from `FunctionSpec.tables`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.functions import HIDDEN, LocalFunction
from emulator.logs import LogRouter
from switchboard import wiring

TABLES = {t.key: t.local_name for t in wiring.TABLES}
QUEUES = {q.key: f"http://localhost/{q.local_name}" for q in wiring.QUEUES}


def streamed_tables(spec: wiring.FunctionSpec) -> set[str]:
    return {t.table for t in spec.triggers if isinstance(t, wiring.StreamTrigger)}


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_every_triggering_table_is_in_the_local_environment(
    spec: wiring.FunctionSpec, tmp_path: Path
) -> None:
    function = LocalFunction(spec, TABLES, LogRouter(tmp_path), QUEUES)
    for key in streamed_tables(spec):
        table = wiring.table(key)
        value = function.environment.get(table.env_var)
        assert value is not HIDDEN and value == table.local_name, (spec.name, table.env_var)


def test_a_stream_trigger_brings_read_access_to_its_table() -> None:
    spec = wiring.FunctionSpec(
        name="probe",
        code="functions/forward",
        handler="handler.handler",
        description="",
        tables={"objects": wiring.Access.READ_WRITE},
        triggers=(wiring.StreamTrigger(table="webhooks"), wiring.StreamTrigger(table="objects")),
    )
    assert spec.tables == {"objects": wiring.Access.READ_WRITE, "webhooks": wiring.Access.READ}
    env = wiring.environment(spec, TABLES)
    assert env["WEBHOOKS_TABLE"] == "switchboard-webhooks"
    assert env["OBJECTS_TABLE"] == "switchboard-objects"


def test_the_forward_function_tells_a_webhooks_stream_record_by_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forward handler maps a stream ARN to its table through its environment."""
    from switchboard.entrypoints.forward import _table_of

    function = LocalFunction(wiring.FORWARD, TABLES, LogRouter(tmp_path), QUEUES)
    for name, value in function.environment.items():
        if value is HIDDEN:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    stream = "stream/2026-01-01T00:00:00.000"
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/switchboard-webhooks/{stream}"
    assert _table_of(arn) == "webhooks"
