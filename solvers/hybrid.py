r"""Hybrid quantum-classical solver for mixed problems (``hybrid``).

A QUBO sampler (``qaoa``, ``annealing`` or ``tabu``) proposes assignments of
the discrete (binary and bounded integer) variables; HiGHS solves the
continuous remainder for the best few; the best feasible combination wins.

Notes
-----
The sampler sees a *surrogate* of the discrete part: the discrete variables
with their own objective terms, the constraints that involve only them, and a
proximity term to the LP relaxation of the whole problem rounded up,
:math:`\bar x = \lceil x^{LP} \rceil` (a discrete variable the relaxation uses at
all, such as an on/off decision behind ``p <= pmax * u``, is pulled towards on),

.. math::

    \min_{x_D} \; c_D^\top x_D + x_D^\top Q_{DD} x_D
        + \rho \sum_{i \in D} (x_i - \bar x_i)^2 ,

so that samples respect what the continuous part needs (for unit commitment:
enough units on to cover the demand) while the costs decide which deviations
are worth trying. ``rho`` defaults to twice the largest absolute discrete
cost coefficient (1 when they are all zero); with no continuous
variables the surrogate is the problem itself. For each of the
``candidates`` best distinct surrogate-feasible samples the discrete
variables are fixed and HiGHS solves the remaining LP/QP over the continuous
variables (objective cross terms and constraint activities of the fixed part
folded in). When the sampler returns fewer distinct surrogate-feasible
assignments than ``candidates`` (annealing tends to return the same few), the
list is topped up with their single-variable neighbours (a binary flipped, an
integer moved by one), best surrogate objective first; HiGHS then judges which
of them pay off. The sampler proposes, HiGHS decides: the quality comes from
both, and ``diagnostics`` say how many candidates were neighbours. The wall-clock
limit is shared: 60 % for sampling, the rest for
the HiGHS solves.

Diagnostics keys
----------------
``sampler``, ``sampler_diagnostics``, ``relaxation_objective``, ``rho``,
``neighbour_candidates`` (candidates added by single flips, see Notes),
``candidates_tried``, ``candidates_feasible``, ``candidate_objectives``,
``discrete_objective`` (objective part of the discrete variables alone),
``continuous_objective`` (the rest), ``discrete_values`` (name -> value).

Public names: :class:`HybridSolver` (registered as ``hybrid``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem, Status, VarKind
from solvers.registry import get_solver, register
from solvers.result import Result, result_from_x

__all__ = ["HybridSolver"]

logger = logging.getLogger(__name__)

_SAMPLERS = ("qaoa", "annealing", "tabu")


@register("hybrid", requires=("highspy",), install_hint="pip install 'gridtwin[quantum]'",
          description="QUBO sampler for the discrete part + HiGHS for the continuous rest")
@dataclass(frozen=True)
class HybridSolver:
    """Sampler-proposed discrete assignments, HiGHS-completed (see module Notes).

    Parameters
    ----------
    sampler : str
        ``"qaoa"``, ``"annealing"`` or ``"tabu"``.
    sampler_options : mapping, optional
        Options of the sampler (as for ``get_solver(sampler, **options)``).
    candidates : int
        Distinct discrete assignments completed by HiGHS.
    rho : float, optional
        Weight of the proximity term to the LP relaxation (None: automatic).
    time_limit : float, optional
        Default wall-clock limit. [s]
    """

    name: ClassVar[str] = "hybrid"
    sampler: str = "annealing"
    sampler_options: Mapping[str, Any] | None = None
    candidates: int = 16
    rho: float | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if self.sampler not in _SAMPLERS:
            raise ValueError(f"sampler {self.sampler!r} unknown; choose from {_SAMPLERS}")
        if int(self.candidates) < 1:
            raise ValueError(f"candidates must be >= 1, got {self.candidates!r}")
        get_solver(self.sampler, **dict(self.sampler_options or {}))  # validates options

    def supports(self, problem: Problem) -> str | None:
        """None when the discrete part can be sampled, else the reason."""
        integral = problem.kinds == VarKind.INTEGER
        if integral.any() and not (np.isfinite(problem.lower[integral]).all()
                                   and np.isfinite(problem.upper[integral]).all()):
            return "integer variables need finite bounds to be encoded in binaries"
        if problem.is_continuous:
            return "no discrete variables: use 'milp' for a continuous problem"
        return None

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Sample the discrete part, complete the best candidates with HiGHS."""
        t0 = time.perf_counter()
        limit = time_limit if time_limit is not None else self.time_limit

        def left() -> float | None:
            return None if limit is None else max(limit - (time.perf_counter() - t0), 1e-3)

        def done(status: Status, message: str, diag: dict[str, Any] | None = None) -> Result:
            return Result(status, self.name, wall_time_s=time.perf_counter() - t0,
                          diagnostics=diag or {}, message=message, problem=problem)

        reason = self.supports(problem)
        if reason is not None:
            return done(Status.UNSUPPORTED, reason)
        disc = np.flatnonzero(problem.kinds != VarKind.CONTINUOUS)
        cont = np.flatnonzero(problem.kinds == VarKind.CONTINUOUS)
        diag: dict[str, Any] = {"sampler": self.sampler}
        xbar = None
        if cont.size:
            xbar, failed = _rounded_relaxation(problem, disc, left(), seed, diag)
            if failed is not None:
                return done(*failed, diag)
        surrogate, rho = self._surrogate(problem, disc, xbar)
        diag["rho"] = rho
        sampler = get_solver(self.sampler, **dict(self.sampler_options or {}))
        budget = None if limit is None else 0.6 * left()  # type: ignore[operator]
        samples, sdiag, why, timed_out = sampler.sample(surrogate, time_limit=budget, seed=seed)
        diag["sampler_diagnostics"] = sdiag
        if samples is None:
            return done(Status.UNSUPPORTED, f"sampler {self.sampler!r}: {why}", diag)
        cands = samples.x[samples.feasible][: int(self.candidates)]
        added = 0
        if 0 < cands.shape[0] < int(self.candidates):
            cands, added = _top_up(surrogate, cands, int(self.candidates))
        diag["neighbour_candidates"] = added
        if not cands.shape[0]:
            diag["infeasible_proven"] = False
            return done(Status.TIME_LIMIT if timed_out else Status.INFEASIBLE,
                        "no sample satisfies the discrete-only constraints; "
                        "infeasibility is not proven", diag)
        deadline = None if limit is None else t0 + limit
        best_x, objs, cut = self._best_completion(problem, disc, cont, cands, deadline, left,
                                                  seed)
        timed_out = timed_out or cut
        tried = len(objs)
        diag.update({"candidates_tried": tried,
                     "candidates_feasible": sum(o is not None for o in objs),
                     "candidate_objectives": objs})
        if best_x is None:
            diag["infeasible_proven"] = False
            return done(Status.TIME_LIMIT if timed_out else Status.INFEASIBLE,
                        f"none of the {tried} sampled discrete assignments has a feasible "
                        "continuous completion; infeasibility is not proven", diag)
        diag.update(_objective_parts(problem, disc, best_x))
        return result_from_x(problem, self.name, best_x,
                             status=Status.TIME_LIMIT if timed_out else Status.FEASIBLE,
                             wall_time_s=time.perf_counter() - t0, diagnostics=diag,
                             message="time limit reached" if timed_out else "")

    def _best_completion(
        self, problem: Problem, disc: np.ndarray, cont: np.ndarray, cands: np.ndarray,
        deadline: float | None, left: Any, seed: int | None,
    ) -> tuple[np.ndarray | None, list[float | None], bool]:
        """HiGHS completion of each candidate: the best one, every objective, time cut."""
        best_x, best_val, objs = None, math.inf, []
        sign = problem.sense.sign
        for xd in cands:
            if deadline is not None and time.perf_counter() > deadline:
                return best_x, objs, True
            x = self._complete(problem, disc, cont, xd, left(), seed)
            if x is None:
                objs.append(None)
                continue
            val = problem.evaluate(x)
            objs.append(val)
            if sign * val < best_val:
                best_val, best_x = sign * val, x
        return best_x, objs, False

    def _surrogate(
        self, problem: Problem, disc: np.ndarray, xbar: np.ndarray | None
    ) -> tuple[Problem, float]:
        a = problem.constraints
        only_disc_rows = np.ones(problem.num_constraints, dtype=bool)
        if problem.num_constraints and disc.size < problem.num_variables:
            cont_mask = np.ones(problem.num_variables, dtype=bool)
            cont_mask[disc] = False
            touches_cont = (abs(a) @ cont_mask.astype(float)) > 0
            only_disc_rows = ~touches_cont
        rows = np.flatnonzero(only_disc_rows)
        c = problem.objective[disc].copy()
        q = None if problem.quadratic is None else sp.csr_array(problem.quadratic[disc][:, disc])
        rho = 0.0
        const = 0.0
        if xbar is not None:
            nz = np.abs(c[c != 0])
            rho = float(self.rho) if self.rho is not None else (2.0 * float(nz.max())
                                                                 if nz.size else 1.0)
            # rho * sum (x - xbar)^2 = rho * sum (x^2 - 2 xbar x + xbar^2), in the problem's sense
            s = problem.sense.sign
            diag_q = sp.diags_array(np.full(disc.size, s * rho))
            q = diag_q if q is None else q + diag_q
            c = c - s * 2.0 * rho * xbar
            const = s * rho * float(xbar @ xbar)
        surrogate = Problem(
            objective=c, lower=problem.lower[disc], upper=problem.upper[disc],
            kinds=problem.kinds[disc], names=[problem.names[i] for i in disc], quadratic=q,
            constant=const, sense=problem.sense,
            constraints=a[rows][:, disc] if rows.size else None,
            row_lower=problem.row_lower[rows], row_upper=problem.row_upper[rows],
            row_names=[problem.row_names[r] for r in rows], name=f"{problem.name}-discrete",
        )
        return surrogate, rho

    @staticmethod
    def _complete(
        problem: Problem, disc: np.ndarray, cont: np.ndarray, xd: np.ndarray,
        time_limit: float | None, seed: int | None,
    ) -> np.ndarray | None:
        """Best continuous completion of the fixed discrete values (None if infeasible)."""
        from solvers.milp import MilpSolver

        x = np.zeros(problem.num_variables)
        x[disc] = xd
        if not cont.size:
            return x if problem.is_feasible(x) else None
        a = problem.constraints
        act_d = a[:, disc] @ xd if problem.num_constraints else np.zeros(0)
        c = problem.objective[cont].copy()
        const = problem.constant + float(problem.objective[disc] @ xd)
        quad = None
        if problem.quadratic is not None:
            qm = problem.quadratic
            c = c + qm[disc][:, cont].T @ xd + qm[cont][:, disc] @ xd
            const += float(xd @ (qm[disc][:, disc] @ xd))
            quad = qm[cont][:, cont]
        rest = Problem(
            objective=c, lower=problem.lower[cont], upper=problem.upper[cont],
            kinds=VarKind.CONTINUOUS, names=[problem.names[i] for i in cont], quadratic=quad,
            constant=const, sense=problem.sense,
            constraints=a[:, cont] if problem.num_constraints else None,
            row_lower=problem.row_lower - act_d, row_upper=problem.row_upper - act_d,
            row_names=problem.row_names, name=f"{problem.name}-continuous",
        )
        res = MilpSolver().solve(rest, time_limit=time_limit, seed=seed)
        if res.x is None or res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            return None
        x[cont] = res.x
        return x if problem.is_feasible(x, tol=1e-5) else None


