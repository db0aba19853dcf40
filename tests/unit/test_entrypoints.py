"""The entry points: the one batch loop, and what each entry module may import."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from switchboard import wiring
from switchboard.entrypoints import batch

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "switchboard" / "python" / "switchboard"


def message(number: int, group: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"messageId": f"m{number}", "body": str(number)}
    if group is not None:
        record["attributes"] = {"MessageGroupId": group}
    return record


def test_a_failed_message_is_reported_and_the_others_are_handled() -> None:
    errors: list[str] = []

    def handle(record: dict[str, Any]) -> int:
        if record["body"] == "2":
            raise RuntimeError("boom")
        return int(record["body"])

    done = batch.each(
        [message(1), message(2), message(3)], handle, lambda r, _e: errors.append(r["messageId"])
    )
    assert done.response() == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert [outcome.result for outcome in done.outcomes] == [1, None, 3]
    assert errors == ["m2"]


def test_in_a_fifo_batch_a_failure_fails_the_rest_of_its_group_unattempted() -> None:
    attempted: list[str] = []

    def handle(record: dict[str, Any]) -> None:
        attempted.append(record["messageId"])
        if record["messageId"] == "m1":
            raise RuntimeError("boom")

    records = [message(1, "a"), message(2, "b"), message(3, "a"), message(4, "b")]
    group = lambda record: record["attributes"]["MessageGroupId"]  # noqa: E731
    done = batch.each(records, handle, lambda _r, _e: None, group_of=group)
    assert done.failed == ["m1", "m3"]
    assert attempted == ["m1", "m2", "m4"]


def test_in_parallel_every_item_is_attempted_and_failures_keep_their_order() -> None:
    def handle(record: dict[str, Any]) -> str:
        if record["body"] in ("1", "3"):
            raise ValueError(record["body"])
        return "ok"

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = batch.each([message(n) for n in range(5)], handle, lambda _r, _e: None, pool=pool)
    assert done.failed == ["m1", "m3"]
    assert [outcome.error is None for outcome in done.outcomes] == [True, False, True, False, True]
    with pytest.raises(ValueError), ThreadPoolExecutor(max_workers=1) as pool:
        batch.each([], handle, lambda _r, _e: None, pool=pool, group_of=lambda _r: "")


def test_a_stream_batch_written_as_one_unit_is_retried_from_its_first_record() -> None:
    pairs = [("seq-1", {}), ("seq-2", {})]

    def fail(_pairs: Any) -> None:
        raise RuntimeError("parking failed")

    done = batch.each([pairs], fail, lambda _p, _e: None, item_id=lambda unit: unit[0][0])
    assert done.response() == {"batchItemFailures": [{"itemIdentifier": "seq-1"}]}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("layer", ["domain", "pipeline", "adapters", "api"])
def test_no_inner_layer_imports_the_entry_points(layer: str) -> None:
    for path in (PACKAGE / layer).rglob("*.py"):
        assert not any(m.startswith("switchboard.entrypoints") for m in imported_modules(path)), path


@pytest.mark.parametrize("spec", [s for s in wiring.FUNCTIONS], ids=lambda s: s.name)
def test_each_function_file_imports_its_handler_from_its_entry_module(spec: wiring.FunctionSpec) -> None:
    module_file, attribute = spec.handler.rsplit(".", 1)
    text = (ROOT / spec.code / f"{module_file}.py").read_text()
    assert text == f"from switchboard.entrypoints.{spec.name} import {attribute}  # noqa: F401\n"


def test_the_hooks_function_imports_no_web_framework() -> None:
    code = (
        "import sys, handler; "
        "print(sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools.event_handler') "
        "or m.startswith('switchboard.api')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / wiring.HOOKS.code,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
