"""The REST API against moto: Kustomer's wire format, identifiers, revisions and bad input."""

from __future__ import annotations

import pytest

from tests.integration.conftest import ApiClient, org_client


def make_customer(api: ApiClient, **attributes) -> dict:
    reply = api.post("/v1/customers", {"name": "Jane Doe", **attributes})
    assert reply.status == 201, reply.json
    return reply.json["data"]


def make_order_klass(api: ApiClient) -> dict:
    reply = api.post(
        "/v1/klasses",
        {
            "name": "order",
            "displayName": "Order",
            "icon": "cart",
            "metadata": {
                "properties": {
                    "orderNumberStr": {"displayName": "Order number"},
                    "statusStr": {},
                    "totalNum": {},
                    "placedAt": {},
                }
            },
        },
    )
    assert reply.status == 201, reply.json
    return reply.json["data"]


def test_seed_order_system_path(api: ApiClient) -> None:
    assert api.get("/v1/customers/email=jane%40example.com").status == 404
    customer = make_customer(
        api,
        emails=[{"type": "home", "email": "jane@example.com"}],
        phones=[{"phone": "+1 415 555 0100"}],
        externalId="shop-42",
    )
    assert customer["type"] == "customer" and len(customer["id"]) == 24
    assert customer["attributes"]["rev"] == 1
    assert customer["attributes"]["createdAt"].endswith("Z")
    assert customer["relationships"]["org"]["data"]["id"] == api.org
    assert customer["links"]["self"] == f"/v1/customers/{customer['id']}"

    make_order_klass(api)
    order = api.post(
        f"/v1/customers/{customer['id']}/klasses/order",
        {
            "title": "Order #1001",
            "externalId": "order-1001",
            "custom": {
                "orderNumberStr": "1001",
                "statusStr": "placed",
                "totalNum": 59.9,
                "placedAt": "2025-03-21T20:23:52Z",
            },
            "data": {"lineItems": [{"sku": "A-1", "qty": 2}], "shipments": []},
        },
    )
    assert order.status == 201, order.json
    order_id = order.json["data"]["id"]
    assert order.json["data"]["type"] == "kobject.order"
    assert order.json["data"]["relationships"]["customer"]["data"]["id"] == customer["id"]

    found = api.get("/v1/klasses/order", query={"externalId": "order-1001"})
    assert found.status == 200 and found.json["data"]["id"] == order_id
    assert api.get("/v1/klasses/order/externalId=order-1001").json["data"]["id"] == order_id

    updated = api.put(f"/v1/klasses/order/{order_id}", {"custom": {"statusStr": "shipped"}})
    assert updated.status == 200
    assert updated.json["data"]["attributes"]["rev"] == 2
    assert updated.json["data"]["attributes"]["custom"]["statusStr"] == "shipped"
    assert updated.json["data"]["attributes"]["custom"]["orderNumberStr"] == "1001"

    assert api.get("/v1/customers/phone=%2B14155550100").json["data"]["id"] == customer["id"]
    assert api.get("/v1/customers/phone=+14155550100").json["data"]["id"] == customer["id"]
    assert api.get("/v1/customers/externalId=shop-42").json["data"]["id"] == customer["id"]
    assert api.get("/v1/customers/email=JANE@example.com").json["data"]["id"] == customer["id"]


def test_identifiers_are_unique_per_org(api: ApiClient, other: ApiClient) -> None:
    make_customer(
        api, emails=[{"email": "a@example.com"}], phones=[{"phone": "+14155550101"}], externalId="x1"
    )
    for attributes, pointer in (
        ({"emails": [{"email": "A@EXAMPLE.COM"}]}, "/emails"),
        ({"phones": [{"phone": "+1 415-555-0101"}]}, "/phones"),
        ({"externalId": "x1"}, "/externalId"),
    ):
        reply = api.post("/v1/customers", {"name": "Twin", **attributes})
        assert reply.status == 409, attributes
        assert reply.json["errors"][0]["source"]["pointer"] == pointer
    # Another org may hold the same identifiers.
    assert other.post("/v1/customers", {"emails": [{"email": "a@example.com"}]}).status == 201
    # Nothing half-written: the refused customers left no guard or object behind.
    assert api.get("/v1/customers").json["meta"]["total"] == 1


def test_update_moves_identifiers_and_frees_old_ones(api: ApiClient) -> None:
    first = make_customer(api, emails=[{"email": "old@example.com"}])
    second = make_customer(api, emails=[{"email": "taken@example.com"}])
    reply = api.patch(f"/v1/customers/{first['id']}", {"emails": [{"email": "taken@example.com"}]})
    assert reply.status == 409
    assert api.get(f"/v1/customers/{first['id']}").json["data"]["attributes"]["rev"] == 1
    moved = api.patch(f"/v1/customers/{first['id']}", {"emails": [{"email": "new@example.com"}]})
    assert moved.status == 200 and moved.json["data"]["attributes"]["rev"] == 2
    assert api.get("/v1/customers/email=old@example.com").status == 404
    assert make_customer(api, emails=[{"email": "old@example.com"}])["id"] not in (first["id"], second["id"])


