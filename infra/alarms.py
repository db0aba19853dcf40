"""Alarms for what must never pile up unseen, notifying one SNS topic ops subscribe to.

- every dead-letter queue, and every stream mapping's on-failure queue, holding any message
  (messages that exhausted their retries: each one is an event nobody received);
- any webhook turned off by failures in the last five minutes (the deliver function's
  `wiring.WEBHOOK_DISABLED_METRIC`, an EMF metric without dimensions).

The topic is encrypted with the data key, so the key policy lets CloudWatch use it, and the
topic policy lets only this account's alarms publish, over TLS.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.queues import Queues, on_failure_queues
from infra.storage import Storage, camel
from switchboard import wiring

QUEUE_DEPTH_PERIOD = Duration.minutes(1)
WEBHOOK_DISABLED_PERIOD = Duration.minutes(5)


class Alarms(Construct):
    """`topic`, and `alarms` keyed by what they watch ("deliveries-dlq", "webhook-disabled", ...)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        queues: Queues,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Switchboard alarms",
            master_key=storage.key,
            enforce_ssl=True,
        )
        alarm_arns = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarm_arns},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        # CloudWatch encrypts what it publishes to the topic with the topic's key.
        storage.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for key, dlq in queues.dead_letter_queues.items():
            self._depth_alarm(
                f"{key}-dlq", dlq, f"Messages to '{key}' failed every receive and wait in its DLQ"
            )
        for key in sorted(on_failure_queues()):
            self._depth_alarm(
                key,
                queues.queues[key],
                f"A DynamoDB stream mapping discarded records and described them in '{key}'",
            )
        self._any_alarm(
            "webhook-disabled",
            "WebhookDisabledAlarm",
            self._custom_metric(wiring.WEBHOOK_DISABLED_METRIC),
            "An outbound webhook was turned off after failing deliveries (or a 410)",
        )
        self._any_alarm(
            "workflow-run-failed",
            "WorkflowRunFailedAlarm",
            self._custom_metric(wiring.WORKFLOW_RUN_FAILED_METRIC),
            "A workflow run ended failed or timed out (see its run log)",
        )
        # A scheduled function has no queue to keep what failed: its errors are the signal.
        for spec in wiring.FUNCTIONS:
            if any(isinstance(t, wiring.ScheduleTrigger) for t in spec.triggers):
                self._any_alarm(
                    f"{spec.name}-errors",
                    f"{camel(spec.name)}ErrorsAlarm",
                    functions[spec.name].metric_errors(period=WEBHOOK_DISABLED_PERIOD, statistic="Sum"),
                    f"The scheduled {spec.name} function failed",
                )

    @staticmethod
    def _custom_metric(name: str) -> cloudwatch.Metric:
        """A metric the functions emit (embedded metric format, no dimensions), summed."""
        return cloudwatch.Metric(
            namespace=wiring.METRICS_NAMESPACE,
            metric_name=name,
            statistic="Sum",
            period=WEBHOOK_DISABLED_PERIOD,
        )

    def _any_alarm(self, name: str, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        """Alarm as soon as the summed metric counts one in a period; no data is no trouble."""
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self._notify(name, alarm)

    def _depth_alarm(self, name: str, queue: sqs.IQueue, description: str) -> None:
        metric = queue.metric_approximate_number_of_messages_visible(
            period=QUEUE_DEPTH_PERIOD, statistic="Maximum"
        )
        alarm = metric.create_alarm(
            self,
            f"{camel(name)}DepthAlarm",
            alarm_description=f"{description} (ApproximateNumberOfMessagesVisible > 0)",
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self._notify(name, alarm)

    def _notify(self, name: str, alarm: cloudwatch.Alarm) -> None:
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm
