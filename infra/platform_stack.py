"""The Switchboard platform stack: storage, layers, functions and the REST API from wiring."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, CfnOutput, Environment, Stack
from constructs import Construct

from infra.api import Api
from infra.compliance import add_checks
from infra.functions import Functions
from infra.layers import Layers
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
        self.layers = Layers(self, "Layers")
        self.functions = Functions(
            self, "Functions", storage=self.storage, layers=self.layers, settings=settings
        )
        self.api = Api(
            self,
            "Api",
            functions=self.functions.functions,
            storage=self.storage,
            settings=settings,
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API (stage prod)")
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
