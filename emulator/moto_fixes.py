"""Where moto differs from AWS in a way the local run would feel, put it right.

1. Transactions (below).
2. moto's server lists its own package folder (about 200 `isdir` calls) on every request to
   find the backend for a host; the list never changes while it runs, so it is computed once.
3. moto's server speaks HTTP/1.0, so every boto3 call opened a new TCP connection; HTTP/1.1
   lets boto3 keep its connections alive, as it does with AWS.
4. DynamoDB Streams, as the stream pollers (and so the events function) see them:
   - an UpdateItem that creates its item wrote two INSERT records, the first holding only the
     key; DynamoDB writes one INSERT with the whole new item;
   - a PutItem or UpdateItem that changes nothing wrote a MODIFY with equal images; DynamoDB
     writes no record for a write that does not change the item;
   - every GetRecords call kept a new shard iterator forever (a poller makes four a second);
     DynamoDB expires an iterator 15 minutes after it is issued (ExpiredIteratorException),
     and so does this, which keeps the local run's memory flat.

moto 5's `transact_write_items` deep-copies every table a transaction touches (once per item)
to be able to roll back. Its cost grows with the table: after a few hundred customers every
create with identifiers took most of a second. DynamoDB itself checks every condition against
the state before the transaction and then writes all or nothing. This does the same: conditions
first, writes only when all hold. The moto server answers one request at a time (see
`aws.Serialized`), so nothing changes between the two phases. Exceptions and cancellation
reasons are moto's own, so clients see exactly what they would see from moto (and DynamoDB).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from moto import backends
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.moto_server.werkzeug_app import MotoRequestHandler

_OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in _OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        table = self.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        target = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)
        planned.append((op_type, op, key))
        condition = op.get("ConditionExpression")
        if condition is None:
            errors.append((None, None, None))
            continue
        current = self.get_item(op["TableName"], key)
        check = get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if check.expr(current):
            errors.append((None, None, None))
            continue
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        errors.append(("ConditionalCheckFailed", ConditionalCheckFailed(item=old).message, old))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in planned:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
        elif op_type == "Update":
            self.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )


_module_list = backends.list_of_moto_modules


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_module_list())


# --- DynamoDB Streams ----------------------------------------------------------------------

ITERATOR_LIFETIME_S = 15 * 60
_stock_stream_add = StreamShard.add
_stock_update_item = DynamoDBBackend.update_item
_stock_iterator_init = ShardIterator.__init__
_stock_get_records = DynamoDBStreamsBackend.get_records


def stream_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
    """No record for a write that leaves the item as it was."""
    if old is not None and new is not None and old.to_json() == new.to_json():
        return
    _stock_stream_add(self, old, new)


def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    """One INSERT for an update that creates its item (moto first stores the bare key)."""
    shard = self.get_table(table_name).stream_shard
    before = len(shard.items) if shard is not None else 0
    result = _stock_update_item(self, table_name, *args, **kwargs)
    if shard is not None and len(shard.items) == before + 2:
        bare, whole = shard.items[before:]
        if bare.record["eventName"] == whole.record["eventName"] == "INSERT":
            # Sequence numbers are positions in moto's shard: the whole record takes the bare one's.
            whole.record["dynamodb"]["SequenceNumber"] = bare.record["dynamodb"]["SequenceNumber"]
            del shard.items[before]
    return result


class ExpiredIteratorException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "ExpiredIteratorException", "Iterator expired. The iterator was created over 15 minutes ago."
        )


def iterator_init(self: ShardIterator, *args: Any, **kwargs: Any) -> None:
    _stock_iterator_init(self, *args, **kwargs)
    self.issued_at = time.monotonic()  # type: ignore[attr-defined]


def get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    """GetRecords that forgets iterators older than 15 minutes, as DynamoDB does."""
    now = time.monotonic()
    if now - getattr(self, "_last_purge", 0.0) > 60:
        self._last_purge = now  # type: ignore[attr-defined]
        for arn, iterator in list(self.shard_iterators.items()):
            if now - getattr(iterator, "issued_at", now) > ITERATOR_LIFETIME_S:
                del self.shard_iterators[arn]
    iterator = self.shard_iterators.get(iterator_arn)
    if iterator is None or now - getattr(iterator, "issued_at", now) > ITERATOR_LIFETIME_S:
        raise ExpiredIteratorException()
    return _stock_get_records(self, iterator_arn, limit)


def apply() -> None:
    """Install the fixes (idempotent); call before the moto server handles requests."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    StreamShard.add = stream_add  # type: ignore[method-assign]
    ShardIterator.__init__ = iterator_init  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    backends.list_of_moto_modules = _moto_modules  # type: ignore[assignment]
    MotoRequestHandler.protocol_version = "HTTP/1.1"
