"""The ops CLI against the local run: issue a key, use it over HTTP, revoke another."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.conftest import ROOT


def cli(local_run, *argv: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT / "layers/switchboard/python")
    result = subprocess.run(
        [sys.executable, "-m", "switchboard.cli", "--local", str(local_run.state_dir / "local.json"), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_issues_keys_the_local_api_accepts(local_run) -> None:
    issued = cli(
        local_run,
        "key",
        "issue",
        "--org",
        local_run.org_id,
        "--name",
        "partner",
        "--role",
        "org.permission.customer.read",
    )
    status, _, body = local_run.request("GET", "/users/current", key=issued["key"])
    assert status == 200 and body["data"]["id"] == issued["userId"]
    assert local_run.request("POST", "/customers", {"name": "x"}, key=issued["key"])[0] == 403

    spare = cli(
        local_run, "key", "issue", "--org", local_run.org_id, "--name", "spare", "--role", "org.admin"
    )
    assert any(k["id"] == spare["id"] for k in cli(local_run, "key", "list", "--org", local_run.org_id))
    cli(local_run, "key", "revoke", "--org", local_run.org_id, spare["id"])
    assert local_run.request("GET", "/users/current", key=spare["key"])[0] == 401

    org = cli(local_run, "org", "create", "Second")
    other = cli(local_run, "key", "issue", "--org", org["id"], "--name", "b", "--role", "org.admin")
    status, _, body = local_run.request("GET", "/customers", key=other["key"])
    assert status == 200 and body["meta"]["total"] == 0
