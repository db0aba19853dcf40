"""The REST API against its own OpenAPI document: a property-based fuzzer (Schemathesis).

A local run of its own is started; Schemathesis reads `GET /v1/openapi.json` and sends
schema-valid and schema-invalid requests to every operation with the demo org's admin key,
running every check it has (`--checks all`: no server errors, statuses and content types as
documented, responses matching their schemas, schema-valid data accepted, invalid data refused,
authentication enforced, 405 with `Allow` for undeclared methods, ...). No failure is tolerated.

CI runs a fixed seed and a bounded number of examples; run it longer with
`make fuzz FUZZ_EXAMPLES=500` (and another `FUZZ_SEED=...`). Failures are printed with a
`curl` line that reproduces each one.

Schema-valid cases name real objects: the objects below are created first, and the hooks in
`fuzz_hooks.py` put their ids into positive cases (schemathesis.toml is the run's configuration).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalRun, launch, stop

HERE = Path(__file__).resolve().parent
WORKFLOW = {
    "name": "fuzz seed",
    "enabled": False,
    "trigger": {"id": "1", "eventName": "kustomer.customer.create", "transitions": []},
    "steps": [],
}

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


def _created(run: LocalRun, path: str, body: dict) -> str:
    status, _, document = run.request("POST", path, body)
    assert status == 201, (path, status, document)
    return document["data"]["id"]


def _hook(run: LocalRun, hook_type: str) -> dict:
    status, _, document = run.request("POST", f"/hooks/{hook_type}", {"title": f"fuzz {hook_type}"})
    assert status == 201, (hook_type, status, document)
    return {"id": document["data"]["id"], "hash": document["data"]["attributes"]["hash"]}


def seed(run: LocalRun) -> dict:
    """Objects for schema-valid cases to name (see fuzz_hooks.py)."""
    customer = _created(run, "/customers", {"name": "Fuzz Seed"})
    webhook = {"name": "fuzz seed", "url": "http://127.0.0.1:9/fuzz", "events": ["kustomer.customer.create"]}
    conversation = _created(run, "/conversations", {"customer": customer})
    stream = run.state["dataStream"]
    return {
        "customer": customer,
        "conversation": conversation,
        "message": _created(run, "/messages", {"conversation": conversation, "channel": "email"}),
        "user": _created(run, "/users", {"name": "Fuzz Seed"}),
        "team": _created(run, "/teams", {"name": "fuzz-seed-team"}),
        "tag": _created(run, "/tags", {"name": "fuzz-seed-tag"}),
        "klass": run.request("POST", "/klasses", {"name": "fuzzseed"})[2]["data"]["attributes"]["name"],
        "workflow": WORKFLOW,
        "hook": run.state["hookId"],
        "hookType": "web",  # the local run's demo hook
        # Hooks to receive on: their addresses name the org and the 64-hex hash.
        "formHook": _hook(run, "form"),
        "webHook": _hook(run, "web"),
        "org": run.org_id,
        "webhook": _created(run, "/outbound-webhooks", webhook),
        "stream": stream["id"],
        # For the hooks to create spares that a DELETE of a seeded object deletes instead.
        "apiUrl": run.api_url,
        "apiKey": run.api_key,
        "url": "http://127.0.0.1:9/fuzz",
        "accountId": stream["accountId"],
        "region": stream["streamArn"].split(":")[3],
    }


def test_the_api_keeps_every_promise_of_its_openapi_document(fuzz_run, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(seed(fuzz_run)))
    assert fuzz_run.request("POST", "/workflows", WORKFLOW)[0] == 201
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "SWITCHBOARD_FUZZ_SEEDS": str(seeds),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
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
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=MAX_TIME_S + 120, env=env
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, f"the fuzzer failed after {elapsed:.0f} s:\n{output[-20000:]}"
