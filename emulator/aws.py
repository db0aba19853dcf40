"""The emulated AWS back end: a moto server on 127.0.0.1 holding the declared resources.

Everything in this process (handlers, the admin seeding, the pollers) talks to it
through plain boto3 clients, which honour `AWS_ENDPOINT_URL`; the environment is scrubbed of
anything that could point a client at a real account.

The server answers one request at a time. moto keeps no locks of its own, so two parallel
conditional writes could both pass their condition; DynamoDB applies each item write
atomically, and serialising the requests restores that (rev checks, uniqueness guards).
The same lock lets a snapshot (`emulator.snapshot`) see one consistent moment, and each request
that can change state sets `changed`, so snapshots are taken only when there is something new.

Started from a snapshot, the saved back ends are put in place before the server answers, and
provisioning creates only what the wiring declares and the snapshot lacks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.server import ThreadedMotoServer

from emulator import moto_fixes
from switchboard import wiring
from switchboard.adapters.provision import create_queues, create_tables

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Variables that would send a client elsewhere than the moto server, or sign as a real identity.
_SCRUBBED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


class AwsBackend:
    """Starts moto, points the process's AWS environment at it, creates every wiring table and queue."""

    def __init__(self, port: int = 0) -> None:
        self.requested_port = port
        self.endpoint = ""
        self.tables: dict[str, str] = {}
        self.queues: dict[str, str] = {}  # key -> URL, dead-letter queues under "<key>-dlq"
        self._server: ThreadedMotoServer | None = None
        self.serialized: Serialized | None = None
        self.changed = threading.Event()  # set by each request that can change state

    @property
    def lock(self) -> threading.Lock:
        """Held, no request reaches moto."""
        assert self.serialized is not None
        return self.serialized.lock

    def start(self, saved_backends: bytes | None = None) -> None:
        """Start moto (with the back ends of a snapshot, when given) and provision the wiring."""
        _ensure_free(self.requested_port)
        moto_fixes.apply()
        if saved_backends is not None:
            from emulator.snapshot import restore_backends

            restore_backends(saved_backends)
        # werkzeug logs every request at INFO; the terminal is for the person running Switchboard.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.requested_port, verbose=False)
        self._server.start()
        # The WSGI server looks its app up per request; nobody knows the port yet, so no request
        # can slip past the wrapper. (ThreadedMotoServer offers no hook for middleware.)
        wsgi_server = self._server._server
        assert wsgi_server is not None
        self.serialized = Serialized(wsgi_server.app, self.changed)
        wsgi_server.app = self.serialized
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        point_environment_at(self.endpoint)
        self.provision()

    def provision(self) -> None:
        """Create the declared tables and queues not there yet; names and URLs go into the environment."""
        self.tables = ensure_tables(self.client("dynamodb"))
        for key, name in self.tables.items():
            os.environ[wiring.table(key).env_var] = name
        self.queues = create_queues(self.client("sqs"))
        for queue in wiring.QUEUES:
            os.environ[queue.env_var] = self.queues[queue.key]

    def reset(self) -> None:
        """Forget every resource and item (what moto's reset API does), then provision again."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self.provision()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)


def ensure_tables(client: Any) -> dict[str, str]:
    """Every declared table under its local name, created (with its TTL) where it is missing."""
    return create_tables(client, keep_existing=True)


# Operations that never change what a snapshot holds (JSON protocols name them in X-Amz-Target).
# Stream and Kinesis iterators are not saved, so asking for one changes nothing either.
READ_ONLY_OPERATIONS = frozenset(
    {
        # DynamoDB
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "ListTagsOfResource",
        "DescribeEndpoints",
        # DynamoDB Streams and Kinesis
        "GetRecords",
        "GetShardIterator",
        "DescribeStream",
        "DescribeStreamSummary",
        "ListStreams",
        "ListShards",
        # SQS (a ReceiveMessage that returned messages changed their visibility: see below)
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListQueues",
        # STS
        "GetCallerIdentity",
    }
)


def changes_state(environ: dict[str, Any], body: list[bytes]) -> bool:
    """Whether a request may have changed moto's state; unknown ones (query protocol) count as changes."""
    operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]
    if operation == "ReceiveMessage":
        return any(b"ReceiptHandle" in chunk for chunk in body)
    return operation not in READ_ONLY_OPERATIONS


class Serialized:
    """WSGI middleware: one request inside the wrapped app at a time, body included."""

    def __init__(self, app: Callable[..., Iterable[bytes]], changed: threading.Event | None = None) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.changed = changed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if self.changed is not None and changes_state(environ, body):
                self.changed.set()
            return body


def point_environment_at(endpoint: str) -> None:
    """Make every boto3 client in this process (and its children) use the moto server."""
    for name in list(os.environ):
        if name in _SCRUBBED or name.startswith("AWS_ENDPOINT_URL_"):
            del os.environ[name]
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def _ensure_free(port: int) -> None:
    """Fail with a clear message: moto's server thread would otherwise die and leave start() waiting."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise OSError(f"port {port} on {HOST} is in use; pick another with --aws-port") from exc
