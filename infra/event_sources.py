"""Event source mappings from each function's declared triggers, with only the access they need.

Every mapping reports partial batch failures (ReportBatchItemFailures), so one bad record
never replays a whole batch. A DynamoDB stream mapping also bisects a failing batch, retries a
bounded number of times and then sends a description of the discarded records to its declared
on-failure queue. The mappings are the plain `EventSourceMapping` construct, not the
`aws_lambda_event_sources` classes, whose grants would give the roles wildcard KMS actions and
key use outside SQS and DynamoDB; the statements are written here instead. The emulator's
pollers (`emulator/pollers.py`) play the same mappings in the local run.
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge
from infra.functions import grant_key_via, grant_send
from infra.queues import Queues
from infra.storage import Storage, camel
from switchboard import wiring

STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
QUEUE_CONSUME_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)


@jsii.implements(lambda_.IEventSourceDlq)
class OnFailureQueue:
    """An on-failure destination that grants nothing itself (the caller grants SendMessage)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(
        self, _target: lambda_.IEventSourceMapping, _handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


class EventSources(Construct):
    """One mapping per `wiring.FunctionSpec.triggers` entry; `mappings` keyed by construct id."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        storage: Storage,
        queues: Queues,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self._queues = queues
        self.mappings: dict[str, lambda_.EventSourceMapping] = {}
        self.rules: dict[str, events.Rule] = {}
        for spec in wiring.FUNCTIONS:
            for trigger in spec.triggers:
                function = functions[spec.name]
                if isinstance(trigger, wiring.StreamTrigger):
                    self._stream(spec, function, trigger)
                elif isinstance(trigger, wiring.ScheduleTrigger):
                    self._schedule(spec, function, trigger)
                else:
                    self._queue(spec, function, trigger)

    def _stream(
        self, spec: wiring.FunctionSpec, function: lambda_.Function, trigger: wiring.StreamTrigger
    ) -> None:
        table = self._storage.tables[trigger.table]
        stream_arn = table.table_stream_arn
        if stream_arn is None:
            raise ValueError(f"{spec.name}: table {trigger.table!r} declares no stream")
        role = function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(STREAM_READ_ACTIONS), resources=[stream_arn])
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams has no resource-level permissions (it lists stream ARNs, no data); "
            "Lambda requires it before it creates a DynamoDB stream event source mapping. Every "
            "other statement of this role names its tables, indexes, streams, queues or key.",
        )
        # Stream records of a table under the data key are decrypted by DynamoDB for the reader.
        grant_key_via(role, self._storage.key, ("kms:Decrypt",), "dynamodb")
        on_failure = None
        if trigger.on_failure_queue:
            destination = self._queues.queues[trigger.on_failure_queue]
            grant_send(role, destination, self._storage.key)
            on_failure = OnFailureQueue(destination)
        construct_id = f"{camel(spec.name)}{camel(trigger.table)}Stream"
        mapping = lambda_.EventSourceMapping(
            self,
            construct_id,
            target=function,
            event_source_arn=stream_arn,
            starting_position=lambda_.StartingPosition[trigger.starting_position],
            batch_size=trigger.batch_size,
            max_batching_window=Duration.seconds(trigger.max_batching_window_s),
            retry_attempts=trigger.max_retry_attempts,
            bisect_batch_on_error=trigger.bisect_on_error,
            on_failure=on_failure,
            report_batch_item_failures=True,
        )
        # Lambda checks the role's access when it creates the mapping.
        mapping.node.add_dependency(role)
        self.mappings[construct_id] = mapping

    def _queue(
        self, spec: wiring.FunctionSpec, function: lambda_.Function, trigger: wiring.QueueTrigger
    ) -> None:
        queue = self._queues.queues[trigger.queue]
        declared = wiring.queue(trigger.queue)
        if declared.visibility_timeout_s < spec.timeout_s:
            # Lambda refuses the mapping; a shorter timeout would also let a message run twice at once.
            raise ValueError(
                f"{spec.name}: queue {trigger.queue!r} visibility timeout {declared.visibility_timeout_s} s "
                f"is shorter than the function timeout {spec.timeout_s} s"
            )
        role = function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(QUEUE_CONSUME_ACTIONS), resources=[queue.queue_arn])
        )
        grant_key_via(role, self._storage.key, ("kms:Decrypt",), "sqs")
        construct_id = f"{camel(spec.name)}{camel(trigger.queue)}Queue"
        mapping = lambda_.EventSourceMapping(
            self,
            construct_id,
            target=function,
            event_source_arn=queue.queue_arn,
            batch_size=trigger.batch_size,
            max_batching_window=(
                Duration.seconds(trigger.max_batching_window_s) if trigger.max_batching_window_s else None
            ),
            report_batch_item_failures=True,
        )
        mapping.node.add_dependency(role)
        self.mappings[construct_id] = mapping

    def _schedule(
        self, spec: wiring.FunctionSpec, function: lambda_.Function, trigger: wiring.ScheduleTrigger
    ) -> None:
        """An EventBridge rule on a fixed rate; a failed invocation is retried by EventBridge."""
        construct_id = f"{camel(spec.name)}Schedule"
        rule = events.Rule(
            self,
            construct_id,
            description=trigger.description or f"Invoke {spec.name} every {trigger.every_minutes} min",
            schedule=events.Schedule.rate(Duration.minutes(trigger.every_minutes)),
        )
        rule.add_target(targets.LambdaFunction(function, retry_attempts=2))
        self.rules[construct_id] = rule
