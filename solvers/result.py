"""The outcome of a solve: :class:`Result`, and :func:`result_from_x`, which checks it honestly.

Public names: :class:`Result`, :func:`result_from_x` (and :class:`~solvers.problem.Status`,
defined with the problem's value types).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from solvers.problem import FEASIBILITY_TOL, Status, VarKind

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from solvers.problem import Problem

__all__ = ["Result", "result_from_x"]


class _NamedValues(Mapping[str, float]):
    """Read-only name -> value view over a solution array."""

    __slots__ = ("_problem", "_x")

    def __init__(self, problem_names: tuple[str, ...], index: Any, x: np.ndarray) -> None:
        self._problem = (problem_names, index)
        self._x = x

    def __getitem__(self, key: str) -> float:
        return float(self._x[self._problem[1](key)])

    def __iter__(self) -> Iterator[str]:
        return iter(self._problem[0])

    def __len__(self) -> int:
        return len(self._problem[0])

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {self[k]:g}" for k in list(self)[:6])
        more = ", ..." if len(self) > 6 else ""
        return f"{{{items}{more}}}"


@dataclass(frozen=True)
class Result:
    """Outcome of :meth:`Solver.solve`.

    Attributes
    ----------
    status : Status
        See :class:`Status`.
    solver : str
        Registered name of the solver that produced it.
    objective : float or None
        Objective value of ``x`` in the problem's own sense, or None.
    x : numpy.ndarray or None
        Solution in variable order (read-only), or None when there is none.
    wall_time_s : float
        Wall-clock time of the solve call. [s]
    diagnostics : Mapping[str, Any]
        Backend-specific values; keys are documented per solver.
    message : str
        Human-readable reason for UNSUPPORTED / FAILED / INFEASIBLE etc.
    problem : Problem or None
        The problem solved (gives names to ``x``).
    """

    status: Status
    solver: str
    objective: float | None = None
    x: NDArray[np.float64] | None = None
    wall_time_s: float = 0.0
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    problem: Problem | None = field(default=None, repr=False)

    @property
    def has_solution(self) -> bool:
        """True when ``x`` holds a feasible solution."""
        return self.x is not None

    @property
    def ok(self) -> bool:
        """True for OPTIMAL and FEASIBLE."""
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def values(self) -> Mapping[str, float]:
        """Solution by variable name (empty mapping when there is no solution)."""
        if self.x is None or self.problem is None:
            return {}
        return _NamedValues(self.problem.names, self.problem.index, self.x)

    def value(self, name: str) -> float:
        """Value of one variable by name."""
        if self.x is None or self.problem is None:
            raise KeyError(f"result of {self.solver!r} has no solution ({self.status.value})")
        return float(self.x[self.problem.index(name)])

    def to_dict(self, *, include_values: bool = True) -> dict[str, Any]:
        """JSON-friendly dictionary (numpy values converted to Python types)."""
        out: dict[str, Any] = {
            "status": self.status.value,
            "solver": self.solver,
            "objective": self.objective,
            "wall_time_s": self.wall_time_s,
            "message": self.message,
            "diagnostics": _jsonable(dict(self.diagnostics)),
        }
        if include_values:
            out["values"] = dict(self.values.items()) if self.x is not None else None
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def result_from_x(
    problem: Problem,
    solver: str,
    x: ArrayLike | None,
    *,
    status: Status | None = None,
    wall_time_s: float = 0.0,
    diagnostics: Mapping[str, Any] | None = None,
    message: str = "",
    tol: float = FEASIBILITY_TOL,
) -> Result:
    """Build a :class:`Result`, checking feasibility of ``x`` honestly.

    An assignment that violates a bound, integrality or constraint by more
    than ``tol`` is never reported as a solution: the status becomes
    INFEASIBLE (unless an explicit non-success status is given) and the
    violation is recorded in ``diagnostics["max_violation"]``.
    """
    diag = dict(diagnostics or {})
    if x is None:
        return Result(
            status=status or Status.FAILED,
            solver=solver,
            wall_time_s=wall_time_s,
            diagnostics=diag,
            message=message,
            problem=problem,
        )
    xv = np.array(x, dtype=np.float64, copy=True).reshape(-1)
    integral = problem.kinds != VarKind.CONTINUOUS
    snapped = xv.copy()
    snapped[integral] = np.round(snapped[integral])
    viol = problem.violation(snapped)
    diag["max_violation"] = viol
    if viol > tol:
        if status in (None, Status.OPTIMAL, Status.FEASIBLE):
            status = Status.INFEASIBLE
            message = message or f"best assignment violates the constraints by {viol:.3g}"
        return Result(
            status=status or Status.INFEASIBLE,
            solver=solver,
            wall_time_s=wall_time_s,
            diagnostics=diag,
            message=message,
            problem=problem,
        )
    snapped.flags.writeable = False
    return Result(
        status=status or Status.FEASIBLE,
        solver=solver,
        objective=problem.evaluate(snapped),
        x=snapped,
        wall_time_s=wall_time_s,
        diagnostics=diag,
        message=message,
        problem=problem,
    )
