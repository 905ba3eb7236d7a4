"""The field instances of the solver tests (``tests/solvers/field_instances.py``) for
the benchmarks, so benchmark and tests solve the same problems: ``import
field_instances as fi`` from a script in this folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_spec = importlib.util.spec_from_file_location(
    "_tests_field_instances", ROOT / "tests" / "solvers" / "field_instances.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)  # type: ignore[union-attr]
sys.modules[__name__] = _module
