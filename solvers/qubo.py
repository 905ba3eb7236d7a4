"""Conversions: :class:`Problem` <-> qiskit-optimization ``QuadraticProgram`` <-> QUBO.

``QuadraticProgram`` conversion is lossless in both directions: infinite bounds
map to qiskit-optimization's ``INFINITY`` (1e20) and back; a ranged row
``lo <= a x <= hi`` (both finite, different) becomes two constraints named
``<row>@lo`` (``>=``) and ``<row>@hi`` (``<=``) that are merged again on the
way back; a free row (both bounds infinite) becomes ``<row>@free`` (``<= 1e20``).

The QUBO is produced by qiskit-optimization's ``QuadraticProgramToQubo`` chain
(:class:`QuboConverter`, the same public converters in the same order):
inequalities get integer slack variables, bounded integers are expanded into
binaries, and every equality is added to the objective as
``penalty * (a x - b)^2``. With ``penalty=None`` the converter's automatic rule
applies: ``penalty = 1 + (ub - lb)`` of the objective's linear part plus the
same for its quadratic part (bounds computed from the variable bounds), which
makes every infeasible assignment cost more than any feasible one; when a
constraint has a non-integer coefficient the rule falls back to ``1e5``
(logged by qiskit-optimization). Pass ``penalty=`` to override.

Public names: :func:`problem_to_quadratic_program`,
:func:`problem_from_quadratic_program`, :class:`Qubo`, :func:`to_qubo`,
:func:`qubo_support`, :func:`cost_vector`, :func:`binary_problem_cost_vector`,
:class:`QuboConverter`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem, ProblemError, Sense, VarKind

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from qiskit_optimization import QuadraticProgram

__all__ = [
    "Qubo",
    "QuboConverter",
    "binary_problem_cost_vector",
    "cost_vector",
    "problem_from_quadratic_program",
    "problem_to_quadratic_program",
    "qubo_support",
    "to_qubo",
]

_QP_INF = 1.0e20


def _to_qp_bound(value: float) -> float:
    if math.isinf(value):
        return math.copysign(_QP_INF, value)
    return float(value)


def _from_qp_bound(value: float) -> float:
    if value >= _QP_INF:
        return math.inf
    if value <= -_QP_INF:
        return -math.inf
    return float(value)


def problem_to_quadratic_program(problem: Problem) -> QuadraticProgram:
    """Build a ``QuadraticProgram`` holding exactly ``problem`` (see module notes)."""
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram(problem.name)
    for name, kind, lb, ub in zip(
        problem.names, problem.kinds, problem.lower, problem.upper, strict=True
    ):
        if kind == VarKind.BINARY:
            var = qp.binary_var(name)
            if lb != 0.0 or ub != 1.0:  # a fixed binary keeps its tightened bounds
                var.lowerbound, var.upperbound = float(lb), float(ub)
        elif kind == VarKind.CONTINUOUS:
            qp.continuous_var(_to_qp_bound(lb), _to_qp_bound(ub), name)
        else:
            qp.integer_var(_to_qp_bound(lb), _to_qp_bound(ub), name)
    quad: dict[tuple[int, int], float] = {}
    if problem.quadratic is not None:
        coo = problem.quadratic.tocoo()
        quad = {
            (int(i), int(j)): float(v)
            for i, j, v in zip(coo.coords[0], coo.coords[1], coo.data, strict=True)
        }
    linear = {int(i): float(problem.objective[i]) for i in np.flatnonzero(problem.objective)}
    if problem.sense is Sense.MINIMIZE:
        qp.minimize(constant=problem.constant, linear=linear, quadratic=quad)
    else:
        qp.maximize(constant=problem.constant, linear=linear, quadratic=quad)
    a = problem.constraints
    for r, rname in enumerate(problem.row_names):
        lo_ptr, hi_ptr = a.indptr[r], a.indptr[r + 1]
        row = {int(j): float(v) for j, v in zip(a.indices[lo_ptr:hi_ptr], a.data[lo_ptr:hi_ptr],
                                               strict=True)}
        lo, hi = float(problem.row_lower[r]), float(problem.row_upper[r])
        if lo == hi:
            qp.linear_constraint(row, "==", lo, rname)
        elif math.isinf(lo) and math.isinf(hi):
            qp.linear_constraint(row, "<=", _QP_INF, f"{rname}@free")
        elif math.isinf(lo):
            qp.linear_constraint(row, "<=", hi, rname)
        elif math.isinf(hi):
            qp.linear_constraint(row, ">=", lo, rname)
        else:
            qp.linear_constraint(row, ">=", lo, f"{rname}@lo")
            qp.linear_constraint(row, "<=", hi, f"{rname}@hi")
    return qp


def problem_from_quadratic_program(qp: QuadraticProgram) -> Problem:
    """Build a :class:`Problem` from a ``QuadraticProgram`` with linear constraints.

    Raises
    ------
    ProblemError
        If ``qp`` has quadratic constraints or invalid data.
    """
    if qp.quadratic_constraints:
        raise ProblemError(
            f"QuadraticProgram {qp.name!r} has quadratic constraints "
            f"({qp.quadratic_constraints[0].name!r}); only linear constraints are supported"
        )
    n = qp.get_num_vars()
    kinds, lower, upper = _qp_variables(qp)
    obj = qp.objective
    linear = np.asarray(obj.linear.to_array(), dtype=np.float64) if n else np.zeros(0)
    quad = sp.coo_array(obj.quadratic.coefficients) if obj.quadratic.coefficients.nnz else None
    sense = Sense.MINIMIZE if obj.sense == obj.sense.MINIMIZE else Sense.MAXIMIZE
    matrix, row_lower, row_upper, row_names = _qp_rows(qp, n)
    return Problem(
        objective=linear,
        lower=lower,
        upper=upper,
        kinds=kinds,
        names=[v.name for v in qp.variables],
        quadratic=quad,
        constant=float(obj.constant),
        sense=sense,
        constraints=matrix,
        row_lower=np.asarray(row_lower),
        row_upper=np.asarray(row_upper),
        row_names=row_names,
        name=qp.name or "problem",
    )


def _qp_variables(qp: QuadraticProgram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kinds and bounds of a ``QuadraticProgram``'s variables (infinite bounds restored)."""
    from qiskit_optimization.problems import Variable

    n = qp.get_num_vars()
    kinds = np.empty(n, dtype=np.int8)
    lower = np.empty(n)
    upper = np.empty(n)
    kind_of = {
        Variable.Type.CONTINUOUS: VarKind.CONTINUOUS,
        Variable.Type.INTEGER: VarKind.INTEGER,
        Variable.Type.BINARY: VarKind.BINARY,
    }
    for i, var in enumerate(qp.variables):
        kinds[i] = kind_of[var.vartype]
        lower[i] = _from_qp_bound(var.lowerbound)
        upper[i] = _from_qp_bound(var.upperbound)
    return kinds, lower, upper


