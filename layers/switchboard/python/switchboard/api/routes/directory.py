"""Users, teams and tags."""

from switchboard.api.routes.crud import register_crud
from switchboard.domain import auth, kinds


def register(app) -> None:
    register_crud(app, kinds.USER, auth.USER, "users", delete=False)
    register_crud(app, kinds.TEAM, auth.TEAM, "teams")
    register_crud(app, kinds.TAG, auth.TAG, "tags")