def test_put_replaces_patch_merges_and_null_removes(api: ApiClient) -> None:
    make_order_klass(api)
    order = api.post(
        "/v1/klasses/order", {"title": "T", "data": {"a": 1, "b": 2}, "custom": {"statusStr": "x"}}
    )
    assert order.status == 201
    path = f"/v1/klasses/order/{order.json['data']['id']}"
    patched = api.patch(path, {"data": {"b": 3, "c": 4}, "description": "d"}).json["data"]["attributes"]
    assert patched["data"] == {"a": 1, "b": 3, "c": 4} and patched["description"] == "d"
    put = api.put(path, {"data": {"z": 1}, "description": None, "custom": {"totalNum": 5}}).json["data"][
        "attributes"
    ]
    assert put["data"] == {"z": 1} and "description" not in put
    assert put["custom"] == {"statusStr": "x", "totalNum": 5}
    assert put["rev"] == 3


def test_stale_rev_is_a_conflict(api: ApiClient) -> None:
    customer = make_customer(api)
    path = f"/v1/customers/{customer['id']}"
    assert api.put(path, {"name": "B", "rev": 1}).status == 200
    reply = api.put(path, {"name": "C", "rev": 1})
    assert reply.status == 409 and reply.json["errors"][0]["source"]["pointer"] == "/rev"


def test_lists_page_newest_first_with_kustomer_links(api: ApiClient) -> None:
    ids = [make_customer(api, name=f"c{i}")["id"] for i in range(5)]
    first = api.get("/v1/customers", query={"pageSize": "2"}).json
    assert first["meta"] == {"pageSize": 2, "page": 1, "total": 5, "totalPages": 3}
    assert [c["id"] for c in first["data"]] == ids[::-1][:2]
    assert first["links"]["prev"] is None
    assert first["links"]["next"] == "/v1/customers?page=2&pageSize=2"
    last = api.get("/v1/customers", query={"page": "3", "pageSize": "2"}).json
    assert [c["id"] for c in last["data"]] == [ids[0]] and last["links"]["next"] is None
    assert api.get("/v1/customers", query={"page": "4", "pageSize": "2"}).json["data"] == []
    api.patch(f"/v1/customers/{ids[0]}", {"name": "touched"})
    assert api.get("/v1/customers", query={"pageSize": "1"}).json["data"][0]["id"] == ids[0]
    assert api.get("/v1/customers", query={"pageSize": "1000"}).json["meta"]["pageSize"] == 100


def test_kobjects_of_a_customer_and_klass_rules(api: ApiClient) -> None:
    klass = make_order_klass(api)
    customer = make_customer(api)
    other_customer = make_customer(api, name="Other")
    for who in (customer, customer, other_customer):
        assert api.post(f"/v1/customers/{who['id']}/klasses/order", {"title": "o"}).status == 201
    listed = api.get(f"/v1/customers/{customer['id']}/klasses/order").json
    assert listed["meta"]["total"] == 2
    assert api.get("/v1/klasses/order").json["meta"]["total"] == 3
    assert api.get(f"/v1/klasses/{klass['id']}").json["data"]["attributes"]["name"] == "order"
    bad = api.post("/v1/klasses/order", {"title": "o", "custom": {"colorStr": "red"}})
    assert bad.status == 400 and bad.json["errors"][0]["source"]["pointer"] == "/custom/colorStr"
    assert api.post("/v1/klasses/order", {"description": "no title"}).status == 400
    assert api.post("/v1/klasses/nope", {"title": "o"}).status == 404
    assert api.post("/v1/klasses", {"name": "order"}).status == 409
    assert api.put(f"/v1/klasses/{klass['id']}", {"name": "renamed"}).status == 400
    assert api.delete(f"/v1/klasses/{klass['id']}").status == 409
    assert api.post("/v1/klasses/order", {"title": "dup", "externalId": "e1"}).status == 201
    assert api.post("/v1/klasses/order", {"title": "dup", "externalId": "e1"}).status == 409


