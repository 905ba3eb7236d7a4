r"""Solution-quality metrics of sampling solvers: one ratio convention, TTS99, a random baseline.

Every function here is pure (numbers in, numbers out); :func:`sample_quality`
gives the diagnostics keys that every sampling solver (``qaoa``, ``annealing``,
``tabu``, ``greedy``, ``random``) reports under the same names
(:data:`QUALITY_KEYS`).

The approximation ratio (one convention for the whole project)
--------------------------------------------------------------
For a minimisation with reference optimum :math:`f^*` and a value :math:`f`:

.. math::

    r(f) = f^* / f \quad (f^* > 0), \qquad
    r(f) = f / f^* \quad (f^* < 0), \qquad
    \text{clipped to } [0, 1].

1 is optimal, smaller is worse, and it is always in ``[0, 1]``. Sign handling
(the plain quotient is meaningless across zero):

- :math:`f^* > 0`: :math:`f^*/f`, tends to 0 as :math:`f \to \infty`;
- :math:`f^* < 0`: :math:`f/f^*` (ratio of magnitudes), 1 at the optimum, 0 at
  :math:`f = 0`, and 0 for any :math:`f > 0` (a value on the wrong side of zero
  is no approximation at all);
- :math:`f^* = 0`: 1 if :math:`f \le 0`, else 0 (the limit of :math:`0/f`);
- a value better than the reference (a reference that is not optimal) gives 1.

Maximisation is the same rule applied to :math:`-f` and :math:`-f^*`, i.e.
:math:`f/f^*` for positive objectives. The ratio is monotone: a better value never
has a lower ratio.

Time to solution
----------------
:math:`\mathrm{TTS}_{99} = t_\mathrm{run}\,\ln(0.01)/\ln(1-p)` with :math:`p` the
probability that one run finds an optimum (:func:`tts99`): infinite when
:math:`p = 0`, and never less than one run (:math:`t_\mathrm{run}` when
:math:`p \ge 0.99`, so in particular when :math:`p = 1`). For a sampler a
"run" is one whole solve call returning the best of its ``shots`` samples, so
:math:`p = 1 - (1 - p_\mathrm{opt})^{\mathrm{shots}}` with :math:`p_\mathrm{opt}`
the share of shots that were optimal.

Random baseline
---------------
Uniform random sampling of the problem's own variables (binaries 0/1, bounded
integers uniform over their range) at the same number of shots, each sample
checked against the constraints. For a problem with at most
:data:`CLOSED_FORM_MAX_ASSIGNMENTS` assignments it is computed in closed form
from the enumeration (:func:`random_baseline_closed_form`): per-shot
probabilities are counts over all assignments, and the expected best-of-``S``
ratio is :math:`\sum_k (v_k - v_{k+1})\,(1 - (1 - q_k)^S)` over the distinct
ratios :math:`v_1 > v_2 > \dots` (infeasible assignments count as ratio 0,
:math:`v_{m+1} = 0`) with :math:`q_k` the share of assignments with ratio
:math:`\ge v_k`. Larger problems draw ``S`` samples from a seeded generator
(:func:`random_baseline_sampled`).

Public names: :func:`approximation_ratio`, :func:`approximation_ratios`, :func:`tts99`,
:func:`success_probability`, :func:`is_optimal`, :func:`sample_quality`,
:func:`random_baseline`, :func:`random_baseline_closed_form`,
:func:`random_baseline_sampled`, :func:`reference_optimum`, :data:`QUALITY_KEYS`,
:data:`RANDOM_KEYS`, :data:`WITHIN_FRACTION`.

Examples
--------
>>> approximation_ratio(12.0, 10.0)
0.8333333333333334
>>> approximation_ratio(-8.0, -10.0)
0.8
>>> approximation_ratio(8.0, 10.0, "maximize")
0.8
>>> round(tts99(1.0, 0.5), 4)
6.6439
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from solvers.problem import Sense, VarKind

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from solvers.problem import Problem

__all__ = [
    "CLOSED_FORM_MAX_ASSIGNMENTS",
    "QUALITY_KEYS",
    "RANDOM_KEYS",
    "WITHIN_FRACTION",
    "approximation_ratio",
    "approximation_ratios",
    "is_optimal",
    "random_baseline",
    "random_baseline_closed_form",
    "random_baseline_sampled",
    "reference_optimum",
    "sample_quality",
    "success_probability",
    "tts99",
]

#: "Within 1 %": a sample whose approximation ratio is at least ``1 - WITHIN_FRACTION``.
WITHIN_FRACTION = 0.01

#: Relative tolerance (of ``max(1, |f*|)``) within which a value counts as optimal.
OPTIMAL_RTOL = 1e-9

#: Largest number of assignments enumerated for the closed-form random baseline of a
#: binary problem (objective and row activities of all assignments by doubling; about
#: 36 ms at 2^16 here, the np.unique of the ratios most of it); problems with integer variables are enumerated row by row, up
#: to :data:`CLOSED_FORM_MAX_GENERAL`.
CLOSED_FORM_MAX_ASSIGNMENTS = 1 << 16

#: Largest number of assignments enumerated generically (integer variables).
CLOSED_FORM_MAX_GENERAL = 1 << 14

#: Keys :func:`sample_quality` puts into ``Result.diagnostics`` (every sampling solver).
QUALITY_KEYS = (
    "reference_objective",
    "expected_objective",
    "expected_ratio",
    "best_ratio",
    "p_optimal",
    "p_within_1pct",
    "feasible_share",
    "p_success",
    "tts99_shots",
    "tts99_s",
)

#: Keys of the uniform random baseline at equal shots (prefixed ``random_`` in diagnostics).
RANDOM_KEYS = (
    "best_ratio",
    "expected_best_ratio",
    "p_optimal",
    "p_within_1pct",
    "feasible_share",
    "p_success",
    "tts99_shots",
    "method",
)


def approximation_ratio(value: float, optimum: float, sense: Sense | str = Sense.MINIMIZE
                        ) -> float:
    """The project's one approximation ratio: 1 optimal, in ``[0, 1]`` (module docstring).

    Parameters
    ----------
    value : float
        Objective value found (or an expected objective). [objective unit]
    optimum : float
        Reference optimum (e.g. from ``milp``). [objective unit]
    sense : Sense or str
        Objective sense of the problem.

    Returns
    -------
    float
        :math:`f^*/f` for a positive minimisation; see the module docstring for the
        signs. NaN when either input is NaN.

    Examples
    --------
    >>> approximation_ratio(12.0, 10.0)
    0.8333333333333334
    >>> approximation_ratio(5.0, -10.0), approximation_ratio(0.0, 0.0)
    (0.0, 1.0)
    """
    return float(approximation_ratios(np.array([value], dtype=np.float64), optimum, sense)[0])


def approximation_ratios(values: ArrayLike, optimum: float,
                         sense: Sense | str = Sense.MINIMIZE) -> NDArray[np.float64]:
    """:func:`approximation_ratio` of every entry of ``values`` (vectorised)."""
    v = np.asarray(values, dtype=np.float64)
    if Sense.parse(sense) is Sense.MAXIMIZE:
        v, f_opt = -v, -float(optimum)
    else:
        f_opt = float(optimum)
    out = np.empty_like(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        if f_opt > 0:
            out = np.where(v > 0, f_opt / v, 1.0)
        elif f_opt < 0:
            out = np.where(v < 0, v / f_opt, 0.0)
        elif f_opt == 0:
            out = np.where(v <= 0, 1.0, 0.0)
        else:  # NaN optimum
            out = np.full_like(v, math.nan)
    out = np.clip(out, 0.0, 1.0)
    out[np.isnan(v)] = math.nan
    return out


def is_optimal(values: ArrayLike, optimum: float, sense: Sense | str = Sense.MINIMIZE
               ) -> NDArray[np.bool_]:
    """True where a value is at least as good as ``optimum`` within :data:`OPTIMAL_RTOL`."""
    v = np.asarray(values, dtype=np.float64)
    tol = OPTIMAL_RTOL * max(1.0, abs(float(optimum)))
    if Sense.parse(sense) is Sense.MAXIMIZE:
        return v >= float(optimum) - tol
    return v <= float(optimum) + tol


def success_probability(p_per_shot: float, shots: int) -> float:
    """Probability that at least one of ``shots`` independent shots succeeds.

    Examples
    --------
    >>> success_probability(0.5, 2)
    0.75
    """
    p = min(max(float(p_per_shot), 0.0), 1.0)
    if p >= 1.0:
        return 1.0
    return float(-math.expm1(int(shots) * math.log1p(-p)))


def tts99(t_run_s: float, p_success: float) -> float:
    r"""Time to solution at 99 % confidence, :math:`t\,\ln 0.01/\ln(1-p)`, at least ``t``.

    Parameters
    ----------
    t_run_s : float
        Time of one run (one solve returning its best sample). [s]
    p_success : float
        Probability that one run finds an optimum. [-]

    Returns
    -------
    float
        ``inf`` when ``p_success`` is 0; ``t_run_s`` when it is 0.99 or more (a
        run cannot be repeated less than once). [s]

    Examples
    --------
    >>> tts99(2.0, 0.0), tts99(2.0, 1.0)
    (inf, 2.0)
    >>> round(tts99(1.0, 0.1), 3)   # ln 0.01 / ln 0.9
    43.709
    """
    p = float(p_success)
    if not p > 0.0:
        return math.inf
    if p >= 0.99:
        return float(t_run_s)
    return float(t_run_s) * max(1.0, math.log(0.01) / math.log1p(-p))


def _shot_shares(objectives: np.ndarray, counts: np.ndarray, feasible: np.ndarray,
                 optimum: float, sense: Sense) -> tuple[float, float, float, float]:
    """(p_optimal, p_within_1pct, feasible_share, best_ratio) of weighted samples."""
    total = float(counts.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0, 0.0
    ratios = np.where(feasible, approximation_ratios(objectives, optimum, sense), 0.0)
    opt = feasible & is_optimal(objectives, optimum, sense)
    within = feasible & ((ratios >= 1.0 - WITHIN_FRACTION) | opt)
    best = float(ratios[counts > 0].max(initial=0.0)) if feasible.any() else 0.0
    return (float(counts[opt].sum() / total), float(counts[within].sum() / total),
            float(counts[feasible].sum() / total), best)


def sample_quality(
    objectives: ArrayLike,
    counts: ArrayLike,
    feasible: ArrayLike,
    optimum: float,
    sense: Sense | str = Sense.MINIMIZE,
    *,
    t_run_s: float,
    expected_objective: float | None = None,
) -> dict[str, Any]:
    """The quality keys (:data:`QUALITY_KEYS`) of one sampling run.

    Parameters
    ----------
    objectives : array_like, shape (k,)
        Objective of each distinct sample in the problem's sense (any value for
        infeasible ones).
    counts : array_like, shape (k,)
        How often each was sampled (0 for repaired ones: a repaired assignment was
        never sampled, so it adds nothing to the per-shot shares).
    feasible : array_like of bool, shape (k,)
        Whether each respects the constraints.
    optimum : float
        Reference optimum :math:`f^*`.
    sense : Sense or str
        Objective sense.
    t_run_s : float
        Time of the run, for TTS99. [s]
    expected_objective : float, optional
        Expected objective of the final state (QAOA: from the state; samplers: the
        mean penalised objective of the samples). Gives ``expected_ratio``.

    Returns
    -------
    dict
        ``reference_objective``, ``expected_objective``, ``expected_ratio`` (None
        without ``expected_objective``), ``best_ratio`` (best *sampled* feasible,
        0 when none), ``p_optimal`` and ``p_within_1pct`` (shares of shots),
        ``feasible_share``, ``p_success`` (at least one optimal shot among the
        run's shots), ``tts99_shots`` (shots needed for 99 % confidence),
        ``tts99_s`` (:func:`tts99` of the run).

    Examples
    --------
    >>> q = sample_quality([10.0, 12.0, 99.0], [1, 2, 1], [True, True, False], 10.0,
    ...                    t_run_s=1.0)
    >>> q["p_optimal"], q["feasible_share"], round(q["p_within_1pct"], 2)
    (0.25, 0.75, 0.25)
    """
    s = Sense.parse(sense)
    obj = np.asarray(objectives, dtype=np.float64).reshape(-1)
    cnt = np.asarray(counts, dtype=np.float64).reshape(-1)
    feas = np.asarray(feasible, dtype=bool).reshape(-1)
    p_opt, p_within, share, best = _shot_shares(obj, cnt, feas, float(optimum), s)
    shots = round(float(cnt.sum()))
    p_succ = success_probability(p_opt, shots)
    best_sampled_optimal = bool((feas & (cnt > 0) & is_optimal(obj, optimum, s)).any())
    return {
        "reference_objective": float(optimum),
        "expected_objective": None if expected_objective is None else float(expected_objective),
        "expected_ratio": (None if expected_objective is None
                           else approximation_ratio(expected_objective, optimum, s)),
        "best_ratio": best,
        "best_is_optimal": best_sampled_optimal,
        "p_optimal": p_opt,
        "p_within_1pct": p_within,
        "feasible_share": share,
        "p_success": p_succ,
        "tts99_shots": tts99(1.0, p_opt),
        "tts99_s": tts99(float(t_run_s), p_succ),
    }


# ------------------------------------------------------------ random baseline
def _value_grid(problem: Problem) -> list[np.ndarray] | None:
    """The values each variable takes (binary / bounded integer), or None."""
    if (problem.kinds == VarKind.CONTINUOUS).any():
        return None
    lo, hi = problem.lower, problem.upper
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    return [np.arange(math.ceil(a), math.floor(b) + 1, dtype=np.float64)
            for a, b in zip(lo, hi, strict=True)]


def _assignments(problem: Problem) -> int | None:
    grid = _value_grid(problem)
    if grid is None:
        return None
    return math.prod(g.size for g in grid)


def _baseline_from_shares(ratios: np.ndarray, weights: np.ndarray, optimal: np.ndarray,
                          feasible: np.ndarray, shots: int) -> dict[str, Any]:
    """Closed-form best-of-``shots`` figures from per-assignment probabilities."""
    w = weights / weights.sum()
    p_opt = float(w[optimal].sum())
    within = feasible & ((ratios >= 1.0 - WITHIN_FRACTION) | optimal)
    r = np.where(feasible, ratios, 0.0)
    values, inverse = np.unique(r, return_inverse=True)  # ascending
    mass = np.zeros(values.size)
    np.add.at(mass, inverse, w)
    q = np.cumsum(mass[::-1])[::-1]  # q[k] = P(r >= values[k])
    nxt = np.concatenate([[0.0], values[:-1]])  # next lower distinct value (0 below)
    hit = np.array([success_probability(float(qk), shots) for qk in q])  # P(max >= v_k)
    expected_best = float(((values - nxt) * hit).sum())
    return {
        "expected_best_ratio": expected_best,
        "p_optimal": p_opt,
        "p_within_1pct": float(w[within].sum()),
        "feasible_share": float(w[feasible].sum()),
        "p_success": success_probability(p_opt, shots),
        "tts99_shots": tts99(1.0, p_opt),
    }


def _binary_enumeration(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Objective and feasibility of every assignment of a binary problem (bit i = var i)."""
    from solvers.problem import FEASIBILITY_TOL
    from solvers.qubo import binary_problem_cost_vector, cost_vector

    objective = binary_problem_cost_vector(problem)
    feasible = np.ones(objective.size, dtype=bool)
    n = problem.num_variables
    idx = None
    fixed = np.flatnonzero(problem.lower == problem.upper)
    if fixed.size:
        idx = np.arange(objective.size, dtype=np.int64)
        for i in fixed:
            feasible &= ((idx >> int(i)) & 1) == int(problem.lower[i])
    a = problem.constraints
    for r in range(problem.num_constraints):
        row = np.zeros(n)
        lo_ptr, hi_ptr = a.indptr[r], a.indptr[r + 1]
        row[a.indices[lo_ptr:hi_ptr]] = a.data[lo_ptr:hi_ptr]
        act = cost_vector(row, None, 0.0)
        feasible &= act >= problem.row_lower[r] - FEASIBILITY_TOL
        feasible &= act <= problem.row_upper[r] + FEASIBILITY_TOL
    return objective, feasible


def random_baseline_closed_form(problem: Problem, optimum: float, shots: int
                                ) -> dict[str, Any] | None:
    """Uniform random sampling at ``shots`` shots, exactly, by enumeration (module notes).

    Returns None when the problem has continuous or unbounded variables or more
    than :data:`CLOSED_FORM_MAX_ASSIGNMENTS` assignments. ``best_ratio`` is the
    expected best-of-shots ratio here (``expected_best_ratio``).
    """
    count = _assignments(problem)
    if count is None or count > CLOSED_FORM_MAX_ASSIGNMENTS:
        return None
    if problem.is_binary and problem.num_variables:
        objective, feasible = _binary_enumeration(problem)
    elif count <= CLOSED_FORM_MAX_GENERAL:
        grid = _value_grid(problem)
        assert grid is not None
        mesh = np.meshgrid(*grid, indexing="ij") if grid else []
        xs = (np.stack([m.reshape(-1) for m in mesh], axis=1) if grid
              else np.zeros((1, 0)))
        objective = problem.evaluate_many(xs)
        feasible = problem.feasible_mask(xs)
    else:
        return None
    ratios = approximation_ratios(objective, optimum, problem.sense)
    optimal = feasible & is_optimal(objective, optimum, problem.sense)
    out = _baseline_from_shares(ratios, np.ones(objective.size), optimal, feasible, int(shots))
    out["best_ratio"] = out["expected_best_ratio"]
    out["method"] = "closed_form"
    return out


def random_baseline_sampled(problem: Problem, optimum: float, shots: int,
                            seed: int | None = None) -> dict[str, Any] | None:
    """Uniform random sampling at ``shots`` shots, one seeded draw (None if not discrete)."""
    grid = _value_grid(problem)
    if grid is None:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(
        [0 if seed is None else abs(int(seed)), 0x72616E64]))  # "rand"
    xs = np.stack([rng.choice(g, size=int(shots)) for g in grid], axis=1) if grid else (
        np.zeros((int(shots), 0)))
    objective = problem.evaluate_many(xs)
    feasible = problem.feasible_mask(xs)
    counts = np.ones(xs.shape[0])
    p_opt, p_within, share, best = _shot_shares(objective, counts, feasible, optimum,
                                                problem.sense)
    return {
        "best_ratio": best,
        "expected_best_ratio": None,
        "p_optimal": p_opt,
        "p_within_1pct": p_within,
        "feasible_share": share,
        "p_success": success_probability(p_opt, int(shots)),
        "tts99_shots": tts99(1.0, p_opt),
        "method": "sampled",
    }


