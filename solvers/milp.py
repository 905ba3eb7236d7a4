"""HiGHS backend (``milp``): MILP, LP and convex QP through highspy, arrays passed directly.

The :class:`Problem`'s CSR constraint matrix, bounds and costs go into one
``HighsLp`` (column-wise CSC arrays) and one ``passModel`` call: no per-element
Python loop. Products of two binaries in the objective are linearised
(McCormick: ``y <= x_i, y <= x_j, y >= x_i + x_j - 1``), so QUBOs can be solved
to proven optimality and used as the reference for approximation ratios.
Purely continuous problems with a quadratic objective go to HiGHS's QP solver
(convex minimisation / concave maximisation only).

Public names: :class:`MilpSolver` (registered as ``milp``), :func:`highs_model`,
:func:`new_highs` (the public HiGHS factory), :func:`new_highs_lp`, :func:`highs_hessian`
and :func:`pass_to_highs` (arrays into HiGHS; :mod:`solvers.lpfile` writes through them).

Diagnostics keys
----------------
``highs_status`` (str), ``mip_gap`` (relative, float or None), ``dual_bound``
(in the problem's sense), ``mip_node_count``, ``simplex_iterations``,
``relaxation`` (bool), ``linearised_products`` (int), ``build_time_s``,
``solve_time_s`` [s], ``threads``, ``seed``, ``max_violation``; with ``relax`` on a
problem whose quadratic terms are all over binaries, ``objective_at_x`` (the original
objective at the relaxed x; ``Result.objective`` is then the McCormick LP's value, the
valid bound).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem, Status, VarKind
from solvers.registry import register
from solvers.result import Result, result_from_x

if TYPE_CHECKING:
    import highspy

__all__ = [
    "MilpSolver",
    "highs_hessian",
    "highs_model",
    "new_highs",
    "new_highs_lp",
    "pass_to_highs",
]

logger = logging.getLogger(__name__)

_BANNER_LOCK = threading.Lock()
_BANNER_DONE = False


def new_highs() -> highspy.Highs:
    """A silent ``highspy.Highs`` instance, the one factory every HiGHS user here calls.

    The copyright banner HiGHS prints from C++ on its first construction in a
    process is kept off stdout, and ``output_flag`` is off.
    """
    global _BANNER_DONE
    import highspy

    with _BANNER_LOCK:
        if not _BANNER_DONE:
            # HiGHS prints a copyright banner from C++ on the first construction.
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _BANNER_DONE = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


_THREADS_LOCK = threading.Lock()
_LAST_THREADS: list[int | None] = [None]


def _use_threads(threads: int | None) -> None:
    """Restart HiGHS's global task scheduler when the thread count changes.

    HiGHS starts one scheduler per process with the first run's ``threads``;
    a later run asking for a different count fails with model status "Not Set"
    unless the scheduler is reset first.
    """
    import highspy

    with _THREADS_LOCK:
        if threads != _LAST_THREADS[0]:
            highspy.Highs.resetGlobalScheduler(True)
            _LAST_THREADS[0] = threads


@dataclass(frozen=True)
class _Linearised:
    """A problem with binary products replaced by auxiliary variables."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray
    matrix: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    hessian: sp.csr_array | None
    products: int


def _linearise(problem: Problem, relax: bool) -> _Linearised | str:
    """Minimisation form of ``problem`` for HiGHS, or the reason it cannot be."""
    sign = problem.sense.sign
    n = problem.num_variables
    cost = sign * problem.objective.astype(np.float64)
    a = problem.constraints
    rl, ru = problem.row_lower, problem.row_upper
    lb, ub = problem.lower.copy(), problem.upper.copy()
    integral = problem.kinds != VarKind.CONTINUOUS
    hessian = None
    products = 0
    q = problem.quadratic
    if q is not None:
        coo = q.tocoo()
        r, c, v = coo.coords[0], coo.coords[1], sign * np.asarray(coo.data)
        binary = problem.kinds == VarKind.BINARY
        involved = np.union1d(r, c)
        if binary[involved].all():
            # products of binaries: McCormick linearisation (its LP relaxation when relax)
            diag = r == c
            np.add.at(cost, r[diag], v[diag])  # x_i^2 = x_i for binaries
            r, c, v = r[~diag], c[~diag], v[~diag]
            products = r.size
            if products:
                a, rl, ru, cost, lb, ub, integral = _mccormick(
                    r, c, v, n, a, rl, ru, cost, lb, ub, integral
                )
        elif integral.any() and not relax:
            return (
                "HiGHS cannot solve a quadratic objective over integer variables unless "
                "every quadratic term is a product of binaries"
            )
        else:
            hessian = highs_hessian(sp.csr_array((v, (r, c)), shape=(n, n)))
    if relax:
        integral = np.zeros_like(integral)
    return _Linearised(
        cost=cost,
        lower=lb,
        upper=ub,
        integrality=integral,
        matrix=sp.csc_array(a),
        row_lower=np.asarray(rl, dtype=np.float64),
        row_upper=np.asarray(ru, dtype=np.float64),
        hessian=hessian,
        products=products,
    )


