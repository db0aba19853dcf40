"""Set the order-system integration up in an org: the `order` klass, a web hook, the workflow.

Idempotent: an existing `order` klass is kept, with the properties the workflow writes added
to it when it lacks them (a PATCH at the klass's rev; any refusal stops the setup), and a hook
or workflow with the same title/name is reused (the workflow's definition is replaced with this
one). Prints, as JSON, the hook's URL
and the ids, for `simulate.py`.

    python examples/order-sync/setup.py --api <API URL ending in /v1> --key <admin key>
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, document = self.call(method, path, body)
        if status >= 300:
            raise SystemExit(f"{method} {path}: {status} {json.dumps(document)}")
        return document


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / name).read_text())


def find_klass(api: Api, name: str) -> dict[str, Any]:
    page = 1
    while True:
        document = api.ok("GET", f"/klasses?page={page}&pageSize=100")
        found = next((k for k in document["data"] if k["attributes"]["name"] == name), None)
        if found or not (document.get("links") or {}).get("next"):
            break
        page += 1
    if found is None:
        raise SystemExit(f"POST /klasses answered 409 but no klass is named {name!r}")
    return found


def ensure_klass(api: Api, klass: dict[str, Any]) -> None:
    """Create the klass, or give an existing one of that name the properties it lacks: a kobject
    whose custom attribute is not a property of its klass is refused, so every order would fail."""
    status, document = api.call("POST", "/klasses", klass)
    if status == 201:
        return
    if status != 409:  # 409: a klass of that name exists already
        raise SystemExit(f"POST /klasses: {status} {json.dumps(document)}")
    existing = find_klass(api, klass["name"])
    metadata = existing["attributes"].get("metadata") or {}
    properties = metadata.get("properties") or {}
    missing = {k: v for k, v in klass["metadata"]["properties"].items() if k not in properties}
    if missing:
        merged = {**metadata, "properties": {**properties, **missing}}
        rev = existing["attributes"]["rev"]
        api.ok("PATCH", f"/klasses/{existing['id']}?rev={rev}", {"metadata": merged})
        print(f"klass {klass['name']!r}: added {', '.join(missing)}", file=sys.stderr)


def setup(api: Api) -> dict[str, str]:
    ensure_klass(api, load("klass.json"))

    hook_body = load("hook.json")
    hooks = api.ok("GET", "/hooks/web")["data"]
    hook = next((h for h in hooks if h["attributes"]["title"] == hook_body["title"]), None)
    hook = api.ok("PATCH", f"/hooks/web/{hook['id']}", hook_body)["data"] if hook else None
    hook = hook or api.ok("POST", "/hooks/web", hook_body)["data"]

    definition = json.loads(json.dumps(load("workflow.json")).replace("{{hookId}}", hook["id"]))
    workflows = api.ok("GET", "/workflows")["data"]
    existing = next((w for w in workflows if w["attributes"]["name"] == definition["name"]), None)
    if existing:
        workflow = api.ok("PUT", f"/workflows/{existing['id']}", definition)["data"]
    else:
        workflow = api.ok("POST", "/workflows", definition)["data"]
    return {"hookId": hook["id"], "hookUrl": hook["attributes"]["url"], "workflowId": workflow["id"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the API's base URL, ending in /v1")
    parser.add_argument("--key", required=True, help="an admin API key")
    args = parser.parse_args()
    print(json.dumps(setup(Api(args.api, args.key)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
