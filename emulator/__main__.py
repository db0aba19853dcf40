"""`python -m emulator`: start the local run (see `emulator.run`)."""

from __future__ import annotations

import sys

from emulator.run import main

sys.exit(main())
