"""Synthesise the platform stack once per test session (no asset bundling, so no pip run)."""

from __future__ import annotations

import os

# Before the first aws_cdk import: that starts the jsii runtime, which warns about Node 20.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.platform_stack import PlatformStack, add_platform
from infra.settings import cdk_json_context


@dataclass(frozen=True)
class Synth:
    """One synthesised app: the construct tree, its assembly directory and the stack template."""

    app: cdk.App
    stack: PlatformStack
    outdir: Path
    template: Template

    @property
    def resources(self) -> dict[str, Any]:
        return self.template.to_json()["Resources"]

    def resources_of(self, cfn_type: str) -> dict[str, Any]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] == cfn_type}

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    def table_id(self, key: str) -> str:
        return self.logical_id(self.stack.storage.tables[key])

    def queue_id(self, key: str) -> str:
        return self.logical_id(self.stack.queues.queues[key])

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions.functions[name])


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app exactly as app.py builds it (cdk.json context, AwsSolutions checks), bundling off."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(
        context={**cdk_json_context(), "aws:cdk:bundling-stacks": []},
        outdir=str(outdir),
    )
    stack = add_platform(app)
    app.synth()  # runs the validation plugins; Template/Annotations reuse this assembly
    return Synth(app=app, stack=stack, outdir=outdir, template=Template.from_stack(stack))
