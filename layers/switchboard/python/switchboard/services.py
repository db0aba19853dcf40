"""Per-container singletons: the stores and services, built on first use from the environment."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from switchboard import wiring
from switchboard.adapters.aws import client, wired
from switchboard.adapters.dynamo import DynamoObjectStore
from switchboard.adapters.dynamo_auth import DynamoAuthStore
from switchboard.adapters.dynamo_automation import DynamoAutomationStore
from switchboard.adapters.dynamo_datastreams import DynamoDataStreamStore
from switchboard.adapters.dynamo_webhooks import DynamoDeliveryStore, DynamoWebhookStore
from switchboard.adapters.queues import SqsQueue
from switchboard.config import local_run
from switchboard.domain.service import ObjectService

if TYPE_CHECKING:
    from switchboard.adapters.kinesis import RoleCredentials
    from switchboard.pipeline.datastreams import DataStreamService
    from switchboard.pipeline.delivery import Deliverer
    from switchboard.pipeline.fanout import FanOut
    from switchboard.pipeline.forwarder import Forwarder, Registration
    from switchboard.pipeline.hooks import HookService
    from switchboard.pipeline.webhooks import WebhookService
    from switchboard.pipeline.workflows import EnabledWorkflows, WorkflowRunner, WorkflowService


@cache
def objects() -> ObjectService:
    return ObjectService(DynamoObjectStore(client("dynamodb"), wired(wiring.OBJECTS.env_var)))


@cache
def auth_store() -> DynamoAuthStore:
    return DynamoAuthStore(client("dynamodb"), wired(wiring.AUTH.env_var))


def reset() -> None:
    """Forget cached clients and services (tests switch environments between cases)."""
    for cached in (
        objects,
        auth_store,
        webhook_store,
        delivery_store,
        delivery_queue,
        webhooks,
        fanout,
        deliverer,
        automation_store,
        runs_queue,
        hooks,
        workflows,
        enabled_workflows,
        runner,
        datastream_store,
        backfill_queue,
        platform_account,
        data_streams,
        role_credentials,
        forwarder,
        client,
    ):
        cached.cache_clear()
    from switchboard.pipeline import pull

    pull.pull_service.cache_clear()


@cache
def webhook_store() -> DynamoWebhookStore:
    return DynamoWebhookStore(client("dynamodb"), wired(wiring.WEBHOOKS.env_var))


@cache
def delivery_store() -> DynamoDeliveryStore:
    return DynamoDeliveryStore(client("dynamodb"), wired(wiring.DELIVERIES.env_var))


@cache
def delivery_queue() -> SqsQueue:
    return SqsQueue(client("sqs"), wired(wiring.DELIVERY_QUEUE.env_var))


@cache
def webhooks() -> WebhookService:
    from switchboard.pipeline.webhooks import WebhookService

    return WebhookService(webhook_store(), delivery_store(), delivery_queue(), check_webhook_url)


def check_webhook_url(url: str) -> None:
    """https only, and no private or loopback destination (both allowed in the local run)."""
    from switchboard.adapters.http_sender import UnsafeDestination, check_url
    from switchboard.errors import BadRequest

    try:
        check_url(url, allow_private=local_run())
    except UnsafeDestination as exc:
        raise BadRequest(f"url: {exc.reason}", "/url") from None


@cache
def fanout() -> FanOut:
    from switchboard.pipeline.fanout import FanOut
    from switchboard.pipeline.workflows import EventTriggers

    return FanOut(
        webhook_store(),
        delivery_store(),
        delivery_queue(),
        triggers=EventTriggers(enabled_workflows()),
        runs_queue=runs_queue(),
    )


@cache
def deliverer() -> Deliverer:
    from switchboard.adapters.http_sender import HttpSender
    from switchboard.pipeline.delivery import Deliverer

    return Deliverer(webhooks(), HttpSender(allow_private=local_run()))


@cache
def automation_store() -> DynamoAutomationStore:
    return DynamoAutomationStore(client("dynamodb"), wired(wiring.AUTOMATION.env_var))


@cache
def runs_queue() -> SqsQueue:
    return SqsQueue(client("sqs"), wired(wiring.WORKFLOW_RUNS_QUEUE.env_var))


@cache
def hooks() -> HookService:
    from switchboard.pipeline.hooks import HookService

    return HookService(automation_store(), runs_queue())


@cache
def workflows() -> WorkflowService:
    from switchboard.pipeline.workflows import WorkflowService

    def hook_exists(org: str, hook_type: str, hook_id: str) -> bool:
        hook = automation_store().get_hook(org, hook_id)
        return hook is not None and hook.type == hook_type

    return WorkflowService(automation_store(), runs_queue(), hook_exists)


@cache
def enabled_workflows() -> EnabledWorkflows:
    from switchboard.pipeline.workflows import EnabledWorkflows

    return EnabledWorkflows(automation_store())


@cache
def runner() -> WorkflowRunner:
    from switchboard.adapters.http_sender import HttpSender
    from switchboard.domain.resources import resource
    from switchboard.domain.workflows.engine import WorkflowEngine
    from switchboard.pipeline.workflow_actions import build_actions
    from switchboard.pipeline.workflows import WorkflowRunner

    def load_object(org: str, kind: str, object_id: str) -> dict | None:
        record = objects().store.get(org, kind, object_id)
        return resource(record) if record else None

    actions = build_actions(objects(), HttpSender(allow_private=local_run()), allow_private=local_run())
    return WorkflowRunner(automation_store(), enabled_workflows(), WorkflowEngine(actions), load_object)


@cache
def datastream_store() -> DynamoDataStreamStore:
    return DynamoDataStreamStore(client("dynamodb"), wired(wiring.AUTOMATION.env_var))


@cache
def backfill_queue() -> SqsQueue:
    return SqsQueue(client("sqs"), wired(wiring.BACKFILL_QUEUE.env_var))


@cache
def platform_account() -> str:
    """This deployment's AWS account (what a customer's role must trust); one call per container."""
    return client("sts").get_caller_identity()["Account"]


def check_data_stream(account_id: str, region: str, external_id: str) -> None:
    """Assume the customer's role with the org's ExternalId and check the stream is active;
    ValueError with the reason otherwise."""
    from botocore.exceptions import BotoCoreError, ClientError

    from switchboard.pipeline.datastreams import STREAM_NAME

    try:
        kinesis = role_credentials().kinesis(account_id, region, external_id)
        summary = kinesis.describe_stream_summary(StreamName=STREAM_NAME)["StreamDescriptionSummary"]
    except (ClientError, BotoCoreError) as exc:
        raise ValueError(
            f"cannot reach {STREAM_NAME} through KustomerDataStreamRole in {account_id} ({region}) with "
            f"this org's ExternalId: {exc}"
        ) from None
    if summary["StreamStatus"] not in ("ACTIVE", "UPDATING"):
        raise ValueError(f"{STREAM_NAME} is {summary['StreamStatus']}, not ACTIVE")


@cache
def data_streams() -> DataStreamService:
    from switchboard.pipeline.datastreams import DataStreamService

    return DataStreamService(datastream_store(), check_data_stream, backfill_queue(), platform_account)


@cache
def role_credentials() -> RoleCredentials:
    from switchboard.adapters.kinesis import RoleCredentials

    return RoleCredentials(client("sts"))


class _Registrations:
    """An org's registration, read once per org and batch (activation applies at once)."""

    def active(self, org: str) -> Registration | None:
        from switchboard.pipeline.forwarder import Registration

        return Registration.from_config(org, datastream_store().config(org))


class _Parking:
    def park(self, org: str, registration_id: str, events: list[dict], reason: str) -> None:
        datastream_store().park(org, events, reason)


@cache
def forwarder() -> Forwarder:
    from switchboard.adapters.kinesis import StreamWriter
    from switchboard.pipeline.forwarder import Forwarder

    def writer(registration: Registration) -> StreamWriter:
        kinesis = role_credentials().kinesis(
            registration.accountId, registration.region, registration.externalId
        )
        return StreamWriter(kinesis)

    return Forwarder(_Registrations(), writer, _Parking())
