"""Side-by-side reporting: a solver comparison table with approximation ratios.

The ratio is the project's one convention, :func:`solvers.metrics.approximation_ratio`
(minimisation ``f_opt / f``, 1 optimal, always in ``[0, 1]``), re-exported here.

Public names: :func:`approximation_ratio` (from :mod:`solvers.metrics`), :func:`compare`.

Examples
--------
>>> approximation_ratio(12.0, 10.0, "minimize")
0.8333333333333334
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from solvers.metrics import approximation_ratio
from solvers.problem import Sense, Status
from solvers.registry import Solver, get_solver

if TYPE_CHECKING:
    from solvers.problem import Problem
    from solvers.result import Result

__all__ = ["approximation_ratio", "compare"]

logger = logging.getLogger(__name__)


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
        ratio = approximation_ratio(res.objective, ref.objective, sense)
    return {
        "solver": label,
        "status": res.status.value,
        "objective": res.objective,
        "wall_time_s": res.wall_time_s,
        "approximation_ratio": ratio,
        "reference_objective": ref.objective,
        "message": res.message,
    }
