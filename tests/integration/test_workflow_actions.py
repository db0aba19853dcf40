"""Workflow actions against moto and a loopback HTTP server: the seed's order import, idempotent
creates under retries, updates that change nothing, REST calls and regex matching."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from switchboard import wiring
from switchboard.adapters.aws import client, wired
from switchboard.adapters.dynamo import DynamoObjectStore
from switchboard.adapters.http_sender import MAX_RESPONSE_BYTES, HttpSender
from switchboard.domain import kinds
from switchboard.domain.service import ObjectService
from switchboard.domain.workflows.definition import ACTION_NAMES, validate_definition
from switchboard.domain.workflows.engine import RunContext, StepContext, WorkflowEngine
from switchboard.domain.workflows.errors import StepError
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.failures import InfrastructureError
from switchboard.pipeline.workflow_actions import build_actions

ORG = "64f1c0ffee00000000000a01"
OTHER_ORG = "64f1c0ffee00000000000b02"
HOOK = "64f1c0ffee0000000000abcd"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def objects(aws: Any) -> ObjectService:
    """Built as services.objects() builds it, on the moto tables of the `aws` fixture."""
    service = ObjectService(DynamoObjectStore(client("dynamodb"), wired(wiring.OBJECTS.env_var)))
    service.create(
        ORG,
        kinds.KLASS,
        {
            "name": "order",
            "metadata": {"properties": {"numberNum": {}, "statusStr": {}, "totalNum": {}}},
        },
    )
    return service


@pytest.fixture
def actions(objects: ObjectService, sender: HttpSender) -> dict[str, Any]:
    return build_actions(objects, sender, allow_private=True)


def no_objects() -> ObjectService:
    """For actions that touch no object (REST, regex): no tables needed."""
    return ObjectService(store=cast(Any, None))


def step(step_id: str = "s1", run_id: str = "run-1", org: str = ORG, visit: int = 1) -> StepContext:
    return StepContext(org=org, run_id=run_id, step_id=step_id, workflow_id="wf", visit=visit)


def item_count(aws: Any) -> int:
    table = wired(wiring.OBJECTS.env_var)
    return aws.scan(TableName=table, Select="COUNT")["Count"]


def test_every_action_of_the_definition_is_built(actions: dict[str, Any]) -> None:
    assert set(actions) == ACTION_NAMES


# -- customers ------------------------------------------------------------------------------------


def test_find_or_create_a_customer(actions: dict[str, Any]) -> None:
    find = actions["kustomer.customer.find-by-email"]
    assert find({"email": "ann@example.com"}, step()) == {}
    assert find({"email": None}, step()) == {}
    created = actions["kustomer.customer.create"](
        {
            "name": "Ann",
            "emails": [{"email": "Ann@Example.com"}],
            "phones": [{"phone": None}],  # missing from the payload: the entry is dropped
            "externalId": "shop-1",
            "company": None,
        },
        step("create"),
    )
    assert len(created["id"]) == 24
    assert created["name"] == "Ann"
    assert created["rev"] == 1
    assert created["createdAt"].endswith("Z")
    assert "phones" not in created or created["phones"] == []
    assert "company" not in created
    assert find({"email": "ANN@example.com"}, step())["id"] == created["id"]
    assert actions["kustomer.customer.find"]({"id": created["id"]}, step())["name"] == "Ann"
    assert actions["kustomer.customer.find"]({"id": {"id": created["id"]}}, step())["id"] == created["id"]
    assert actions["kustomer.customer.find"]({"id": "64f1c0ffee0000000000ffff"}, step()) == {}
    assert actions["kustomer.customer.find"]({"id": "not-an-id"}, step()) == {}
    assert (
        actions["kustomer.customer.find-by-external-id"]({"externalId": "shop-1"}, step())["id"]
        == created["id"]
    )
    assert actions["kustomer.customer.find-by-phone"]({"phone": "+14155550100"}, step()) == {}
    # Tenant isolation: another org finds nothing.
    assert find({"email": "ann@example.com"}, step(org=OTHER_ORG)) == {}


def test_customer_create_errors_are_domain_errors(actions: dict[str, Any]) -> None:
    create = actions["kustomer.customer.create"]
    create({"name": "Ann", "emails": [{"email": "ann@example.com"}]}, step("a"))
    with pytest.raises(Conflict) as taken:
        create({"name": "Other Ann", "emails": [{"email": "ann@example.com"}]}, step("b"))
    assert taken.value.pointer == "/emails"
    with pytest.raises(BadRequest) as bad:
        create({"name": "Bob", "emails": [{"email": "not an email"}]}, step("c"))
    assert bad.value.pointer == "/emails/0/email"
    with pytest.raises(BadRequest):
        create({"name": "Bob", "favouriteColour": "blue"}, step("d"))


def test_customer_update_and_unchanged_updates_write_nothing(actions: dict[str, Any], aws: Any) -> None:
    created = actions["kustomer.customer.create"](
        {"name": "Ann", "custom": {"tierStr": "gold"}}, step("create")
    )
    update = actions["kustomer.customer.update"]
    updated = update({"id": created["id"], "name": "Ann B", "custom": {"vipBool": True}}, step("u1"))
    assert updated["rev"] == 2
    assert updated["name"] == "Ann B"
    assert updated["custom"] == {"tierStr": "gold", "vipBool": True}  # custom merges
    again = update(
        {"id": created["id"], "name": "Ann B", "custom": {"vipBool": True, "tierStr": None}, "company": None},
        step("u2"),
    )
    assert again["rev"] == 2  # nothing changed: nothing written
    assert again["custom"] == {"tierStr": "gold", "vipBool": True}  # nulls never erase
    with pytest.raises(NotFound):
        update({"id": "64f1c0ffee0000000000ffff", "name": "x"}, step("u3"))
    with pytest.raises(BadRequest) as missing:
        update({"name": "x"}, step("u4"))
    assert missing.value.pointer == "/id"


# -- kobjects -------------------------------------------------------------------------------------


def test_create_an_order_on_the_timeline_then_update_it_by_external_id(
    actions: dict[str, Any], objects: ObjectService
) -> None:
    customer = actions["kustomer.customer.create"]({"name": "Ann"}, step("customer"))
    order = actions["kustomer.kobject.create-with-customer"](
        {
            "klass": "order",
            "customer": customer["id"],
            "externalId": "ord-7",
            "title": "Order 7",
            "data": {"items": [{"sku": "A-1"}]},
            "custom": {"numberNum": 7, "statusStr": "placed", "totalNum": None},
        },
        step("order"),
    )
    assert order["customer"] == customer["id"]
    assert len(order["klass"]) == 24
    assert order["custom"] == {"numberNum": 7, "statusStr": "placed"}
    timeline = objects.page(ORG, kinds.kobject_kind("order"), 1, 10, ("customer", customer["id"]))
    assert [r.id for r in timeline.records] == [order["id"]]

    found = actions["kustomer.kobject.find-by-external-id"]({"klass": "order", "externalId": "ord-7"}, step())
    assert found["id"] == order["id"]
    assert (
        actions["kustomer.kobject.find-by-external-id"]({"klass": "order", "externalId": "nope"}, step())
        == {}
    )
    updated = actions["kustomer.kobject.update"](
        {"klass": "order", "id": found["id"], "custom": {"statusStr": "shipped"}, "data": {"items": []}},
        step("update"),
    )
    assert updated["rev"] == 2
    assert updated["custom"] == {"numberNum": 7, "statusStr": "shipped"}
    assert updated["data"] == {"items": []}  # a PUT: data is replaced
    assert updated["customer"] == customer["id"]
    same = actions["kustomer.kobject.update"](
        {"klass": "order", "id": found["id"], "custom": {"statusStr": "shipped"}}, step("update-again")
    )
    assert same["rev"] == 2


def test_kobject_errors(actions: dict[str, Any]) -> None:
    create = actions["kustomer.kobject.create"]
    with pytest.raises(NotFound, match="klass invoice not found"):
        create({"klass": "invoice", "title": "x"}, step("a"))
    with pytest.raises(BadRequest) as no_title:
        create({"klass": "order", "title": None}, step("b"))
    assert no_title.value.pointer == "/title"
    with pytest.raises(BadRequest) as undeclared:
        create({"klass": "order", "title": "x", "custom": {"colourStr": "red"}}, step("c"))
    assert undeclared.value.pointer == "/custom/colourStr"
    with pytest.raises(BadRequest) as no_customer:
        actions["kustomer.kobject.create-with-customer"]({"klass": "order", "title": "x"}, step("d"))
    assert no_customer.value.pointer == "/customer"
    with pytest.raises(BadRequest) as ghost:
        create({"klass": "order", "title": "x", "customer": "64f1c0ffee0000000000ffff"}, step("e"))
    assert ghost.value.pointer == "/customer"
    unlinked = create({"klass": "order", "title": "loose"}, step("f"))
    assert "customer" not in unlinked


# -- idempotency ----------------------------------------------------------------------------------


def test_a_create_retried_with_the_same_run_and_step_returns_the_same_object(
    actions: dict[str, Any], aws: Any
) -> None:
    create = actions["kustomer.kobject.create"]
    params = {"klass": "order", "title": "Order 8", "externalId": "ord-8"}
    first = create(params, step("order", run_id="run-A"))
    count = item_count(aws)
    again = create(copy.deepcopy(params), step("order", run_id="run-A"))
    assert again == first
    assert item_count(aws) == count  # nothing new written
    # The same step of another run is another creation (here refused: the externalId is taken).
    with pytest.raises(Conflict):
        create(params, step("order", run_id="run-B"))
    # A loop's second visit of the step is a creation of its own.
    other = create({"klass": "order", "title": "Order 9"}, step("order", run_id="run-A", visit=2))
    assert other["id"] != first["id"]


def test_retried_creates_without_identifiers_are_idempotent_too(actions: dict[str, Any], aws: Any) -> None:
    customer = actions["kustomer.customer.create"]({"name": "No identifiers"}, step("c", run_id="run-C"))
    count = item_count(aws)
    assert (
        actions["kustomer.customer.create"]({"name": "No identifiers"}, step("c", run_id="run-C")) == customer
    )
    conversation = actions["kustomer.conversation.create"](
        {"customer": customer["id"], "name": "Order question"}, step("conv", run_id="run-C")
    )
    assert conversation["customer"] == customer["id"]
    assert (
        actions["kustomer.conversation.create"](
            {"customer": customer["id"], "name": "Order question"}, step("conv", run_id="run-C")
        )
        == conversation
    )
    assert item_count(aws) == count + 2  # the conversation and its guard


def test_conversations_and_messages(actions: dict[str, Any], aws: Any) -> None:
    customer = actions["kustomer.customer.create"]({"name": "Ann"}, step("c"))
    opened = actions["kustomer.message.create"](
        {"customer": customer["id"], "channel": "email", "direction": "in", "body": "Where is my order?"},
        step("m1"),
    )
    assert opened["customer"] == customer["id"]
    assert len(opened["conversation"]) == 24
    count = item_count(aws)
    retried = actions["kustomer.message.create"](
        {"customer": customer["id"], "channel": "email", "direction": "in", "body": "Where is my order?"},
        step("m1"),
    )
    assert retried["id"] == opened["id"]
    assert item_count(aws) == count  # neither a second message nor a second conversation
    reply = actions["kustomer.message.create"](
        {"conversation": opened["conversation"], "channel": "email", "direction": "out", "body": "Shipped"},
        step("m2"),
    )
    assert reply["conversation"] == opened["conversation"]
    assert reply["customer"] == customer["id"]
    with pytest.raises(BadRequest) as nowhere:
        actions["kustomer.message.create"]({"channel": "email", "body": "?"}, step("m3"))
    assert nowhere.value.pointer == "/conversation"
    done = actions["kustomer.conversation.update"](
        {"id": opened["conversation"], "status": "done"}, step("u")
    )
    assert done["status"] == "done"
    assert done["rev"] == 2


def order_import() -> dict[str, Any]:
    """The seed's import: find or create the customer, then create or update the order."""
    return {
        "name": "order-import",
        "trigger": {
            "id": "1",
            "eventName": f"kustomer.hooks.web.{HOOK}.receive",
            "transitions": [{"target": "findCustomer", "condition": {"op": "true", "values": [True]}}],
        },
        "steps": [
            {
                "id": "findCustomer",
                "action": "kustomer.customer.find-by-email",
                "params": {"email": "/#steps.1.attributes.data.customer.email"},
                "transitions": [
                    {
                        "target": "findOrder",
                        "condition": {"op": "exists", "values": ["/#steps.findCustomer.id"]},
                    },
                    {"target": "createCustomer", "condition": {"op": "true", "values": [True]}},
                ],
            },
            {
                "id": "createCustomer",
                "action": "kustomer.customer.create",
                "params": {
                    "name": "{{{steps.1.attributes.data.customer.name}}}",
                    "emails": [{"email": "/#steps.1.attributes.data.customer.email"}],
                },
                "transitions": [{"target": "findOrder"}],
            },
            {
                "id": "findOrder",
                "action": "kustomer.kobject.find-by-external-id",
                "params": {"klass": "order", "externalId": "/#fn:toString,steps.1.attributes.data.id"},
                "transitions": [
                    {
                        "target": "updateOrder",
                        "condition": {"op": "exists", "values": ["/#steps.findOrder.id"]},
                    },
                    {"target": "createOrder"},
                ],
            },
            {
                "id": "createOrder",
                "action": "kustomer.kobject.create",
                "params": {
                    "klass": "order",
                    "customer": "/#fn:default,steps.findCustomer.id,steps.createCustomer.id",
                    "externalId": "/#fn:toString,steps.1.attributes.data.id",
                    "title": "Order {{{steps.1.attributes.data.number}}}",
                    "custom": {
                        "numberNum": "/#steps.1.attributes.data.number",
                        "statusStr": "/#steps.1.attributes.data.status",
                        "totalNum": "/#fn:parseFloat,steps.1.attributes.data.total",
                    },
                },
            },
            {
                "id": "updateOrder",
                "action": "kustomer.kobject.update",
                "params": {
                    "klass": "order",
                    "id": "/#steps.findOrder.id",
                    "custom": {"statusStr": "/#steps.1.attributes.data.status"},
                },
            },
        ],
    }


