"""The local run itself: what `make run` promises a person and a script, checked over HTTP."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from switchboard import wiring

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalRun

pytestmark = pytest.mark.e2e

DEMO_ORG_ID = "000000000000000000000001"


def test_state_file_describes_the_run(local_run: LocalRun) -> None:
    state = json.loads((local_run.state_dir / "local.json").read_text())
    expected = {
        "apiUrl",
        "docsUrl",
        "openapiUrl",
        "apiKey",
        "orgId",
        "awsEndpoint",
        "logsDir",
        "tables",
        "queues",
    }
    assert expected <= set(state)
    assert state["apiUrl"].startswith("http://127.0.0.1:") and state["apiUrl"].endswith("/v1")
    assert state["docsUrl"] == state["apiUrl"] + "/docs"
    assert state["openapiUrl"] == state["apiUrl"] + "/openapi.json"
    assert state["orgId"] == DEMO_ORG_ID
    assert state["awsEndpoint"].startswith("http://127.0.0.1:")
    assert Path(state["logsDir"]) == local_run.state_dir / "logs"
    assert state["tables"] == {table.key: table.local_name for table in wiring.TABLES}
    queue_keys = {q.key for q in wiring.QUEUES} | {q.dlq_key for q in wiring.QUEUES if q.dlq_key}
    assert set(state["queues"]) == queue_keys
    for queue in wiring.QUEUES:
        assert state["queues"][queue.key].startswith(state["awsEndpoint"] + "/")
        assert state["queues"][queue.key].endswith("/" + queue.local_name)


def test_tables_in_moto_match_the_wiring(local_run: LocalRun) -> None:
    """The same keys, indexes, projections and stream as the CDK stack builds from wiring."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=local_run.state["awsEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for table in wiring.TABLES:
        described = client.describe_table(TableName=table.local_name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
        assert keys.get("HASH") == table.partition_key
        assert keys.get("RANGE") == table.sort_key
        indexes = {i["IndexName"]: i for i in described.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {index.name for index in table.indexes}
        for index in table.indexes:
            assert indexes[index.name]["Projection"]["ProjectionType"] == index.projection.value
        stream = described.get("StreamSpecification") or {}
        assert stream.get("StreamViewType") == table.stream


def test_queues_in_moto_match_the_wiring(local_run: LocalRun) -> None:
    """Visibility timeout, retention and redrive to the DLQ, as the CDK stack builds them."""
    client = boto3.client(
        "sqs",
        endpoint_url=local_run.state["awsEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for queue in wiring.QUEUES:
        url = local_run.state["queues"][queue.key]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(attributes["VisibilityTimeout"]) == queue.visibility_timeout_s
        assert int(attributes["MessageRetentionPeriod"]) == queue.retention_s
        if queue.dlq_key:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert int(redrive["maxReceiveCount"]) == queue.max_receive_count
            dlq_url = local_run.state["queues"][queue.dlq_key]
            dlq = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
            assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
        else:
            assert "RedrivePolicy" not in attributes


def test_an_object_change_reaches_the_stream_function(local_run: LocalRun) -> None:
    """The stream poller feeds the events function from the objects table's stream."""
    log_file = local_run.state_dir / "logs" / "events.log"

    def reports() -> int:
        if not log_file.exists():
            return 0
        lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
        return sum(1 for line in lines if line.get("type") == "platform.report")

    before = reports()
    status, _, body = local_run.request("POST", "/customers", {"name": "Streamed"})
    assert status == 201, body
    deadline = time.monotonic() + 15
    while reports() <= before:
        assert time.monotonic() < deadline, "the events function was not invoked"
        time.sleep(0.05)


def test_the_demo_key_is_valid(local_run: LocalRun) -> None:
    status, headers, body = local_run.request("GET", "/users/current")
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    assert body["data"]["type"] == "user"
    assert body["data"]["relationships"]["org"]["data"]["id"] == local_run.org_id


def test_docs_and_openapi_answer(local_run: LocalRun) -> None:
    status, headers, page = local_run.request("GET", local_run.state["docsUrl"], key=None)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "swagger" in page.lower()
    status, _, document = local_run.request("GET", local_run.state["openapiUrl"], key=None)
    assert status == 200
    assert document["openapi"].startswith("3.")
    assert any(path.startswith("/v1/") for path in document["paths"])


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/nope/deeper"), ("GET", "/")])
def test_an_undeclared_route_gets_the_gateway_responses_404(
    local_run: LocalRun, method: str, path: str
) -> None:
    status, headers, body = local_run.request(
        method, local_run.root_url + path, body={} if method == "POST" else None
    )
    assert status == 404
    assert body["errors"] == [
        {"status": "404", "code": "not_found", "title": "Not found", "detail": "no such route"}
    ]
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert headers["content-type"] == "application/json"


def test_a_request_without_a_key_gets_401_json(local_run: LocalRun) -> None:
    status, headers, body = local_run.request("GET", "/users/current", key=None)
    assert status == 401
    assert headers["content-type"].startswith("application/json")
    assert body["errors"][0]["status"] == "401"


def test_a_percent_encoded_lookup_reaches_the_api(local_run: LocalRun) -> None:
    """The path stays percent-encoded through API Gateway; the API decodes the value itself."""
    email = "ann+e2e@example.com"
    status, _, created = local_run.request(
        "POST", "/customers", {"name": "Ann", "emails": [{"type": "home", "email": email}]}
    )
    assert status == 201, created
    status, _, found = local_run.request("GET", "/customers/email=ann%2Be2e%40example.com")
    assert status == 200, found
    assert found["data"]["id"] == created["data"]["id"]


def test_the_function_log_holds_json_lines_for_each_request(local_run: LocalRun) -> None:
    status, headers, _ = local_run.request("GET", "/users/current")
    assert status == 200
    root = headers["x-amzn-trace-id"].split("Root=", 1)[1].split(";")[0]
    log_file = local_run.state_dir / "logs" / "api.log"
    assert log_file.exists()
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    assert lines, "the api function wrote nothing"
    mine = [line for line in lines if line.get("xray_trace_id") == root]
    assert mine, "no Powertools line carries this request's trace id"
    assert mine[0]["service"] == "switchboard-api"
    assert any(line.get("type") == "platform.report" for line in lines)

    entry = local_run.access_log_entry(headers["x-amzn-requestid"])
    assert entry["status"] == 200
    assert entry["resourcePath"] == "/v1/{proxy+}"
    assert entry["path"] == "/v1/users/current"


def test_the_stage_url_form_answers_too(local_run: LocalRun) -> None:
    """`/prod/v1/...` is how the deployed execute-api URL looks; the docs page then calls it."""
    status, _, body = local_run.request("GET", local_run.root_url + "/prod/v1/users/current")
    assert status == 200, body
    status, _, page = local_run.request("GET", local_run.root_url + "/prod/v1/docs", key=None)
    assert status == 200
    assert '"url": "/prod"' in page


def test_ctrl_c_stops_cleanly(tmp_path: Path, launch_local_run: Any) -> None:
    """A second run of its own, stopped with SIGINT as a terminal's Ctrl-C would."""
    launch, stop = launch_local_run
    run = launch(tmp_path)
    try:
        assert (tmp_path / "local.json").exists()
    finally:
        code = stop(run.process, signal.SIGINT)
    output = run.output.read_text()
    assert code == 0, output
    assert "stopped" in output.splitlines()[-1]
    assert "Traceback" not in output
    assert not (tmp_path / "local.json").exists(), "the state file outlived the run"
