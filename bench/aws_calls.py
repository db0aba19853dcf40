"""AWS calls per request on the hot paths, counted at the botocore client (moto as AWS)."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from switchboard.adapters.aws import client


def run() -> dict[str, dict[str, int]]:
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from switchboard import services, wiring
    from switchboard.adapters.provision import create_tables
    from tests.integration.conftest import load_handler, org_client

    results: dict[str, dict[str, int]] = {}
    with mock_aws():
        import boto3

        for key, name in create_tables(boto3.client("dynamodb")).items():
            os.environ[wiring.table(key).env_var] = name
        services.reset()
        api = org_client(load_handler(wiring.API), "Bench")
        api.get("/v1/users/current")  # the key's principal is cached per container, as in Lambda
        seen: Counter = Counter()

        def count(event_name: str, **_: Any) -> None:
            seen[event_name.split(".")[-1]] += 1

        client("dynamodb").meta.events.register("before-call.dynamodb.*", count)

        def measure(label: str, call: Any) -> Any:
            seen.clear()
            reply = call()
            results[label] = dict(seen)
            return reply

        customer = measure(
            "create customer (email, phone, externalId)",
            lambda: api.post(
                "/v1/customers",
                {
                    "name": "A",
                    "emails": [{"email": "a@example.com"}],
                    "phones": [{"phone": "+14155550100"}],
                    "externalId": "a",
                },
            ),
        ).json["data"]["id"]
        measure("create customer (no identifiers)", lambda: api.post("/v1/customers", {"name": "B"}))
        measure("lookup by email", lambda: api.get("/v1/customers/email=a@example.com"))
        measure("get by id", lambda: api.get(f"/v1/customers/{customer}"))
        measure(
            "update (identifiers unchanged)", lambda: api.patch(f"/v1/customers/{customer}", {"name": "C"})
        )
        measure(
            "update (email changed)",
            lambda: api.patch(f"/v1/customers/{customer}", {"emails": [{"email": "c@example.com"}]}),
        )
        api.post("/v1/klasses", {"name": "order", "metadata": {"properties": {"totalNum": {}}}})
        order = measure(
            "create order kobject on a timeline",
            lambda: api.post(
                f"/v1/customers/{customer}/klasses/order",
                {"title": "o", "externalId": "o-1", "custom": {"totalNum": 1}},
            ),
        ).json["data"]["id"]
        measure(
            "find order by ?externalId=", lambda: api.get("/v1/klasses/order", query={"externalId": "o-1"})
        )
        measure(
            "update order (PUT)", lambda: api.put(f"/v1/klasses/order/{order}", {"custom": {"totalNum": 2}})
        )
        measure("list customers (page of 100)", lambda: api.get("/v1/customers"))
        # References are checked with one BatchGetItem, whatever the number of ids named.
        users = [api.post("/v1/users", {"name": f"U{i}", "email": f"u{i}@example.com"}) for i in range(3)]
        user_ids = [u.json["data"]["id"] for u in users]
        team = measure(
            "create team with 3 members", lambda: api.post("/v1/teams", {"name": "T", "members": user_ids})
        ).json["data"]["id"]
        tag = api.post("/v1/tags", {"name": "vip"}).json["data"]["id"]
        measure(
            "create conversation (customer, 3 users, team, tag)",
            lambda: api.post(
                "/v1/conversations",
                {
                    "customer": customer,
                    "assignedUsers": user_ids,
                    "assignedTeams": [team],
                    "tags": [tag],
                },
            ),
        )
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
