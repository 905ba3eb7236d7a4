"""Classical baselines that quantum results are reported against (the QUBO samplers
``annealing``, ``tabu``, ``greedy`` and ``random`` are in :mod:`solvers.qubo_samplers`).

- ``exact``: vectorised enumeration of every assignment of a binary problem
  (up to ``max_variables``, default 24), constraints checked exactly; proves
  optimality or infeasibility.
- ``lp-rounding``: greedy rounding of the LP relaxation by diving (HiGHS):
  fix the integer variables closest to integrality, re-solve, repeat.

Both honour a wall-clock ``time_limit`` (option or ``solve`` argument) and a ``seed``.

Public names: :class:`ExactSolver`, :class:`LpRoundingSolver`; the helpers every
baseline uses, :func:`elapsed_s`, :func:`time_limit_s`, :func:`unsupported_result`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from solvers.problem import Problem, Status, VarKind
from solvers.registry import register
from solvers.result import Result, result_from_x

__all__ = [
    "ExactSolver",
    "LpRoundingSolver",
    "elapsed_s",
    "time_limit_s",
    "unsupported_result",
]

logger = logging.getLogger(__name__)

#: Low bits enumerated together in one block by ``exact``.
_EXACT_BLOCK_BITS = 16


def elapsed_s(t0: float) -> float:
    """Wall-clock seconds since ``t0`` (a ``time.perf_counter()`` reading). [s]"""
    return time.perf_counter() - t0


def time_limit_s(option: float | None, argument: float | None) -> float | None:
    """The time limit of one solve: the ``solve`` argument, else the solver's option;
    ``ValueError`` unless positive. [s]"""
    limit = argument if argument is not None else option
    if limit is not None and not limit > 0:
        raise ValueError(f"time_limit must be > 0 seconds, got {limit!r}")
    return limit


def unsupported_result(solver: str, problem: Problem, reason: str, t0: float) -> Result:
    """The UNSUPPORTED result of ``solver`` for ``problem``, with the reason."""
    return Result(Status.UNSUPPORTED, solver, message=reason, wall_time_s=elapsed_s(t0),
                  problem=problem)


@register("exact", description="Exhaustive enumeration of a binary problem (proves optimality)")
@dataclass(frozen=True)
class ExactSolver:
    """Vectorised enumeration of all :math:`2^n` assignments of a binary problem.

    Parameters
    ----------
    max_variables : int
        Largest number of binaries accepted; above it the result is UNSUPPORTED.
    time_limit : float or None
        Default wall-clock limit. [s]

    Notes
    -----
    Assignments are enumerated in blocks of :math:`2^{16}` (the low bits); the
    objective and every row activity of a block are one matrix product, so
    24 binaries take seconds and little memory. Ties go to the assignment
    with the smallest index (bit ``i`` of the index is variable ``i``).
    """

    name: ClassVar[str] = "exact"
    max_variables: int = 24
    time_limit: float | None = None

    def supports(self, problem: Problem) -> str | None:
        """None when the problem is binary and small enough, else the reason."""
        if not problem.is_binary:
            cont = int((problem.kinds == VarKind.CONTINUOUS).sum())
            integer = int((problem.kinds == VarKind.INTEGER).sum())
            return (f"exact enumeration needs every variable to be binary ({cont} continuous, "
                    f"{integer} integer)")
        if problem.num_variables > self.max_variables:
            return (
                f"{problem.num_variables} binaries exceed max_variables={self.max_variables} "
                f"(2^{problem.num_variables} assignments)"
            )
        return None

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Enumerate; OPTIMAL or INFEASIBLE (proven), TIME_LIMIT with the best so far."""
        t0 = time.perf_counter()
        limit = time_limit_s(self.time_limit, time_limit)
        reason = self.supports(problem)
        if reason is not None:
            return unsupported_result(self.name, problem, reason, t0)
        tables = _enumeration_tables(problem)
        best_val, best_x = math.inf, None
        timed_out = False
        blocks = 1 << tables.hi_bits
        for h in range(blocks):
            found = _best_of_block(problem, tables, h)
            if found is not None and found[0] < best_val:
                best_val, best_x = found
            if limit is not None and elapsed_s(t0) > limit and h + 1 < blocks:
                timed_out = True
                break
        diag: dict[str, Any] = {
            "enumerated": int((h + 1) << tables.lo_bits),
            "assignments": 1 << problem.num_variables,
        }
        if best_x is None:
            status = Status.TIME_LIMIT if timed_out else Status.INFEASIBLE
            diag["infeasible_proven"] = not timed_out
            return Result(status, self.name, wall_time_s=elapsed_s(t0), diagnostics=diag,
                          message="no assignment satisfies the constraints" if not timed_out
                          else f"time limit of {limit} s reached before a feasible assignment",
                          problem=problem)
        return result_from_x(problem, self.name, best_x,
                             status=Status.TIME_LIMIT if timed_out else Status.OPTIMAL,
                             wall_time_s=elapsed_s(t0), diagnostics=diag,
                             message=f"time limit of {limit} s reached" if timed_out else "")


