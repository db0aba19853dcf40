"""DynamoDB tables declared in switchboard.wiring, and the customer-managed KMS key that encrypts
them (and the queues, the alarm topic and the log groups)."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from switchboard import wiring

_PROJECTIONS: dict[wiring.Projection, dynamodb.ProjectionType] = {
    wiring.Projection.KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
    wiring.Projection.ALL: dynamodb.ProjectionType.ALL,
}


def camel(key: str) -> str:
    """CamelCase id for a wiring key ("objects" -> "Objects"), stable across deployments."""
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """The data key and every table of `wiring.TABLES`, retained when the stack is deleted."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Retained like the tables: deleting the key would make retained tables unreadable.
        self.key = kms.Key(
            self,
            "DataKey",
            description="Switchboard: encrypts the tables, queues, alarm topic and log groups",
            enable_key_rotation=True,
            alias=f"alias/{stack.stack_name.lower()}-data",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch Logs encrypts log groups with this key only for this account's log groups.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccountsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.tables: dict[str, dynamodb.Table] = {spec.key: self._table(spec) for spec in wiring.TABLES}

    def _table(self, spec: wiring.Table) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{camel(spec.key)}Table",
            partition_key=_string(spec.partition_key),
            sort_key=_string(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType[spec.stream] if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string(index.partition_key),
                sort_key=_string(index.sort_key),
                projection_type=_PROJECTIONS[index.projection],
            )
        return table
