"""Cold start: import + init of each function's handler against `import boto3` plus one client.

Each sample is a fresh interpreter (as a new Lambda container is); the two are interleaved in
one run so the ratio is fair on a noisy machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers/switchboard/python"))

from switchboard import wiring  # noqa: E402

BASELINE = """
import time
t = time.perf_counter()
import boto3
boto3.session.Session().client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t)
"""

HANDLER = """
import importlib.util, sys, time
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from switchboard.adapters.aws import client
client("dynamodb")
print(time.perf_counter() - t)
"""


def _sample(code: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers/switchboard/python"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "",
        **{table.env_var: table.local_name for table in wiring.TABLES},
    }
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(output.stdout.strip().splitlines()[-1])


def run(samples: int = 9) -> dict:
    results: dict = {"samples": samples, "functions": {}}
    baseline: list[float] = []
    per_function: dict[str, list[float]] = {spec.name: [] for spec in wiring.FUNCTIONS}
    for spec in wiring.FUNCTIONS:  # warm the bytecode caches once, as a deployed package has them
        _sample(HANDLER.format(path=str(ROOT / spec.code / (spec.handler.split(".")[0] + ".py"))))
    _sample(BASELINE)
    for _ in range(samples):
        baseline.append(_sample(BASELINE))
        for spec in wiring.FUNCTIONS:
            path = str(ROOT / spec.code / (spec.handler.split(".")[0] + ".py"))
            per_function[spec.name].append(_sample(HANDLER.format(path=path)))
    base = statistics.median(baseline)
    results["baseline_s"] = round(base, 4)
    for name, values in per_function.items():
        median = statistics.median(values)
        results["functions"][name] = {"median_s": round(median, 4), "ratio": round(median / base, 2)}
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