def _mccormick(
    r: np.ndarray, c: np.ndarray, v: np.ndarray, n: int, a: sp.csr_array,
    rl: np.ndarray, ru: np.ndarray, cost: np.ndarray, lb: np.ndarray, ub: np.ndarray,
    integral: np.ndarray,
) -> tuple[sp.csr_array, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
           np.ndarray]:
    """The problem's arrays with one continuous ``y_k`` in [0, 1] per binary product
    ``x_r x_c`` (objective coefficient ``v_k``) and its McCormick rows ``y <= x_r``,
    ``y <= x_c``, ``y >= x_r + x_c - 1``: (matrix, row lower, row upper, cost, lower,
    upper, integrality)."""
    k = r.size
    y = n + np.arange(k)
    rows = np.arange(3 * k)
    ri = np.concatenate([rows[:k], rows[:k], rows[k : 2 * k], rows[k : 2 * k],
                         rows[2 * k :], rows[2 * k :], rows[2 * k :]])
    ci = np.concatenate([y, r, y, c, y, r, c])
    vals = np.concatenate([np.ones(k), -np.ones(k), np.ones(k), -np.ones(k),
                           np.ones(k), -np.ones(k), -np.ones(k)])
    extra = sp.csr_array((vals, (ri, ci)), shape=(3 * k, n + k))
    a = sp.vstack([sp.hstack([a, sp.csr_array((a.shape[0], k))]), extra]).tocsr()
    rl = np.concatenate([rl, np.full(2 * k, -math.inf), np.full(k, -1.0)])
    ru = np.concatenate([ru, np.zeros(2 * k), np.full(k, math.inf)])
    cost = np.concatenate([cost, v])
    lb = np.concatenate([lb, np.zeros(k)])
    ub = np.concatenate([ub, np.ones(k)])
    integral = np.concatenate([integral, np.zeros(k, dtype=bool)])
    return a, rl, ru, cost, lb, ub, integral


def highs_hessian(q: sp.sparray) -> sp.csr_array:
    """HiGHS's Hessian of the objective term ``x^T q x`` for an upper-triangular ``q``.

    HiGHS takes ``0.5 x^T H x`` with ``H`` as its lower triangle column-wise, which is
    our upper triangle row-wise with the diagonal doubled; indices sorted.
    """
    hessian = sp.csr_array(q + sp.diags_array(q.diagonal()))
    hessian.sort_indices()
    return hessian


def new_highs_lp(
    *, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, row_lower: np.ndarray,
    row_upper: np.ndarray, matrix: sp.csc_array, integrality: np.ndarray, offset: float,
    maximize: bool = False,
) -> highspy.HighsLp:
    """A ``highspy.HighsLp`` from arrays: the column-wise matrix (indices sorted in
    place), bounds, costs, offset and sense; integrality only when some column is
    integral (``integrality`` true)."""
    import highspy

    ncol, nrow = int(np.asarray(cost).size), int(np.asarray(row_lower).size)
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    matrix.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = np.asarray(matrix.data, dtype=np.float64)
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = nrow
    if integrality.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integrality
        ]
    return lp


def pass_to_highs(
    h: highspy.Highs, lp: highspy.HighsLp, hessian: sp.csr_array | None
) -> highspy.HighsStatus:
    """Load ``lp`` (and, for a QP, the Hessian from :func:`highs_hessian`) into ``h``;
    returns HiGHS's status of ``passModel``."""
    import highspy

    if hessian is None:
        return h.passModel(lp)
    model = highspy.HighsModel()
    model.lp_ = lp
    hess = highspy.HighsHessian()
    hess.dim_ = lp.num_col_
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = hessian.indptr.astype(np.int32)
    hess.index_ = hessian.indices.astype(np.int32)
    hess.value_ = np.asarray(hessian.data, dtype=np.float64)
    model.hessian_ = hess
    return h.passModel(model)


