"""The ops CLI: orgs and keys, through table names from the environment or a stack's outputs."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from switchboard import authn, cli, wiring
from tests.integration.conftest import ApiClient


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else json.loads(err)


def test_org_and_key_lifecycle(aws: Any, handler: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, org = run_cli(capsys, "org", "create", "Acme")
    assert code == 0 and len(org["id"]) == 24
    code, orgs = run_cli(capsys, "org", "list")
    assert [o["id"] for o in orgs] == [org["id"]]
    code, issued = run_cli(
        capsys,
        "key",
        "issue",
        "--org",
        org["id"],
        "--name",
        "shop",
        "--role",
        "org.permission.customer.read",
        "--role",
        "org.user.customer.write",
    )
    assert code == 0 and issued["key"].startswith("sbk_")
    client = ApiClient(handler, issued["key"], org["id"])
    assert client.get("/v1/customers").status == 200
    assert client.post("/v1/klasses", {"name": "x"}).status == 403
    code, keys = run_cli(capsys, "key", "list", "--org", org["id"])
    assert [k["id"] for k in keys] == [issued["id"]] and "key" not in keys[0]
    # Only the hash is stored: the key itself appears nowhere in the auth table.
    items = boto3.client("dynamodb").scan(TableName="switchboard-auth")["Items"]
    assert issued["key"] not in json.dumps(items)
    code, _ = run_cli(capsys, "key", "revoke", "--org", org["id"], issued["id"])
    assert code == 0
    authn.forget()  # a new container; a warm one forgets the key within 60 s
    assert client.get("/v1/customers").status == 401


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("key", "issue", "--org", "0" * 24, "--name", "x", "--role", "org.admin"), "does not exist"),
        (("key", "revoke", "--org", "0" * 24, "1" * 24), "not found"),
        (("org", "create", "Bad", "--id", "not-hex"), "24 hex"),
    ],
)
def test_errors_are_reported_with_exit_code_2(aws: Any, capsys, argv, message) -> None:
    code, error = run_cli(capsys, *argv)
    assert code == 2 and message in error["error"]


def test_unknown_roles_are_refused(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, org = run_cli(capsys, "org", "create", "Acme")
    code, error = run_cli(
        capsys, "key", "issue", "--org", org["id"], "--name", "x", "--role", "org.superuser"
    )
    assert code == 2 and "org.superuser" in error["error"]


def test_stack_outputs_name_the_tables(aws: Any, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ObjectsTableName": {"Value": "switchboard-objects"},
            "AuthTableName": {"Value": "switchboard-auth"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="Switchboard", TemplateBody=json.dumps(template))
    for table in wiring.TABLES:
        monkeypatch.setenv(table.env_var, "wrong")
    code, org = run_cli(capsys, "--stack", "Switchboard", "org", "create", "Deployed")
    assert code == 0
    assert (
        boto3.client("dynamodb").get_item(
            TableName="switchboard-auth", Key={"pk": {"S": f"org#{org['id']}"}}
        )["Item"]["name"]["S"]
        == "Deployed"
    )
