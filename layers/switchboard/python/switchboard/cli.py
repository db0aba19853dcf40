"""Ops CLI: create orgs and issue, list and revoke API keys, locally or against a deployed stack.

    switchboard --local org create "Acme"
    switchboard --stack Switchboard key issue --org <orgId> --name partner --role org.permission.customer.read
    switchboard --local key list --org <orgId>
    switchboard --local key revoke --org <orgId> <keyId>

`--local` reads `.switchboard/local.json`, written by `make run`; `--stack` reads the table names
from the CloudFormation outputs of a deployed stack with your AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import EndpointConnectionError

from switchboard import admin, services, wiring
from switchboard.errors import SwitchboardError

STACK_OUTPUTS = {wiring.OBJECTS.env_var: "ObjectsTableName", wiring.AUTH.env_var: "AuthTableName"}


def _use_local(state_file: Path) -> None:
    if not state_file.exists():
        raise SystemExit(f"{state_file} not found: start the local run with 'make run' first")
    try:
        state = json.loads(state_file.read_text())
        endpoint = state["awsEndpoint"]
    except (ValueError, KeyError, TypeError):
        raise SystemExit(
            f"{state_file} is not a local run's state file; start the local run with 'make run'"
        ) from None
    if not _local_run_answers(state.get("pid"), endpoint):
        # A run killed hard (kill -9, a crash) leaves its local.json behind; its data is in the state dir.
        raise SystemExit(
            f"the local run is not running ({state_file} is left over from one that stopped); "
            "start it with 'make run'"
        )
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for table in wiring.TABLES:
        os.environ[table.env_var] = state["tables"][table.key]


def _local_run_answers(pid: Any, endpoint: str) -> bool:
    """The process named in the state file is alive and its AWS endpoint accepts a connection."""
    if isinstance(pid, int) and pid > 0:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, another user's
    parts = urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def _use_stack(stack: str) -> None:
    from switchboard.adapters.aws import client

    outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    by_key = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    for env_var, output in STACK_OUTPUTS.items():
        if output not in by_key:
            raise SystemExit(f"stack {stack} has no output {output}")
        os.environ[env_var] = by_key[output]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__.split("\n")[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", nargs="?", const=".switchboard/local.json", metavar="STATE_FILE")
    target.add_argument("--stack", metavar="STACK_NAME", help="a deployed Switchboard stack")
    commands = parser.add_subparsers(dest="command", required=True)

    org = commands.add_parser("org", help="orgs").add_subparsers(dest="action", required=True)
    create = org.add_parser("create", help="create an org")
    create.add_argument("name")
    create.add_argument("--id", dest="org_id", help="a 24-hex id (default: a new one)")
    org.add_parser("list", help="list orgs")

    key = commands.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    issue = key.add_parser("issue", help="issue a key (the key is shown once)")
    issue.add_argument("--org", required=True)
    issue.add_argument("--name", required=True)
    issue.add_argument(
        "--role", dest="roles", action="append", required=True, help="repeat for several roles"
    )
    listing = key.add_parser("list", help="list an org's keys (never the keys themselves)")
    listing.add_argument("--org", required=True)
    revoke = key.add_parser("revoke", help="revoke a key")
    revoke.add_argument("--org", required=True)
    revoke.add_argument("key_id")
    return parser


def run(argv: list[str]) -> Any:
    args = _parser().parse_args(argv)
    if args.local:
        _use_local(Path(args.local))
    elif args.stack:
        _use_stack(args.stack)
    elif not os.environ.get(wiring.AUTH.env_var):
        _use_local(Path(".switchboard/local.json"))
    services.reset()
    if args.command == "org":
        return admin.create_org(args.name, args.org_id) if args.action == "create" else admin.list_orgs()
    if args.action == "issue":
        return admin.issue_key(args.org, args.name, args.roles)
    if args.action == "list":
        return admin.list_keys(args.org)
    admin.revoke_key(args.org, args.key_id)
    return {"revoked": args.key_id}


def main(argv: list[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except SwitchboardError as exc:
        print(json.dumps({"error": exc.detail}), file=sys.stderr)
        return 2
    except EndpointConnectionError as exc:
        print(
            f"cannot reach AWS at {exc.kwargs.get('endpoint_url')}: is the local run still running?",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
