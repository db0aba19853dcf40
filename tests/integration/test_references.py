"""Fields that hold ids (team members, a conversation's customer, assigned users and teams, tags,
a message's conversation and customer, a kobject's customer) must name an existing object of
the caller's org and of the right kind: otherwise a 400 pointing at the element, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import ApiClient, Reply

MISSING = "0123456789abcdef01234567"


def made(reply: Reply) -> str:
    assert reply.status == 201, reply.json
    return reply.json["data"]["id"]


def refused(reply: Reply, pointer: str) -> str:
    assert reply.status == 400, reply.json
    (error,) = reply.json["errors"]
    assert error["source"] == {"pointer": pointer}, error
    return error["detail"]


@pytest.fixture
def ids(api: ApiClient, other: ApiClient) -> dict[str, str]:
    """Objects of each kind in org A (`api`) and org B (`other`)."""
    found: dict[str, str] = {}
    for org, client in (("a", api), ("b", other)):
        found[f"{org}.user"] = made(client.post("/v1/users", {"name": f"{org} one"}))
        found[f"{org}.user2"] = made(client.post("/v1/users", {"name": f"{org} two"}))
        found[f"{org}.team"] = made(client.post("/v1/teams", {"name": f"{org} team"}))
        found[f"{org}.tag"] = made(client.post("/v1/tags", {"name": f"{org} tag"}))
        found[f"{org}.customer"] = made(client.post("/v1/customers", {"name": f"{org} customer"}))
        found[f"{org}.conversation"] = made(
            client.post("/v1/conversations", {"customer": found[f"{org}.customer"]})
        )
    return found


def test_another_orgs_user_in_team_members_is_400_and_nothing_is_written(
    api: ApiClient, ids: dict[str, str]
) -> None:
    reply = api.post("/v1/teams", {"name": "support", "members": [ids["a.user"], ids["b.user"]]})
    assert ids["b.user"] in refused(reply, "/members/1")
    assert api.get("/v1/teams/name=support").status == 404
    assert api.get("/v1/teams").json["meta"]["total"] == 1  # the fixture's team only


def test_an_id_of_the_wrong_kind_or_of_nothing_is_400(api: ApiClient, ids: dict[str, str]) -> None:
    refused(api.post("/v1/teams", {"name": "t", "members": [ids["a.team"]]}), "/members/0")
    refused(api.post("/v1/teams", {"name": "t", "members": [ids["a.user"], MISSING]}), "/members/1")
    refused(api.post("/v1/teams", {"name": "t", "members": ["not-an-id"]}), "/members/0")
    assert api.get("/v1/teams/name=t").status == 404


def test_valid_members_are_saved(api: ApiClient, ids: dict[str, str]) -> None:
    members = [ids["a.user"], ids["a.user2"]]
    team = api.post("/v1/teams", {"name": "support", "members": members}).json["data"]
    assert team["attributes"]["members"] == members
    assert api.get(f"/v1/teams/{team['id']}").json["data"]["attributes"]["members"] == members


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_update_naming_another_orgs_user_changes_nothing(
    api: ApiClient, ids: dict[str, str], method: str
) -> None:
    team = api.post("/v1/teams", {"name": "support", "members": [ids["a.user"]]}).json["data"]
    path = f"/v1/teams/{team['id']}"
    reply = api.call(method, path, {"displayName": "x", "members": [ids["a.user"], ids["b.user"]]})
    refused(reply, "/members/1")
    refused(api.call(method, path, {"members": [ids["a.conversation"]]}), "/members/0")
    after = api.get(path).json["data"]["attributes"]
    assert (after["rev"], after["members"], after.get("displayName")) == (1, [ids["a.user"]], None)
    # Ids the team holds already are kept; a new valid one is added.
    moved = api.call(method, path, {"members": [ids["a.user"], ids["a.user2"]]}).json["data"]
    assert moved["attributes"]["members"] == [ids["a.user"], ids["a.user2"]]


def conversation(ids: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {"customer": ids["a.customer"], **fields}


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"assignedUsers": ["a.user", "a.team"]}, "/assignedUsers/1"),
        ({"assignedUsers": ["b.user"]}, "/assignedUsers/0"),
        ({"assignedTeams": ["a.team", "b.team"]}, "/assignedTeams/1"),
        ({"assignedTeams": ["a.user"]}, "/assignedTeams/0"),
        ({"tags": ["a.tag", "b.tag"]}, "/tags/1"),
        ({"tags": ["a.team"]}, "/tags/0"),
        ({"customer": "b.customer"}, "/customer"),
        ({"customer": "a.user"}, "/customer"),
        ({"customer": "missing"}, "/customer"),
    ],
)
def test_conversation_references(
    api: ApiClient, ids: dict[str, str], fields: dict[str, Any], pointer: str
) -> None:
    ids = {**ids, "missing": MISSING}
    body = conversation(
        ids,
        **{
            k: [ids[v] for v in value] if isinstance(value, list) else ids[value]
            for k, value in fields.items()
        },
    )
    refused(api.post("/v1/conversations", body), pointer)
    refused(api.patch(f"/v1/conversations/{ids['a.conversation']}", body), pointer)
    refused(api.put(f"/v1/conversations/{ids['a.conversation']}", body), pointer)
    assert api.get(f"/v1/customers/{ids['a.customer']}/conversations").json["meta"]["total"] == 1
    assert api.get(f"/v1/conversations/{ids['a.conversation']}").json["data"]["attributes"]["rev"] == 1


def test_a_conversation_with_valid_references(api: ApiClient, ids: dict[str, str]) -> None:
    body = conversation(
        ids,
        assignedUsers=[ids["a.user"], ids["a.user2"]],
        assignedTeams=[ids["a.team"]],
        tags=[ids["a.tag"]],
    )
    created = api.post("/v1/conversations", body).json["data"]
    assert created["attributes"]["assignedUsers"] == [ids["a.user"], ids["a.user2"]]
    assert created["attributes"]["tags"] == [ids["a.tag"]]
    patched = api.patch(f"/v1/conversations/{created['id']}", {"assignedUsers": [ids["a.user2"]]})
    assert patched.json["data"]["attributes"]["assignedUsers"] == [ids["a.user2"]]


def test_tags_are_tag_ids_on_customers_and_kobjects(api: ApiClient, ids: dict[str, str]) -> None:
    refused(api.post("/v1/customers", {"name": "c", "tags": ["vip"]}), "/tags/0")
    refused(api.post("/v1/customers", {"name": "c", "tags": [ids["b.tag"]]}), "/tags/0")
    refused(
        api.patch(f"/v1/customers/{ids['a.customer']}", {"tags": [ids["a.tag"], ids["a.user"]]}), "/tags/1"
    )
    assert made(api.post("/v1/customers", {"name": "c", "tags": [ids["a.tag"]]}))
    assert api.post("/v1/klasses", {"name": "order"}).status == 201
    refused(api.post("/v1/klasses/order", {"title": "o", "tags": [ids["b.tag"]]}), "/tags/0")
    refused(api.post("/v1/klasses/order", {"title": "o", "customer": ids["b.customer"]}), "/customer")
    order = made(
        api.post("/v1/klasses/order", {"title": "o", "customer": ids["a.customer"], "tags": [ids["a.tag"]]})
    )
    refused(api.patch(f"/v1/klasses/order/{order}", {"customer": ids["b.customer"]}), "/customer")
    assert api.get("/v1/klasses/order").json["meta"]["total"] == 1


def test_message_references(api: ApiClient, ids: dict[str, str]) -> None:
    refused(
        api.post("/v1/messages", {"channel": "email", "conversation": ids["b.conversation"]}), "/conversation"
    )
    refused(
        api.post("/v1/messages", {"channel": "email", "conversation": ids["a.customer"]}), "/conversation"
    )
    refused(api.post("/v1/messages", {"channel": "email", "customer": ids["b.customer"]}), "/customer")
    refused(api.post("/v1/messages", {"channel": "email", "customer": MISSING}), "/customer")
    message = made(api.post("/v1/messages", {"channel": "email", "conversation": ids["a.conversation"]}))
    refused(api.patch(f"/v1/messages/{message}", {"conversation": ids["b.conversation"]}), "/conversation")
    assert api.get(f"/v1/conversations/{ids['a.conversation']}/messages").json["meta"]["total"] == 1


def test_a_deleted_object_can_no_longer_be_named(api: ApiClient, ids: dict[str, str]) -> None:
    assert api.delete(f"/v1/tags/{ids['a.tag']}").status == 204
    refused(api.post("/v1/customers", {"name": "c", "tags": [ids["a.tag"]]}), "/tags/0")


def test_one_write_names_at_most_a_hundred_objects(api: ApiClient, ids: dict[str, str]) -> None:
    users = [f"{n:024x}" for n in range(99)]  # with the customer: 100, checked in one read
    body = conversation(ids, assignedUsers=users)
    refused(api.post("/v1/conversations", body), "/assignedUsers/0")  # they do not exist
    body = conversation(ids, assignedUsers=users + users[:1], tags=[ids["a.tag"]])
    assert "at most 100" in refused(api.post("/v1/conversations", body), "/tags/0")


def test_id_lists_are_sets_a_repeated_id_is_dropped_the_first_kept(
    api: ApiClient, ids: dict[str, str]
) -> None:
    user, user2, team, tag = ids["a.user"], ids["a.user2"], ids["a.team"], ids["a.tag"]
    created = api.post("/v1/teams", {"name": "Tier 2", "members": [user] * 100})
    assert created.status == 201, created.json
    assert created.json["data"]["attributes"]["members"] == [user]
    path = f"/v1/teams/{created.json['data']['id']}"
    patched = api.patch(path, {"members": [user2, user, user2, user]})
    assert patched.json["data"]["attributes"]["members"] == [user2, user]
    assert api.get(path).json["data"]["attributes"]["members"] == [user2, user]

    body = conversation(ids, assignedUsers=[user, user2, user], assignedTeams=[team, team], tags=[tag, tag])
    attributes = api.post("/v1/conversations", body).json["data"]["attributes"]
    assert (attributes["assignedUsers"], attributes["assignedTeams"], attributes["tags"]) == (
        [user, user2],
        [team],
        [tag],
    )
    customer = api.post("/v1/customers", {"name": "c", "tags": [tag, tag, tag]})
    assert customer.json["data"]["attributes"]["tags"] == [tag]