def _qp_rows(qp: QuadraticProgram, n: int
             ) -> tuple[sp.csr_array | None, list[float], list[float], list[str]]:
    """Linear constraints as rows with bounds; ``<row>@lo``/``@hi`` pairs merged again."""
    from qiskit_optimization.problems import Constraint

    rows: list[Any] = []
    row_lower: list[float] = []
    row_upper: list[float] = []
    row_names: list[str] = []
    pending: dict[str, int] = {}
    for con in qp.linear_constraints:
        coeffs = sp.csr_array(con.linear.coefficients, shape=(1, n))
        name = con.name
        rhs = float(con.rhs)
        lo, hi = -math.inf, math.inf
        if con.sense == Constraint.Sense.EQ:
            lo = hi = rhs
        elif con.sense == Constraint.Sense.LE:
            hi = _from_qp_bound(rhs)
        else:
            lo = _from_qp_bound(rhs)
        base = name
        for suffix in ("@lo", "@hi", "@free"):
            if name.endswith(suffix):
                base = name[: -len(suffix)]
        if base != name and base in pending:
            k = pending.pop(base)
            if (rows[k] != coeffs).nnz == 0:
                row_lower[k] = max(row_lower[k], lo)
                row_upper[k] = min(row_upper[k], hi)
                continue
        if base != name and name.endswith(("@lo", "@hi")):
            pending[base] = len(rows)
        rows.append(coeffs)
        row_lower.append(lo)
        row_upper.append(hi)
        row_names.append(base)
    matrix = sp.vstack(rows).tocsr() if rows else None
    return matrix, row_lower, row_upper, row_names


def qubo_support(problem: Problem) -> str | None:
    """None when ``problem`` can be turned into a QUBO, else the reason."""
    if (problem.kinds == VarKind.CONTINUOUS).any():
        return (
            f"{int((problem.kinds == VarKind.CONTINUOUS).sum())} continuous variables: a "
            "QUBO needs binary or bounded integer variables (use the 'hybrid' solver)"
        )
    integral = problem.kinds == VarKind.INTEGER
    if integral.any() and not (
        np.isfinite(problem.lower[integral]).all() and np.isfinite(problem.upper[integral]).all()
    ):
        return "integer variables need finite bounds to be encoded in binaries"
    a = problem.constraints
    if a.nnz:
        ineq = problem.row_lower != problem.row_upper
        if ineq.any():
            sub = a[np.flatnonzero(ineq)]
            vals = np.concatenate([sub.data, problem.row_lower[ineq][np.isfinite(
                problem.row_lower[ineq])], problem.row_upper[ineq][np.isfinite(
                problem.row_upper[ineq])]])
            if (np.abs(vals - np.round(vals)) > 0).any():
                return (
                    "an inequality constraint has a non-integer coefficient or bound; "
                    "qiskit-optimization's slack encoding needs integers"
                )
    return None


