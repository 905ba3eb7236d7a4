"""From QUBO samples to an honest :class:`~solvers.problem.Result`.

Samplers (QAOA shots, simulated annealing, tabu search) return assignments of
QUBO binaries. This module maps them back to the problem's variables, checks
each against the original bounds and constraints (never the penalised QUBO),
optionally repairs infeasible ones by greedy bit flips, and picks the best
feasible assignment. An assignment that still violates a constraint is never
reported as a solution.

Public names: :class:`SampleSet`, :func:`evaluate_samples`, :func:`repair_binary`,
:func:`result_from_samples`.

Notes
-----
Repair (pure binary problems only): starting from the sample, flip the single
bit that most reduces the total constraint violation
:math:`\\sum_r \\max(0, l_r - a_r x, a_r x - u_r)` (ties: the better objective),
until feasible or no flip helps; at most ``n`` flips. Repaired assignments are
counted in ``diagnostics["repaired_samples"]`` and the winner is flagged with
``diagnostics["best_was_repaired"]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solvers.problem import Result, Status, VarKind, result_from_x

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from solvers.problem import Problem
    from solvers.qubo import Qubo

__all__ = ["SampleSet", "evaluate_samples", "repair_binary", "result_from_samples"]

logger = logging.getLogger(__name__)

#: How many of the best infeasible samples are tried for repair.
REPAIR_CANDIDATES = 16


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Distinct assignments of a problem's variables with their evaluation.

    Attributes
    ----------
    x : numpy.ndarray, shape (k, n)
        Assignments in the problem's variable order, sorted: feasible first,
        then by objective (best first in the problem's sense).
    counts : numpy.ndarray, shape (k,)
        How often each was sampled (0 for repaired ones).
    objective : numpy.ndarray, shape (k,)
        Objective of each assignment in the problem's own sense.
    feasible : numpy.ndarray of bool, shape (k,)
        Respects bounds, integrality and constraints.
    repaired : numpy.ndarray of bool, shape (k,)
        Produced by :func:`repair_binary` from an infeasible sample.
    """

    x: NDArray[np.float64]
    counts: NDArray[np.int64]
    objective: NDArray[np.float64]
    feasible: NDArray[np.bool_]
    repaired: NDArray[np.bool_]


def _violation_rows(problem: Problem, xm: np.ndarray) -> np.ndarray:
    """Total row violation of each row of ``xm``."""
    if not problem.num_constraints:
        return np.zeros(xm.shape[0])
    ax = (problem.constraints @ xm.T).T
    return (np.maximum(problem.row_lower - ax, 0.0) + np.maximum(ax - problem.row_upper, 0.0)).sum(
        axis=1
    )


