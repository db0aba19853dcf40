"""Customers, and the objects created on a customer's timeline (kobjects, conversations, messages)."""

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import PageNumber, PageSize, find_or_get, page_response, register_crud
from switchboard.api.routes.klasses import klass_by_name
from switchboard.api.routing import endpoint, principal
from switchboard.domain import auth, kinds, models


def _customer(reference: str):
    return find_or_get(kinds.CUSTOMER, reference)


def register(app) -> None:
    register_crud(app, kinds.CUSTOMER, auth.CUSTOMER, "customers")
    timeline = "/v1/customers/<customer_id>/klasses/<klass_name>"

    @endpoint(
        app,
        "POST",
        timeline,
        auth.KOBJECT["create"],
        summary="Create a kobject on a customer's timeline",
        tags=["kobjects"],
    )
    def create_customer_kobject(customer_id: str, klass_name: str, body: models.KObjectBody):
        customer = _customer(customer_id)
        klass = klass_by_name(klass_name)
        links = {"customer": ("customer", customer.id), "klass": ("klass", klass.id)}
        kind = kinds.kobject_kind(klass_name, kinds.klass_properties(klass.attributes))
        record = services.objects().create(principal().org, kind, body, links)
        return jsonapi.one(record, 201)

    @endpoint(
        app,
        "GET",
        timeline,
        auth.CUSTOMER_KOBJECTS,
        summary="List a customer's kobjects of a klass",
        tags=["kobjects"],
    )
    def list_customer_kobjects(
        customer_id: str,
        klass_name: str,
        page: PageNumber = 1,
        pageSize: PageSize = 100,
    ):
        customer = _customer(customer_id)
        klass_by_name(klass_name)
        path = f"/v1/customers/{customer.id}/klasses/{klass_name}"
        return page_response(kinds.kobject_kind(klass_name), path, page, pageSize, ("customer", customer.id))

    conversations = "/v1/customers/<customer_id>/conversations"

    @endpoint(
        app,
        "POST",
        conversations,
        auth.CONVERSATION["create"],
        summary="Create a conversation for a customer",
        tags=["conversations"],
    )
    def create_customer_conversation(customer_id: str, body: models.ConversationBody):
        customer = _customer(customer_id)
        record = services.objects().create(
            principal().org, kinds.CONVERSATION, body, {"customer": ("customer", customer.id)}
        )
        return jsonapi.one(record, 201)

    @endpoint(
        app,
        "GET",
        conversations,
        auth.CONVERSATION["read"],
        summary="List a customer's conversations",
        tags=["conversations"],
    )
    def list_customer_conversations(customer_id: str, page: PageNumber = 1, pageSize: PageSize = 100):
        customer = _customer(customer_id)
        path = f"/v1/customers/{customer.id}/conversations"
        return page_response(kinds.CONVERSATION, path, page, pageSize, ("customer", customer.id))

    @endpoint(
        app,
        "POST",
        "/v1/customers/<customer_id>/messages",
        auth.MESSAGE["create"],
        summary="Create a message for a customer (opens a conversation when none is given)",
        tags=["messages"],
    )
    def create_customer_message(customer_id: str, body: models.MessageBody):
        from switchboard.api.routes.conversations import create_message

        return create_message(body, customer_id=_customer(customer_id).id)
