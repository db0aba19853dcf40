"""SQS queues declared in switchboard.wiring: KMS-encrypted, TLS only, each with its DLQ.

The queues use the stack's data key rather than SQS-managed keys, so every message at rest is
under the same customer-managed key as the tables, and every use of it is a logged KMS call
by a principal the stack granted. A queue with `max_receive_count` gets a dead-letter queue
that keeps messages for 14 days (the SQS maximum); the alarms watch the dead-letter queues.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge
from infra.storage import Storage, camel
from switchboard import wiring

DLQ_RETENTION = Duration.days(14)


def on_failure_queues() -> set[str]:
    """Queue keys that receive a stream mapping's discarded batches (dead letters themselves)."""
    return {
        trigger.on_failure_queue
        for spec in wiring.FUNCTIONS
        for trigger in spec.triggers
        if isinstance(trigger, wiring.StreamTrigger) and trigger.on_failure_queue
    }


class Queues(Construct):
    """`queues[key]` for every `wiring.QUEUES` entry, `dead_letter_queues[key]` for those with one."""

    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        failure_destinations = on_failure_queues()
        for spec in wiring.QUEUES:
            dead_letter = None
            if spec.max_receive_count:
                dlq = self._queue(
                    f"{camel(spec.key)}DeadLetterQueue", retention=DLQ_RETENTION, fifo=spec.fifo
                )
                self.dead_letter_queues[spec.key] = dlq
                dead_letter = sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq)
            queue = self._queue(
                f"{camel(spec.key)}Queue",
                retention=Duration.seconds(spec.retention_s),
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                dead_letter_queue=dead_letter,
                fifo=spec.fifo,
            )
            self.queues[spec.key] = queue
            if dead_letter is None and spec.key in failure_destinations:
                acknowledge(
                    queue,
                    "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter store: the on-failure destination of a "
                    "DynamoDB stream mapping, holding descriptions of discarded batches. Nothing "
                    "consumes it, so no receive can fail; an alarm fires as soon as it holds a message.",
                )

    def _queue(
        self,
        construct_id: str,
        *,
        retention: Duration,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
        fifo: bool = False,
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._storage.key,
            enforce_ssl=True,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
            fifo=fifo or None,
        )
