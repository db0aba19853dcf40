from switchboard.entrypoints.events import handler  # noqa: F401