def hook_payload(status: str) -> dict[str, Any]:
    return {
        "id": "tx",
        "type": "hook_transaction",
        "attributes": {
            "data": {
                "id": 1042,
                "number": 1042,
                "status": status,
                "total": "99.90",
                "customer": {"email": "ann@example.com", "name": "Ann"},
            }
        },
    }


def test_the_order_import_creates_then_updates(actions: dict[str, Any], objects: ObjectService) -> None:
    engine = WorkflowEngine(actions)
    workflow = validate_definition(order_import())
    first = engine.run(workflow, hook_payload("placed"), RunContext(ORG, "run-1", "wf"))
    assert first.status == "succeeded", first.to_dict()
    assert [s.id for s in first.steps] == ["findCustomer", "createCustomer", "findOrder", "createOrder"]
    order = first.steps[-1].output
    assert order["custom"] == {"numberNum": 1042, "statusStr": "placed", "totalNum": 99.9}
    assert order["customer"] == first.steps[1].output["id"]

    second = engine.run(workflow, hook_payload("shipped"), RunContext(ORG, "run-2", "wf"))
    assert second.status == "succeeded", second.to_dict()
    assert [s.id for s in second.steps] == ["findCustomer", "findOrder", "updateOrder"]
    assert second.steps[-1].output["custom"]["statusStr"] == "shipped"
    assert second.steps[-1].output["id"] == order["id"]
    json.dumps(second.to_dict())


