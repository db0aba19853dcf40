"""The local run's transaction fix behaves exactly as stock moto does, only without table copies."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from emulator import moto_fixes


def _put(pk: str, condition: bool = True) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": pk}, "v": {"S": "x"}}}
    if condition:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


def _scenario(client: Any) -> list[Any]:
    """Outcomes of a fixed series of transactions: results, error codes and cancellation reasons."""
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    outcomes: list[Any] = []
    transactions = [
        [_put("a"), _put("b")],  # both written
        [_put("c"), _put("a")],  # a exists: cancelled, c not written
        [_put("d"), _put("d", condition=False)],  # the same item twice: refused
        [
            {
                "Delete": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "a"}},
                    "ConditionExpression": "v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "x"}},
                }
            },
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "b"}},
                    "UpdateExpression": "SET v = :y",
                    "ExpressionAttributeValues": {":y": {"S": "y"}},
                }
            },
        ],
    ]
    for items in transactions:
        try:
            client.transact_write_items(TransactItems=items)
            outcomes.append("ok")
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            outcomes.append((exc.response["Error"]["Code"], reasons))
    items = client.scan(TableName="t")["Items"]
    outcomes.append(sorted((i["pk"]["S"], i["v"]["S"]) for i in items))
    return outcomes


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_fixed_transactions_match_stock_moto(credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        stock = _scenario(boto3.client("dynamodb"))
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items)
    moto_fixes.apply()
    with mock_aws():
        fixed = _scenario(boto3.client("dynamodb"))
    assert fixed == stock
    assert stock[0] == "ok"
    assert stock[1] == ("TransactionCanceledException", ["None", "ConditionalCheckFailed"])
    assert stock[-1] == [("b", "y")]
