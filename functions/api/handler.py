from switchboard.entrypoints.api import handler  # noqa: F401