@dataclass(frozen=True)
class _EnumerationTables:
    """What every block of the exact enumeration shares: the ``2^lo_bits`` low-bit
    assignments ``zl`` with their objective part ``base`` and row activities ``act_l``,
    the objective ``c``/``q`` in minimisation form, the low/high cross term and the
    constraint matrix ``a`` (dense)."""

    lo_bits: int
    hi_bits: int
    zl: np.ndarray
    c: np.ndarray
    q: np.ndarray
    base: np.ndarray
    cross: np.ndarray
    a: np.ndarray
    act_l: np.ndarray | None
    fixed_lb: np.ndarray


def _enumeration_tables(problem: Problem) -> _EnumerationTables:
    """The block-independent tables of :class:`ExactSolver`'s enumeration."""
    n = problem.num_variables
    sign = problem.sense.sign
    lo_bits = min(n, _EXACT_BLOCK_BITS)
    idx = np.arange(1 << lo_bits, dtype=np.int64)
    zl = ((idx[:, None] >> np.arange(lo_bits)) & 1).astype(np.float64)
    c = sign * problem.objective
    q = sign * problem.quadratic_dense()
    lo, hi = slice(0, lo_bits), slice(lo_bits, n)
    base = sign * problem.constant + zl @ c[lo] + np.einsum("si,ij,sj->s", zl, q[lo, lo], zl)
    cross = q[lo, hi] + q[hi, lo].T  # (lo_bits, hi_bits)
    a = problem.constraints.toarray()
    act_l = zl @ a[:, lo].T if problem.num_constraints else None
    return _EnumerationTables(lo_bits, n - lo_bits, zl, c, q, base, cross, a, act_l,
                              problem.lower == problem.upper)


def _best_of_block(problem: Problem, tables: _EnumerationTables, h: int
                   ) -> tuple[float, np.ndarray] | None:
    """The best feasible assignment (minimisation-form value, x) among those whose high
    bits are ``h``, or None; ties go to the smallest low-bit index."""
    t = tables
    lo_bits, zl = t.lo_bits, t.zl
    hi = slice(lo_bits, lo_bits + t.hi_bits)
    tol = 1e-9
    zh = ((h >> np.arange(t.hi_bits)) & 1).astype(np.float64)
    vals = t.base + (t.c[hi] @ zh + zh @ t.q[hi, hi] @ zh) + zl @ (t.cross @ zh)
    ok = np.ones(vals.size, dtype=bool)
    if t.act_l is not None:
        act = t.act_l + t.a[:, hi] @ zh
        ok &= ((act >= problem.row_lower - tol) & (act <= problem.row_upper + tol)).all(1)
    if t.fixed_lb.any():
        full_ok = np.ones(vals.size, dtype=bool)
        for i in np.flatnonzero(t.fixed_lb):
            col = zl[:, i] if i < lo_bits else np.full(vals.size, zh[i - lo_bits])
            full_ok &= col == problem.lower[i]
        ok &= full_ok
    if not ok.any():
        return None
    masked = np.where(ok, vals, math.inf)
    k = int(np.argmin(masked))
    return float(masked[k]), np.concatenate([zl[k], zh])



@register("lp-rounding", requires=("highspy",), install_hint="pip install highspy",
          description="Greedy rounding of the LP relaxation by diving (HiGHS)")
