"""GridTwin: a digital twin of smart distribution grids.

A discrete-event simulation (SimPy) steps a real pandapower network through time with
the assets that make a grid smart, under a controller, and writes reproducible runs into
a results store.

Public API
----------
load_scenario(path) -> Scenario
    Load, resolve (``base:``) and validate a scenario file (raises ScenarioError).
run(scenario, *, store="runs", seed=None, progress=None, cancel=None) -> RunResult
    Run a scenario and write its run folder atomically.
RunResult
    ``run_id``, ``path``, ``kpis``, ``stop_reason``, ``wall_time_s``.
Scenario, ScenarioError, ResultsError, RunCancelledError
    The scenario model and the errors callers handle.
open_run, list_runs
    Read the results store (also in :mod:`twin.store`).

Where things live: ``scenario/`` (schema, loading, overrides), ``checks`` (semantic
checks), ``engine`` (build and run), ``grid`` (power flow), ``assets/``, ``control/``,
``comms/``, ``faults/``, ``weather/``, ``metrics``, ``store/`` (results store, catalogue),
``study/`` (sweeps, gates, reports), ``cli``; the README's "Layout" says more. The twin
imports :mod:`solvers`, never the app.

``import twin`` is light: the names above are imported from their modules on first use
(the engine, with SimPy and pandapower, only when ``run`` or ``RunResult`` is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from twin.errors import ResultsError, RunCancelledError, ScenarioError, TwinError

if TYPE_CHECKING:
    from twin.engine import RunResult, run
    from twin.scenario import Scenario, load_scenario
    from twin.store import list_runs, open_run

_LAZY = {
    "RunResult": "twin.engine",
    "run": "twin.engine",
    "Scenario": "twin.scenario",
    "load_scenario": "twin.scenario",
    "list_runs": "twin.store",
    "open_run": "twin.store",
}
"""Public names imported on first use, so that ``import twin`` (and so every
``import twin.<module>``) loads neither the engine nor its libraries (SimPy, pandapower,
pandas, SciPy)."""

__all__ = [
    "ResultsError",
    "RunCancelledError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TwinError",
    "list_runs",
    "load_scenario",
    "open_run",
    "run",
]


def __getattr__(name: str) -> Any:
    """Import a public name of :data:`_LAZY` from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'twin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
