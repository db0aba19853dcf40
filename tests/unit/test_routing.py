"""Every route of the API declares the permission it needs; the gate finds it like Powertools does."""

from switchboard.api import routing
from switchboard.api.app import build_app


def test_every_route_has_a_permission_and_only_docs_are_public():
    api = build_app()
    resolver = api.resolver
    routes = resolver._static_routes + resolver._dynamic_routes
    assert len(routes) > 40
    for route in routes:
        path = route.openapi_path.replace("{", "<").replace("}", ">")
        sample = routing.pattern(path).pattern  # sanity: declared paths compile
        assert sample
        concrete = path
        for part in path.split("/"):
            if part.startswith("<"):
                concrete = concrete.replace(part, "0123456789abcdef01234567")
        permission = routing.permission_for(route.method, concrete)
        assert permission is not None, f"{route.method} {path} has no permission"
        if permission is routing.PUBLIC:
            assert path in ("/v1/openapi.json", "/v1/docs"), path


def test_static_paths_win_over_dynamic_ones():
    build_app()
    assert routing.permission_for("GET", "/v1/users/current").name == "key.valid"
    assert routing.permission_for("GET", "/v1/users/0123456789abcdef01234567").name == "user.read"
    assert routing.permission_for("GET", "/v1/nothing") is None