def _top_up(surrogate: Problem, cands: np.ndarray, want: int) -> tuple[np.ndarray, int]:
    """Add single-variable neighbours of ``cands`` (feasible for ``surrogate``) up to ``want``."""
    seen = {tuple(row) for row in cands}
    neigh = []
    for row in cands:
        for i in range(row.size):
            for step in (-1.0, 1.0):
                v = row[i] + step
                if not surrogate.lower[i] <= v <= surrogate.upper[i]:
                    continue
                y = row.copy()
                y[i] = v
                if tuple(y) not in seen:
                    seen.add(tuple(y))
                    neigh.append(y)
    if not neigh:
        return cands, 0
    ys = np.array(neigh)
    ys = ys[surrogate.feasible_mask(ys)]
    order = np.argsort(surrogate.sense.sign * surrogate.evaluate_many(ys), kind="stable")
    extra = ys[order][: want - cands.shape[0]]
    return np.vstack([cands, extra]), int(extra.shape[0])


def _objective_parts(problem: Problem, disc: np.ndarray, x: np.ndarray) -> dict[str, Any]:
    """The objective split into its discrete and continuous parts, and the discrete values."""
    only_d = np.zeros(problem.num_variables)
    only_d[disc] = x[disc]
    discrete = problem.evaluate(only_d) - problem.constant
    return {"discrete_objective": discrete,
            "continuous_objective": problem.evaluate(x) - discrete,
            "discrete_values": {problem.names[i]: float(x[i]) for i in disc}}


def _rounded_relaxation(problem: Problem, disc: np.ndarray, time_limit: float | None,
                        seed: int | None, diag: dict[str, Any]
                        ) -> tuple[np.ndarray | None, tuple[Status, str] | None]:
    """The LP relaxation's discrete values rounded up (a discrete variable the relaxation
    uses at all, e.g. an on/off decision with ``p <= pmax u``, is a candidate to switch
    on), or why there is none (status, message); records the relaxation in ``diag``."""
    from solvers.milp import MilpSolver

    relax = MilpSolver(relax=True).solve(problem, time_limit=time_limit, seed=seed)
    diag["relaxation_objective"] = relax.objective
    if relax.status in (Status.INFEASIBLE, Status.UNBOUNDED):
        diag["infeasible_proven"] = relax.status is Status.INFEASIBLE
        return None, (relax.status, f"LP relaxation: {relax.message}")
    if relax.x is None:
        return None, (Status.FAILED, f"LP relaxation: {relax.status.value} {relax.message}")
    return np.ceil(np.asarray(relax.x)[disc] - 1e-6), None
