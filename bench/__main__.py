"""Run every benchmark once and print the results as JSON (`make bench`).

Ratios are measured within one run; absolute numbers depend on the machine.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from bench import aws_calls, cold_start, data_stream, deliveries, hooks, local_run


def main() -> int:
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "cold_start": cold_start.run(),
        "aws_calls_per_request": aws_calls.run(),
        "local_run": local_run.run(),
        "deliveries": deliveries.run(),
        "hooks": hooks.run(),
        "data_stream": data_stream.run(),
    }
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
