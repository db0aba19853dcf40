"""Independent verifiers of delivered webhooks: Kustomer's JavaScript check run in Node, and the
`standardwebhooks` reference library."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Received

NODE_CHECK = Path(__file__).with_name("verify_kustomer.js")


def kustomer_signatures_valid(token: str, deliveries: list[Received]) -> list[bool]:
    """Run the seed's JavaScript over every delivery; one boolean each."""
    node = shutil.which("node")
    assert node, "node is needed to run Kustomer's own signature check"
    cases = [
        {
            "token": token,
            "body": base64.b64encode(d.body).decode(),
            "signature": d.headers["x-kustomer-webhook-signature"],
        }
        for d in deliveries
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(cases, handle)
    output = subprocess.run([node, str(NODE_CHECK), handle.name], capture_output=True, text=True, check=True)
    Path(handle.name).unlink()
    return [line == "true" for line in output.stdout.split()]


def standard_webhook_valid(token: str, delivery: Received) -> bool:
    """The reference library checks webhook-id, webhook-timestamp and webhook-signature."""
    try:
        Webhook(token).verify(delivery.body, delivery.headers)
        return True
    except Exception:
        return False
