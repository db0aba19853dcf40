from switchboard.entrypoints.pull import handler  # noqa: F401
