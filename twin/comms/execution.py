"""Execution-time models: how long a service is busy with one solved problem.

The solver really solves every problem (the quality is real), but its wall-clock time on
this machine says nothing about a QPU in the cloud or an ARM box at a substation, and it
is not reproducible. So each service maps the solver's :class:`Result` (and the problem)
to a *modelled* busy time, in simulated seconds, from deterministic quantities only.

Public names
------------
ExecutionModel
    Protocol: ``seconds(problem, result) -> float``.
FixedExecution, QpuExecution, StatevectorExecution, ClassicalExecution,
WallTimeExecution
    The models.
diagnostic
    Read a number from ``result.diagnostics`` with a default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ClassicalExecution",
    "ExecutionModel",
    "FixedExecution",
    "QpuExecution",
    "StatevectorExecution",
    "WallTimeExecution",
    "diagnostic",
]


@runtime_checkable
class ExecutionModel(Protocol):
    """Maps a solved problem to the service's busy time."""

    def seconds(self, problem: Any, result: Any) -> float:
        """Modelled execution time of one job. [s]"""
        ...


def diagnostic(result: Any, key: str, default: float | None = None) -> float | None:
    """Return ``result.diagnostics[key]`` as a float, or ``default`` if absent or not a number.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> diagnostic(SimpleNamespace(diagnostics={"qubits": 12}), "qubits")
    12.0
    >>> diagnostic(SimpleNamespace(diagnostics={}), "shots", 1024.0)
    1024.0
    """
    diagnostics = getattr(result, "diagnostics", None) or {}
    value = diagnostics.get(key) if hasattr(diagnostics, "get") else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if not math.isfinite(value):
        return default
    return float(value)


