"""Lambda functions declared in switchboard.wiring, each with its own role and log group.

Permissions are written out rather than taken from the `grant*` helpers so that each function
gets exactly what wiring declares: reads (no Scan: the design forbids per-request scans) on
the table and its named indexes, writes only where the access is READ_WRITE, sends only to the
queues it declares, and use of the data key only through DynamoDB and SQS.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge
from infra.layers import ARCHITECTURE, RUNTIME, Layers
from infra.queues import Queues
from infra.settings import REPO_ROOT, Settings
from infra.storage import Storage, camel
from switchboard import wiring

TABLE_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# SendMessageBatch is authorised by sqs:SendMessage.
QUEUE_SEND_ACTIONS = ("sqs:SendMessage",)
# What SQS asks of a producer on a queue under a customer-managed key.
QUEUE_KEY_SEND_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# The expansions of kms:ReEncrypt* / kms:GenerateDataKey* that apply to a symmetric key.
KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
KEY_WRITE_ACTIONS = (
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
_EXCLUDE = ["**/__pycache__", "**/*.pyc"]


class Functions(Construct):
    """One `lambda_.Function` per `wiring.FUNCTIONS` entry, keyed by the spec's name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        queues: Queues,
        layers: Layers,
        settings: Settings,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self._queues = queues
        table_names = {key: table.table_name for key, table in storage.tables.items()}
        queue_urls = {key: queue.queue_url for key, queue in queues.queues.items()}
        self.functions: dict[str, lambda_.Function] = {}
        for spec in wiring.FUNCTIONS:
            self.functions[spec.name] = self._function(spec, table_names, queue_urls, layers, settings)

    def _function(
        self,
        spec: wiring.FunctionSpec,
        table_names: dict[str, str],
        queue_urls: dict[str, str],
        layers: Layers,
        settings: Settings,
    ) -> lambda_.Function:
        name = camel(spec.name)
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=settings.log_retention,
            encryption_key=self._storage.key,
        )
        # An own role instead of AWSLambdaBasicExecutionRole: logs go to this one group only.
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Switchboard {spec.name} function",
        )
        log_group.grant_write(role)
        for key, access in spec.tables.items():
            self._grant_table(role, self._storage.tables[key], wiring.table(key), access)
        for key in spec.queues:
            grant_send(role, self._queues.queues[key], self._storage.key)
        if spec.assume_roles:
            role.add_to_policy(
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=list(spec.assume_roles))
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::arn:aws:iam::*:role/KustomerDataStreamRole]",
                "Customers register their own AWS accounts at run time, so the account is a wildcard; "
                "the role name is fixed, and each customer's role trusts only this platform's "
                "account with the org's ExternalId as a condition (the confused-deputy guard).",
            )
        function = lambda_.Function(
            self,
            name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(REPO_ROOT / spec.code), exclude=_EXCLUDE),
            layers=layers.all,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment=wiring.environment(spec, table_names, queue_urls),
            role=role,
            log_group=log_group,
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "The runtime is pinned to python3.12 on purpose: the dependency layer is built for "
            "CPython 3.12 wheels (pip --python-version 3.12), so a newer runtime is adopted "
            "together with a rebuilt layer, not automatically.",
        )
        return function

    def _grant_table(
        self,
        role: iam.Role,
        table: dynamodb.Table,
        spec: wiring.Table,
        access: wiring.Access,
    ) -> None:
        """Least privilege for one table: named index ARNs only, writes only on READ_WRITE."""
        index_arns = [f"{table.table_arn}/index/{index.name}" for index in spec.indexes]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(TABLE_READ_ACTIONS),
                resources=[table.table_arn, *index_arns],
            )
        )
        key_actions = list(KEY_READ_ACTIONS)
        if wiring.Access(access) is wiring.Access.READ_WRITE:
            role.add_to_policy(
                iam.PolicyStatement(actions=list(TABLE_WRITE_ACTIONS), resources=[table.table_arn])
            )
            key_actions += KEY_WRITE_ACTIONS
        self._grant_key(role, self._storage.key, key_actions)

    def _grant_key(self, role: iam.Role, key: kms.IKey, actions: list[str]) -> None:
        """The table key may be used only by DynamoDB on the function's behalf."""
        grant_key_via(role, key, actions, "dynamodb")


def grant_key_via(role: iam.IRole, key: kms.IKey, actions: list[str] | tuple[str, ...], service: str) -> None:
    """Use of the data key only through `service` (dynamodb, sqs) acting for the role."""
    region = Stack.of(key).region
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(actions),
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
        )
    )


def grant_send(role: iam.IRole, queue: sqs.IQueue, key: kms.IKey) -> None:
    """SendMessage (and SendMessageBatch) on one queue, with the key use SQS needs for it."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(QUEUE_SEND_ACTIONS), resources=[queue.queue_arn])
    )
    grant_key_via(role, key, QUEUE_KEY_SEND_ACTIONS, "sqs")
