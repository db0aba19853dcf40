"""SQS sends: one message with an optional delay, or many in batches of ten.

On a FIFO queue every message names its group (order is kept within a group) and its
deduplication id (SQS drops a repeat within five minutes); per-message delays do not exist there.
Bodies are written under the one JSON policy: a NaN or Infinity raises instead of being queued.
"""

from __future__ import annotations

import time
from typing import Any

from switchboard import strictjson

BATCH_MAX = 10


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(
        self, body: dict[str, Any], delay_s: int = 0, *, group: str | None = None, dedupe: str | None = None
    ) -> None:
        request: dict[str, Any] = {
            "QueueUrl": self.url,
            "MessageBody": strictjson.dumps(body),
        }
        if group is not None:
            request.update(MessageGroupId=group, MessageDeduplicationId=dedupe or group)
        else:
            request["DelaySeconds"] = delay_s
        self.client.send_message(**request)

    def send_many(self, bodies: list[dict[str, Any]], fifo: list[tuple[str, str]] | None = None) -> None:
        """SendMessageBatch per ten; entries SQS did not take are sent again, then it raises.

        `fifo`, for a FIFO queue, holds each body's (group, deduplication id).
        """
        for start in range(0, len(bodies), BATCH_MAX):
            entries: list[dict[str, Any]] = []
            for n, body in enumerate(bodies[start : start + BATCH_MAX]):
                entry = {"Id": str(n), "MessageBody": strictjson.dumps(body)}
                if fifo is not None:
                    group, dedupe = fifo[start + n]
                    entry.update(MessageGroupId=group, MessageDeduplicationId=dedupe)
                entries.append(entry)
            for pause in (0, 0.05, 0.2, 0.8):
                if pause:
                    time.sleep(pause)
                response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            if entries:
                raise RuntimeError(f"SQS refused {len(entries)} messages")
