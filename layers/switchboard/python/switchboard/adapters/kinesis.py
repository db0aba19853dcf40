"""Writing to a Kinesis stream in a customer's own AWS account.

`RoleCredentials` assumes `arn:aws:iam::{account}:role/KustomerDataStreamRole` with the org's
ExternalId (the customer's trust policy requires it, so another org that learns the account id
cannot make us write there) and caches the temporary credentials per (account, ExternalId)
until five minutes before they expire: one AssumeRole per org per hour or so, not per batch.
Clients built from them honour `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_KINESIS` as any boto3
client does, so the local run writes to the moto server. Ask for a client per batch (a cache
hit); holding one for longer than the credentials live would fail with ExpiredToken.

`StreamWriter.put` sends records with PutRecords, the cheapest way in (one call for up to
500 records / 5 MiB). Its rules:
- A record over 1 MiB (data plus partition key) or with a key outside 1..256 characters is
  not sent: it fails at once, for the caller to deal with.
- Entries a call reports as failed with a transient code (ProvisionedThroughputExceeded,
  InternalFailure, any KMS error) are sent again after an exponential backoff with jitter,
  within a bounded number of rounds and total time; everything else, and whatever is still
  failing when the budget is spent, is returned as failed. Nothing is dropped silently.
- Per partition key order is kept. When an entry fails, every later entry with the same key
  (in that call, even if it was written, and in the calls after it) is held back and goes
  with it, in order, on the next round, or fails with it. Otherwise the retry of an older
  record would land after a newer record of the same object and a consumer reading the
  stream to its end would keep the old state. A held record that had been written appears
  twice; consumers already drop duplicates by event id and `rev` (Kinesis delivers at least
  once anyway). PutRecords itself does not promise order within a call; in practice a shard
  takes a call's records in request order, and the strict alternative (PutRecord with
  SequenceNumberForOrdering) costs one call per event.
- Whole-call errors: throttling and server errors fail the call's entries as retryable; any
  other error (stream gone, access denied, expired credentials) fails everything not yet
  written, without more calls.
- The client is expected to make one attempt per call (`RoleCredentials` builds it so): the
  retries are ours, so `calls` counts every PutRecords request that was made.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROLE_NAME = "KustomerDataStreamRole"
SESSION_NAME = "switchboard-forwarder"
REFRESH_BEFORE_S = 300.0  # credentials are renewed this long before they expire
ROLE_DURATION_S = 3600

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024  # data plus partition keys, per PutRecords request
MAX_RECORD_BYTES = 1024 * 1024  # data plus partition key, per record
MAX_KEY_CHARS = 256

RECORD_TOO_LARGE = "RecordTooLarge"
INVALID_KEY = "InvalidPartitionKey"

# Per-entry ErrorCodes (and whole-call error codes) worth another try.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ThrottlingException",
        "LimitExceededException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConnectionError",
    }
)


def retryable(code: str) -> bool:
    """Throughput, server and KMS errors pass; KMS errors are retried as the stream's key may
    be throttled or briefly unavailable (the budget bounds the cost when it is not)."""
    return code in RETRYABLE_CODES or code.startswith("KMS")


def role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"


def _expires_at(value: Any) -> float:
    """Expiration as epoch seconds: boto3 parses it to a datetime, a fake may give ISO text."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _boto3_client(service: str, region: str, credentials: dict[str, Any]) -> Any:
    """A client signed with the assumed role; the endpoint comes from the environment as usual."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=10)
    return session.client(service, config=config)


@dataclass
class _Cached:
    credentials: dict[str, Any]
    refresh_at: float


class RoleCredentials:
    """Credentials of each customer's KustomerDataStreamRole, cached; thread-safe.

    `sts` is this deployment's STS client; `clock` gives epoch seconds; `client_factory`
    (service, region, credentials) builds a client (boto3 by default).
    """

    def __init__(
        self,
        sts: Any,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[[str, str, dict[str, Any]], Any] = _boto3_client,
        session_name: str = SESSION_NAME,
        duration_s: int = ROLE_DURATION_S,
        refresh_before_s: float = REFRESH_BEFORE_S,
    ) -> None:
        self.sts = sts
        self.clock = clock
        self.client_factory = client_factory
        self.session_name = session_name
        self.duration_s = duration_s
        self.refresh_before_s = refresh_before_s
        self.assume_calls = 0  # AssumeRole requests made (AWS calls)
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._credentials: dict[tuple[str, str], _Cached] = {}
        self._clients: dict[tuple[str, str, str, str], tuple[str, Any]] = {}

    def credentials(self, account_id: str, external_id: str) -> dict[str, Any]:
        """Temporary credentials of the role; AssumeRole only when none are cached or they
        expire within `refresh_before_s`. One caller per key assumes, the others wait for it."""
        key = (account_id, external_id)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._credentials.get(key)
            if cached is not None and self.clock() < cached.refresh_at:
                return cached.credentials
            response = self.sts.assume_role(
                RoleArn=role_arn(account_id),
                RoleSessionName=self.session_name,
                ExternalId=external_id,
                DurationSeconds=self.duration_s,
            )
            with self._lock:
                self.assume_calls += 1
            credentials = response["Credentials"]
            refresh_at = _expires_at(credentials["Expiration"]) - self.refresh_before_s
            self._credentials[key] = _Cached(credentials, refresh_at)
            return credentials

    def client(self, service: str, account_id: str, region: str, external_id: str) -> Any:
        """A client of `service` in the customer's account and region; the same object while
        the credentials stay the same, a new one once they are renewed."""
        credentials = self.credentials(account_id, external_id)
        key = (service, account_id, region, external_id)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None and cached[0] == credentials["AccessKeyId"]:
            return cached[1]
        built = self.client_factory(service, region, credentials)
        with self._lock:
            self._clients[key] = (credentials["AccessKeyId"], built)
        return built

    def kinesis(self, account_id: str, region: str, external_id: str) -> Any:
        return self.client("kinesis", account_id, region, external_id)

    def forget(self, account_id: str, external_id: str) -> None:
        """Drop cached credentials (after the customer changed the role, say)."""
        with self._lock:
            self._credentials.pop((account_id, external_id), None)
            for key in [k for k in self._clients if (k[1], k[3]) == (account_id, external_id)]:
                del self._clients[key]


@dataclass
class PutOutcome:
    """`written`: indexes of the records now in the stream (in per-key order);
    `failed`: index -> reason for the rest (never sent, or still failing after the budget)."""

    written: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    calls: int = 0  # PutRecords requests
    rounds: int = 0  # first sending plus retry rounds
    sent: int = 0  # entries in those requests
    resent: int = 0  # of which sent before (retried, or held behind a retried one)
    waited_s: float = 0.0  # time slept in backoff

    @property
    def records_per_call(self) -> float:
        return self.sent / self.calls if self.calls else 0.0


class _StopAll(Exception):
    """A whole-call error that makes further calls pointless (stream gone, access denied)."""


class StreamWriter:
    """PutRecords in chunks, retrying failed entries with backoff while keeping per-key order.

    Retry budget: at most `max_rounds` rounds (the first sending included) and no backoff
    that would end after `max_total_s` from the start of `put`. `sleep`, `clock` (monotonic
    seconds) and `jitter` (uniform 0..1) are injectable so tests run without waiting.
    """

    def __init__(
        self,
        client: Any,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        max_rounds: int = 6,
        max_total_s: float = 10.0,
        base_delay_s: float = 0.1,
        max_delay_s: float = 2.0,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.max_rounds = max_rounds
        self.max_total_s = max_total_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.calls = 0  # PutRecords requests over this writer's life

    def delay(self, round_number: int) -> float:
        """Backoff before round `round_number + 1`: doubling, capped, with half of it jittered
        (retries of many writers spread out, yet never come back at once)."""
        cap = min(self.max_delay_s, self.base_delay_s * 2 ** (round_number - 1))
        return cap / 2 + self.jitter() * cap / 2

    def put(self, stream_arn: str, records: Sequence[tuple[str, bytes]]) -> PutOutcome:
        outcome = PutOutcome()
        pending: list[int] = []
        for index, (key, data) in enumerate(records):
            if not 1 <= len(key) <= MAX_KEY_CHARS:
                outcome.failed[index] = f"{INVALID_KEY}: a partition key has 1 to {MAX_KEY_CHARS} characters"
            elif _size(key, data) > MAX_RECORD_BYTES:
                outcome.failed[index] = (
                    f"{RECORD_TOO_LARGE}: {_size(key, data)} bytes, over Kinesis's {MAX_RECORD_BYTES}"
                )
            else:
                pending.append(index)
        started = self.clock()
        sent_before: set[int] = set()
        while pending:
            outcome.rounds += 1
            retry, reasons = self._round(stream_arn, records, pending, outcome, sent_before)
            if not retry:
                break
            pause = self.delay(outcome.rounds)
            if outcome.rounds >= self.max_rounds or self.clock() - started + pause > self.max_total_s:
                for index in retry:
                    outcome.failed[index] = reasons[index]
                break
            self.sleep(pause)
            outcome.waited_s += pause
            pending = retry
        outcome.written.sort()
        return outcome

    def _round(
        self,
        stream_arn: str,
        records: Sequence[tuple[str, bytes]],
        pending: list[int],
        outcome: PutOutcome,
        sent_before: set[int],
    ) -> tuple[list[int], dict[int, str]]:
        """Send `pending` once, in order; returns the indexes to send again and their reasons."""
        blocked: dict[str, tuple[bool, str]] = {}  # key -> (retryable, reason) of its first failure
        retry: list[int] = []
        reasons: dict[int, str] = {}

        def hold(index: int, key: str) -> None:
            again, reason = blocked[key]
            if again:
                retry.append(index)
                reasons[index] = reason
            else:
                outcome.failed[index] = reason

        position = 0
        while position < len(pending):
            chunk: list[int] = []
            size = 0
            while position < len(pending) and len(chunk) < MAX_RECORDS_PER_CALL:
                index = pending[position]
                key, data = records[index]
                if key in blocked:  # behind a failed record of the same key: not sent now
                    hold(index, key)
                    position += 1
                    continue
                if chunk and size + _size(key, data) > MAX_BYTES_PER_CALL:
                    break
                chunk.append(index)
                size += _size(key, data)
                position += 1
            if not chunk:
                continue
            outcome.calls += 1
            outcome.sent += len(chunk)
            try:
                results = self._send(stream_arn, records, chunk)
            except _StopAll as stop:
                reason = str(stop)
                for index in chunk + pending[position:] + retry:
                    outcome.failed[index] = reason
                return [], {}
            outcome.resent += sum(1 for index in chunk if index in sent_before)
            sent_before.update(chunk)
            for index, code, message in zip(chunk, *results, strict=True):
                key = records[index][0]
                if key in blocked:
                    hold(index, key)  # written or not, it goes again behind the failed one
                elif code is None:
                    outcome.written.append(index)
                else:
                    blocked[key] = (retryable(code), f"{code}: {message}")
                    hold(index, key)
        retry.sort()
        return retry, reasons

    def _send(
        self, stream_arn: str, records: Sequence[tuple[str, bytes]], chunk: list[int]
    ) -> tuple[list[str | None], list[str]]:
        """One PutRecords; per entry (error code or None, message)."""
        from botocore.exceptions import BotoCoreError, ClientError

        entries = [{"Data": records[i][1], "PartitionKey": records[i][0]} for i in chunk]
        self.calls += 1
        try:
            response = self.client.put_records(StreamARN=stream_arn, Records=entries)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "ClientError")
            if not retryable(code):
                raise _StopAll(f"{code}: {error.get('Message', '')}") from None
            return [code] * len(chunk), [error.get("Message", "")] * len(chunk)
        except BotoCoreError as exc:  # the connection failed or timed out: maybe written, maybe not
            return ["ConnectionError"] * len(chunk), [str(exc)] * len(chunk)
        codes: list[str | None] = []
        messages: list[str] = []
        for entry in response["Records"]:
            codes.append(entry.get("ErrorCode"))
            messages.append(entry.get("ErrorMessage", ""))
        return codes, messages


def _size(key: str, data: bytes) -> int:
    return len(data) + len(key.encode())
