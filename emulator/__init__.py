"""Switchboard's local run: the stacks' resources in a moto server, API Gateway in front of
the real handlers, and pollers that feed them from their event sources, all on 127.0.0.1.

Start it with `python -m emulator` (or `make run`); see `emulator.run` for the options.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The shared code is deployed as a layer (`layers/switchboard/python` becomes /opt/python in
# Lambda); the local run puts the same folder on the path, so no install step is required.
LAYER_PATH = str(Path(__file__).resolve().parent.parent / "layers" / "switchboard" / "python")
if LAYER_PATH not in sys.path:
    sys.path.insert(0, LAYER_PATH)
