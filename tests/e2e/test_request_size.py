"""Bodies too large for the API and for Lambda: 413, never 502 (over 10 MB: unit/test_apigw_event.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalRun

pytestmark = pytest.mark.e2e

MB = 1024 * 1024


def padded(size: int) -> bytes:
    """A JSON customer body of `size` bytes."""
    head = b'{"name": "Big", "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_a_body_over_the_api_limit_gets_the_functions_json_api_413(local_run: LocalRun) -> None:
    status, headers, body = local_run.request(
        "POST", "/customers", raw=padded(1 * MB), headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    assert body["errors"][0]["status"] == "413"


@pytest.mark.parametrize("size", [6 * MB + 1024, 9 * MB])
def test_a_body_over_lambdas_6_mb_gets_api_gateways_413(local_run: LocalRun, size: int) -> None:
    """Lambda refuses the invocation; a deployed REST API answers its REQUEST_TOO_LARGE gateway
    response (413 `payload_too_large`), not 502."""
    status, headers, body = local_run.request(
        "POST", "/customers", raw=padded(size), headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert body["errors"][0]["code"] == "payload_too_large"
    assert headers["x-amzn-errortype"] == "BadRequestException"
    logged = local_run.access_log_entry(headers["x-amzn-requestid"])
    assert logged["status"] == 413 and logged["integrationStatus"] == 413
