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

from infra.event_sources import QUEUE_CONSUME_ACTIONS
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
    "AwsSolutions-IAM5[Resource::*]",  # dynamodb:ListStreams, for the stream mapping
    "AwsSolutions-SQS3",  # the on-failure queue is a dead-letter store itself
    # sts:AssumeRole on the customers' roles: their accounts are registered at run time
    "AwsSolutions-IAM5[Resource::arn:aws:iam::*:role/KustomerDataStreamRole]",
}
# The one action granted on "*": it has no resource-level permissions.
UNSCOPED_ACTIONS = {"dynamodb:ListStreams"}


def mentions(value: Any, lid: str) -> bool:
    """Whether a CloudFormation value references the resource `lid` (Ref or GetAtt)."""
    text = json.dumps(value)
    return f'"Ref": "{lid}"' in text or f'"Fn::GetAtt": ["{lid}"' in text


def role_statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    """All statements of the IAM policies attached to a function's role."""
    role_id = synth.logical_id(synth.stack.functions.functions[function_name].role)
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
    resource = synth.resources[synth.table_id(spec.key)]
    props = resource["Properties"]

    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == key_schema
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert mentions(props["SSESpecification"]["KMSMasterKeyId"], synth.logical_id(synth.stack.storage.key))
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
    props = synth.resources[synth.function_id(spec.name)]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s

    layer_ids = {synth.logical_id(layer) for layer in synth.stack.layers.all}
    assert {ref["Ref"] for ref in props["Layers"]} == layer_ids

    expected_env: dict[str, Any] = {"POWERTOOLS_LOG_LEVEL": "INFO"}
    for key in spec.tables:
        expected_env[wiring.table(key).env_var] = {"Ref": synth.table_id(key)}
    for key in spec.queues:
        expected_env[wiring.queue(key).env_var] = {"Ref": synth.queue_id(key)}
    expected_env.update(spec.environment)
    assert props["Environment"]["Variables"] == expected_env

    log_group_id = synth.logical_id(synth.stack.functions.functions[spec.name].log_group)
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}


def test_log_groups_have_retention_and_encryption(synth: Synth) -> None:
    key_id = synth.logical_id(synth.stack.storage.key)
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
        if statement["Resource"] == "*":
            assert set(as_list(statement["Action"])) <= UNSCOPED_ACTIONS, statement

    for table in wiring.TABLES:
        lid = synth.table_id(table.key)
        # A table's stream is its own resource (see test_only_stream_consumers_read_streams).
        on_table = [
            s
            for s in statements
            if any(mentions(r, lid) and "StreamArn" not in json.dumps(r) for r in as_list(s["Resource"]))
        ]
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
    objects, auth = synth.table_id("objects"), synth.table_id("auth")

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


def test_data_key_is_usable_only_through_dynamodb_and_sqs(synth: Synth) -> None:
    key_id = synth.logical_id(synth.stack.storage.key)
    for spec in wiring.FUNCTIONS:
        kms = [s for s in role_statements(synth, spec.name) if mentions(s["Resource"], key_id)]
        assert kms
        for statement in kms:
            via = json.dumps(statement["Condition"]["StringEquals"]["kms:ViaService"])
            assert "dynamodb." in via or "sqs." in via, statement


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
            if mentions(props["Integration"]["Uri"], synth.function_id(s.name))
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
    assert mentions(access["DestinationArn"], synth.logical_id(synth.stack.api.access_logs))
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