def random_baseline(problem: Problem, optimum: float, shots: int, seed: int | None = None
                    ) -> dict[str, Any]:
    """:data:`RANDOM_KEYS` of uniform random sampling: closed form when small, else sampled.

    Returns an empty dict when the problem has continuous or unbounded variables.
    """
    out = random_baseline_closed_form(problem, optimum, shots)
    if out is None:
        out = random_baseline_sampled(problem, optimum, shots, seed)
    return out or {}


def reference_optimum(problem: Problem, *, solver: str = "milp",
                      time_limit: float | None = 60.0) -> tuple[float | None, dict[str, Any]]:
    """The reference optimum :math:`f^*` from ``solver`` (HiGHS by default).

    Returns
    -------
    (float or None, dict)
        The objective when the reference solver proved it optimal, else None;
        and ``reference_solver``, ``reference_status``, ``reference_wall_s``.
    """
    from solvers.registry import get_solver

    t0 = time.perf_counter()
    res = get_solver(solver).solve(problem, time_limit=time_limit, seed=0)
    info = {"reference_solver": solver, "reference_status": res.status.value,
            "reference_wall_s": time.perf_counter() - t0}
    if res.status.value != "optimal" or res.objective is None:
        return None, info
    return float(res.objective), info


def prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every key prefixed (``random_`` + key)."""
    return {f"{prefix}{k}": v for k, v in values.items()}
