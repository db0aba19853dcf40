"""The customer-side onboarding template: the seed's names, least privilege, the recommended
alarms, and a template that stands alone in the CloudFormation console (cdk-nag, cfn-lint)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint_file

from infra.compliance import add_checks
from infra.onboarding_stack import (
    CAPACITY_ALARM_RATIO,
    CONSUMER_READ_ACTIONS,
    CONSUMER_SOURCE,
    FUNCTION_NAME,
    INLINE_CODE_LIMIT,
    LAMBDA_ROLE_NAME,
    LOG_GROUP_NAME,
    LOG_WRITE_ACTIONS,
    PLATFORM_ACCOUNT_KEY,
    PRODUCER_ACTIONS,
    ROLE_NAME,
    SHARD_BYTES_PER_S,
    SHARD_COUNT,
    SHARD_RECORDS_PER_S,
    STACK_ID,
    STREAM_NAME,
    TEMPLATE_BODY_LIMIT,
    DataStreamOnboardingStack,
    add_onboarding,
)
from infra.settings import cdk_json_context

PLATFORM_ACCOUNT = "012345678901"  # a leading zero must survive


@dataclass(frozen=True)
class Onboarding:
    """The onboarding stack synthesised alone, with the AwsSolutions checks, as app.py adds it."""

    stack: DataStreamOnboardingStack
    outdir: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, Any]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == cfn_type}

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        [(lid, resource)] = self.of_type(cfn_type).items()
        return lid, resource

    def lid(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    @property
    def file(self) -> Path:
        return self.outdir / f"{STACK_ID}.template.json"


def synthesize(outdir: Path, context: dict[str, Any], fallback: str | None = None) -> Onboarding:
    app = cdk.App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    stack = add_onboarding(app, platform_account=fallback)
    add_checks(app)
    app.synth()  # runs cdk-nag and CDK's CloudFormation rules; unacknowledged errors raise
    return Onboarding(stack=stack, outdir=outdir, template=Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def onboarding(tmp_path_factory: pytest.TempPathFactory) -> Onboarding:
    return synthesize(tmp_path_factory.mktemp("onboarding.out"), {PLATFORM_ACCOUNT_KEY: PLATFORM_ACCOUNT})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> Any:
    """A Ref/Fn::Join value as readable text (`${Name}` for a Ref)."""
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(render(part)) for part in parts)
    return value


# --- parameters and a template that stands alone ------------------------------------------


def test_parameters_are_the_account_and_the_external_id(onboarding: Onboarding) -> None:
    parameters = onboarding.template["Parameters"]
    assert set(parameters) == {"KustomerAccountId", "ExternalId"}  # no BootstrapVersion
    account = parameters["KustomerAccountId"]
    assert account["Type"] == "String"
    assert account["Default"] == PLATFORM_ACCOUNT
    assert account["AllowedPattern"] == r"^\d{12}$"
    external = parameters["ExternalId"]
    assert external["Type"] == "String"
    assert external["NoEcho"] is False
    assert external["MinLength"] >= 8
    assert external["MaxLength"] == 1224  # STS's own limit
    assert "Default" not in external  # the platform writes each org's into the JSON


def test_external_id_pattern_takes_the_platforms_ids_only(onboarding: Onboarding) -> None:
    external = onboarding.template["Parameters"]["ExternalId"]
    pattern = re.compile(external["AllowedPattern"])

    def allowed(value: str) -> bool:
        return bool(pattern.fullmatch(value)) and external["MinLength"] <= len(value) <= external["MaxLength"]

    assert allowed(f"sb-{secrets.token_hex(16)}")  # what DynamoDataStreamStore.external_id makes
    assert allowed("org_1234+team=a,b.c@d:e/f-g")
    assert not allowed("short")
    assert not allowed("has spaces in it")
    assert not allowed('quote"injection')


def test_without_context_the_account_is_the_fallback_or_must_be_entered(tmp_path: Path) -> None:
    fallback = synthesize(tmp_path / "fallback", {}, fallback="210987654321")
    assert fallback.template["Parameters"]["KustomerAccountId"]["Default"] == "210987654321"
    prompted = synthesize(tmp_path / "none", {})
    assert "Default" not in prompted.template["Parameters"]["KustomerAccountId"]
    with pytest.raises(ValueError, match=PLATFORM_ACCOUNT_KEY):
        synthesize(tmp_path / "bad", {PLATFORM_ACCOUNT_KEY: "12345"})


def test_no_bootstrap_rule_assets_or_cdk_metadata(onboarding: Onboarding) -> None:
    template = onboarding.template
    assert set(template) <= {"Description", "Metadata", "Parameters", "Resources", "Outputs"}
    assert "Rules" not in template and "Conditions" not in template
    assert not onboarding.of_type("AWS::CDK::Metadata")
    text = json.dumps(template)
    for marker in ("BootstrapVersion", "cdk-hnb659fds", "S3Bucket", "S3Key", "AssetParameters", "aws:asset"):
        assert marker not in text, marker


def test_template_fits_an_inline_template_body(onboarding: Onboarding) -> None:
    assert onboarding.file.stat().st_size <= TEMPLATE_BODY_LIMIT


def test_console_groups_the_parameters(onboarding: Onboarding) -> None:
    interface = onboarding.template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    assert sorted(grouped) == sorted(onboarding.template["Parameters"])


# --- resources named as in the seed -------------------------------------------------------


def test_resources_carry_the_seeds_names(onboarding: Onboarding) -> None:
    _, stream = onboarding.one("AWS::Kinesis::Stream")
    assert stream["Properties"]["Name"] == STREAM_NAME == "kustomer-data-stream"
    roles = {r["Properties"]["RoleName"] for r in onboarding.of_type("AWS::IAM::Role").values()}
    assert roles == {ROLE_NAME, LAMBDA_ROLE_NAME} == {"KustomerDataStreamRole", "KustomerLambdaRole"}
    _, function = onboarding.one("AWS::Lambda::Function")
    assert function["Properties"]["FunctionName"] == FUNCTION_NAME == "kustomer-data-stream-fn"


def test_names_match_what_the_platform_assumes_and_writes_to() -> None:
    from switchboard.pipeline import datastreams

    assert (datastreams.STREAM_NAME, datastreams.ROLE_NAME) == (STREAM_NAME, ROLE_NAME)


def test_stream_is_one_shard_encrypted_with_the_aws_managed_key(onboarding: Onboarding) -> None:
    _, stream = onboarding.one("AWS::Kinesis::Stream")
    props = stream["Properties"]
    assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["ShardCount"] == SHARD_COUNT == 1
    assert props["RetentionPeriodHours"] == 24
    assert not onboarding.of_type("AWS::KMS::Key")  # nothing to pay for, nothing to grant


# --- IAM -----------------------------------------------------------------------------------


def role(onboarding: Onboarding, name: str) -> dict[str, Any]:
    [found] = [
        r for r in onboarding.of_type("AWS::IAM::Role").values() if r["Properties"]["RoleName"] == name
    ]
    return found["Properties"]


def test_only_the_platform_account_with_the_external_id_may_assume_the_stream_role(
    onboarding: Onboarding,
) -> None:
    trust = role(onboarding, ROLE_NAME)["AssumeRolePolicyDocument"]["Statement"]
    [statement] = trust
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert render(statement["Principal"]["AWS"]) == "arn:${AWS::Partition}:iam::${KustomerAccountId}:root"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


def test_stream_role_may_only_write_and_describe_the_stream(onboarding: Onboarding) -> None:
    props = role(onboarding, ROLE_NAME)
    assert "ManagedPolicyArns" not in props
    [policy] = props["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(as_list(statement["Action"])) == sorted(PRODUCER_ACTIONS)
    assert set(PRODUCER_ACTIONS) == {
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListShards",
    }
    assert statement["Resource"] == {"Fn::GetAtt": [onboarding.lid(onboarding.stack.stream), "Arn"]}
    assert props["MaxSessionDuration"] == 3600


def test_lambda_role_reads_the_stream_and_writes_its_own_log_group_only(onboarding: Onboarding) -> None:
    props = role(onboarding, LAMBDA_ROLE_NAME)
    [trust] = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert "ManagedPolicyArns" not in props
    [policy] = props["Policies"]
    granted = {
        json.dumps(statement["Resource"]): sorted(as_list(statement["Action"]))
        for statement in policy["PolicyDocument"]["Statement"]
    }
    stream_arn = {"Fn::GetAtt": [onboarding.lid(onboarding.stack.stream), "Arn"]}
    log_group_arn = {"Fn::GetAtt": [onboarding.lid(onboarding.stack.log_group), "Arn"]}
    assert granted == {
        json.dumps(stream_arn): sorted(CONSUMER_READ_ACTIONS),
        json.dumps(log_group_arn): sorted(LOG_WRITE_ACTIONS),
    }
    assert set(CONSUMER_READ_ACTIONS) == {
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    }
    assert set(LOG_WRITE_ACTIONS) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_no_other_policies_or_wildcards(onboarding: Onboarding) -> None:
    assert not onboarding.of_type("AWS::IAM::Policy")
    assert not onboarding.of_type("AWS::IAM::ManagedPolicy")
    for role_props in (role(onboarding, ROLE_NAME), role(onboarding, LAMBDA_ROLE_NAME)):
        assert '"*"' not in json.dumps(role_props["Policies"])


# --- the sample consumer -------------------------------------------------------------------


def test_function_inlines_the_tested_handler_within_the_limit(onboarding: Onboarding) -> None:
    _, function = onboarding.one("AWS::Lambda::Function")
    props = function["Properties"]
    code = props["Code"]
    assert set(code) == {"ZipFile"}
    assert code["ZipFile"] == CONSUMER_SOURCE.read_text(encoding="utf-8")
    assert len(code["ZipFile"]) <= INLINE_CODE_LIMIT == 4096
    assert props["Handler"] == "index.handler"  # CloudFormation names inline code index.py
    assert props["Runtime"] == "python3.12"
    assert "Layers" not in props


def test_function_logs_to_its_log_group_with_retention(onboarding: Onboarding) -> None:
    _, function = onboarding.one("AWS::Lambda::Function")
    log_lid, log_group = onboarding.one("AWS::Logs::LogGroup")
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": log_lid}}
    assert function["Properties"]["Role"] == {
        "Fn::GetAtt": [onboarding.lid(onboarding.stack.lambda_role), "Arn"]
    }
    assert log_group["Properties"]["LogGroupName"] == LOG_GROUP_NAME == "/aws/lambda/kustomer-data-stream-fn"
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_stream_mapping_reads_in_order_and_never_stalls(onboarding: Onboarding) -> None:
    _, mapping = onboarding.one("AWS::Lambda::EventSourceMapping")
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [onboarding.lid(onboarding.stack.stream), "Arn"]}
    assert props["FunctionName"] == {"Ref": onboarding.lid(onboarding.stack.function)}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 100
    assert props["ParallelizationFactor"] == 1
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 3
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# --- alarms --------------------------------------------------------------------------------

RECOMMENDED_METRICS = {
    "IncomingRecords",  # incoming data
    "IncomingBytes",
    "PutRecords.ThrottledRecords",
    "WriteProvisionedThroughputExceeded",
    "PutRecords.FailedRecords",
}


def alarms(onboarding: Onboarding) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties."""
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in onboarding.of_type("AWS::CloudWatch::Alarm").values()
    }