def test_a_run_retried_after_a_crash_creates_nothing_twice(
    actions: dict[str, Any], objects: ObjectService, aws: Any
) -> None:
    """The order is written, then the container dies before the run is recorded; the retried
    run starts again from the first step with the same run id."""
    crashing = dict(actions)
    create_order = actions["kustomer.kobject.create"]

    def create_then_crash(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        create_order(params, ctx)
        raise InfrastructureError("the container was stopped")  # as a crash, the run does not finish

    crashing["kustomer.kobject.create"] = create_then_crash
    workflow = validate_definition(order_import())
    with pytest.raises(RuntimeError):
        WorkflowEngine(crashing).run(workflow, hook_payload("placed"), RunContext(ORG, "run-1", "wf"))
    count = item_count(aws)
    retried = WorkflowEngine(actions).run(workflow, hook_payload("placed"), RunContext(ORG, "run-1", "wf"))
    # The customer now exists, so the retry finds it; the order exists too, so it is updated,
    # and since nothing changed nothing is written.
    assert [s.id for s in retried.steps] == ["findCustomer", "findOrder", "updateOrder"]
    assert retried.steps[-1].output["rev"] == 1
    assert item_count(aws) == count
    orders = objects.page(ORG, kinds.kobject_kind("order"), 1, 10)
    assert orders.total == 1


# -- REST -----------------------------------------------------------------------------------------


class Remote:
    """A loopback JSON server: `routes` maps a path to (status, body bytes, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        remote = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                remote.seen.append((self.command, self.path, dict(self.headers.items()), body))
                status, payload, headers = remote.routes.get(self.path.split("?")[0], (404, b"{}", {}))
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_rest_returns_a_single_object(remote: Remote, rest: Callable[..., dict[str, Any]]) -> None:
    remote.routes["/customers/1"] = (200, b'{"id": 1, "plan": {"name": "gold"}}', {"X-Trace": "t1"})
    output = rest(
        {
            "method": "get",
            "uri": remote.url("/customers/1?email=ann%40example.com"),
            "headers": {"Authorization": "Bearer secret", "X-Empty": None},
        }
    )
    assert output["body"] == {"id": 1, "plan": {"name": "gold"}}
    assert output["response"]["statusCode"] == 200
    assert output["response"]["headers"]["x-trace"] == "t1"
    assert output["response"]["body"] == output["body"]
    method, path, headers, body = remote.seen[0]
    assert (method, path, body) == ("GET", "/customers/1?email=ann%40example.com", b"")
    assert headers["Authorization"] == "Bearer secret"
    assert headers["Accept"] == "application/json"
    assert "Content-Length" not in headers
    assert "X-Empty" not in headers


def test_rest_sends_data_as_json(remote: Remote, rest: Callable[..., dict[str, Any]]) -> None:
    remote.routes["/orders"] = (201, b'{"ok": true}', {})
    output = rest(
        {
            "method": "POST",
            "uri": remote.url("/orders"),
            "headers": [{"name": "X-Source", "value": "switchboard"}],
            "data": {"number": 7, "name": "Zoë"},
        }
    )
    assert output["body"] == {"ok": True}
    method, _, headers, body = remote.seen[0]
    assert method == "POST"
    assert json.loads(body) == {"number": 7, "name": "Zoë"}
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Source"] == "switchboard"
    for verb in ("PUT", "PATCH", "DELETE"):
        rest({"method": verb, "uri": remote.url("/orders"), "data": {"n": 1}})
    assert [seen[0] for seen in remote.seen] == ["POST", "PUT", "PATCH", "DELETE"]


def test_an_array_is_a_step_error(remote: Remote, rest: Callable[..., dict[str, Any]]) -> None:
    remote.routes["/orders"] = (200, b'[{"id": 1}, {"id": 2}]', {})
    with pytest.raises(StepError, match="cannot iterate over an array") as caught:
        rest({"method": "GET", "uri": remote.url("/orders")})
    assert caught.value.status == 200


def test_non_2xx_and_bad_bodies_are_step_errors(remote: Remote, rest: Callable[..., dict[str, Any]]) -> None:
    remote.routes["/missing"] = (404, b'{"error": "no such order"}', {})
    with pytest.raises(StepError) as missing:
        rest({"uri": remote.url("/missing?token=abc")})
    assert missing.value.status == 404
    assert missing.value.to_error()["response"]["body"] == {"error": "no such order"}
    assert "token" not in missing.value.message  # query strings may hold credentials
    remote.routes["/html"] = (200, b"<html></html>", {"Content-Type": "text/html"})
    with pytest.raises(StepError, match="not JSON"):
        rest({"uri": remote.url("/html")})
    remote.routes["/moved"] = (302, b"", {"Location": "http://169.254.169.254/"})
    with pytest.raises(StepError, match="redirect not followed") as moved:
        rest({"uri": remote.url("/moved")})
    assert moved.value.status == 302
    remote.routes["/empty"] = (204, b"", {})
    assert rest({"method": "DELETE", "uri": remote.url("/empty")})["body"] == {}


def test_rest_params_are_checked(rest: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(StepError, match="uri is required"):
        rest({"method": "GET"})
    with pytest.raises(StepError, match="method must be one of"):
        rest({"method": "TRACE", "uri": "https://api.example.com/"})
    with pytest.raises(StepError, match="headers must be"):
        rest({"uri": "https://api.example.com/", "headers": "X-A: 1"})


def test_loopback_is_refused_unless_private_addresses_are_allowed(remote: Remote) -> None:
    remote.routes["/ok"] = (200, b"{}", {})
    with HttpSender(allow_private=False) as strict:
        action = build_actions(no_objects(), strict, allow_private=False)["kustomer.rest-api.json"]
        for uri in (remote.url("/ok"), f"https://127.0.0.1:{remote.port}/ok", "https://localhost/ok"):
            with pytest.raises(StepError, match="refused"):
                action({"uri": uri}, step())
        with pytest.raises(StepError, match="refused"):
            action({"uri": "https://169.254.169.254/latest/meta-data"}, step())
    assert remote.seen == []
    # The sender's own policy holds even if the action's check were lifted.
    with HttpSender(allow_private=False) as strict:
        lax = build_actions(no_objects(), strict, allow_private=True)["kustomer.rest-api.json"]
        with pytest.raises(StepError, match="refused"):
            lax({"uri": remote.url("/ok")}, step())
    assert remote.seen == []


def test_rest_credentials_stay_out_of_the_run_log(
    remote: Remote, objects: ObjectService, sender: HttpSender
) -> None:
    remote.routes["/me"] = (200, b'{"id": "me"}', {})
    workflow = validate_definition(
        {
            "name": "pull",
            "trigger": {
                "id": "1",
                "eventName": "kustomer.conversation.create",
                "transitions": [{"target": "get"}],
            },
            "steps": [
                {
                    "id": "get",
                    "action": "kustomer.rest-api.json",
                    "params": {
                        "uri": remote.url("/me"),
                        "headers": {"Authorization": "Bearer s3cr3t", "X-Api-Key": "k", "X-Plain": "p"},
                    },
                }
            ],
        }
    )
    engine = WorkflowEngine(build_actions(objects, sender, allow_private=True))
    result = engine.run(workflow, {"id": "c1"}, RunContext(ORG, "run-r", "wf"))
    assert result.status == "succeeded"
    logged = json.dumps(result.to_dict())
    assert "s3cr3t" not in logged
    assert result.steps[0].input["headers"] == {
        "Authorization": "[redacted]",
        "X-Api-Key": "[redacted]",
        "X-Plain": "p",
    }
    assert remote.seen[0][2]["Authorization"] == "Bearer s3cr3t"


def test_request_reads_at_most_one_megabyte(remote: Remote, sender: HttpSender) -> None:
    remote.routes["/big"] = (200, b"x" * (MAX_RESPONSE_BYTES + 10), {})
    response = sender.request("GET", remote.url("/big"), {}, None, 5.0)
    assert response.status == 200
    assert response.truncated is True
    assert len(response.body) == MAX_RESPONSE_BYTES
    remote.routes["/exact"] = (200, b"y" * MAX_RESPONSE_BYTES, {})
    exact = sender.request("GET", remote.url("/exact"), {}, None, 5.0)
    assert exact.ok and not exact.truncated and len(exact.body) == MAX_RESPONSE_BYTES
    with pytest.raises(ValueError, match="unsupported HTTP method"):
        sender.request("TRACE", remote.url("/exact"), {}, None, 5.0)
    action = build_actions(no_objects(), sender, allow_private=True)["kustomer.rest-api.json"]
    with pytest.raises(StepError, match="larger than 1 MB"):
        action({"uri": remote.url("/big")}, step())


# -- regex ----------------------------------------------------------------------------------------


@pytest.fixture
def regex() -> Callable[..., dict[str, Any]]:
    action = build_actions(no_objects(), HttpSender(), allow_private=False)["kustomer.regex-match.generic"]
    return lambda params: action(params, step("re"))


def test_regex_match(regex: Callable[..., dict[str, Any]]) -> None:
    found = regex({"testString": "Order #1042 shipped", "regex": r"#(?<number>\d+)"})
    assert found == {"match": "#1042", "matched": True, "groups": ["1042"], "namedGroups": {"number": "1042"}}
    assert regex({"testString": "no digits", "regex": r"\d+"}) == {
        "match": None,
        "matched": False,
        "groups": [],
        "namedGroups": {},
    }
    assert regex({"testString": "ABC", "regex": "abc", "flags": "i"})["match"] == "ABC"
    assert regex({"testString": None, "regex": "^$"})["matched"] is True
    assert regex({"testString": 1042, "regex": r"^\d+$"})["match"] == "1042"


def test_bad_regex_params(regex: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(StepError, match="invalid regex"):
        regex({"testString": "x", "regex": "(unclosed"})
    with pytest.raises(StepError, match="regex is required"):
        regex({"testString": "x"})
    with pytest.raises(StepError, match="longer than"):
        regex({"testString": "a" * 20_001, "regex": "a"})
    with pytest.raises(StepError, match="unknown regex flag"):
        regex({"testString": "x", "regex": "x", "flags": "q"})


def test_a_catastrophic_regex_fails_the_step_instead_of_hanging(regex: Callable[..., dict[str, Any]]) -> None:
    started = time.monotonic()
    with pytest.raises(StepError, match="took longer than"):
        regex({"testString": "a" * 40 + "!", "regex": r"^(a+)+$"})
    assert time.monotonic() - started < 5
    assert regex({"testString": "aaa", "regex": r"^(a+)+$"})["matched"] is True  # fine on small input