def test_conversations_and_messages(api: ApiClient) -> None:
    customer = make_customer(api)
    message = api.post(
        f"/v1/customers/{customer['id']}/messages",
        {"channel": "email", "direction": "in", "preview": "Where is my order?"},
    )
    assert message.status == 201, message.json
    conversation_id = message.json["data"]["relationships"]["conversation"]["data"]["id"]
    conversation = api.get(f"/v1/conversations/{conversation_id}").json["data"]
    assert conversation["relationships"]["customer"]["data"]["id"] == customer["id"]
    reply = api.post(
        f"/v1/conversations/{conversation_id}/messages", {"channel": "email", "direction": "out"}
    )
    assert reply.json["data"]["relationships"]["customer"]["data"]["id"] == customer["id"]
    assert api.get(f"/v1/conversations/{conversation_id}/messages").json["meta"]["total"] == 2
    direct = api.post("/v1/conversations", {"customer": customer["id"], "name": "Refund", "priority": 2})
    assert direct.status == 201
    assert api.get(f"/v1/customers/{customer['id']}/conversations").json["meta"]["total"] == 2
    assert (
        api.patch(f"/v1/conversations/{direct.json['data']['id']}", {"status": "done"}).json["data"][
            "attributes"
        ]["status"]
        == "done"
    )
    assert api.post("/v1/conversations", {"name": "orphan"}).status == 400
    assert api.post("/v1/conversations", {"customer": "0" * 24}).status == 400
    assert api.post("/v1/conversations", {"customer": customer["id"], "priority": 9}).status == 400
    assert api.post("/v1/messages", {"channel": "sms"}).status == 400


def test_users_teams_tags(api: ApiClient) -> None:
    user = api.post("/v1/users", {"name": "Agent", "email": "agent@example.com"})
    assert user.status == 201
    assert api.post("/v1/users", {"name": "Twin", "email": "AGENT@example.com"}).status == 409
    team = api.post("/v1/teams", {"name": "Tier 1", "members": [user.json["data"]["id"]]})
    assert team.status == 201
    assert api.post("/v1/tags", {"name": "vip", "color": "#ff0000"}).status == 201
    assert api.post("/v1/tags", {"name": "vip"}).status == 409
    assert api.get("/v1/users", query={"pageSize": "500"}).json["meta"]["pageSize"] == 500
    assert api.get("/v1/teams/name=Tier 1").json["data"]["id"] == team.json["data"]["id"]


@pytest.mark.parametrize(
    ("raw", "status", "pointer"),
    [
        ("{not json", 400, ""),
        ('["a list"]', 400, ""),
        ('{"name": 5}', 400, "/name"),
        ('{"emails": [{"email": "nope"}]}', 400, "/emails/0/email"),
        ('{"custom": {"vipBool": "yes"}}', 400, "/custom/vipBool"),
        ('{"birthdayAt": "tomorrow"}', 400, "/birthdayAt"),
        ('{"unknown": 1}', 400, "/unknown"),
    ],
)
def test_bad_bodies_are_400_with_pointer(api: ApiClient, raw: str, status: int, pointer: str) -> None:
    reply = api.post("/v1/customers", raw=raw)
    assert reply.status == status, reply.json
    error = reply.json["errors"][0]
    assert error["status"] == str(status) and error["source"]["pointer"] == pointer
    assert api.get("/v1/customers").json["meta"]["total"] == 0


def test_auth_errors_and_unknowns(api: ApiClient, handler) -> None:
    assert api.get("/v1/customers", key=None).status == 401
    assert api.get("/v1/customers", key="sbk_not-a-key").status == 401
    assert api.get("/v1/customers", key=None).json["errors"][0]["code"] == "unauthorized"
    reader = org_client(handler, "Readers", ["org.permission.customer.read"])
    assert reader.get("/v1/customers").status == 200
    assert reader.post("/v1/customers", {"name": "x"}).status == 403
    # The role is checked before the body is read: no validation detail leaks.
    assert reader.post("/v1/customers", raw="{oops").status == 403
    assert reader.get("/v1/users/current").status == 200
    assert api.get("/v1/customers/0123456789abcdef01234567").status == 404
    assert api.get("/v1/customers/not-an-id").status == 404
    assert api.get("/v1/nowhere").json["errors"][0]["status"] == "404"
    big = '{"name": "' + "x" * (256 * 1024) + '"}'
    assert api.post("/v1/customers", raw=big).status == 413


def test_current_user_and_openapi(api: ApiClient) -> None:
    me = api.get("/v1/users/current").json["data"]
    assert me["type"] == "user" and me["attributes"]["userType"] == "machine"
    spec = api.get("/v1/openapi.json", key=None)
    assert spec.status == 200
    assert "/v1/customers" in spec.json["paths"]
    assert "CustomerBody" in str(spec.json["components"]["schemas"])


