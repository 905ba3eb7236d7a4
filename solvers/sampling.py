"""From QUBO samples to an honest :class:`~solvers.result.Result`.

Samplers (QAOA shots, simulated annealing, tabu search) return assignments of
QUBO binaries. This module maps them back to the problem's variables, checks
each against the original bounds and constraints (never the penalised QUBO),
optionally repairs infeasible ones by greedy bit flips, and picks the best
feasible assignment. An assignment that still violates a constraint is never
reported as a solution.

Every sampling solver passes the reference optimum (given by the caller, or
computed by ``milp``: :func:`resolve_reference`) to :func:`result_from_samples`,
which adds the quality keys of :func:`solvers.metrics.sample_quality` and the
uniform random baseline at equal shots (``random_*`` keys) to the diagnostics
(:func:`quality_diagnostics`).

Public names: :class:`SampleSet`, :func:`evaluate_samples`, :func:`repair_binary`,
:func:`result_from_samples`, :func:`quality_diagnostics`, :func:`resolve_reference`,
:func:`fold_seed`, :func:`derived_seed`.

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
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solvers.metrics import (
    approximation_ratio,
    prefixed,
    random_baseline,
    reference_optimum,
    sample_quality,
)
from solvers.problem import Status, VarKind
from solvers.result import Result, result_from_x

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from solvers.problem import Problem
    from solvers.qubo import Qubo

__all__ = [
    "SampleSet",
    "derived_seed",
    "evaluate_samples",
    "fold_seed",
    "quality_diagnostics",
    "repair_binary",
    "resolve_reference",
    "result_from_samples",
]

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


def fold_seed(seed: int | None, bits: int = 31) -> int | None:
    """Any integer seed as one in ``0 .. 2**bits - 1``, deterministically.

    Seeds already in range pass unchanged (so results for them stay the same);
    others (negative, or ``2**31`` and up, which dwave-samplers refuses) are
    hashed through ``numpy.random.SeedSequence``: distinct large seeds give
    distinct, reproducible streams, unlike a plain modulo.

    Examples
    --------
    >>> fold_seed(7), fold_seed(None)
    (7, None)
    >>> 0 <= fold_seed(2**64 + 3) < 2**31
    True
    """
    if seed is None:
        return None
    s = int(seed)
    if 0 <= s < (1 << bits):
        return s
    words = [int(s < 0), *_words(abs(s))]
    state = np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0]
    return int(state) & ((1 << bits) - 1)


def derived_seed(seed: int | None, stream: int) -> int | None:
    """A seed in ``0 .. 2**31 - 1`` for the named sub-stream ``stream`` of ``seed``.

    Examples
    --------
    >>> derived_seed(5, 1) == derived_seed(5, 1) != derived_seed(5, 2)
    True
    """
    if seed is None:
        return None
    s = int(seed)
    state = np.random.SeedSequence([int(stream), int(s < 0), *_words(abs(s))])
    return int(state.generate_state(1, dtype=np.uint64)[0]) & ((1 << 31) - 1)


def _words(value: int) -> list[int]:
    """``value`` (>= 0) as little-endian 32-bit words (SeedSequence entropy)."""
    words = []
    while True:
        value, low = divmod(value, 1 << 32)
        words.append(low)
        if not value:
            return words


#: Longest the reference solver may take when the call has no time limit. [s]
REFERENCE_TIME_LIMIT_S = 60.0


def resolve_reference(
    problem: Problem, reference_objective: float | None, reference_solver: str | None,
    deadline: float | None = None,
) -> tuple[float | None, dict[str, Any]]:
    """The reference optimum: the caller's, else ``reference_solver``'s (None: none).

    With a ``deadline`` (``time.perf_counter()`` value of the call's time limit) the
    reference solve gets only the time left, and is skipped when none is left
    (``reference_status`` says so): the quality keys never push a call over its
    limit.
    """
    if reference_objective is not None:
        return float(reference_objective), {"reference_solver": "given"}
    if reference_solver is None:
        return None, {}
    limit = REFERENCE_TIME_LIMIT_S
    if deadline is not None:
        limit = min(limit, deadline - time.perf_counter())
        if limit <= 0:
            return None, {"reference_solver": reference_solver,
                          "reference_status": "skipped: the call's time limit was reached"}
    return reference_optimum(problem, solver=reference_solver, time_limit=limit)


def quality_diagnostics(
    problem: Problem,
    samples: SampleSet,
    reference_objective: float,
    *,
    t_run_s: float,
    expected_objective: float | None,
    seed: int | None,
) -> dict[str, Any]:
    """:func:`solvers.metrics.sample_quality` of ``samples`` plus the ``random_*`` baseline.

    The shares are over *sampled* shots (repaired assignments have count 0);
    ``result_ratio`` is the ratio of the reported solution (which may be
    repaired). The random baseline uses as many shots as were sampled.
    """
    out = sample_quality(samples.objective, samples.counts, samples.feasible,
                         reference_objective, problem.sense, t_run_s=t_run_s,
                         expected_objective=expected_objective)
    shots = int(samples.counts.sum())
    out["result_ratio"] = (approximation_ratio(float(samples.objective[0]), reference_objective,
                                               problem.sense)
                           if samples.x.shape[0] and samples.feasible[0] else 0.0)
    out.update(prefixed("random_", random_baseline(problem, reference_objective, shots, seed)))
    return out


def result_from_samples(
    problem: Problem,
    solver: str,
    samples: SampleSet,
    *,
    wall_time_s: float,
    diagnostics: dict[str, Any],
    timed_out: bool = False,
    reference_objective: float | None = None,
    expected_objective: float | None = None,
    t_run_s: float | None = None,
    seed: int | None = None,
) -> Result:
    """The best feasible sample as a :class:`Result` (INFEASIBLE, unproven, if none).

    The status is FEASIBLE (TIME_LIMIT when ``timed_out``); sampling proves
    neither optimality nor infeasibility (``diagnostics["infeasible_proven"]``
    is False). With ``reference_objective`` the quality keys of
    :func:`quality_diagnostics` are added (TTS99 over ``t_run_s``, default the
    wall time).
    """
    diag = dict(diagnostics)
    diag["distinct_samples"] = int(samples.x.shape[0])
    diag["feasible_samples"] = int(samples.feasible.sum())
    diag["repaired_samples"] = int(samples.repaired.sum())
    total = int(samples.counts.sum())
    diag["feasible_fraction"] = (
        float(samples.counts[samples.feasible].sum() / total) if total else 0.0
    )
    diag["feasible_share"] = diag["feasible_fraction"]
    if expected_objective is not None:
        diag["expected_objective"] = float(expected_objective)
    if reference_objective is not None:
        diag.update(quality_diagnostics(
            problem, samples, reference_objective,
            t_run_s=wall_time_s if t_run_s is None else t_run_s,
            expected_objective=expected_objective, seed=seed))
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
