"""Conversations and messages."""

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import PageNumber, PageSize, find_or_get, page_response, register_crud
from switchboard.api.routing import endpoint, principal
from switchboard.domain import auth, kinds, models
from switchboard.domain.records import Record
from switchboard.errors import BadRequest, NotFound


def create_message(
    body: models.MessageBody, *, customer_id: str | None = None, conversation_id: str | None = None
):
    """Create a message; with a customer but no conversation, a conversation is opened with it.

    Ids from the path name objects the route has found already; ids from the body must name an
    object of the caller's org (400 with a pointer otherwise, as for every reference)."""
    service = services.objects()
    org = principal().org
    attributes = body.model_dump(exclude_unset=True, by_alias=True)
    conversation_id = conversation_id or attributes.get("conversation")
    customer_id = customer_id or attributes.get("customer")
    if conversation_id:
        conversation = _referenced(kinds.CONVERSATION, conversation_id, "/conversation")
        owner = conversation.related_id("customer")
        if customer_id and owner and customer_id != owner:
            raise BadRequest("the conversation belongs to another customer", "/customer")
        links = {"conversation": ("conversation", conversation.id)}
        if owner:
            links["customer"] = ("customer", owner)
        record = service.create(org, kinds.MESSAGE, _without(body, "conversation", "customer"), links)
        return jsonapi.one(record, 201)
    if not customer_id:
        raise BadRequest("a message needs a conversation or a customer", "/conversation")
    customer = _referenced(kinds.CUSTOMER, customer_id, "/customer")
    opened, opened_keys = service.prepare(
        org,
        kinds.CONVERSATION,
        {"channels": [attributes["channel"]]} if attributes.get("channel") else {},
        {"customer": ("customer", customer.id)},
    )
    message, message_keys = service.prepare(
        org,
        kinds.MESSAGE,
        _without(body, "conversation", "customer"),
        {"conversation": ("conversation", opened.id), "customer": ("customer", customer.id)},
    )
    service.create_many([(opened, opened_keys), (message, message_keys)])
    return jsonapi.one(message, 201)


def _referenced(kind: kinds.Kind, object_id: str, pointer: str) -> Record:
    try:
        return services.objects().get(principal().org, kind, object_id)
    except NotFound:
        raise BadRequest(f"no {kind.name} {object_id} in this org", pointer) from None


def _without(body: models.MessageBody, *names: str) -> dict:
    return {k: v for k, v in body.model_dump(exclude_unset=True, by_alias=True).items() if k not in names}


def register(app) -> None:
    register_crud(app, kinds.CONVERSATION, auth.CONVERSATION, "conversations")
    register_crud(app, kinds.MESSAGE, auth.MESSAGE, "messages", create=create_message)

    @endpoint(
        app,
        "POST",
        "/v1/conversations/<conversation_id>/messages",
        auth.MESSAGE["create"],
        summary="Add a message to a conversation",
        tags=["messages"],
    )
    def create_conversation_message(conversation_id: str, body: models.MessageBody):
        conversation = find_or_get(kinds.CONVERSATION, conversation_id)
        return create_message(body, conversation_id=conversation.id)

    @endpoint(
        app,
        "GET",
        "/v1/conversations/<conversation_id>/messages",
        auth.MESSAGE["read"],
        summary="List a conversation's messages",
        tags=["messages"],
    )
    def list_conversation_messages(conversation_id: str, page: PageNumber = 1, pageSize: PageSize = 100):
        conversation = find_or_get(kinds.CONVERSATION, conversation_id)
        path = f"/v1/conversations/{conversation.id}/messages"
        return page_response(kinds.MESSAGE, path, page, pageSize, ("conversation", conversation.id))
