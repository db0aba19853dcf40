"""Klasses (custom object types) and their kobjects, addressed by the klass's name in the path."""

from switchboard import services
from switchboard.api import jsonapi
from switchboard.api.routes.crud import PageNumber, PageSize, Revision, find_or_get, page_response, updated
from switchboard.api.routing import endpoint, principal
from switchboard.domain import auth, kinds, models
from switchboard.domain.auth import Permission
from switchboard.domain.records import Record
from switchboard.errors import NotFound
from switchboard.ids import is_id

KLASS_OR_KOBJECT_READ = Permission(
    "klass-or-kobject.read", auth.KLASS["read"].roles | auth.KOBJECT["read"].roles
)


def klass_by_name(name: str) -> Record:
    try:
        return services.objects().find(principal().org, kinds.KLASS, "name", name)
    except NotFound:
        raise NotFound(f"klass {name} not found") from None


def _klass_by_id(klass_id: str) -> Record:
    try:
        return services.objects().get(principal().org, kinds.KLASS, klass_id)
    except NotFound:
        raise NotFound(f"klass {klass_id} not found") from None


def _klass(reference: str) -> Record:
    """A klass by id, by `name=<name>`, or by its bare name."""
    if "=" in reference:
        return find_or_get(kinds.KLASS, reference)
    return services.objects().klass(principal().org, reference)


def register(app) -> None:
    @endpoint(app, "POST", "/v1/klasses", auth.KLASS["create"], summary="Create a klass", tags=["klasses"])
    def create_klass(body: models.KlassBody):
        return jsonapi.one(services.objects().create(principal().org, kinds.KLASS, body), 201)

    @endpoint(app, "GET", "/v1/klasses", auth.KLASS["read"], summary="List klasses", tags=["klasses"])
    def list_klasses(page: PageNumber = 1, pageSize: PageSize = 100):
        return page_response(kinds.KLASS, "/v1/klasses", page, pageSize)

    @endpoint(
        app,
        "GET",
        "/v1/klasses/<reference>",
        KLASS_OR_KOBJECT_READ,
        summary="A klass by id, or the kobjects of the klass with this name (?externalId= finds one)",
        tags=["klasses", "kobjects"],
    )
    def get_klass_or_kobjects(
        reference: str,
        page: PageNumber = 1,
        pageSize: PageSize = 100,
        externalId: str | None = None,
    ):
        if is_id(reference) and externalId is None:
            record = services.objects().store.get(principal().org, kinds.KLASS.name, reference)
            if record is not None:
                principal().require(auth.KLASS["read"])
                return jsonapi.one(record)
        principal().require(auth.KOBJECT["read"])
        kind = kinds.kobject_kind(reference)
        if externalId is not None:
            return jsonapi.one(services.objects().find(principal().org, kind, "externalId", externalId))
        klass_by_name(reference)
        return page_response(kind, f"/v1/klasses/{reference}", page, pageSize)

    @endpoint(
        app,
        "PUT",
        "/v1/klasses/<reference>",
        auth.KLASS["update"],
        summary="Update a klass",
        tags=["klasses"],
    )
    def put_klass(reference: str, body: models.KlassBody, rev: Revision | None = None):
        record = _klass(reference)
        return updated(kinds.KLASS, record, body, patch=False, rev=rev)

    @endpoint(
        app,
        "PATCH",
        "/v1/klasses/<reference>",
        auth.KLASS["update"],
        summary="Update a klass",
        tags=["klasses"],
    )
    def patch_klass(reference: str, body: models.KlassBody, rev: Revision | None = None):
        record = _klass(reference)
        return updated(kinds.KLASS, record, body, patch=True, rev=rev)

    @endpoint(
        app,
        "DELETE",
        "/v1/klasses/<reference>",
        auth.KLASS["delete"],
        summary="Delete a klass (refused while kobjects exist)",
        tags=["klasses"],
    )
    def delete_klass(reference: str):
        services.objects().delete(principal().org, kinds.KLASS, _klass(reference).id)
        return jsonapi.respond(None, 204)

    @endpoint(
        app,
        "POST",
        "/v1/klasses/<klass_name>",
        auth.KOBJECT["create"],
        summary="Create a kobject (optionally linked with `customer`)",
        tags=["kobjects"],
    )
    def create_kobject(klass_name: str, body: models.KObjectBody):
        # The klass by name, as Kustomer's clients send it, or by id, like the other verbs here
        # (klass names are never 24 hex characters, so the two cannot be confused).
        klass = _klass_by_id(klass_name) if is_id(klass_name) else klass_by_name(klass_name)
        name = klass.attributes["name"]
        kind = kinds.kobject_kind(name, kinds.klass_properties(klass.attributes))
        record = services.objects().create(principal().org, kind, body, {"klass": ("klass", klass.id)})
        return jsonapi.one(record, 201)

    one = "/v1/klasses/<klass_name>/<object_id>"

    def _kobject(klass_name: str, object_id: str) -> Record:
        """No klass read needed: without the klass there are no kobjects to find (404 either way)."""
        return find_or_get(kinds.kobject_kind(klass_name), object_id)

    @endpoint(
        app,
        "GET",
        one,
        auth.KOBJECT["read"],
        summary="Get a kobject by id or externalId=<id>",
        tags=["kobjects"],
    )
    def get_kobject(klass_name: str, object_id: str):
        return jsonapi.one(_kobject(klass_name, object_id))

    @endpoint(app, "PUT", one, auth.KOBJECT["update"], summary="Update a kobject", tags=["kobjects"])
    def put_kobject(klass_name: str, object_id: str, body: models.KObjectBody, rev: Revision | None = None):
        record = _kobject(klass_name, object_id)
        kind = kinds.kobject_kind(klass_name)
        return updated(kind, record, body, patch=False, rev=rev)

    @endpoint(
        app,
        "PATCH",
        one,
        auth.KOBJECT["update"],
        summary="Update a kobject (custom and data merge)",
        tags=["kobjects"],
    )
    def patch_kobject(klass_name: str, object_id: str, body: models.KObjectBody, rev: Revision | None = None):
        record = _kobject(klass_name, object_id)
        kind = kinds.kobject_kind(klass_name)
        return updated(kind, record, body, patch=True, rev=rev)

    @endpoint(app, "DELETE", one, auth.KOBJECT["delete"], summary="Delete a kobject", tags=["kobjects"])
    def delete_kobject(klass_name: str, object_id: str):
        record = _kobject(klass_name, object_id)
        services.objects().delete(principal().org, kinds.kobject_kind(klass_name), record.id, current=record)
        return jsonapi.respond(None, 204)
