"""The Switchboard platform stack: storage, queues, layers, functions, their event sources, the
REST API and the alarms, all from wiring."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, CfnOutput, Environment, Stack
from constructs import Construct

from infra.alarms import Alarms
from infra.api import Api
from infra.compliance import add_checks
from infra.event_sources import EventSources
from infra.functions import Functions
from infra.layers import Layers
from infra.queues import Queues
from infra.settings import Settings
from infra.storage import Storage, camel

STACK_NAME = "Switchboard"


class PlatformStack(Stack):
    """Everything `cdk deploy` builds in the Switchboard operator's account."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        kwargs.setdefault(
            "description", "Switchboard: Kustomer v1 compatible integration layer (API, data, functions)"
        )
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_context(self)
        self.storage = Storage(self, "Storage")
        self.queues = Queues(self, "Queues", storage=self.storage)
        self.layers = Layers(self, "Layers")
        self.functions = Functions(
            self,
            "Functions",
            storage=self.storage,
            queues=self.queues,
            layers=self.layers,
            settings=settings,
        )
        self.event_sources = EventSources(
            self,
            "EventSources",
            functions=self.functions.functions,
            storage=self.storage,
            queues=self.queues,
        )
        self.api = Api(
            self,
            "Api",
            functions=self.functions.functions,
            storage=self.storage,
            settings=settings,
        )
        self.alarms = Alarms(
            self, "Alarms", storage=self.storage, queues=self.queues, functions=self.functions.functions
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API (stage prod)")
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarms.topic.topic_arn,
            description="SNS topic every Switchboard alarm notifies: subscribe ops to it",
        )
        for key, table in self.storage.tables.items():
            CfnOutput(
                self,
                f"{camel(key)}TableName",
                value=table.table_name,
                description=f"DynamoDB table '{key}'",
            )


def add_platform(app: App, env: Environment | None = None) -> PlatformStack:
    """Add the platform stack to `app` with the AwsSolutions checks, as app.py and tests do."""
    stack = PlatformStack(app, STACK_NAME, env=env)
    add_checks(app)
    return stack
