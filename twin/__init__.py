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
"""

from __future__ import annotations

from twin.engine import RunResult, run
from twin.errors import ResultsError, RunCancelledError, ScenarioError, TwinError
from twin.scenario import Scenario, load_scenario
from twin.store import list_runs, open_run

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
