"""``python -m solvers FILE.lp --solver NAME [--option k=v ...] [--json]``."""

from __future__ import annotations

import sys

from solvers.cli import main

sys.exit(main())
