"""The customer's AWS account in the local run: a second account in the same moto server.

What a customer does with the onboarding template, done here at start-up: the role
`KustomerDataStreamRole` and the stream `kustomer-data-stream` are created in account
`CUSTOMER_ACCOUNT_ID` (reached, as in AWS, by assuming a role there), the demo org registers
the stream through the same service the API uses, and a poller feeds the sample consumer
`kustomer-data-stream-fn` (functions/data_stream_consumer) from the stream, with Lambda's
Kinesis semantics (one reader per shard, batches in order). Started from a snapshot, the
resources and the registration are already there: only the poller starts, right after the last
record it finished with. Its log,
`<logs>/kustomer-data-stream-fn.log`, is the "CloudWatch" output an analyst reads.

moto does not evaluate trust policies or ExternalId conditions; the template's tests check them.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3

from emulator.aws import REGION
from emulator.functions import InvocationError, LocalFunction
from switchboard import wiring
from switchboard.pipeline.datastreams import ROLE_NAME, STREAM_NAME, RegistrationBody

if TYPE_CHECKING:
    from emulator.run import LocalRun

CUSTOMER_ACCOUNT_ID = "210987654321"
CONSUMER = wiring.FunctionSpec(
    name="kustomer-data-stream-fn",
    code="functions/data_stream_consumer",
    handler="handler.handler",
    description="The customer's sample consumer of the data stream",
    memory_mb=128,
    timeout_s=60,
)
POLL_INTERVAL_S = 0.25
BATCH_SIZE = 100


def customer_session(account_id: str = CUSTOMER_ACCOUNT_ID) -> boto3.Session:
    """Credentials in the customer's account (moto maps assumed-role keys to the role's account)."""
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="onboarding"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def create_onboarding_resources(session: boto3.Session, platform_account: str, external_id: str) -> str:
    """The template's stream and role in the customer's account; returns the stream ARN."""
    kinesis = session.client("kinesis")
    kinesis.create_stream(StreamName=STREAM_NAME, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM_NAME, WaiterConfig={"Delay": 0.1})
    arn = kinesis.describe_stream_summary(StreamName=STREAM_NAME)["StreamDescriptionSummary"]["StreamARN"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{platform_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    iam = session.client("iam")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="write-kustomer-data-stream",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "kinesis:PutRecord",
                            "kinesis:PutRecords",
                            "kinesis:DescribeStreamSummary",
                        ],
                        "Resource": arn,
                    }
                ],
            }
        ),
    )
    return arn


class KinesisPoller:
    """A Kinesis event source mapping for the sample consumer (the one shard, from TRIM_HORIZON
    or from just after its saved position)."""

    def __init__(self, function: LocalFunction, session: boto3.Session, stream_arn: str, notice: Any) -> None:
        self.function = function
        self.kinesis = session.client("kinesis")
        self.stream_arn = stream_arn
        self.notice = notice
        self.name = f"{STREAM_NAME} (account {CUSTOMER_ACCOUNT_ID}) -> {function.spec.name}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position: dict[str, str] = {}  # shard -> sequence number of the last record finished with

    def position(self) -> dict[str, str]:
        return dict(self._position)

    def resume(self, position: dict[str, str]) -> None:
        self._position = dict(position)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="poller-kinesis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def settle(self, timeout_s: float) -> bool:
        return True

    def _run(self) -> None:
        shard = self.kinesis.list_shards(StreamName=STREAM_NAME)["Shards"][0]["ShardId"]
        after = self._position.get(shard)
        where: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.kinesis.get_shard_iterator(StreamName=STREAM_NAME, ShardId=shard, **where)[
            "ShardIterator"
        ]
        while not self._stop.is_set():
            try:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
            except Exception as exc:
                self.notice(f"{self.name}: {exc!r}")
                self._stop.wait(1.0)
                continue
            iterator = page["NextShardIterator"]
            records = page.get("Records", [])
            if not records:
                self._stop.wait(POLL_INTERVAL_S)
                continue
            if self._invoke(shard, records):
                self._position[shard] = records[-1]["SequenceNumber"]

    def _invoke(self, shard: str, records: list[dict[str, Any]]) -> bool:
        """True once the batch is finished with; False when a stop interrupted its retries."""
        event = {"Records": [self._record(shard, r) for r in records]}
        for _attempt in range(3):  # a failing batch is retried, then skipped (the sample logs it)
            try:
                self.function.invoke(event)
                return True
            except InvocationError:
                if self._stop.wait(0.2):
                    return False
        return True

    def _record(self, shard: str, record: dict[str, Any]) -> dict[str, Any]:
        arrived = record.get("ApproximateArrivalTimestamp")
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode("ascii"),
                "approximateArrivalTimestamp": arrived.timestamp() if arrived else time.time(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{CUSTOMER_ACCOUNT_ID}:role/KustomerLambdaRole",
            "awsRegion": REGION,
            "eventSourceARN": self.stream_arn,
        }


def start_customer_account(
    run: LocalRun,
    org: str,
    registration: dict[str, Any] | None = None,
    positions: dict[str, Any] | None = None,
) -> tuple[KinesisPoller, dict[str, Any]]:
    """Create the onboarding resources and register them for `org` (unless a snapshot gave the
    `registration`), then start the consumer's poller (from its saved position, if any)."""
    from switchboard import services

    session = customer_session()
    if registration is None:
        service = services.data_streams()
        external_id = services.datastream_store().external_id(org)
        create_onboarding_resources(session, services.platform_account(), external_id)
        registration = service.register(org, RegistrationBody(accountId=CUSTOMER_ACCOUNT_ID, region=REGION))
    stream_arn = registration["streamArn"]
    consumer = LocalFunction(CONSUMER, {}, run.router)
    consumer.load()
    poller = KinesisPoller(consumer, session, stream_arn, run.notice)
    if (positions or {}).get(poller.name):
        poller.resume(positions[poller.name])  # type: ignore[index]
    poller.start()
    return poller, registration
