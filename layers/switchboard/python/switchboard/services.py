"""Per-container singletons: the stores and services, built on first use from the environment."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from switchboard import wiring
from switchboard.adapters.aws import client, wired
from switchboard.adapters.dynamo import DynamoObjectStore
from switchboard.adapters.dynamo_auth import DynamoAuthStore
from switchboard.adapters.dynamo_webhooks import DynamoDeliveryStore, DynamoWebhookStore
from switchboard.adapters.queues import SqsQueue
from switchboard.config import local_run
from switchboard.domain.service import ObjectService

if TYPE_CHECKING:
    from switchboard.pipeline.delivery import Deliverer
    from switchboard.pipeline.fanout import FanOut
    from switchboard.pipeline.webhooks import WebhookService


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
        client,
    ):
        cached.cache_clear()


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

    return FanOut(webhook_store(), delivery_store(), delivery_queue())


@cache
def deliverer() -> Deliverer:
    from switchboard.adapters.http_sender import HttpSender
    from switchboard.pipeline.delivery import Deliverer

    return Deliverer(webhooks(), HttpSender(allow_private=local_run()))