def test_outputs_name_the_api_url_alarm_topic_and_tables(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert "ApiUrl" in outputs
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": synth.logical_id(synth.stack.alarms.topic)}
    for spec in wiring.TABLES:
        name = f"{camel(spec.key)}TableName"
        assert outputs[name]["Value"] == {"Ref": synth.table_id(spec.key)}


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
        synth.function_id(name): synth.logical_id(function.role)
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


# --- queues --------------------------------------------------------------------------------

STREAM_TRIGGERS = [
    (spec, trigger)
    for spec in wiring.FUNCTIONS
    for trigger in spec.triggers
    if isinstance(trigger, wiring.StreamTrigger)
]
QUEUE_TRIGGERS = [
    (spec, trigger)
    for spec in wiring.FUNCTIONS
    for trigger in spec.triggers
    if isinstance(trigger, wiring.QueueTrigger)
]
ON_FAILURE_QUEUES = {trigger.on_failure_queue for _, trigger in STREAM_TRIGGERS if trigger.on_failure_queue}


def dlq_id(synth: Synth, key: str) -> str:
    return synth.logical_id(synth.stack.queues.dead_letter_queues[key])


def trigger_ids(pairs: list[tuple[wiring.FunctionSpec, Any]]) -> list[str]:
    return [f"{spec.name}<-{getattr(trigger, 'table', None) or trigger.queue}" for spec, trigger in pairs]


def assert_created_after_its_permissions(synth: Synth, mapping: dict[str, Any], function_name: str) -> None:
    """Lambda checks the role's access when it creates a mapping: the role and its policy come first."""
    role_id = synth.logical_id(synth.stack.functions.functions[function_name].role)
    policies = {
        lid
        for lid, policy in synth.resources_of("AWS::IAM::Policy").items()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    }
    assert policies
    assert {role_id, *policies} <= set(mapping["DependsOn"])


def test_one_queue_per_wiring_queue_plus_its_dlq(synth: Synth) -> None:
    with_dlq = [queue for queue in wiring.QUEUES if queue.max_receive_count]
    assert len(synth.resources_of("AWS::SQS::Queue")) == len(wiring.QUEUES) + len(with_dlq)
    assert set(synth.stack.queues.dead_letter_queues) == {queue.key for queue in with_dlq}


@pytest.mark.parametrize("spec", wiring.QUEUES, ids=lambda spec: spec.key)
def test_queue_matches_wiring(synth: Synth, spec: wiring.Queue) -> None:
    key_id = synth.logical_id(synth.stack.storage.key)
    props = synth.resources[synth.queue_id(spec.key)]["Properties"]
    assert props["VisibilityTimeout"] == spec.visibility_timeout_s
    assert props["MessageRetentionPeriod"] == spec.retention_s
    assert mentions(props["KmsMasterKeyId"], key_id)
    if spec.max_receive_count:
        redrive = props["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == spec.max_receive_count
        assert mentions(redrive["deadLetterTargetArn"], dlq_id(synth, spec.key))
        dlq = synth.resources[dlq_id(synth, spec.key)]["Properties"]
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert mentions(dlq["KmsMasterKeyId"], key_id)
        assert "RedrivePolicy" not in dlq
    else:
        assert "RedrivePolicy" not in props


def test_every_queue_refuses_requests_without_tls(synth: Synth) -> None:
    covered: set[str] = set()
    for policy in synth.resources_of("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                covered |= {queue["Ref"] for queue in policy["Properties"]["Queues"]}
    assert covered == set(synth.resources_of("AWS::SQS::Queue"))


# --- event source mappings -----------------------------------------------------------------


def mappings_of(synth: Synth, function_name: str, source_lid: str) -> list[dict[str, Any]]:
    fid = synth.function_id(function_name)
    return [
        mapping
        for mapping in synth.resources_of("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == {"Ref": fid}
        and mentions(mapping["Properties"]["EventSourceArn"], source_lid)
    ]


def test_one_mapping_per_declared_trigger(synth: Synth) -> None:
    assert len(synth.resources_of("AWS::Lambda::EventSourceMapping")) == len(STREAM_TRIGGERS) + len(
        QUEUE_TRIGGERS
    )


SCHEDULE_TRIGGERS = [
    (spec, trigger)
    for spec in wiring.FUNCTIONS
    for trigger in spec.triggers
    if isinstance(trigger, wiring.ScheduleTrigger)
]


@pytest.mark.parametrize(("spec", "trigger"), SCHEDULE_TRIGGERS, ids=[s.name for s, _ in SCHEDULE_TRIGGERS])
def test_schedule_rule_matches_wiring(synth: Synth, spec: wiring.FunctionSpec, trigger: Any) -> None:
    fid = synth.logical_id(synth.stack.functions.functions[spec.name])
    rules = [
        rule
        for rule in synth.resources_of("AWS::Events::Rule").values()
        if any(mentions(target["Arn"], fid) for target in rule["Properties"]["Targets"])
    ]
    [rule] = rules
    minutes = trigger.every_minutes
    assert rule["Properties"]["ScheduleExpression"] == f"rate({minutes} minute{'s' if minutes > 1 else ''})"
    assert rule["Properties"]["State"] == "ENABLED"
    permissions = [
        p["Properties"]
        for p in synth.resources_of("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert any(mentions(p["FunctionName"], fid) for p in permissions)


def test_fifo_queues_and_their_dead_letter_queues_are_fifo(synth: Synth) -> None:
    for declared in wiring.QUEUES:
        queue = synth.resources_of("AWS::SQS::Queue")[synth.queue_id(declared.key)]["Properties"]
        assert queue.get("FifoQueue", False) is declared.fifo, declared.key
        if declared.dlq_key:
            dlq = synth.resources_of("AWS::SQS::Queue")[dlq_id(synth, declared.key)]["Properties"]
            assert dlq.get("FifoQueue", False) is declared.fifo, declared.key


@pytest.mark.parametrize(("spec", "trigger"), STREAM_TRIGGERS, ids=trigger_ids(STREAM_TRIGGERS))
def test_stream_mapping_matches_wiring(synth: Synth, spec: wiring.FunctionSpec, trigger: Any) -> None:
    [mapping] = mappings_of(synth, spec.name, synth.table_id(trigger.table))
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [synth.table_id(trigger.table), "StreamArn"]}
    assert props["StartingPosition"] == trigger.starting_position
    assert props["BatchSize"] == trigger.batch_size
    assert props["MaximumBatchingWindowInSeconds"] == trigger.max_batching_window_s
    assert props["MaximumRetryAttempts"] == trigger.max_retry_attempts
    assert props["BisectBatchOnFunctionError"] is trigger.bisect_on_error
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    if trigger.on_failure_queue:
        destination = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": [synth.queue_id(trigger.on_failure_queue), "Arn"]}
    else:
        assert "DestinationConfig" not in props
    assert_created_after_its_permissions(synth, mapping, spec.name)


@pytest.mark.parametrize(("spec", "trigger"), QUEUE_TRIGGERS, ids=trigger_ids(QUEUE_TRIGGERS))
def test_queue_mapping_matches_wiring(synth: Synth, spec: wiring.FunctionSpec, trigger: Any) -> None:
    [mapping] = mappings_of(synth, spec.name, synth.queue_id(trigger.queue))
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [synth.queue_id(trigger.queue), "Arn"]}
    assert props["BatchSize"] == trigger.batch_size
    assert props.get("MaximumBatchingWindowInSeconds", 0) == trigger.max_batching_window_s
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "StartingPosition" not in props
    assert_created_after_its_permissions(synth, mapping, spec.name)
    # Lambda refuses a queue whose visibility timeout is shorter than the function's timeout.
    assert wiring.queue(trigger.queue).visibility_timeout_s >= spec.timeout_s


# --- IAM for queues and streams ------------------------------------------------------------


def actions_on(statements: list[dict[str, Any]], lid: str) -> set[str]:
    return {
        action
        for s in statements
        if any(mentions(r, lid) for r in as_list(s["Resource"]))
        for action in as_list(s["Action"])
    }


def queue_lids(synth: Synth) -> dict[str, str]:
    """Logical id -> queue key ("<key>-dlq" for dead-letter queues) of every queue."""
    lids = {synth.queue_id(key): key for key in synth.stack.queues.queues}
    lids.update({dlq_id(synth, key): f"{key}-dlq" for key in synth.stack.queues.dead_letter_queues})
    return lids


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_functions_send_only_to_declared_queues(synth: Synth, spec: wiring.FunctionSpec) -> None:
    statements = role_statements(synth, spec.name)
    on_failure = {t.on_failure_queue for t in spec.triggers if isinstance(t, wiring.StreamTrigger)}
    consumed = {t.queue for t in spec.triggers if isinstance(t, wiring.QueueTrigger)}
    for lid, key in queue_lids(synth).items():
        granted = actions_on(statements, lid)
        assert ("sqs:SendMessage" in granted) == (key in set(spec.queues) | on_failure), (spec.name, key)
        assert ("sqs:ReceiveMessage" in granted) == (key in consumed), (spec.name, key)
        assert ("sqs:DeleteMessage" in granted) == (key in consumed), (spec.name, key)
        assert {a for a in granted if a.startswith("sqs:")} <= {"sqs:SendMessage", *QUEUE_CONSUME_ACTIONS}


def test_deliver_may_send_only_to_the_deliveries_queue(synth: Synth) -> None:
    statements = role_statements(synth, "deliver")
    sends = [s for s in statements if "sqs:SendMessage" in as_list(s["Action"])]
    resources = [r for s in sends for r in as_list(s["Resource"])]
    assert resources == [{"Fn::GetAtt": [synth.queue_id("deliveries"), "Arn"]}]


def test_events_function_only_reads_webhooks(synth: Synth) -> None:
    granted = actions_on(role_statements(synth, "events"), synth.table_id("webhooks"))
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= granted
    assert not granted & set(TABLE_WRITE_ACTIONS)


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda spec: spec.name)
def test_only_stream_consumers_read_streams(synth: Synth, spec: wiring.FunctionSpec) -> None:
    statements = role_statements(synth, spec.name)
    streamed = {t.table for t in spec.triggers if isinstance(t, wiring.StreamTrigger)}
    for table in wiring.TABLES:
        on_stream = {
            action
            for s in statements
            for r in as_list(s["Resource"])
            if r == {"Fn::GetAtt": [synth.table_id(table.key), "StreamArn"]}
            for action in as_list(s["Action"])
        }
        expected = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
        assert on_stream == (expected if table.key in streamed else set()), (spec.name, table.key)
    lists = any("dynamodb:ListStreams" in as_list(s["Action"]) for s in statements)
    assert lists == bool(streamed)


# --- alarms --------------------------------------------------------------------------------


def alarms(synth: Synth) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in synth.resources_of("AWS::CloudWatch::Alarm").values()]


def test_dead_letters_and_discarded_batches_alarm_at_the_first_message(synth: Synth) -> None:
    watched = {dlq_id(synth, key) for key in synth.stack.queues.dead_letter_queues}
    watched |= {synth.queue_id(key) for key in ON_FAILURE_QUEUES}
    assert watched
    topic_id = synth.logical_id(synth.stack.alarms.topic)
    found = set()
    for props in alarms(synth):
        if props.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        assert props["Namespace"] == "AWS/SQS"
        [dimension] = props["Dimensions"]
        assert dimension["Name"] == "QueueName"
        [lid] = [lid for lid in watched if dimension["Value"] == {"Fn::GetAtt": [lid, "QueueName"]}]
        found.add(lid)
        assert props["Threshold"] == 0
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["EvaluationPeriods"] == 1
        assert props["TreatMissingData"] == "notBreaching"
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
    assert found == watched


def test_a_webhook_turned_off_raises_an_alarm(synth: Synth) -> None:
    [props] = [p for p in alarms(synth) if p.get("MetricName") == wiring.WEBHOOK_DISABLED_METRIC]
    assert props["Namespace"] == wiring.METRICS_NAMESPACE
    assert "Dimensions" not in props  # the deliver function emits it without dimensions
    assert props["Statistic"] == "Sum"
    assert props["Period"] == 300
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["AlarmActions"] == [{"Ref": synth.logical_id(synth.stack.alarms.topic)}]


def test_workflow_failures_and_scheduled_function_errors_alarm(synth: Synth) -> None:
    by_metric = {props["MetricName"]: props for props in alarms(synth)}
    failed = by_metric[wiring.WORKFLOW_RUN_FAILED_METRIC]
    assert failed["Namespace"] == wiring.METRICS_NAMESPACE
    assert (failed["Statistic"], failed["Threshold"]) == ("Sum", 1)
    errors = [props for props in alarms(synth) if props["MetricName"] == "Errors"]
    scheduled = {
        synth.logical_id(synth.stack.functions.functions[spec.name]) for spec, _ in SCHEDULE_TRIGGERS
    }
    assert {props["Dimensions"][0]["Value"]["Ref"] for props in errors} == scheduled


def test_every_alarm_notifies_the_topic(synth: Synth) -> None:
    metric_alarms = 2  # webhooks turned off, workflow runs failed
    expected = (
        len(synth.stack.queues.dead_letter_queues)
        + len(ON_FAILURE_QUEUES)
        + metric_alarms
        + len(SCHEDULE_TRIGGERS)
    )
    assert len(alarms(synth)) == expected
    topic_id = synth.logical_id(synth.stack.alarms.topic)
    assert all(props["AlarmActions"] == [{"Ref": topic_id}] for props in alarms(synth))


def test_alarm_topic_is_encrypted_tls_only_and_open_to_this_accounts_alarms(synth: Synth) -> None:
    key_id = synth.logical_id(synth.stack.storage.key)
    [topic] = synth.resources_of("AWS::SNS::Topic").values()
    assert mentions(topic["Properties"]["KmsMasterKeyId"], key_id)
    [policy] = synth.resources_of("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert "aws:SourceAccount" in allow["Condition"]["StringEquals"]
    key_policy = synth.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(as_list(cloudwatch[0]["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
