"""Which exceptions are infrastructure trouble (the message is retried) and which are not (the
run records the step's error and the message is done)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError as BotoClientError
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from switchboard.domain.workflows.definition import validate_definition
from switchboard.domain.workflows.engine import RunContext, WorkflowEngine
from switchboard.domain.workflows.errors import StepError
from switchboard.errors import BadRequest
from switchboard.failures import InfrastructureError, is_infrastructure


def client_error(code: str, status: int = 400, **extra: Any) -> BotoClientError:
    response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return BotoClientError({**response, **extra}, "TransactWriteItems")


def cancelled(*reasons: str) -> BotoClientError:
    return client_error("TransactionCanceledException", CancellationReasons=[{"Code": r} for r in reasons])


INFRASTRUCTURE = [
    client_error("ThrottlingException"),
    client_error("ProvisionedThroughputExceededException"),
    client_error("RequestLimitExceeded"),
    client_error("TooManyRequestsException", 429),
    client_error("InternalServerError", 500),
    client_error("ServiceUnavailable", 503),
    client_error("SomethingNew", 502),
    client_error("AccessDeniedException"),
    client_error("ResourceNotFoundException"),
    cancelled("None", "ThrottlingError"),
    cancelled("TransactionConflict", "None"),
    EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://sqs.eu-west-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    NoCredentialsError(),
    InfrastructureError("DynamoDB kept keys unprocessed"),
]

NOT_INFRASTRUCTURE = [
    client_error("ConditionalCheckFailedException"),
    client_error("ValidationException"),
    client_error("ItemCollectionSizeLimitExceededException"),
    cancelled("ConditionalCheckFailed", "None"),
    cancelled("ConditionalCheckFailed", "ThrottlingError"),  # the condition decided it
    cancelled("ValidationError"),
    ParamValidationError(report="Invalid length for parameter Key"),
    OverflowError("date value out of range"),
    ValueError("bad"),
    TypeError("unsupported operand"),
    KeyError("id"),
    RecursionError("too deep"),
    RuntimeError("a bug"),
    TimeoutError("a partner took too long"),  # not AWS: botocore wraps its own timeouts
    ConnectionError("a partner hung up"),
    BadRequest("no", "/x"),
    StepError("no"),
]


@pytest.mark.parametrize("exc", INFRASTRUCTURE, ids=repr)
def test_aws_trouble_is_infrastructure(exc: Exception) -> None:
    assert is_infrastructure(exc)


@pytest.mark.parametrize("exc", NOT_INFRASTRUCTURE, ids=repr)
def test_everything_else_is_not(exc: Exception) -> None:
    assert not is_infrastructure(exc)


def test_an_answer_without_metadata_is_judged_by_its_code() -> None:
    assert not is_infrastructure(BotoClientError({}, "GetItem"))
    assert is_infrastructure(BotoClientError({"Error": {"Code": "SlowDown"}}, "GetItem"))


ONE_STEP = {
    "name": "one step",
    "trigger": {
        "id": "1",
        "eventName": "kustomer.workflow.call",
        "transitions": [{"target": "act", "condition": {"op": "true", "values": [True]}}],
    },
    "steps": [
        {
            "id": "act",
            "action": "kustomer.customer.create",
            "params": {"name": "x"},
            "transitions": [],
            "errorCases": [
                {"target": "handled", "condition": {"op": "eq", "values": ["/#steps.act.error.status", 500]}}
            ],
        },
        {"id": "handled", "action": "kustomer.customer.update", "params": {}, "transitions": []},
    ],
}
RUN = RunContext(org="org1", run_id="run1", workflow_id="wf1")


def engine_raising(exc: Exception) -> WorkflowEngine:
    def fail(params: dict[str, Any], step: Any) -> dict[str, Any]:
        raise exc

    return WorkflowEngine(
        {"kustomer.customer.create": fail, "kustomer.customer.update": lambda p, s: {"ok": True}},
        clock=lambda: 1_700_000_000.0,
    )


@pytest.mark.parametrize(
    "exc", [OverflowError("date value out of range"), client_error("ValidationException")]
)
def test_an_unexpected_exception_is_the_steps_error_and_error_cases_see_it(exc: Exception) -> None:
    result = engine_raising(exc).run(validate_definition(ONE_STEP), {"id": "c1"}, RUN)
    assert result.status == "succeeded"  # the errorCase handled it
    error = result.steps[0].error
    assert error["status"] == 500 and error["code"] == "internal_error"
    assert type(exc).__name__ in error["message"]
    assert str(exc) not in error["message"]
    assert [s.id for s in result.steps] == ["act", "handled"]


def test_without_an_error_case_the_run_fails_with_the_steps_error() -> None:
    body = {**ONE_STEP, "steps": [{**ONE_STEP["steps"][0], "errorCases": []}]}
    result = engine_raising(TypeError("boom")).run(validate_definition(body), {"id": "c1"}, RUN)
    assert result.status == "failed"
    assert result.error["step"] == "act" and result.error["code"] == "internal_error"
    assert "boom" not in str(result.to_dict())


@pytest.mark.parametrize("exc", INFRASTRUCTURE[:3], ids=repr)
def test_infrastructure_trouble_propagates_for_a_retry(exc: Exception) -> None:
    with pytest.raises(type(exc)):
        engine_raising(exc).run(validate_definition(ONE_STEP), {"id": "c1"}, RUN)


def test_a_condition_that_raises_fails_the_run_instead_of_propagating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from switchboard.domain.workflows import conditions

    def broken(*args: Any) -> bool:
        raise ArithmeticError("no")

    monkeypatch.setattr(conditions, "evaluate", broken)
    result = engine_raising(ValueError()).run(validate_definition(ONE_STEP), {"id": "c1"}, RUN)
    assert result.status == "failed"
    assert result.error["step"] == "1" and result.error["code"] == "internal_error"
    assert result.steps == []
