"""DataStreamOnboardingStack: the template a customer runs in their own AWS account.

It creates what the seed's "Amazon Kinesis data streams" article lists: the stream
`kustomer-data-stream`, the role `KustomerDataStreamRole` the platform assumes (with the org's
ExternalId) to write to it, and the sample consumer `kustomer-data-stream-fn` with its role
`KustomerLambdaRole`, plus alarms for the article's recommended monitoring.

The customer uploads the JSON in the CloudFormation console, so the template stands alone: no
bootstrap version parameter or rule, no assets (the consumer's code is inlined from
functions/data_stream_consumer/handler.py) and no CDK metadata resource.
"""

from __future__ import annotations

import re
from typing import cast

from aws_cdk import (
    App,
    CfnOutput,
    CfnParameter,
    DefaultStackSynthesizer,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compliance import acknowledge
from infra.settings import REPO_ROOT

STACK_ID = "DataStreamOnboarding"
# CDK context key holding the platform's AWS account id (the KustomerAccountId default).
PLATFORM_ACCOUNT_KEY = "switchboard:platformAccountId"

STREAM_NAME = "kustomer-data-stream"
ROLE_NAME = "KustomerDataStreamRole"
LAMBDA_ROLE_NAME = "KustomerLambdaRole"
FUNCTION_NAME = "kustomer-data-stream-fn"
LOG_GROUP_NAME = f"/aws/lambda/{FUNCTION_NAME}"
CONSUMER_SOURCE = REPO_ROOT / "functions" / "data_stream_consumer" / "handler.py"

# What the platform may do with the customer's stream: write, and check it exists and its shards.
PRODUCER_ACTIONS = (
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:ListShards",
)
# What Lambda's event source mapping needs to read the stream with the function's role.
CONSUMER_READ_ACTIONS = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
)
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")

# One provisioned shard: 1 MiB/s or 1,000 records/s in, $0.015 an hour (on-demand costs more
# at an org's typical rate). The capacity alarms below say when it is time to add shards.
SHARD_COUNT = 1
SHARD_BYTES_PER_S = 1024 * 1024
SHARD_RECORDS_PER_S = 1000
CAPACITY_ALARM_RATIO = 0.8
RETENTION = Duration.hours(24)
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# The inline code's budget: CloudFormation's historic ZipFile limit (4,096 characters; today the
# zipped package may reach 4 MB), which keeps the sample short enough to read in the console.
INLINE_CODE_LIMIT = 4096
# The largest template CloudFormation takes inline (`--template-body`); the console uploads to S3,
# which allows 1 MB, so staying under this keeps both ways open.
TEMPLATE_BODY_LIMIT = 51_200


def platform_account_default(scope: Construct, fallback: str | None) -> str | None:
    """The KustomerAccountId default: context `switchboard:platformAccountId`, else `fallback`;
    None leaves the parameter without a default, so the customer must enter it."""
    found = scope.node.try_get_context(PLATFORM_ACCOUNT_KEY)
    account = str(found) if found not in (None, "") else fallback
    if account and not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"{PLATFORM_ACCOUNT_KEY} must be a 12-digit AWS account id, got {account!r}")
    return account or None


def consumer_code() -> str:
    """The sample consumer's source, exactly as tested; inlined so the template needs no assets."""
    code = CONSUMER_SOURCE.read_text(encoding="utf-8")
    if len(code) > INLINE_CODE_LIMIT:
        raise ValueError(
            f"{CONSUMER_SOURCE} is {len(code)} characters; inline code must fit {INLINE_CODE_LIMIT}"
        )
    return code


