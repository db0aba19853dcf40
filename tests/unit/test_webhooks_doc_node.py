"""The Node.js verification example of docs/webhooks.md: it runs, it accepts a Switchboard
signature and refuses the rest, it compares in constant time, and the e2e verifier
(tests/support/verify_kustomer.js) is the same function."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from switchboard.domain import signing

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "webhooks.md"
VERIFIER = ROOT / "tests" / "support" / "verify_kustomer.js"


def doc_snippet() -> str:
    text = DOC.read_text()
    after = text[text.index("Verify like Kustomer (Node.js)") :]
    found = re.search(r"```js\n(.*?)```", after, re.S)
    assert found, "the Node.js example is missing"
    return found.group(1)


def doc_function() -> str:
    found = re.search(r"^function verifyKustomerSignature\(.*?^}\n", doc_snippet(), re.S | re.M)
    assert found, "the example defines verifyKustomerSignature"
    return found.group(0)


def test_the_example_compares_in_constant_time() -> None:
    function = doc_function()
    assert "crypto.timingSafeEqual(" in function
    assert "actual.length === expected.length &&" in function  # timingSafeEqual throws otherwise
    assert "digest('hex') ===" not in doc_snippet()


def test_the_e2e_verifier_runs_the_documented_function() -> None:
    assert doc_function() in VERIFIER.read_text()


def test_the_documented_example_accepts_only_the_right_signature(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    token = signing.new_secret()
    body = '{"name":"kustomer.customer.create","data":{"attributes":{"name":"Grüße"}}}'.encode()
    good = signing.kustomer_signature(token, body)
    cases = [
        ("good", body, good, True),
        ("tampered body", body + b" ", good, False),
        ("other token", body, signing.kustomer_signature(signing.new_secret(), body), False),
        ("one character short", body, good[:-1], False),
        ("empty", body, "", False),
        ("missing", body, None, False),
        ("multi-byte of the same length", body, "é" * 32, False),
    ]
    # The documented code as written, minus the line that reads a request; a harness calls it.
    code = doc_snippet().split("\nconst ok =", 1)[0]
    harness = tmp_path / "check.js"
    harness.write_text(
        code
        + "\nconst cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));\n"
        + "for (const c of cases) console.log(verifyKustomerSignature(c.token, "
        + "Buffer.from(c.body, 'base64'), c.signature === null ? undefined : c.signature));\n"
    )
    data = tmp_path / "cases.json"
    data.write_text(
        json.dumps(
            [{"token": token, "body": base64.b64encode(b).decode(), "signature": s} for _, b, s, _ in cases]
        )
    )
    output = subprocess.run([node, str(harness), str(data)], capture_output=True, text=True, check=True)
    results = output.stdout.split()
    assert results == [str(expected).lower() for *_, expected in cases], list(
        zip([c[0] for c in cases], results, strict=False)
    )


def test_the_e2e_verifier_agrees(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    token = signing.new_secret()
    body = b'{"id":"1"}'
    good = signing.kustomer_signature(token, body)
    cases = [(good, "true"), (good[:-1], "false"), ("0" * len(good), "false")]
    data = tmp_path / "cases.json"
    data.write_text(
        json.dumps(
            [{"token": token, "body": base64.b64encode(body).decode(), "signature": s} for s, _ in cases]
        )
    )
    output = subprocess.run([node, str(VERIFIER), str(data)], capture_output=True, text=True, check=True)
    assert output.stdout.split() == [expected for _, expected in cases]