def test_delete_customer_frees_identifiers(api: ApiClient) -> None:
    customer = make_customer(api, emails=[{"email": "bye@example.com"}])
    assert api.delete(f"/v1/customers/{customer['id']}").status == 204
    assert api.get(f"/v1/customers/{customer['id']}").status == 404
    assert api.get("/v1/customers/email=bye@example.com").status == 404
    make_customer(api, emails=[{"email": "bye@example.com"}])


def test_hostile_bodies_are_4xx_never_500(api: ApiClient) -> None:
    deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert api.post("/v1/klasses", raw=deep).status in (400, 413)
    assert api.post("/v1/customers", raw='{"name": NaN}').status == 400
    assert api.post("/v1/customers", raw='{"custom": {"xNum": Infinity}}').status == 400
    assert api.post("/v1/customers", raw='{"custom": {"xNum": 1' + "0" * 5000 + "}}").status == 400
    many = [{"email": f"e{i}@example.com"} for i in range(21)]
    reply = api.post("/v1/customers", {"emails": many})
    assert reply.status == 400 and reply.json["errors"][0]["source"]["pointer"] == "/emails"
    assert api.get("/v1/customers", query={"page": "x"}).json["errors"][0]["source"] == {"parameter": "page"}
    assert api.get("/v1/customers", query={"pageSize": "0"}).status == 400
    # A path segment that cannot name an object is an unknown object, as an unknown id is.
    assert api.get("/v1/customers/nickname=x").status == 404
    assert api.get("/v1/customers/=x").status == 404
    assert api.get("/v1/tags/%C3%B6%1C%3Dx").status == 404


def test_an_object_growing_past_400_kb_is_413_and_unchanged(api: ApiClient) -> None:
    customer = make_customer(api)
    path = f"/v1/customers/{customer['id']}"
    statuses = []
    for n in range(8):
        statuses.append(api.patch(path, {"custom": {f"part{n}Txt": "x" * 60_000}}).status)
    assert 413 in statuses and 500 not in statuses
    grown = api.get(path).json["data"]["attributes"]
    assert grown["rev"] == 1 + statuses.count(200)


def test_a_kobject_can_be_created_through_its_klass_id_as_through_its_name(api: ApiClient) -> None:
    klass = make_order_klass(api)
    by_id = api.post(f"/v1/klasses/{klass['id']}", {"title": "Order #1", "custom": {"statusStr": "placed"}})
    assert by_id.status == 201, by_id.json
    assert by_id.json["data"]["type"] == "kobject.order"
    assert by_id.json["data"]["relationships"]["klass"]["data"]["id"] == klass["id"]
    listed = api.get("/v1/klasses/order")
    assert [o["id"] for o in listed.json["data"]] == [by_id.json["data"]["id"]]
    missing = api.post("/v1/klasses/0123456789abcdef01234567", {"title": "Order #2"})
    assert missing.status == 404, missing.json


@pytest.mark.parametrize(
    ("properties", "pointer"),
    [
        ({"statusStr": {}, "a b": {}}, "/metadata/properties/a b"),
        ({"": {}}, "/metadata/properties/"),
        ({"status": {}}, "/metadata/properties/status"),
        ({f"p{n}Str": {} for n in range(1000)}, "/metadata/properties"),
    ],
    ids=["space", "empty", "no suffix", "1000 properties"],
)
def test_klass_properties_follow_the_custom_attribute_rules(
    api: ApiClient, properties: dict, pointer: str
) -> None:
    """A klass property names a custom attribute: a type suffix, and at most 200 of them."""
    for method, path in (("POST", "/v1/klasses"), ("PATCH", None)):
        if path is None:
            klass = api.post("/v1/klasses", {"name": "invoice", "metadata": {"properties": {"totalNum": {}}}})
            assert klass.status == 201, klass.json
            path = f"/v1/klasses/{klass.json['data']['id']}"
        reply = api.call(method, path, {"name": "invoice", "metadata": {"properties": properties}})
        assert reply.status == 400, reply.json
        (error,) = reply.json["errors"]
        assert error["source"] == {"pointer": pointer}, error
    assert api.get(path).json["data"]["attributes"]["metadata"] == {"properties": {"totalNum": {}}}
    most = {f"p{n}Str": {} for n in range(200)}
    assert api.patch(path, {"metadata": {"properties": most}}).status == 200


def test_a_url_custom_attribute_is_an_absolute_http_url_without_whitespace(api: ApiClient) -> None:
    bad = api.post("/v1/customers", {"name": "Jane", "custom": {"siteUrl": "https://exa mple.com/"}})
    assert bad.status == 400, bad.json
    assert bad.json["errors"][0]["source"] == {"pointer": "/custom/siteUrl"}
    good = api.post("/v1/customers", {"name": "Jane", "custom": {"siteUrl": "https://example.com/a%20b"}})
    assert good.status == 201, good.json