def repair_binary(problem: Problem, x: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Greedy bit-flip repair of a binary assignment (see module Notes).

    Returns
    -------
    numpy.ndarray or None
        A feasible assignment, or None when greedy flips cannot reach one.
    """
    if not problem.is_binary:
        return None
    cur = np.array(x, dtype=np.float64)
    n = cur.size
    sign = problem.sense.sign
    free = problem.lower < problem.upper
    for _ in range(n + 1):
        if problem.is_feasible(cur):
            return cur
        base = _violation_rows(problem, cur[None, :])[0]
        flips = np.repeat(cur[None, :], n, axis=0)
        idx = np.arange(n)
        flips[idx, idx] = 1.0 - flips[idx, idx]
        viol = _violation_rows(problem, flips)
        viol[~free] = np.inf
        obj = sign * problem.evaluate_many(flips)
        order = np.lexsort((obj, viol))
        k = int(order[0])
        if not viol[k] < base - 1e-12:
            return None
        cur = flips[k]
    return cur if problem.is_feasible(cur) else None


def evaluate_samples(
    problem: Problem,
    z: NDArray[np.float64],
    counts: NDArray[np.int64] | None = None,
    *,
    qubo: Qubo | None = None,
    repair: bool = True,
) -> SampleSet:
    """Map QUBO samples to the problem, check them and (optionally) repair them.

    Parameters
    ----------
    problem : Problem
        The original problem.
    z : array_like, shape (s, k)
        Distinct QUBO assignments (or the problem's own binaries when
        ``qubo`` is None).
    counts : array_like, shape (s,), optional
        Multiplicity of each sample.
    qubo : Qubo, optional
        The QUBO the samples come from (its ``interpret`` maps them back).
    repair : bool
        Try :func:`repair_binary` on the best infeasible samples when no
        sample is feasible.
    """
    zm = np.atleast_2d(np.asarray(z, dtype=np.float64))
    cnt = np.ones(zm.shape[0], dtype=np.int64) if counts is None else np.asarray(counts, np.int64)
    if qubo is not None and qubo.converter is not None:
        xm = np.array([qubo.interpret(row) for row in zm], dtype=np.float64).reshape(
            zm.shape[0], problem.num_variables
        )
    else:
        xm = zm[:, : problem.num_variables].copy()
    # merge duplicates after interpretation (slack bits map to the same x)
    xm, inverse = np.unique(xm, axis=0, return_inverse=True)
    merged = np.zeros(xm.shape[0], dtype=np.int64)
    np.add.at(merged, inverse.reshape(-1), cnt)
    feasible = problem.feasible_mask(xm)
    repaired = np.zeros(xm.shape[0], dtype=bool)
    if repair and not feasible.any() and problem.is_binary and xm.shape[0]:
        sign = problem.sense.sign
        order = np.argsort(_violation_rows(problem, xm) * 1e6 + sign * problem.evaluate_many(xm))
        fixed = []
        for i in order[:REPAIR_CANDIDATES]:
            y = repair_binary(problem, xm[i])
            if y is not None:
                fixed.append(y)
        if fixed:
            new = np.unique(np.array(fixed), axis=0)
            xm = np.vstack([xm, new])
            merged = np.concatenate([merged, np.zeros(new.shape[0], dtype=np.int64)])
            feasible = np.concatenate([feasible, np.ones(new.shape[0], dtype=bool)])
            repaired = np.concatenate([repaired, np.ones(new.shape[0], dtype=bool)])
    obj = problem.evaluate_many(xm) if xm.shape[0] else np.zeros(0)
    key = problem.sense.sign * obj
    order = np.lexsort((key, ~feasible))
    return SampleSet(
        x=xm[order],
        counts=merged[order],
        objective=obj[order],
        feasible=feasible[order],
        repaired=repaired[order],
    )


def result_from_samples(
    problem: Problem,
    solver: str,
    samples: SampleSet,
    *,
    wall_time_s: float,
    diagnostics: dict[str, Any],
    timed_out: bool = False,
) -> Result:
    """The best feasible sample as a :class:`Result` (INFEASIBLE, unproven, if none).

    The status is FEASIBLE (TIME_LIMIT when ``timed_out``); sampling proves
    neither optimality nor infeasibility (``diagnostics["infeasible_proven"]``
    is False).
    """
    diag = dict(diagnostics)
    diag["distinct_samples"] = int(samples.x.shape[0])
    diag["feasible_samples"] = int(samples.feasible.sum())
    diag["repaired_samples"] = int(samples.repaired.sum())
    total = int(samples.counts.sum())
    diag["feasible_fraction"] = (
        float(samples.counts[samples.feasible].sum() / total) if total else 0.0
    )
    if samples.x.shape[0] and samples.feasible[0]:
        diag["best_was_repaired"] = bool(samples.repaired[0])
        return result_from_x(
            problem,
            solver,
            samples.x[0],
            status=Status.TIME_LIMIT if timed_out else Status.FEASIBLE,
            wall_time_s=wall_time_s,
            diagnostics=diag,
            message="time limit reached; best feasible sample so far" if timed_out else "",
        )
    diag["infeasible_proven"] = False
    status = Status.TIME_LIMIT if timed_out else Status.INFEASIBLE
    return Result(
        status=status,
        solver=solver,
        wall_time_s=wall_time_s,
        diagnostics=diag,
        message=(
            f"no feasible assignment among {samples.x.shape[0]} distinct samples"
            + (" (repair failed)" if problem.is_binary else "")
            + "; infeasibility is not proven"
        ),
        problem=problem,
    )


def integral_kinds(problem: Problem) -> bool:
    """True when every variable is binary or integer."""
    return bool((problem.kinds != VarKind.CONTINUOUS).all())
