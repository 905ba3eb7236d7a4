"""QUBO-sized formulations of the twin's binary decisions, and their routing.

Each decision type is one class with ``from_inputs`` (the twin's state as the EMS sees
it), ``to_problem`` (a constrained binary :class:`solvers.Problem`) and ``interpret``
(answer -> decision), in the converter style of qiskit-optimization:

- ``unit_commitment``: :class:`UnitCommitment`;
- ``ev_chargers``: :class:`EvChargerAssignment`;
- ``deferrable_loads``: :class:`DeferrableLoadStarts`;
- ``battery_mode``: :class:`BatteryModeSelection`.

:class:`DecisionRouter` (``control.ems.decisions``) builds them at every plan, splits
them into sub-problems within the solver's qubit budget, sends each through the solver
gateway, recombines, checks the recombined decision against the full problem and its
``milp`` optimum, and fixes the decided binaries in the EMS's dispatch problem, whose
continuous part HiGHS then solves (hybrid decomposition).

Public names: :data:`FORMULATIONS`, :data:`DECISION_TYPES`, :class:`Formulation`,
:class:`PartSpec`, :class:`UnitCommitment`, :class:`EvChargerAssignment`,
:class:`DeferrableLoadStarts`, :class:`BatteryModeSelection`, :class:`DecisionRouter`,
:func:`solve_decomposed`.
"""

from __future__ import annotations

from twin.control.formulations.base import DECISION_TYPES, Formulation, PartSpec
from twin.control.formulations.battery_mode import BatteryModeSelection
from twin.control.formulations.router import DecisionRouter, solve_decomposed
from twin.control.formulations.start_slots import (
    DeferrableLoadStarts,
    EvChargerAssignment,
)
from twin.control.formulations.unit_commitment import UnitCommitment

FORMULATIONS: dict[str, type[Formulation]] = {
    "unit_commitment": UnitCommitment,
    "ev_chargers": EvChargerAssignment,
    "deferrable_loads": DeferrableLoadStarts,
    "battery_mode": BatteryModeSelection,
}
"""Decision type -> formulation class."""

__all__ = [
    "DECISION_TYPES",
    "FORMULATIONS",
    "BatteryModeSelection",
    "DecisionRouter",
    "DeferrableLoadStarts",
    "EvChargerAssignment",
    "Formulation",
    "PartSpec",
    "UnitCommitment",
    "solve_decomposed",
]
