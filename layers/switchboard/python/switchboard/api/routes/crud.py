"""Route factories shared by the object kinds: create, list, get (by id or key=value), update, delete.

No `from __future__ import annotations` here: routing and the OpenAPI generator read the body
model from the live annotations of these closures.
"""

from urllib.parse import unquote

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routing import endpoint, principal
from switchboard.domain.auth import Permission
from switchboard.domain.kinds import Kind
from switchboard.domain.records import Record
from switchboard.errors import Conflict

# Query parameters are plain types: their parsing lives in routing, their meaning in docs/api.md.
PageNumber = int
PageSize = int
Revision = int  # `?rev=n` on PUT/PATCH: the rev the client last read (optimistic locking)


def find_or_get(kind: Kind, reference: str) -> Record:
    """`reference` is an id, or a literal `field=value` lookup such as `email=jane%40example.com`."""
    service = services.objects()
    field, sep, value = unquote(reference).partition("=")
    if sep:
        return service.find(principal().org, kind, field, value)
    return service.get(principal().org, kind, reference)


def page_response(kind: Kind, path: str, page: int, size: int, parent: tuple[str, str] | None = None):
    size = min(size, kind.max_page_size)
    result = services.objects().page(principal().org, kind, page, size, parent)
    return jsonapi.listing(result, path, page, size)


def updated(kind: Kind, record: Record, body, patch: bool, rev: int | None = None):
    """Apply a PUT or PATCH to an object the route has just read, and answer with the result.

    `rev` (the `?rev=n` query parameter) is checked exactly as a `rev` in the body: another
    current rev is a 409. When both are given they must agree."""
    if rev is not None:
        sent = getattr(body, "rev", None)
        if sent is not None and sent != rev:
            raise Conflict(f"the query's rev {rev} and the body's rev {sent} differ", "/rev")
        body = body.model_copy(update={"rev": rev})
    result = services.objects().update(principal().org, kind, record.id, body, patch=patch, current=record)
    return jsonapi.one(result)


def register_crud(
    app, kind: Kind, permissions: dict[str, Permission], tag: str, delete: bool = True, create=None
) -> None:
    """Register the standard routes of a kind; `create(body)` overrides the plain create."""
    base = f"/v1/{kind.path}"
    model = kind.model
    custom_create = create
    one = f"{base}/<object_id>"

    def create(body: model):
        if custom_create is not None:
            return custom_create(body)
        return jsonapi.one(services.objects().create(principal().org, kind, body), 201)

    def list_all(page: PageNumber = 1, pageSize: PageSize = 100):
        return page_response(kind, base, page, pageSize)

    def get_one(object_id: str):
        return jsonapi.one(find_or_get(kind, object_id))

    def put_one(object_id: str, body: model, rev: Revision | None = None):
        record = find_or_get(kind, object_id)
        return updated(kind, record, body, patch=False, rev=rev)

    def patch_one(object_id: str, body: model, rev: Revision | None = None):
        record = find_or_get(kind, object_id)
        return updated(kind, record, body, patch=True, rev=rev)

    def delete_one(object_id: str):
        record = find_or_get(kind, object_id)
        services.objects().delete(principal().org, kind, record.id, current=record)
        return jsonapi.respond(None, 204)

    routes = [
        ("POST", base, "create", create, f"Create a {kind.name}"),
        ("GET", base, "read", list_all, f"List {kind.name}s, newest update first"),
        ("GET", one, "read", get_one, f"Get a {kind.name} by id or by field=value"),
        ("PUT", one, "update", put_one, f"Update a {kind.name} (given attributes replace)"),
        ("PATCH", one, "update", patch_one, f"Update a {kind.name} (custom and data merge)"),
    ]
    if delete:
        routes.append(("DELETE", one, "delete", delete_one, f"Delete a {kind.name}"))
    for method, path, action, func, summary in routes:
        func.__name__ = f"{func.__name__}_{kind.name}"
        endpoint(app, method, path, permissions[action], summary=summary, tags=[tag])(func)