def highs_model(problem: Problem, *, relax: bool = False) -> tuple[highspy.Highs, int]:
    """A silent ``highspy.Highs`` loaded with ``problem`` (minimisation form).

    Parameters
    ----------
    problem : Problem
        The problem.
    relax : bool
        Drop integrality (LP/QP relaxation).

    Returns
    -------
    (highspy.Highs, int)
        The loaded solver and the number of linearised binary products.

    Raises
    ------
    ValueError
        When HiGHS cannot represent the problem (reason in the message).
    """
    import highspy

    lin = _linearise(problem, relax)
    if isinstance(lin, str):
        raise ValueError(lin)
    h = new_highs()
    lp = new_highs_lp(
        cost=lin.cost, lower=lin.lower, upper=lin.upper, row_lower=lin.row_lower,
        row_upper=lin.row_upper, matrix=lin.matrix, integrality=lin.integrality,
        offset=problem.sense.sign * problem.constant,
    )
    status = pass_to_highs(h, lp, lin.hessian)
    if status == highspy.HighsStatus.kError:
        raise ValueError("HiGHS rejected the model (passModel returned an error)")
    return h, lin.products


def _binary_quadratic(problem: Problem) -> bool:
    """Whether ``problem`` has a quadratic objective over binaries only (McCormick)."""
    q = problem.quadratic
    if q is None or q.nnz == 0:
        return False
    r, c = q.nonzero()
    return bool((problem.kinds[np.union1d(r, c)] == VarKind.BINARY).all())


