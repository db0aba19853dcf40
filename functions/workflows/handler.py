from switchboard.entrypoints.workflows import handler  # noqa: F401
