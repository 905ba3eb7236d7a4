"""Side-by-side reporting: approximation ratios and a solver comparison table.

Public names: :func:`approximation_ratio`, :func:`compare`.

Examples
--------
>>> approximation_ratio(12.0, 10.0, "minimize")
0.8333333333333334
>>> approximation_ratio(5.0, 10.0, "minimize", worst=20.0)
1.5
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from solvers.problem import Sense, Status
from solvers.registry import Solver, get_solver

if TYPE_CHECKING:
    from solvers.problem import Problem, Result

__all__ = ["approximation_ratio", "compare"]

logger = logging.getLogger(__name__)


def approximation_ratio(
    value: float, optimum: float, sense: Sense | str = Sense.MINIMIZE, *, worst: float | None = None
) -> float:
    r"""How close ``value`` is to ``optimum``: 1 is optimal, smaller is worse.

    Parameters
    ----------
    value : float
        Objective value found (or an expected objective). [objective unit]
    optimum : float
        Reference optimum (e.g. from ``milp``). [objective unit]
    sense : Sense or str
        Objective sense of the problem.
    worst : float, optional
        Worst objective value (e.g. the worst feasible, or the mean over all
        assignments). When given, the ratio is normalised:
        :math:`(w - v) / (w - f^*)`, 1 at the optimum and 0 at ``worst``,
        valid whatever the signs.

    Returns
    -------
    float
        Without ``worst``: :math:`f^*/v` for minimisation and :math:`v/f^*` for
        maximisation when both are positive (swapped when both are negative).

    Raises
    ------
    ValueError
        Without ``worst``, when ``value`` and ``optimum`` differ in sign or
        one of them is zero (the plain ratio is meaningless then).
    """
    s = Sense.parse(sense)
    if worst is not None:
        if worst == optimum:
            return 1.0
        return (worst - value) / (worst - optimum)
    if value == optimum:
        return 1.0
    if value == 0 or optimum == 0 or math.copysign(1, value) != math.copysign(1, optimum):
        raise ValueError(
            f"approximation ratio of {value} against {optimum} needs a reference 'worst' "
            "value (signs differ or one is zero)"
        )
    lower_is_better = s is Sense.MINIMIZE
    if value > 0:
        return optimum / value if lower_is_better else value / optimum
    return value / optimum if lower_is_better else optimum / value


def compare(
    problem: Problem,
    solvers: Iterable[str | Solver] | Mapping[str, Solver],
    *,
    reference: str | Solver = "milp",
    time_limit: float | None = None,
    seed: int | None = 0,
) -> list[dict[str, Any]]:
    """Run several solvers on one problem and tabulate them against a reference.

    Parameters
    ----------
    problem : Problem
        The problem.
    solvers : iterable of names or solvers, or mapping label -> solver
        What to compare.
    reference : str or Solver
        Solver whose optimum defines the approximation ratio (``milp``).
    time_limit : float, optional
        Per-solver wall-clock limit. [s]
    seed : int, optional
        Seed passed to every solver.

    Returns
    -------
    list of dict
        One row per solver: ``solver``, ``status``, ``objective``,
        ``wall_time_s``, ``approximation_ratio`` (None when not computable),
        ``reference_objective``, ``message``; the reference solver comes first.
    """
    ref_solver = get_solver(reference) if isinstance(reference, str) else reference
    entries: list[tuple[str, Solver]] = []
    if isinstance(solvers, Mapping):
        entries = list(solvers.items())
    else:
        for s in solvers:
            solver = get_solver(s) if isinstance(s, str) else s
            entries.append((solver.name, solver))
    ref = ref_solver.solve(problem, time_limit=time_limit, seed=seed)
    rows = [_row(ref_solver.name, ref, ref)]
    for label, solver in entries:
        res = solver.solve(problem, time_limit=time_limit, seed=seed)
        rows.append(_row(label, res, ref))
    return rows


def _row(label: str, res: Result, ref: Result) -> dict[str, Any]:
    ratio = None
    if res.objective is not None and ref.objective is not None and ref.status is Status.OPTIMAL:
        sense = res.problem.sense if res.problem is not None else Sense.MINIMIZE
        try:
            ratio = approximation_ratio(res.objective, ref.objective, sense)
        except ValueError:
            ratio = None
    return {
        "solver": label,
        "status": res.status.value,
        "objective": res.objective,
        "wall_time_s": res.wall_time_s,
        "approximation_ratio": ratio,
        "reference_objective": ref.objective,
        "message": res.message,
    }
