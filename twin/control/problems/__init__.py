"""Problem builders of the EMS: twin state and forecasts -> ``solvers.Problem`` -> plan.

Each control task is a to-problem / interpret pair:

- ``dispatch`` (:mod:`~twin.control.problems.dispatch`): :func:`build_dispatch` /
  :func:`interpret_dispatch`, the joint schedule over the horizon (unit commitment,
  batteries, EV charging, HVAC pre-heating or pre-cooling inside comfort bands,
  deferrable loads, the PCC and its limit) as a MILP;
- ``ev_assignment`` (:mod:`~twin.control.problems.ev_assignment`):
  :func:`build_ev_assignment` / :func:`interpret_ev_assignment`, which vehicles charge at
  full power in the coming slot, a small binary quadratic problem (a QUBO) that fits a
  qubit budget; :func:`split_vehicles` decomposes larger fleets.

The inputs of a plan are in :mod:`~twin.control.problems.inputs`; the sparse coefficient
blocks the dispatch rows are made of in :mod:`~twin.control.problems.terms`.

Imports: numpy, :mod:`solvers` (Problem, ProblemBuilder, Result); nothing of the twin
outside this package (the inputs arrive as arrays).

Public names: :class:`DispatchInputs`, :class:`BatteryInputs`, :class:`GeneratorInputs`,
:class:`EvInputs`, :class:`BuildingInputs`, :class:`RunInputs`, :class:`DispatchPlan`,
:class:`DispatchLayout`, :func:`build_dispatch`, :func:`interpret_dispatch`,
:func:`build_ev_assignment`, :func:`interpret_ev_assignment`, :func:`split_vehicles`.
"""

from __future__ import annotations

from twin.control.problems.dispatch import (
    DispatchLayout,
    DispatchPlan,
    build_dispatch,
    interpret_dispatch,
)
from twin.control.problems.ev_assignment import (
    build_ev_assignment,
    interpret_ev_assignment,
    split_vehicles,
)
from twin.control.problems.inputs import (
    BatteryInputs,
    BuildingInputs,
    DispatchInputs,
    EvInputs,
    GeneratorInputs,
    RunInputs,
)

__all__ = [
    "BatteryInputs",
    "BuildingInputs",
    "DispatchInputs",
    "DispatchLayout",
    "DispatchPlan",
    "EvInputs",
    "GeneratorInputs",
    "RunInputs",
    "build_dispatch",
    "build_ev_assignment",
    "interpret_dispatch",
    "interpret_ev_assignment",
    "split_vehicles",
]
