from switchboard.entrypoints.hooks import handler  # noqa: F401