class DataStreamOnboardingStack(Stack):
    """The customer-side resources of the data stream, parameterised by the platform account and
    the org's ExternalId (which the platform writes into Parameters.ExternalId.Default)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str = STACK_ID,
        *,
        platform_account: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=(
                "Kustomer data stream: the Kinesis stream kustomer-data-stream, the role "
                "KustomerDataStreamRole the platform writes to it with, a sample consumer "
                "(kustomer-data-stream-fn) and alarms for the recommended monitoring."
            ),
            # The console gets a plain template: no bootstrap version parameter/rule, no assets.
            synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
            analytics_reporting=False,
        )
        self._parameters(platform_account_default(self, platform_account))
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=STREAM_NAME,
            stream_mode=kinesis.StreamMode.PROVISIONED,
            shard_count=SHARD_COUNT,
            retention_period=RETENTION,
            # alias/aws/kinesis: no key to pay for, and no kms grant for writers or readers.
            encryption=kinesis.StreamEncryption.MANAGED,
            # Everything here goes with the stack, so deleting and re-creating it works.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = self._producer_role()
        self.log_group = logs.LogGroup(
            self,
            "ConsumerLogs",
            log_group_name=LOG_GROUP_NAME,
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.lambda_role = self._consumer_role()
        self.function = self._consumer()
        self.alarms = self._alarms()
        CfnOutput(
            self, "StreamArn", value=self.stream.stream_arn, description="The Kinesis stream events arrive in"
        )
        CfnOutput(
            self,
            "RoleArn",
            value=self.role.role_arn,
            description="The role the platform assumes (with your ExternalId) to write to the stream",
        )
        CfnOutput(
            self,
            "FunctionName",
            value=self.function.function_name,
            description="The sample consumer: its log shows every event",
        )
        CfnOutput(
            self, "LogGroupName", value=self.log_group.log_group_name, description="Where events are logged"
        )

    def _parameters(self, platform_account: str | None) -> None:
        self.account_id = CfnParameter(
            self,
            "KustomerAccountId",
            type="String",
            allowed_pattern=r"^\d{12}$",
            constraint_description="a 12-digit AWS account id",
            description="The platform's AWS account: the only account allowed to write to the stream",
            # Unknown at synth time (offline, no context): the customer must type it in.
            **({"default": platform_account} if platform_account else {}),
        )
        self.external_id = CfnParameter(
            self,
            "ExternalId",
            type="String",
            no_echo=False,
            min_length=8,
            max_length=1224,
            allowed_pattern=r"^[\w+=,.@:/-]+$",
            constraint_description="8 to 1224 of: letters, digits and _+=,.@:/-",
            description="Your organization's ExternalId, shown by the platform; it must match exactly",
        )
        self.template_options.metadata = {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {
                        "Label": {"default": "Access for the platform"},
                        "Parameters": ["KustomerAccountId", "ExternalId"],
                    },
                ],
                "ParameterLabels": {
                    "KustomerAccountId": {"default": "Kustomer account id"},
                    "ExternalId": {"default": "External id"},
                },
            }
        }

    def _producer_role(self) -> iam.Role:
        """Only the platform's account, presenting this org's ExternalId, may assume it; it may only
        write to (and describe) this stream."""
        return iam.Role(
            self,
            "DataStreamRole",
            role_name=ROLE_NAME,
            description="Assumed by the platform (with your ExternalId) to write to kustomer-data-stream",
            assumed_by=iam.AccountPrincipal(self.account_id.value_as_string),
            external_ids=[self.external_id.value_as_string],
            max_session_duration=Duration.hours(1),
            inline_policies={
                "WriteKustomerDataStream": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=list(PRODUCER_ACTIONS), resources=[self.stream.stream_arn]
                        )
                    ]
                )
            },
        )

    def _consumer_role(self) -> iam.Role:
        """Reads this stream and writes this function's log group, nothing else. The policy is
        inline in the role, so it exists before the event source mapping is created."""
        return iam.Role(
            self,
            "LambdaRole",
            role_name=LAMBDA_ROLE_NAME,
            description="Execution role of the sample consumer kustomer-data-stream-fn",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            inline_policies={
                "ConsumeKustomerDataStream": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=list(CONSUMER_READ_ACTIONS), resources=[self.stream.stream_arn]
                        ),
                        iam.PolicyStatement(
                            actions=list(LOG_WRITE_ACTIONS), resources=[self.log_group.log_group_arn]
                        ),
                    ]
                )
            },
        )

    def _consumer(self) -> lambda_.Function:
        function = lambda_.Function(
            self,
            "Consumer",
            function_name=FUNCTION_NAME,
            description="Sample consumer: logs each event of kustomer-data-stream, flags stale revs",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler="index.handler",  # CloudFormation writes inline code to index.py
            code=lambda_.Code.from_inline(consumer_code()),
            memory_size=128,
            timeout=Duration.seconds(60),
            # Immutable: CDK adds no grants, the role keeps exactly the policy written above.
            role=self.lambda_role.without_policy_updates(),
            log_group=self.log_group,
        )
        # The role's GetAtt orders the two already; CDK's extra DependsOn only draws a cfn-lint W3005.
        cast(lambda_.CfnFunction, function.node.default_child).add_deletion_override("DependsOn")
        acknowledge(
            function,
            "AwsSolutions-L1",
            "python3.12 is the runtime the sample is tested with and the platform's own runtime; "
            "the code uses only the standard library, so customers can move it to a newer runtime.",
        )
        # TRIM_HORIZON: nothing already on the stream is skipped if the mapping starts late.
        # Bisect + 3 retries: a failing record is isolated and, at worst, skipped, so the shard
        # never stalls; the handler reports the record it failed on (partial batch response).
        lambda_.EventSourceMapping(
            self,
            "StreamMapping",
            target=function,
            event_source_arn=self.stream.stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=100,
            max_batching_window=Duration.seconds(1),
            parallelization_factor=1,  # one batch per shard at a time: records stay in order
            bisect_batch_on_error=True,
            retry_attempts=3,
            report_batch_item_failures=True,
        )
        return function

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        """The seed's recommended monitoring (incoming data, PutRecords throttled and failed
        records, write throughput exceeded), and the consumer falling behind the retention.

        They have no actions, so the template needs no SNS topic or key: every state change is
        already an EventBridge event ("CloudWatch Alarm State Change") a customer can route, or
        actions can be added to the alarms in the console."""
        five_minutes = Duration.minutes(5)
        capacity_s = five_minutes.to_seconds() * SHARD_COUNT * CAPACITY_ALARM_RATIO
        specs: dict[str, tuple[cloudwatch.Metric, str, float, cloudwatch.ComparisonOperator, int, int]] = {
            "no-incoming-records": (
                self.stream.metric_incoming_records(period=Duration.hours(1), statistic="Sum"),
                "No event for 24 hours (also until the first one): is the data stream activated?",
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                24,
                24,
            ),
            "incoming-bytes-near-capacity": (
                self.stream.metric_incoming_bytes(period=five_minutes, statistic="Sum"),
                "Writes above 80% of the shards' 1 MiB/s for 15 minutes: add shards",
                capacity_s * SHARD_BYTES_PER_S,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                3,
                3,
            ),
            "incoming-records-near-capacity": (
                self.stream.metric_incoming_records(period=five_minutes, statistic="Sum"),
                "Writes above 80% of the shards' 1,000 records/s for 15 minutes: add shards",
                capacity_s * SHARD_RECORDS_PER_S,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                3,
                3,
            ),
            "throttled-records": (
                self.stream.metric_put_records_throttled_records(period=five_minutes, statistic="Sum"),
                "PutRecords records throttled in 2 of the last 3 five-minute periods: add shards",
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                3,
                2,
            ),
            "write-throughput-exceeded": (
                self.stream.metric_write_provisioned_throughput_exceeded(
                    period=five_minutes, statistic="Sum"
                ),
                "Writes over the provisioned throughput in 2 of the last 3 five-minute periods",
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                3,
                2,
            ),
            "failed-records": (
                self.stream.metric_put_records_failed_records(period=five_minutes, statistic="Sum"),
                "PutRecords records failed inside Kinesis (not throttling); the platform retries them",
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                1,
                1,
            ),
            "consumer-behind": (
                self.stream.metric_get_records_iterator_age_milliseconds(
                    period=five_minutes, statistic="Maximum"
                ),
                "The consumer is over an hour behind; records older than 24 hours are lost",
                Duration.hours(1).to_milliseconds(),
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                3,
                3,
            ),
        }
        alarms: dict[str, cloudwatch.Alarm] = {}
        for key, (metric, description, threshold, operator, periods, datapoints) in specs.items():
            alarm = cloudwatch.Alarm(
                self,
                f"Alarm-{key}",
                alarm_name=f"{STREAM_NAME}-{key}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=operator,
                evaluation_periods=periods,
                datapoints_to_alarm=datapoints,
                # No data for "incoming" means nothing came in; for the others it means no trouble.
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING
                if key == "no-incoming-records"
                else cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarms[key] = alarm
        return alarms


def add_onboarding(app: App, platform_account: str | None = None) -> DataStreamOnboardingStack:
    """Add the customer-side stack to `app` (environment-agnostic: it runs in any account and
    region). The KustomerAccountId default is the context value, else `platform_account`."""
    return DataStreamOnboardingStack(app, STACK_ID, platform_account=platform_account)
