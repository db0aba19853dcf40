"""SQS sends: one message with an optional delay, or many in batches of ten."""

from __future__ import annotations

import json
import time
from typing import Any

BATCH_MAX = 10


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, body: dict[str, Any], delay_s: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.url, MessageBody=json.dumps(body, separators=(",", ":")), DelaySeconds=delay_s
        )

    def send_many(self, bodies: list[dict[str, Any]]) -> None:
        """SendMessageBatch per ten; entries SQS did not take are sent again, then it raises."""
        for start in range(0, len(bodies), BATCH_MAX):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(body, separators=(",", ":"))}
                for n, body in enumerate(bodies[start : start + BATCH_MAX])
            ]
            for pause in (0, 0.05, 0.2, 0.8):
                time.sleep(pause)
                response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            if entries:
                raise RuntimeError(f"SQS refused {len(entries)} messages")
