"""The Lambda entry points, one module per function: parse the event, call one application
service, shape the proxy response or the partial batch response. `functions/<name>/handler.py`
imports its `handler` from here. Each module imports only what its function needs."""
