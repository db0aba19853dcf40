"""Data stream registration: an org's events go to a Kinesis stream in the org's own account.

Replaces "email your account id to support" (the seed): an admin creates the onboarding stack
in their account (`GET /v1/data-streams/template`, with the org's ExternalId filled in), then
registers the account and region. Switchboard assumes `KustomerDataStreamRole` with the org's
ExternalId, checks `kustomer-data-stream` is active, and only then starts forwarding: events
created before the activation are not sent (the seed), unless a backfill is asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from switchboard import ids
from switchboard.adapters.dynamo_datastreams import DynamoDataStreamStore
from switchboard.adapters.queues import SqsQueue
from switchboard.domain import kinds
from switchboard.errors import BadRequest, Conflict, NotFound

ROLE_NAME = "KustomerDataStreamRole"
STREAM_NAME = "kustomer-data-stream"
TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "kustomer-data-stream.template.json"
# Kinds sent by a backfill, in this order; one queue message per page of one kind.
BACKFILL_KINDS = ("customer", "klass", "conversation", "message", "user", "team", "tag")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class RegistrationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    accountId: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: Annotated[str, Field(min_length=9, max_length=32, pattern=_REGION.pattern)]


def role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"


def stream_arn(account_id: str, region: str) -> str:
    return f"arn:aws:kinesis:{region}:{account_id}:stream/{STREAM_NAME}"


class DataStreamService:
    """Register, show, deactivate, template, backfill and redrive an org's data stream."""

    def __init__(
        self,
        store: DynamoDataStreamStore,
        check_stream: Callable[[str, str, str], None],
        backfill_queue: SqsQueue,
        platform_account: Callable[[], str],
        clock: Callable[[], str] = ids.now_iso,
        new_id: Callable[[], str] = ids.new_id,
    ) -> None:
        self.store = store
        self.check_stream = check_stream  # (account, region, external id); raises ValueError
        self.backfill_queue = backfill_queue
        self.platform_account = platform_account
        self.clock = clock
        self.new_id = new_id

    def register(self, org: str, body: RegistrationBody) -> dict[str, Any]:
        current = self.current(org)
        if current is not None and current["status"] == "active":
            raise Conflict("a data stream is active already; delete it before registering another")
        external_id = self.store.external_id(org)
        try:
            self.check_stream(body.accountId, body.region, external_id)
        except ValueError as exc:
            raise BadRequest(str(exc), "/accountId") from None
        registration = {
            "id": self.new_id(),
            "accountId": body.accountId,
            "region": body.region,
            "roleArn": role_arn(body.accountId),
            "streamArn": stream_arn(body.accountId, body.region),
            "status": "active",
            "activatedAt": self.clock(),
            "deactivatedAt": None,
        }
        self.store.put_registration(org, registration)
        return self.view(org, registration)

    def current(self, org: str) -> dict[str, Any] | None:
        config = self.store.config(org)
        return config.get("registration") if config else None

    def get(self, org: str, registration_id: str) -> dict[str, Any]:
        current = self.current(org)
        if current is None or current["id"] != registration_id:
            raise NotFound(f"data stream {registration_id} not found")
        return self.view(org, current)

    def view(self, org: str, registration: dict[str, Any]) -> dict[str, Any]:
        return {
            **registration,
            "externalId": self.store.external_id(org),
            "counters": self.store.counters(org),
            "backfill": self.store.backfill(org),
        }

    def deactivate(self, org: str, registration_id: str) -> dict[str, Any]:
        current = self.get(org, registration_id)
        registration = {k: current[k] for k in current if k not in ("externalId", "counters", "backfill")}
        registration.update(status="inactive", deactivatedAt=self.clock())
        self.store.put_registration(org, registration)
        return self.view(org, registration)

    def template(self, org: str) -> dict[str, Any]:
        """The onboarding template with this org's ExternalId and the platform account filled in."""
        template = json.loads(TEMPLATE.read_text())
        parameters = template.setdefault("Parameters", {})
        parameters.setdefault("ExternalId", {})["Default"] = self.store.external_id(org)
        account = self.platform_account()
        if account and "KustomerAccountId" in parameters:
            parameters["KustomerAccountId"]["Default"] = account
        return template

    def backfill(self, org: str, registration_id: str) -> dict[str, Any]:
        """Queue the current state of every object of the org, kind by kind, page by page."""
        current = self.get(org, registration_id)
        if current["status"] != "active":
            raise Conflict("activate the data stream before a backfill")
        running = current.get("backfill")
        if running and running.get("status") == "running":
            raise Conflict("a backfill is running already")
        backfill_id = self.new_id()
        klass_names = self._klass_names(org)
        kinds_to_send = [*BACKFILL_KINDS, *(f"kobject.{name}" for name in klass_names)]
        self.store.put_backfill(
            org, {"id": backfill_id, "status": "running", "startedAt": self.clock(), "kinds": kinds_to_send}
        )
        self.backfill_queue.send_many(
            [{"org": org, "backfillId": backfill_id, "kind": kind, "page": 1} for kind in kinds_to_send]
        )
        return self.get(org, registration_id)

    def redrive(self, org: str, registration_id: str) -> dict[str, Any]:
        """Send parked events again (up to 500 per call); what is written leaves the parking."""
        from switchboard import services

        current = self.get(org, registration_id)
        if current["status"] != "active":
            raise Conflict("activate the data stream before a redrive")
        parked = self.store.parked(org)
        if not parked:
            return {"redriven": 0, "stillParked": 0}
        result = services.forwarder().redrive(parked).orgs.get(org)
        written = result.written if result else []
        self.store.unpark(org, written)
        self.store.add_counters(org, len(written), -len(written), self.clock())
        return {"redriven": len(written), "stillParked": len(parked) - len(written)}

    def _klass_names(self, org: str) -> list[str]:
        from switchboard import services

        names: list[str] = []
        page = 1
        while True:
            found = services.objects().page(org, kinds.KLASS, page, 100)
            names += [record.attributes["name"] for record in found.records]
            if not found.has_more:
                return names
            page += 1