@register("milp", description="HiGHS MILP/LP/convex QP (highspy), proven optimal results")
@dataclass(frozen=True)
class MilpSolver:
    """HiGHS MILP/LP/QP solver.

    Parameters
    ----------
    time_limit : float or None
        Default wall-clock limit when ``solve`` gets none. [s]
    mip_rel_gap : float
        Relative MIP gap at which HiGHS stops and reports optimal. [-]
    threads : int or None
        HiGHS threads (None: HiGHS default).
    relax : bool
        Solve the LP (or QP) relaxation instead: integrality dropped. With binary
        products in the objective this is the LP of their McCormick linearisation, and
        the result's objective is that LP's value (a bound on the optimum).
    presolve : bool
        Use HiGHS presolve.
    primal_feasibility_tolerance : float
        HiGHS primal feasibility tolerance. [-]
    """

    name: ClassVar[str] = "milp"
    time_limit: float | None = None
    mip_rel_gap: float = 1e-6
    threads: int | None = None
    relax: bool = False
    presolve: bool = True
    primal_feasibility_tolerance: float = 1e-7

    def __post_init__(self) -> None:
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit!r}")
        if not 0 <= self.mip_rel_gap < 1:
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap!r}")
        if self.threads is not None and (isinstance(self.threads, bool)
                                         or int(self.threads) != self.threads
                                         or not 1 <= int(self.threads) <= 256):
            raise ValueError(f"threads must be a whole number from 1 to 256, got "
                             f"{self.threads!r}")

    def supports(self, problem: Problem) -> str | None:
        """None when HiGHS can take ``problem``, else the reason."""
        if problem.quadratic is None:
            return None
        lin = _linearise(problem, self.relax)
        return lin if isinstance(lin, str) else None

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Solve with HiGHS; never raises for infeasible/unsupported problems."""

        t0 = time.perf_counter()
        limit = time_limit if time_limit is not None else self.time_limit
        reason = self.supports(problem)
        if reason is not None:
            return Result(Status.UNSUPPORTED, self.name, message=reason,
                          wall_time_s=time.perf_counter() - t0, problem=problem)
        try:
            h, products = highs_model(problem, relax=self.relax)
        except ValueError as exc:
            return Result(Status.FAILED, self.name, message=str(exc),
                          wall_time_s=time.perf_counter() - t0, problem=problem)
        build_s = time.perf_counter() - t0
        self._configure(h, seed, limit, build_s)
        model_status = self._run(h, limit, t0)
        diag = self._diagnostics(h, problem, model_status, products, build_s,
                                 time.perf_counter() - t0 - build_s, seed)
        return self._interpret(h, problem, model_status, diag, limit, t0)

    def _configure(self, h: highspy.Highs, seed: int | None, limit: float | None,
                   build_s: float) -> None:
        """The solver options: gap, presolve, tolerance, threads, seed, time left."""
        h.setOptionValue("mip_rel_gap", float(self.mip_rel_gap))
        h.setOptionValue("presolve", "on" if self.presolve else "off")
        h.setOptionValue("primal_feasibility_tolerance", float(self.primal_feasibility_tolerance))
        _use_threads(self.threads)
        if self.threads is not None:
            h.setOptionValue("threads", int(self.threads))
        if seed is not None:
            h.setOptionValue("random_seed", int(seed) % (2**31 - 1))
        if limit is not None:
            h.setOptionValue("time_limit", max(float(limit) - build_s, 1e-3))

    def _run(self, h: highspy.Highs, limit: float | None, t0: float) -> Any:
        """Run HiGHS; again without presolve when presolve cannot tell infeasible/unbounded."""
        import highspy

        h.run()
        model_status = h.getModelStatus()
        if model_status == highspy.HighsModelStatus.kUnboundedOrInfeasible and self.presolve:
            h.setOptionValue("presolve", "off")
            if limit is not None:
                h.setOptionValue("time_limit", max(float(limit) - (time.perf_counter() - t0), 1e-3))
            h.run()
            model_status = h.getModelStatus()
        return model_status

    def _diagnostics(self, h: highspy.Highs, problem: Problem, model_status: Any, products: int,
                     build_s: float, solve_s: float, seed: int | None) -> dict[str, Any]:
        """The diagnostics keys of the module docstring."""
        info = h.getInfo()
        mip = bool((problem.kinds != VarKind.CONTINUOUS).any() or products) and not self.relax
        sign = problem.sense.sign
        return {
            "highs_status": h.modelStatusToString(model_status),
            "relaxation": bool(self.relax),
            "linearised_products": int(products),
            "build_time_s": build_s,
            "solve_time_s": solve_s,
            "threads": self.threads,
            "seed": seed,
            "simplex_iterations": int(info.simplex_iteration_count),
            "mip_node_count": int(info.mip_node_count) if mip else 0,
            "mip_gap": float(info.mip_gap) if mip and math.isfinite(info.mip_gap) else None,
            "dual_bound": (sign * float(info.mip_dual_bound)
                           if mip and math.isfinite(info.mip_dual_bound) else None),
        }

    def _interpret(self, h: highspy.Highs, problem: Problem, model_status: Any,
                   diag: dict[str, Any], limit: float | None, t0: float) -> Result:
        """HiGHS's model status and solution as a :class:`Result` (checked honestly)."""
        import highspy

        info = h.getInfo()
        has_x = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        x = None
        if has_x and problem.num_variables:
            x = np.asarray(h.getSolution().col_value, dtype=np.float64)[: problem.num_variables]
        elif problem.num_variables == 0:
            x = np.zeros(0)
        check_problem = problem.relaxed() if self.relax else problem
        ms = highspy.HighsModelStatus
        wall = time.perf_counter() - t0
        if model_status in (ms.kOptimal, ms.kModelEmpty):
            result = result_from_x(check_problem, self.name, x, status=Status.OPTIMAL,
                                   wall_time_s=wall, diagnostics=diag, tol=1e-5)
            if self.relax and _binary_quadratic(problem) and result.status is Status.OPTIMAL:
                # The relaxation solved is the LP of the McCormick linearisation, whose
                # value is the bound; the original quadratic at the fractional x is not
                # (x_i x_j != y_ij and x_i^2 != x_i there) and can lie above the optimum.
                bound = problem.sense.sign * float(info.objective_function_value)
                result = dataclasses.replace(result, objective=bound, diagnostics={
                    **result.diagnostics, "objective_at_x": result.objective})
            return result
        if model_status == ms.kInfeasible:
            return Result(Status.INFEASIBLE, self.name, wall_time_s=wall, diagnostics=diag,
                          message="HiGHS proved the problem infeasible", problem=problem)
        if model_status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            msg = ("objective is unbounded" if model_status == ms.kUnbounded
                   else "HiGHS reports infeasible or unbounded")
            return Result(Status.UNBOUNDED, self.name, wall_time_s=wall, diagnostics=diag,
                          message=msg, problem=problem)
        if model_status == ms.kTimeLimit:
            return result_from_x(check_problem, self.name, x if has_x else None,
                                 status=Status.TIME_LIMIT, wall_time_s=wall, diagnostics=diag,
                                 message=f"time limit of {limit} s reached", tol=1e-5)
        if has_x and model_status in (ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt,
                                      ms.kObjectiveBound, ms.kObjectiveTarget):
            return result_from_x(check_problem, self.name, x, status=Status.FEASIBLE,
                                 wall_time_s=wall, diagnostics=diag, tol=1e-5,
                                 message=diag["highs_status"])
        return Result(Status.FAILED, self.name, wall_time_s=wall, diagnostics=diag,
                      message=f"HiGHS: {diag['highs_status']}", problem=problem)