def test_alarms_cover_the_recommended_monitoring(onboarding: Onboarding) -> None:
    found = alarms(onboarding)
    metrics = {props["MetricName"] for props in found.values()}
    assert metrics == RECOMMENDED_METRICS | {"GetRecords.IteratorAgeMilliseconds"}
    stream_lid = onboarding.lid(onboarding.stack.stream)
    for name, props in found.items():
        assert name.startswith(f"{STREAM_NAME}-")
        assert props["Namespace"] == "AWS/Kinesis"
        assert props["Dimensions"] == [{"Name": "StreamName", "Value": {"Ref": stream_lid}}]
        assert props["AlarmDescription"]


def test_write_problems_alarm_on_any_record(onboarding: Onboarding) -> None:
    found = alarms(onboarding)
    for metric in (
        "PutRecords.ThrottledRecords",
        "WriteProvisionedThroughputExceeded",
        "PutRecords.FailedRecords",
    ):
        [props] = [p for p in found.values() if p["MetricName"] == metric]
        assert (props["Statistic"], props["Threshold"]) == ("Sum", 0), metric
        assert props["ComparisonOperator"] == "GreaterThanThreshold", metric
        assert props["TreatMissingData"] == "notBreaching", metric


def test_incoming_data_alarms_on_silence_and_near_capacity(onboarding: Onboarding) -> None:
    found = alarms(onboarding)
    silent = found[f"{STREAM_NAME}-no-incoming-records"]
    assert (silent["MetricName"], silent["ComparisonOperator"], silent["Threshold"]) == (
        "IncomingRecords",
        "LessThanThreshold",
        1,
    )
    assert silent["TreatMissingData"] == "breaching"  # nothing published means nothing came in
    assert silent["Period"] * silent["EvaluationPeriods"] == 24 * 3600

    bytes_alarm = found[f"{STREAM_NAME}-incoming-bytes-near-capacity"]
    records_alarm = found[f"{STREAM_NAME}-incoming-records-near-capacity"]
    for props, per_second in ((bytes_alarm, SHARD_BYTES_PER_S), (records_alarm, SHARD_RECORDS_PER_S)):
        expected = props["Period"] * SHARD_COUNT * per_second * CAPACITY_ALARM_RATIO
        assert props["Threshold"] == expected
        assert props["Statistic"] == "Sum"