@dataclass(frozen=True, eq=False)
class Qubo:
    r"""A QUBO :math:`\min_z c_0 + l^\top z + \sum_{i\le j} Q_{ij} z_i z_j` over binaries.

    Attributes
    ----------
    linear : numpy.ndarray, shape (k,)
        Linear coefficients (diagonal folded in).
    quadratic : numpy.ndarray, shape (k, k)
        Strictly upper-triangular coefficients.
    constant : float
        Offset.
    penalty : float or None
        Penalty factor used for the constraints (None when there were none).
    sign : float
        +1 when the original problem minimises, -1 when it maximises:
        for feasible ``z``, ``original objective = sign * qubo objective``.
    names : tuple of str
        QUBO variable names (original binaries, integer bits, slacks).
    converter : QuboConverter or None
        The converter chain, to map a QUBO assignment back (``interpret``).
    inequality_penalty : float or None
        Penalty of the inequalities qiskit-optimization's ``LinearInequalityToPenalty``
        turned into penalty terms directly (binary ``x + y <= 1`` patterns; None when
        none), the others get integer slacks and ``penalty``.
    """

    linear: NDArray[np.float64]
    quadratic: NDArray[np.float64]
    constant: float
    penalty: float | None
    sign: float
    names: tuple[str, ...]
    converter: QuboConverter | None
    problem: Problem
    inequality_penalty: float | None = None

    @property
    def num_variables(self) -> int:
        """Number of QUBO binaries (= qubits)."""
        return int(self.linear.size)

    def evaluate(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """QUBO objective of assignments ``z`` (shape (k,) or (s, k))."""
        zz = np.atleast_2d(np.asarray(z, dtype=np.float64))
        val = self.constant + zz @ self.linear + np.einsum("si,ij,sj->s", zz, self.quadratic, zz)
        return val if np.ndim(z) > 1 else val[:1]

    def interpret(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map a QUBO assignment back to the original problem's variables."""
        if self.converter is None:
            return np.asarray(z, dtype=np.float64)
        return np.asarray(self.converter.interpret(np.asarray(z, dtype=np.float64)))

    def to_ising(self) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        r"""Ising form with :math:`z_i = (1 - s_i)/2`, :math:`s_i \in \{+1,-1\}`.

        Returns ``(h, J, offset)`` with
        :math:`C = \text{offset} + \sum_i h_i s_i + \sum_{i<j} J_{ij} s_i s_j`
        (``J`` symmetric with zero diagonal), the qiskit ``to_ising`` convention
        (qubit state 1 <-> z = 1 <-> Z eigenvalue -1).
        """
        q = self.quadratic
        lin = self.linear
        offset = self.constant + lin.sum() / 2 + q.sum() / 4
        h = -lin / 2 - (q.sum(axis=0) + q.sum(axis=1)) / 4
        j = (q + q.T) / 4
        return h, j, float(offset)


def to_qubo(problem: Problem, penalty: float | None = None) -> Qubo:
    """Convert ``problem`` to a :class:`Qubo` with qiskit-optimization's converters.

    Raises
    ------
    ProblemError
        When the problem cannot be a QUBO (reason from :func:`qubo_support`).
    """
    reason = qubo_support(problem)
    if reason is not None:
        raise ProblemError(reason)
    if problem.is_binary and problem.num_constraints == 0 and bool(
        (problem.lower == 0).all() and (problem.upper == 1).all()
    ):
        # Already a QUBO: skip the converter (identical result, no qiskit import).
        q = problem.quadratic_dense() * problem.sense.sign
        lin = problem.objective * problem.sense.sign + np.diag(q)
        return Qubo(
            linear=lin,
            quadratic=np.triu(q, 1),
            constant=problem.sense.sign * problem.constant,
            penalty=None,
            sign=problem.sense.sign,
            names=problem.names,
            converter=None,
            problem=problem,
        )
    original = problem
    free = np.isneginf(problem.row_lower) & np.isposinf(problem.row_upper)
    if free.any():  # a free row constrains nothing but would get an enormous slack
        keep = np.flatnonzero(~free)
        problem = problem.replace(
            constraints=problem.constraints[keep] if keep.size else None,
            row_lower=problem.row_lower[keep], row_upper=problem.row_upper[keep],
            row_names=[problem.row_names[i] for i in keep],
        )
    qp = problem_to_quadratic_program(problem)
    converter = QuboConverter(penalty)
    qubo_qp = converter.convert(qp)
    used_penalty = converter.penalty if problem.num_constraints else None
    k = qubo_qp.get_num_vars()
    lin = np.asarray(qubo_qp.objective.linear.to_array(), dtype=np.float64)
    quad = np.asarray(qubo_qp.objective.quadratic.to_array(symmetric=False), dtype=np.float64)
    if quad.shape != (k, k):
        quad = np.zeros((k, k))
    lin = lin + np.diag(quad)
    return Qubo(
        linear=lin,
        quadratic=np.triu(quad, 1),
        constant=float(qubo_qp.objective.constant),
        penalty=used_penalty,
        sign=problem.sense.sign,
        names=tuple(v.name for v in qubo_qp.variables),
        converter=converter,
        problem=original,
        inequality_penalty=converter.inequality_penalty if problem.num_constraints else None,
    )


class QuboConverter:
    """qiskit-optimization's ``QuadraticProgramToQubo`` chain, built from its public parts.

    The same converters in the same order as ``QuadraticProgramToQubo`` 0.7
    (``LinearInequalityToPenalty``, ``InequalityToEquality(mode="integer")``,
    ``IntegerToBinary``, ``LinearEqualityToPenalty``, ``MaximizeToMinimize``), so the
    QUBO is identical; holding the parts lets the penalties actually used be read
    from their public ``penalty`` properties instead of the chain's private fields.

    Parameters
    ----------
    penalty : float or None
        Penalty factor of both penalty converters (None: their automatic rule).
    """

    def __init__(self, penalty: float | None = None) -> None:
        from qiskit_optimization.converters import (
            InequalityToEquality,
            IntegerToBinary,
            LinearEqualityToPenalty,
            LinearInequalityToPenalty,
            MaximizeToMinimize,
        )

        self._inequalities = LinearInequalityToPenalty(penalty=penalty)
        self._equalities = LinearEqualityToPenalty(penalty=penalty)
        self._chain = [self._inequalities, InequalityToEquality(mode="integer"),
                       IntegerToBinary(), self._equalities, MaximizeToMinimize()]

    def convert(self, qp: QuadraticProgram) -> QuadraticProgram:
        """The QUBO of ``qp`` (raises ``QiskitOptimizationError`` when incompatible)."""
        from qiskit_optimization.converters import QuadraticProgramToQubo
        from qiskit_optimization.exceptions import QiskitOptimizationError

        msg = QuadraticProgramToQubo.get_compatibility_msg(qp)
        if msg:
            raise QiskitOptimizationError(f"Incompatible problem: {msg}")
        for conv in self._chain:
            qp = conv.convert(qp)
        return qp

    def interpret(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map a QUBO assignment back to the original variables."""
        for conv in self._chain[::-1]:
            x = conv.interpret(x)
        return np.asarray(x, dtype=np.float64)

    @property
    def penalty(self) -> float | None:
        """Penalty of the equality constraints (after ``convert``)."""
        value = self._equalities.penalty
        return None if value is None else float(value)

    @property
    def inequality_penalty(self) -> float | None:
        """Penalty of the inequalities penalised directly (after ``convert``)."""
        value = self._inequalities.penalty
        return None if value is None else float(value)


def cost_vector(
    linear: NDArray[np.float64],
    quadratic: NDArray[np.float64] | None,
    constant: float = 0.0,
    dtype: Any = np.float64,
) -> NDArray[np.float64]:
    r"""Objective of every binary assignment, vectorised, in qiskit's bit order.

    Entry ``k`` is the objective of :math:`z_i = (k \gg i) \,\&\, 1` (bit ``i``
    of the index is variable/qubit ``i``, little-endian as in qiskit).

    Notes
    -----
    Built by doubling: appending variable ``k`` maps the vector ``C`` over the
    first ``k`` bits to ``[C, C + l_k + Q_kk + sum_{j<k} Q_jk z_j]``, where the
    increment is itself built by doubling. Cost ``O(2^n)`` memory and about
    ``4 * 2^n`` additions.
    """
    lin = np.asarray(linear, dtype=np.float64)
    n = lin.size
    q = np.zeros((n, n)) if quadratic is None else np.asarray(quadratic, dtype=np.float64)
    out = np.empty(1 << n, dtype=dtype)
    out[0] = constant
    inc = np.empty(1 << max(n - 1, 0), dtype=dtype)
    for k in range(n):
        size = 1 << k
        inc[0] = lin[k] + q[k, k]
        for j in range(k):
            step = 1 << j
            np.add(inc[:step], q[j, k] + q[k, j], out=inc[step : 2 * step])
        np.add(out[:size], inc[:size], out=out[size : 2 * size])
    return out


def binary_problem_cost_vector(problem: Problem) -> NDArray[np.float64]:
    """:func:`cost_vector` of a binary problem's own objective (no penalties)."""
    q = problem.quadratic_dense()
    return cost_vector(problem.objective, q, problem.constant)
