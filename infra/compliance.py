"""cdk-nag AwsSolutions checks and the written reasons for every finding Switchboard accepts.

cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged error fails the synth.
Acknowledgments are recorded on constructs with `Validations.of(...).acknowledge` and, for an
audit trail, copied into each resource's `cdk_nag` template metadata.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding on `scope` and its children; the reason is the audit record."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def add_checks(app: App) -> AwsSolutionsChecks:
    """Register the AwsSolutions pack on the app (checked after synthesis)."""
    checks = AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    Validations.of(app).add_plugins(checks)
    return checks
