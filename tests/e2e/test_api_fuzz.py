"""The REST API against its own OpenAPI document: a property-based fuzzer (Schemathesis).

A local run of its own is started; Schemathesis reads `GET /v1/openapi.json` and sends
schema-valid and schema-invalid requests to every operation with the demo org's admin key,
running every check it has (`--checks all`: no server errors, statuses and content types as
documented, responses matching their schemas, schema-valid data accepted, invalid data refused,
authentication enforced, 405 with `Allow` for undeclared methods, ...). No failure is tolerated.

CI runs a fixed seed and a bounded number of examples; run it longer with
`make fuzz FUZZ_EXAMPLES=500` (and another `FUZZ_SEED=...`). Failures are printed with a
`curl` line that reproduces each one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import launch, stop

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
# The whole run's time budget: bounded in CI (about 2 minutes on 2 cores), longer when asked.
MAX_TIME_S = int(os.environ.get("FUZZ_MAX_TIME", "100" if EXAMPLES <= 5 else "3600"))


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory: pytest.TempPathFactory):
    run = launch(tmp_path_factory.mktemp("fuzz-state"))
    try:
        yield run
    finally:
        stop(run.process)


def test_the_api_keeps_every_promise_of_its_openapi_document(fuzz_run, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        fuzz_run.state["openapiUrl"],
        "--checks",
        "all",
        "--mode",
        "all",  # positive and negative data
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(MAX_TIME_S),
        "--workers",
        "2",
        "--continue-on-failure",
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {fuzz_run.api_key}",
        "--report-ndjson-path",
        str(tmp_path / "events.ndjson"),
    ]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=MAX_TIME_S + 120)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, f"the fuzzer failed after {elapsed:.0f} s:\n{output[-20000:]}"