def _check(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0.0 or (positive and value == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True, slots=True)
class FixedExecution:
    """The same busy time for every job."""

    seconds_per_job: float
    """Busy time. [s]"""

    def __post_init__(self) -> None:
        _check("seconds_per_job", self.seconds_per_job)

    def seconds(self, problem: Any, result: Any) -> float:
        """Return ``seconds_per_job``. [s]"""
        return self.seconds_per_job


@dataclass(frozen=True, slots=True)
class QpuExecution:
    """Busy time of a quantum processing unit, from the solver's modelled QPU time.

    Notes
    -----
    ``t = job_overhead_s + qpu_time_s``. ``qpu_time_s`` is the first of these
    diagnostics the solver reports: ``qpu_time_s``; then, when ``loop`` is False,
    ``modelled_qpu_time_s`` (the final sampling job: the variational angle search ran
    classically, as :mod:`solvers.qaoa` does), or, when ``loop`` is True,
    ``modelled_qpu_time_loop_s`` (every optimiser evaluation a QPU job). Without any,
    ``evaluations * shots * shot_time_s`` with ``circuit_evaluations`` and ``shots``
    from the diagnostics (defaults ``default_evaluations`` and ``default_shots``). The
    job overhead stands for the service's own compilation and loading per job.

    Billed shots (:meth:`billed_shots`): ``shots`` times the number of QPU jobs (1, or
    ``optimizer_iterations + 1`` with ``loop``).
    """

    job_overhead_s: float = 1.0
    """Fixed per-job time on the device. [s]"""
    shot_time_s: float = 250e-6
    """Time per shot when the solver does not report a modelled QPU time. [s]"""
    default_shots: float = 1024.0
    """Shots per evaluation if the diagnostics do not say. [-]"""
    default_evaluations: float = 100.0
    """Circuit evaluations if the diagnostics do not say. [-]"""
    loop: bool = False
    """Every optimiser evaluation runs on the QPU (else only the final sampling)."""

    def __post_init__(self) -> None:
        _check("job_overhead_s", self.job_overhead_s)
        _check("shot_time_s", self.shot_time_s)
        _check("default_shots", self.default_shots)
        _check("default_evaluations", self.default_evaluations)

    def seconds(self, problem: Any, result: Any) -> float:
        """Modelled QPU busy time. [s]"""
        key = "modelled_qpu_time_loop_s" if self.loop else "modelled_qpu_time_s"
        qpu_s = diagnostic(result, "qpu_time_s")
        if qpu_s is None:
            qpu_s = diagnostic(result, key)
        if qpu_s is None:
            shots = diagnostic(result, "shots", self.default_shots) or 0.0
            evaluations = (
                diagnostic(result, "circuit_evaluations", self.default_evaluations) or 0.0
            )
            qpu_s = evaluations * shots * self.shot_time_s
        return self.job_overhead_s + qpu_s

    def billed_shots(self, result: Any) -> float:
        """Shots billed for one solved problem. [-]

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> r = SimpleNamespace(diagnostics={"shots": 1000, "optimizer_iterations": 9})
        >>> QpuExecution().billed_shots(r), QpuExecution(loop=True).billed_shots(r)
        (1000.0, 10000.0)
        """
        shots = diagnostic(result, "shots", 0.0) or 0.0
        if not self.loop:
            return shots
        iterations = diagnostic(result, "optimizer_iterations", None)
        if iterations is None:
            iterations = (diagnostic(result, "circuit_evaluations", 1.0) or 1.0) - 1.0
        return shots * (iterations + 1.0)


@dataclass(frozen=True, slots=True)
class StatevectorExecution:
    """Busy time of a classical statevector simulation of a variational circuit (QAOA).

    Notes
    -----
    One circuit evaluation of ``n`` qubits applies about ``layers * n`` gates to a
    ``2**n`` statevector, so

    .. math:: t = t_{setup} + E \\, (t_{eval} + k \\, L \\, n \\, 2^n) / f

    with ``E`` circuit evaluations (``circuit_evaluations`` from the diagnostics,
    default ``default_evaluations``), ``L = layers``, ``k = seconds_per_amplitude_gate``
    and ``f = speed_factor``. The default ``k = 1.2e-9 s`` is calibrated on the
    measurement in ``/work/shared/NOTES.md`` (a compiled statevector kernel evaluates 20
    qubits in about 25 ms at one layer on this 2-core machine: ``0.025 / (20 * 2**20)``).
    Use ``speed_factor < 1`` for a slower edge box (e.g. 0.25) and ``> 1`` for a hosted
    GPU simulator. The time doubles with each added qubit, which is what makes simulated
    QAOA at the edge stop being an option somewhere above 20 qubits.
    """

    setup_s: float = 0.05
    """Per-job set-up (transpilation, allocation). [s]"""
    eval_overhead_s: float = 1e-3
    """Per-evaluation fixed cost (optimiser step, sampling). [s]"""
    seconds_per_amplitude_gate: float = 1.2e-9
    """Cost of one gate on one amplitude. [s]"""
    layers: int = 1
    """QAOA layers ``p`` when the diagnostics do not give ``reps``. [-]"""
    default_evaluations: float = 100.0
    """Circuit evaluations if the diagnostics do not say. [-]"""
    speed_factor: float = 1.0
    """Speed of the host relative to the calibration machine. [-]"""

    def __post_init__(self) -> None:
        _check("setup_s", self.setup_s)
        _check("eval_overhead_s", self.eval_overhead_s)
        _check("seconds_per_amplitude_gate", self.seconds_per_amplitude_gate)
        _check("default_evaluations", self.default_evaluations)
        _check("speed_factor", self.speed_factor, positive=True)
        if self.layers < 1:
            raise ValueError(f"layers must be >= 1, got {self.layers!r}")

    def seconds(self, problem: Any, result: Any) -> float:
        """Modelled simulation time; 0 qubits gives only the set-up time. [s]"""
        qubits = diagnostic(result, "qubits", 0.0) or 0.0
        if qubits <= 0.0:
            return self.setup_s
        layers = diagnostic(result, "reps", float(self.layers)) or float(self.layers)
        evaluations = (
            diagnostic(result, "circuit_evaluations", self.default_evaluations) or 0.0
        )
        per_eval_s = (
            self.eval_overhead_s
            + self.seconds_per_amplitude_gate * layers * qubits * 2.0**qubits
        )
        return self.setup_s + evaluations * per_eval_s / self.speed_factor


def _variable_count(problem: Any, result: Any) -> int:
    """Number of decision variables, from the problem or else from the result's values."""
    for attribute in ("num_variables", "n_variables"):
        value = getattr(problem, attribute, None)
        if isinstance(value, int):
            return value
    variables = getattr(problem, "variables", None)
    if variables is not None and hasattr(variables, "__len__"):
        return len(variables)
    values = getattr(result, "values", None)
    if values is not None and hasattr(values, "__len__"):
        return len(values)
    return 0


@dataclass(frozen=True, slots=True)
class ClassicalExecution:
    """Busy time of a classical solver (MILP, heuristics) from the problem size.

    Notes
    -----
    ``t = (base_s + per_variable_s * n ** exponent) / speed_factor`` with ``n`` the number
    of decision variables (``problem.num_variables``, ``len(problem.variables)`` or
    ``len(result.values)``). Defaults are calibrated on ``/work/shared/NOTES.md``: HiGHS
    solves a 24-step unit commitment with 5 to 20 units (roughly 500 to 2,000
    variables) in 0.6 to 1.1 s on this machine. Real MILP time is not a function of size
    alone; this model trades that for reproducibility. Use :class:`WallTimeExecution`
    to replay measured times instead.
    """

    base_s: float = 0.05
    """Fixed cost per job (model build, presolve). [s]"""
    per_variable_s: float = 5e-4
    """Cost per variable (to the power ``exponent``). [s]"""
    exponent: float = 1.0
    """Growth exponent in the number of variables. [-]"""
    speed_factor: float = 1.0
    """Speed of the host relative to the calibration machine. [-]"""

    def __post_init__(self) -> None:
        _check("base_s", self.base_s)
        _check("per_variable_s", self.per_variable_s)
        _check("exponent", self.exponent)
        _check("speed_factor", self.speed_factor, positive=True)

    def seconds(self, problem: Any, result: Any) -> float:
        """Modelled solve time. [s]"""
        n = _variable_count(problem, result)
        return (self.base_s + self.per_variable_s * n**self.exponent) / self.speed_factor


@dataclass(frozen=True, slots=True)
class WallTimeExecution:
    """Busy time = the solver's measured ``wall_time_s`` x ``scale``.

    Warnings
    --------
    Wall-clock time differs from run to run, so runs using this model are *not*
    bit-for-bit reproducible. Prefer the modelled times for studies and CI gates.
    """

    scale: float = 1.0
    """Host speed relative to this machine, as a time multiplier. [-]"""

    def __post_init__(self) -> None:
        _check("scale", self.scale, positive=True)

    def seconds(self, problem: Any, result: Any) -> float:
        """Measured wall time scaled. [s]"""
        wall_s = getattr(result, "wall_time_s", 0.0) or 0.0
        return float(wall_s) * self.scale
