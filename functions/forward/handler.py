from switchboard.entrypoints.forward import handler  # noqa: F401
