"""The REST API: API Gateway resources and methods from each function's declared routes.

Every method is a Lambda proxy integration with no API Gateway authorizer: the functions
authenticate the Bearer API keys themselves (hashed keys in the auth table), which is what
Kustomer-compatible clients send. The stage is throttled, access-logged as JSON, and its
execution logs go to a log group this stack owns (retention and encryption included).
API Gateway's own error answers are the JSON:API gateway responses `wiring` declares.
"""

from __future__ import annotations

import json

from aws_cdk import Fn, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.compliance import acknowledge
from infra.settings import WAF_ACL_KEY, Settings
from infra.storage import Storage
from switchboard import wiring

STAGE_NAME = wiring.API_STAGE

F = apigw.AccessLogField
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": F.context_request_id(),
        "requestTime": F.context_request_time(),
        "ip": F.context_identity_source_ip(),
        "userAgent": F.context_identity_user_agent(),
        "httpMethod": F.context_http_method(),
        "resourcePath": F.context_resource_path(),
        "path": F.context_path(),
        "protocol": F.context_protocol(),
        "status": F.context_status(),
        "responseLength": F.context_response_length(),
        "responseLatency": F.context_response_latency(),
        "integrationLatency": F.context_integration_latency(),
        "integrationStatus": F.context_integration_status(),
        "errorMessage": F.context_error_message(),
    }
)


class Api(Construct):
    """`RestApi` with stage `prod`; routes come from `wiring.FUNCTIONS[*].routes`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        storage: Storage,
        settings: Settings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, encryption_key=storage.key
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            description="Switchboard REST API (Kustomer v1 compatible)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies carry customer data
                metrics_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
            ),
        )
        self._own_execution_logs(storage, settings)
        # Body and parameter validation apply where a method declares a model or required
        # parameters; the proxy methods declare none, so the functions validate input.
        validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        for spec in wiring.FUNCTIONS:
            if not spec.routes:
                continue
            integration = apigw.LambdaIntegration(functions[spec.name], allow_test_invoke=False)
            for route in spec.routes:
                resource = self.rest_api.root.resource_for_path(route.path.strip("/"))
                method = resource.add_method(
                    route.method,
                    integration,
                    authorization_type=apigw.AuthorizationType.NONE,
                    request_validator=validator,
                )
                self._acknowledge_own_authentication(method)
        self._gateway_responses()
        self._protect(settings)
        self._acknowledge_cloudwatch_role()

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _gateway_responses(self) -> None:
        """API Gateway's own answers (unknown route, body too large, throttled, ...) as JSON:API,
        from the one declaration the local run answers too (`wiring.GATEWAY_RESPONSES`)."""
        for response in wiring.GATEWAY_RESPONSES:
            name = "".join(part.capitalize() for part in response.type.split("_"))
            self.rest_api.add_gateway_response(
                f"Gateway{name}",
                type=apigw.ResponseType.of(response.type),
                status_code=str(response.status),
                templates={"application/json": response.body_template()},
            )

    def _own_execution_logs(self, storage: Storage, settings: Settings) -> None:
        """Create the execution log group before the stage, or API Gateway creates it unbounded."""
        execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=Fn.join(
                "", ["API-Gateway-Execution-Logs_", self.rest_api.rest_api_id, f"/{STAGE_NAME}"]
            ),
            retention=settings.log_retention,
            encryption_key=storage.key,
        )
        self.rest_api.deployment_stage.node.add_dependency(execution_logs)

    def _protect(self, settings: Settings) -> None:
        """Associate the operator's WAF web ACL with the stage when one is configured."""
        if not settings.waf_web_acl_arn:
            acknowledge(
                self.rest_api.deployment_stage,
                "AwsSolutions-APIG3",
                f"WAF is opt-in per deployment via the context key {WAF_ACL_KEY} (an existing web "
                "ACL, often centrally managed); without it the stage is protected by its rate/burst "
                "throttling and by API-key authentication in the functions.",
            )
            return
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=settings.waf_web_acl_arn,
        )

    @staticmethod
    def _acknowledge_own_authentication(method: apigw.Method) -> None:
        acknowledge(
            method,
            "AwsSolutions-APIG4",
            "Kustomer v1 clients send 'Authorization: Bearer <api key>'; the functions authenticate "
            "every request against the hashed keys in the auth table and scope it to the key's org, "
            "so no API Gateway authorizer is attached.",
        )
        acknowledge(
            method,
            "AwsSolutions-COG4",
            "Callers are partner systems holding Switchboard API keys, not Cognito users; the "
            "functions authenticate the Bearer API key themselves.",
        )

    def _acknowledge_cloudwatch_role(self) -> None:
        role = self.rest_api.node.find_child("CloudWatchRole")
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway CloudWatch role (needed for the stage's execution "
            "logs) uses the service's own AmazonAPIGatewayPushToCloudWatchLogs policy, which AWS "
            "maintains for exactly this purpose.",
        )
