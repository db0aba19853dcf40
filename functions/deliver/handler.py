from switchboard.entrypoints.deliver import handler  # noqa: F401
