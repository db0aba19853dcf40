"""The synthesised platform stack matches switchboard.wiring and passes cdk-nag and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from infra.functions import TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS
from infra.settings import LOG_RETENTION_KEY, THROTTLE_BURST_KEY, THROTTLE_RATE_KEY, Settings
from infra.storage import camel
from switchboard import wiring

if TYPE_CHECKING:
    from conftest import Synth

# Every accepted cdk-nag finding; adding one means adding it here, with its reason in infra/.
ACKNOWLEDGED_RULES = {
    "AwsSolutions-L1",
    "AwsSolutions-APIG3",
    "AwsSolutions-APIG4",
    "AwsSolutions-COG4",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs]",
}


def logical_id(synth: Synth, construct: Any) -> str:
    return synth.stack.get_logical_id(construct.node.default_child)


def table_id(synth: Synth, key: str) -> str:
    return logical_id(synth, synth.stack.storage.tables[key])


def function_id(synth: Synth, name: str) -> str:
    return logical_id(synth, synth.stack.functions.functions[name])


def mentions(value: Any, lid: str) -> bool:
    """Whether a CloudFormation value references the resource `lid` (Ref or GetAtt)."""
    text = json.dumps(value)
    return f'"Ref": "{lid}"' in text or f'"Fn::GetAtt": ["{lid}"' in text


def role_statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    """All statements of the IAM policies attached to a function's role."""
    role_id = logical_id(synth, synth.stack.functions.functions[function_name].role)
    statements: list[dict[str, Any]] = []
    for policy in synth.resources_of("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- storage -------------------------------------------------------------------------------


def test_one_table_per_wiring_table(synth: Synth) -> None:
    assert len(synth.resources_of("AWS::DynamoDB::Table")) == len(wiring.TABLES)


@pytest.mark.parametrize("spec", wiring.TABLES, ids=lambda spec: spec.key)
def test_table_matches_wiring(synth: Synth, spec: wiring.Table) -> None:
    resource = synth.resources[table_id(synth, spec.key)]
    props = resource["Properties"]

    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == key_schema
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert mentions(props["SSESpecification"]["KMSMasterKeyId"], logical_id(synth, synth.stack.storage.key))
    assert resource["DeletionPolicy"] == "Retain"
    assert props["DeletionProtectionEnabled"] is True

    if spec.stream:
        assert props["StreamSpecification"] == {"StreamViewType": spec.stream}
    else:
        assert "StreamSpecification" not in props
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props

    indexes = {index["IndexName"]: index for index in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == {"ProjectionType": index.projection.value}


def test_data_key_rotates_and_is_retained(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::KMS::Key", 1)
    synth.template.has_resource(
        "AWS::KMS::Key",
        {"Properties": {"EnableKeyRotation": True}, "DeletionPolicy": "Retain"},
    )


# --- functions and layers ------------------------------------------------------------------


def test_one_function_per_wiring_function(synth: Synth) -> None:
    assert len(synth.resources_of("AWS::Lambda::Function")) == len(wiring.FUNCTIONS)


def test_two_layers_for_python_3_12(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::Lambda::LayerVersion", 2)
    synth.template.all_resources_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["x86_64"]},
    )


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_function_matches_wiring(synth: Synth, spec: wiring.FunctionSpec) -> None:
    props = synth.resources[function_id(synth, spec.name)]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s

    layer_ids = {logical_id(synth, layer) for layer in synth.stack.layers.all}
    assert {ref["Ref"] for ref in props["Layers"]} == layer_ids

    expected_env: dict[str, Any] = {"POWERTOOLS_LOG_LEVEL": "INFO"}
    for key in spec.tables:
        expected_env[wiring.table(key).env_var] = {"Ref": table_id(synth, key)}
    expected_env.update(spec.environment)
    assert props["Environment"]["Variables"] == expected_env

    log_group_id = logical_id(synth, synth.stack.functions.functions[spec.name].log_group)
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}


def test_log_groups_have_retention_and_encryption(synth: Synth) -> None:
    key_id = logical_id(synth, synth.stack.storage.key)
    log_groups = synth.resources_of("AWS::Logs::LogGroup")
    assert log_groups
    for lid, resource in log_groups.items():
        assert resource["Properties"]["RetentionInDays"] == Settings().log_retention_days, lid
        assert mentions(resource["Properties"]["KmsKeyId"], key_id), lid


# --- IAM -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_function_permissions_follow_declared_access(synth: Synth, spec: wiring.FunctionSpec) -> None:
    statements = role_statements(synth, spec.name)
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "*" not in json.dumps(statement["Action"]), statement
        assert "dynamodb:Scan" not in as_list(statement["Action"])
        assert statement["Resource"] != "*"

    for table in wiring.TABLES:
        lid = table_id(synth, table.key)
        on_table = [s for s in statements if any(mentions(r, lid) for r in as_list(s["Resource"]))]
        granted = {action for s in on_table for action in as_list(s["Action"])}
        access = spec.tables.get(table.key)
        if access is None:
            assert not on_table, f"{spec.name} may not touch {table.key}"
        elif access is wiring.Access.READ:
            assert set(TABLE_READ_ACTIONS) <= granted
            assert not granted & set(TABLE_WRITE_ACTIONS), f"{spec.name} must only read {table.key}"
        else:
            assert set(TABLE_READ_ACTIONS) | set(TABLE_WRITE_ACTIONS) <= granted


def test_api_function_writes_objects_and_only_reads_auth(synth: Synth) -> None:
    statements = role_statements(synth, "api")
    objects, auth = table_id(synth, "objects"), table_id(synth, "auth")

    def actions_on(lid: str) -> set[str]:
        return {
            action
            for s in statements
            if any(mentions(r, lid) for r in as_list(s["Resource"]))
            for action in as_list(s["Action"])
        }

    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions_on(objects)
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions_on(auth)
    assert "dynamodb:PutItem" not in actions_on(auth)
    assert not actions_on(auth) & set(TABLE_WRITE_ACTIONS)


def test_data_key_is_usable_only_through_dynamodb(synth: Synth) -> None:
    key_id = logical_id(synth, synth.stack.storage.key)
    for spec in wiring.FUNCTIONS:
        kms = [s for s in role_statements(synth, spec.name) if mentions(s["Resource"], key_id)]
        assert kms
        for statement in kms:
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert "dynamodb." in json.dumps(via)


# --- API Gateway ---------------------------------------------------------------------------


def resource_paths(synth: Synth) -> dict[str, str]:
    """Logical id of every API Gateway resource -> its full path ("/v1/{proxy+}")."""
    resources = synth.resources_of("AWS::ApiGateway::Resource")

    def path_of(lid: str) -> str:
        props = resources[lid]["Properties"]
        parent = props["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {lid: path_of(lid) for lid in resources}


def test_methods_are_exactly_the_declared_routes(synth: Synth) -> None:
    paths = resource_paths(synth)
    declared = {(route.method, route.path, spec.name) for spec in wiring.FUNCTIONS for route in spec.routes}
    found = set()
    for method in synth.resources_of("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource_ref = props["ResourceId"]
        path = paths[resource_ref["Ref"]] if "Ref" in resource_ref else "/"
        assert props["AuthorizationType"] == "NONE"
        assert props["Integration"]["Type"] == "AWS_PROXY"
        targets = [
            s.name
            for s in wiring.FUNCTIONS
            if mentions(props["Integration"]["Uri"], function_id(synth, s.name))
        ]
        assert len(targets) == 1
        found.add((props["HttpMethod"], path, targets[0]))
    assert found == declared


def test_stage_prod_is_throttled_and_logged(synth: Synth) -> None:
    stages = synth.resources_of("AWS::ApiGateway::Stage")
    assert len(stages) == 1
    props = next(iter(stages.values()))["Properties"]
    assert props["StageName"] == "prod"
    defaults = Settings()
    [settings] = props["MethodSettings"]
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == defaults.throttle_rate_limit
    assert settings["ThrottlingBurstLimit"] == defaults.throttle_burst_limit
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False

    access = props["AccessLogSetting"]
    assert mentions(access["DestinationArn"], logical_id(synth, synth.stack.api.access_logs))
    fields = json.loads(access["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "ip", "httpMethod", "resourcePath", "responseLatency"} <= set(fields)


def test_api_is_regional_with_cloudwatch_role(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )
    synth.template.resource_count_is("AWS::ApiGateway::Account", 1)
    synth.template.resource_count_is("AWS::ApiGateway::RequestValidator", 1)


def test_execution_log_group_exists_before_the_stage(synth: Synth) -> None:
    [(stage_id, stage)] = synth.resources_of("AWS::ApiGateway::Stage").items()
    execution = [
        lid
        for lid, group in synth.resources_of("AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(group["Properties"].get("LogGroupName", ""))
    ]
    assert len(execution) == 1, stage_id
    assert execution[0] in stage["DependsOn"]


def test_outputs_name_the_api_url_and_tables(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert "ApiUrl" in outputs
    for spec in wiring.TABLES:
        name = f"{camel(spec.key)}TableName"
        assert outputs[name]["Value"] == {"Ref": table_id(synth, spec.key)}


# --- settings from context -----------------------------------------------------------------


def test_settings_read_cli_strings_from_context() -> None:
    app = cdk.App(context={THROTTLE_RATE_KEY: "50", THROTTLE_BURST_KEY: "75", LOG_RETENTION_KEY: "90"})
    assert Settings.from_context(app) == Settings(
        throttle_rate_limit=50.0, throttle_burst_limit=75, log_retention_days=90
    )


def test_settings_reject_unsupported_retention() -> None:
    with pytest.raises(ValueError, match=LOG_RETENTION_KEY):
        Settings.from_context(cdk.App(context={LOG_RETENTION_KEY: "42"}))


# --- cdk-nag, CDK validation, cfn-lint -----------------------------------------------------


def test_cdk_nag_finds_nothing_unacknowledged(synth: Synth) -> None:
    report = AwsSolutionsChecks(verbose=True).validate_scope(synth.app)
    findings = [
        f"{v.rule_name} ({v.severity}): {[r.construct_path for r in v.violating_resources]}"
        for v in report.violations
    ]
    assert findings == []
    assert report.success


def test_no_error_or_warning_annotations(synth: Synth) -> None:
    annotations = Annotations.from_stack(synth.stack)
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_validation_report_has_no_violations(synth: Synth) -> None:
    """Covers every validation plugin run at synth: cdk-nag and CDK's built-in CloudFormation rules."""
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [
        (plugin["pluginName"], violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert violations == []


def test_every_acknowledgment_is_expected_and_explained(synth: Synth) -> None:
    acknowledged: dict[str, set[str]] = {}
    for resource in synth.resources.values():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            acknowledged.setdefault(rule["id"], set()).add(rule["reason"])
    assert set(acknowledged) == ACKNOWLEDGED_RULES
    for rule_id, reasons in acknowledged.items():
        assert len(reasons) == 1, f"{rule_id} is acknowledged with different reasons"
        for reason in reasons:
            assert len(reason) >= 80, f"{rule_id}: reason too thin: {reason!r}"


def test_cfn_lint_finds_no_problems(synth: Synth, tmp_path: Path) -> None:
    template = tmp_path / "Switchboard.template.json"
    template.write_text(json.dumps(synth.template.to_json()))
    matches = lint_file(template, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    roles = {
        function_id(synth, name): logical_id(synth, function.role)
        for name, function in synth.stack.functions.functions.items()
    }

    def redundant_role_dependency(match: Any) -> bool:
        # CDK's Function always adds an explicit DependsOn on its own role next to the Role
        # GetAtt; W3005 only notes that this DependsOn is redundant. Nothing else is accepted.
        path = [str(part) for part in match.path]
        return (
            match.rule.id == "W3005"
            and len(path) > 1
            and path[1] in roles
            and f"'{roles[path[1]]}'" in match.message
        )

    problems = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if not redundant_role_dependency(m)
    ]
    assert problems == []