@dataclass(frozen=True)
class LpRoundingSolver:
    """Greedy rounding of the LP relaxation (diving heuristic on HiGHS).

    Parameters
    ----------
    fix_fraction : float
        Share of the still-free integer variables fixed per dive step (the
        ones closest to an integer first; at least one). [-]
    max_backtracks : int
        Times a rounding that made the LP infeasible is flipped to the
        other side before giving up.
    time_limit : float or None
        Default wall-clock limit. [s]

    Notes
    -----
    Each step solves the LP relaxation with the fixed variables' bounds
    collapsed, rounds the integer variables whose values are integral within
    1e-6 and fixes them, then rounds and fixes the ``fix_fraction`` least
    fractional others. A problem whose relaxation is infeasible is reported
    INFEASIBLE (proven); a dive that ends infeasible is INFEASIBLE, unproven.
    """

    name: ClassVar[str] = "lp-rounding"
    fix_fraction: float = 0.2
    max_backtracks: int = 20
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fix_fraction <= 1:
            raise ValueError(f"fix_fraction must be in (0, 1], got {self.fix_fraction!r}")

    def supports(self, problem: Problem) -> str | None:
        """None when HiGHS can solve the relaxation, else the reason."""
        from solvers.milp import MilpSolver

        return MilpSolver(relax=True).supports(problem)

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Dive from the LP relaxation to an integral assignment."""
        from solvers.milp import MilpSolver

        t0 = time.perf_counter()
        limit = time_limit_s(self.time_limit, time_limit)
        reason = self.supports(problem)
        if reason is not None:
            return unsupported_result(self.name, problem, reason, t0)
        lp = MilpSolver(relax=True)
        integral = problem.kinds != VarKind.CONTINUOUS
        lower, upper = problem.lower.copy(), problem.upper.copy()
        steps = backtracks = 0
        diag: dict[str, Any] = {}
        last_fixed: tuple[int, float] | None = None
        res_x_prev = np.zeros(problem.num_variables)

        def left() -> float | None:
            return None if limit is None else limit - elapsed_s(t0)

        while True:
            remaining = left()
            if remaining is not None and remaining <= 0:
                return Result(Status.TIME_LIMIT, self.name, wall_time_s=elapsed_s(t0),
                              diagnostics={**diag, "dive_steps": steps},
                              message=f"time limit of {limit} s reached while diving",
                              problem=problem)
            sub = problem.replace(lower=lower, upper=upper)
            res = lp.solve(sub, time_limit=remaining, seed=seed)
            steps += 1
            if steps == 1:
                diag["relaxation_objective"] = res.objective
            if res.status is Status.TIME_LIMIT:
                continue
            if res.status is not Status.OPTIMAL or res.x is None:
                if steps == 1:
                    return Result(res.status, self.name, wall_time_s=elapsed_s(t0),
                                  diagnostics={**diag, "dive_steps": steps,
                                               "infeasible_proven": True},
                                  message=f"LP relaxation: {res.message or res.status.value}",
                                  problem=problem)
                if backtracks < self.max_backtracks and last_fixed is not None:
                    backtracks += 1
                    i, other = _other_side(last_fixed, res_x_prev)
                    if problem.lower[i] <= other <= problem.upper[i]:
                        lower[i] = upper[i] = other
                        last_fixed = None
                        continue
                return Result(Status.INFEASIBLE, self.name, wall_time_s=elapsed_s(t0),
                              diagnostics={**diag, "dive_steps": steps,
                                           "backtracks": backtracks,
                                           "infeasible_proven": False},
                              message="the dive ended in an infeasible LP; "
                                      "infeasibility is not proven", problem=problem)
            x = np.asarray(res.x)
            last_fixed = self._fix_step(problem, x, integral, lower, upper)
            if last_fixed is None:
                diag.update({"dive_steps": steps, "backtracks": backtracks})
                return result_from_x(problem, self.name, x, status=Status.FEASIBLE,
                                     wall_time_s=elapsed_s(t0), diagnostics=diag)
            res_x_prev = x

    def _fix_step(self, problem: Problem, x: np.ndarray, integral: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray) -> tuple[int, float] | None:
        """One dive step on the bounds (in place): fix every free integer variable the LP
        already has integral, then the ``fix_fraction`` closest to integrality. Returns
        the most fractional pick (for one backtrack), or None when none was left free."""
        frac = np.abs(x - np.round(x))
        free = integral & (lower < upper)
        done = free & (frac <= 1e-6)
        lower[done] = upper[done] = np.round(x[done])
        free &= ~done
        if not free.any():
            return None
        cand = np.flatnonzero(free)
        k = max(1, int(self.fix_fraction * cand.size))
        pick = cand[np.argsort(frac[cand], kind="stable")[:k]]
        vals = np.clip(np.round(x[pick]), problem.lower[pick], problem.upper[pick])
        lower[pick] = upper[pick] = vals
        return int(pick[-1]), float(vals[-1])


def _other_side(last_fixed: tuple[int, float], x_before: np.ndarray) -> tuple[int, float]:
    """The backtrack of a dive: the variable fixed last and the integer on the other side
    of the LP value it was rounded from."""
    i, v = last_fixed
    return i, (v + 1.0 if x_before[i] > v else v - 1.0)