# --- outputs -------------------------------------------------------------------------------


def test_outputs_name_the_stream_role_and_function(onboarding: Onboarding) -> None:
    outputs = onboarding.template["Outputs"]
    stack = onboarding.stack
    assert outputs["StreamArn"]["Value"] == {"Fn::GetAtt": [onboarding.lid(stack.stream), "Arn"]}
    assert outputs["RoleArn"]["Value"] == {"Fn::GetAtt": [onboarding.lid(stack.role), "Arn"]}
    assert outputs["FunctionName"]["Value"] == {"Ref": onboarding.lid(stack.function)}
    assert outputs["LogGroupName"]["Value"] == {"Ref": onboarding.lid(stack.log_group)}
    assert all("Export" not in output for output in outputs.values())  # exports would collide


# --- cdk-nag and cfn-lint ------------------------------------------------------------------


def test_cdk_nag_and_cloudformation_rules_pass(onboarding: Onboarding) -> None:
    report = json.loads((onboarding.outdir / "validation-report.json").read_text())
    violations = [
        (plugin["pluginName"], violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert violations == []
    annotations = Annotations.from_stack(onboarding.stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_only_the_runtime_pin_is_acknowledged(onboarding: Onboarding) -> None:
    acknowledged = {
        rule["id"]: rule["reason"]
        for resource in onboarding.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert set(acknowledged) == {"AwsSolutions-L1"}
    assert len(acknowledged["AwsSolutions-L1"]) >= 80


@pytest.mark.parametrize("external_id", [None, "sb-0123456789abcdef0123456789abcdef"])
def test_cfn_lint_finds_nothing(onboarding: Onboarding, tmp_path: Path, external_id: str | None) -> None:
    """Also after the platform writes an org's ExternalId into Parameters.ExternalId.Default."""
    template = json.loads(onboarding.file.read_text())
    if external_id:
        template["Parameters"]["ExternalId"]["Default"] = external_id
    path = tmp_path / "kustomer-data-stream.template.json"
    path.write_text(json.dumps(template))
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_the_template_the_api_serves_is_the_stack_as_synthesized(tmp_path: Path) -> None:
    """`GET /v1/data-streams/template` serves a file shipped in the package; it must be this stack
    (regenerate with `make onboarding-template ONBOARDING_TEMPLATE=<that file>`)."""
    from switchboard.pipeline.datastreams import TEMPLATE

    fresh = synthesize(tmp_path, {})
    shipped = json.loads(TEMPLATE.read_text())
    assert shipped == fresh.template
