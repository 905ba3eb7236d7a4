"""The solver-neutral optimisation model: :class:`Problem` and its value types.

A :class:`Problem` is a small MILP/QUBO model in array form: named variables with
kinds (continuous, integer, binary) and bounds, a linear plus optional quadratic
objective with a sense, and linear constraints ``row_lower <= A x <= row_upper``
held as a sparse matrix. It is frozen and validated on construction, so a solver
never sees NaN coefficients, mismatched shapes or crossed bounds.

Sub-domains live next to it: building problems from blocks of arrays in
:mod:`solvers.builder` (:class:`~solvers.builder.ProblemBuilder`), the outcome of a
solve in :mod:`solvers.result` (:class:`~solvers.result.Result`), converters as free
functions in :mod:`solvers.lpfile` and :mod:`solvers.qubo`.

Why about 650 lines: :class:`Problem`'s validation, evaluation and feasibility checks
are one cohesive type over the same arrays; split, each piece would re-read them.

Public names: :class:`Problem`, :class:`Status`, :class:`Sense`, :class:`VarKind`,
:class:`ProblemError`, :data:`FEASIBILITY_TOL`.

Examples
--------
>>> from solvers.problem import Problem
>>> p = Problem(objective=[1.0, -1.0], kinds="binary", upper=1.0)
>>> p.num_variables, p.evaluate([0.0, 1.0])
(2, -1.0)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FEASIBILITY_TOL",
    "Problem",
    "ProblemError",
    "Sense",
    "Status",
    "VarKind",
    "as_float_vector",
]

#: Feasibility tolerance used by :meth:`Problem.is_feasible` (absolute). [-]
FEASIBILITY_TOL = 1e-6


class ProblemError(ValueError):
    """A problem's data is invalid (NaN, shapes, bounds, names, file syntax)."""


class VarKind(enum.IntEnum):
    """Kind of a decision variable (stored as ``int8`` codes in :attr:`Problem.kinds`)."""

    CONTINUOUS = 0
    INTEGER = 1
    BINARY = 2

    @classmethod
    def parse(cls, value: VarKind | str | int) -> VarKind:
        """Return the kind named by ``value`` ("continuous", "integer", "binary")."""
        if isinstance(value, VarKind):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ProblemError(
                    f"unknown variable kind {value!r}; expected one of "
                    "'continuous', 'integer', 'binary'"
                ) from None
        return cls(int(value))


class Sense(enum.Enum):
    """Objective sense."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: Sense | str) -> Sense:
        """Return the sense named by ``value`` ("min", "minimize", "max", ...)."""
        if isinstance(value, Sense):
            return value
        text = str(value).strip().lower()
        if text in ("min", "minimize", "minimise"):
            return cls.MINIMIZE
        if text in ("max", "maximize", "maximise"):
            return cls.MAXIMIZE
        raise ProblemError(f"unknown sense {value!r}; expected 'minimize' or 'maximize'")

    @property
    def sign(self) -> float:
        """+1 for minimisation, -1 for maximisation (multiply to get a minimisation)."""
        return 1.0 if self is Sense.MINIMIZE else -1.0


class Status(enum.Enum):
    """Outcome of a solve.

    ``OPTIMAL``: proven optimal (for heuristics: equal to an enumerated optimum).
    ``FEASIBLE``: a feasible solution without an optimality proof.
    ``INFEASIBLE``: proven infeasible, or (heuristics) no feasible sample found,
    see ``diagnostics["infeasible_proven"]``.
    ``UNBOUNDED``: objective unbounded (or infeasible-or-unbounded, see message).
    ``TIME_LIMIT``: stopped by the time limit; ``x`` holds the best feasible
    solution found, if any.
    ``UNSUPPORTED``: the solver refused the problem (``message`` says why).
    ``FAILED``: the solver failed (``message`` says why).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


def as_float_vector(value: ArrayLike, size: int, what: str) -> NDArray[np.float64]:
    """``value`` (a scalar or ``size`` numbers) as a float64 vector of length ``size``.

    Raises :class:`ProblemError` naming ``what`` when the length differs.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    arr = arr.reshape(-1) if arr.ndim > 1 else arr
    if arr.shape != (size,):
        raise ProblemError(f"{what}: expected {size} values, got shape {np.shape(value)}")
    return np.array(arr, dtype=np.float64, copy=True)


def _check_no_nan(arr: NDArray[np.float64], what: str, allow_inf: bool) -> None:
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "NaN" if allow_inf else "NaN or infinite"
        raise ProblemError(f"{what}: {kind} value at position {i} ({arr[i]!r})")


_CONTINUOUS = int(VarKind.CONTINUOUS)
_BINARY = int(VarKind.BINARY)
"""Kind codes as plain ints: comparing an int8 array with an IntEnum member takes numpy's
slow path for Python int subclasses (about 4 us on 1,700 kinds instead of 1 us)."""


def _check_variable_bounds(
    lb: NDArray[np.float64], ub: NDArray[np.float64], kinds: NDArray[np.int8],
    names: Sequence[str] | None,
) -> None:
    """Refuse NaN bounds, binary bounds outside [0, 1] and lower above upper."""
    _check_no_nan(lb, "lower", allow_inf=True)
    _check_no_nan(ub, "upper", allow_inf=True)
    is_bin = kinds == _BINARY
    if is_bin.any() and ((lb[is_bin] < 0).any() or (ub[is_bin] > 1).any()):
        i = int(np.flatnonzero(is_bin & ((lb < 0) | (ub > 1)))[0])
        raise ProblemError(
            f"bounds of binary variable {i}: expected within [0, 1], "
            f"got [{lb[i]}, {ub[i]}]"
        )
    crossed = lb > ub
    if crossed.any():
        i = int(np.flatnonzero(crossed)[0])
        label = names[i] if names is not None and i < len(names) else f"x{i}"
        raise ProblemError(
            f"bounds of variable {label!r}: lower {lb[i]} is above upper {ub[i]}"
        )


def _check_row_bounds(rl: NDArray[np.float64], ru: NDArray[np.float64]) -> None:
    """Refuse NaN row bounds, +inf lower or -inf upper, and lower above upper."""
    _check_no_nan(rl, "row_lower", allow_inf=True)
    _check_no_nan(ru, "row_upper", allow_inf=True)
    if rl.size and (np.isposinf(rl).any() or np.isneginf(ru).any()):
        raise ProblemError("row bounds: lower cannot be +inf and upper cannot be -inf")
    crossed_rows = rl > ru
    if crossed_rows.any():
        i = int(np.flatnonzero(crossed_rows)[0])
        raise ProblemError(
            f"bounds of constraint {i}: row_lower {rl[i]} is above row_upper {ru[i]}"
        )


def _freeze(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _canonical_quadratic(q: Any, n: int) -> sp.csr_array | None:
    """Return ``q`` as an upper-triangular CSR array (i <= j), duplicates summed."""
    if q is None:
        return None
    mat = sp.coo_array(q, dtype=np.float64) if not sp.issparse(q) else sp.coo_array(q)
    if mat.shape != (n, n):
        raise ProblemError(f"quadratic: expected shape ({n}, {n}), got {mat.shape}")
    data = np.asarray(mat.data, dtype=np.float64)
    _check_no_nan(data, "quadratic", allow_inf=False)
    row, col = mat.coords
    lo = np.minimum(row, col)
    hi = np.maximum(row, col)
    upper = sp.coo_array((data, (lo, hi)), shape=(n, n)).tocsr()
    upper.sum_duplicates()
    upper.eliminate_zeros()
    if upper.nnz == 0:
        return None
    upper.sort_indices()
    return upper


def _check_trusted_shapes(
    objective: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64],
    kinds: NDArray[np.int8], names: tuple[str, ...], constraints: sp.csr_array,
    row_lower: NDArray[np.float64], row_upper: NDArray[np.float64],
    row_names: tuple[str, ...],
) -> None:
    """Dtypes, dimensions and name counts of :meth:`Problem.from_trusted`'s arguments."""
    n = objective.size
    m = row_lower.size
    for what, arr, size, dtype in (
        ("objective", objective, n, np.float64), ("lower", lower, n, np.float64),
        ("upper", upper, n, np.float64), ("kinds", kinds, n, np.int8),
        ("row_lower", row_lower, m, np.float64), ("row_upper", row_upper, m, np.float64),
    ):
        if arr.dtype != dtype or arr.shape != (size,):
            raise ProblemError(
                f"{what}: expected {size} values of {np.dtype(dtype).name}, got shape "
                f"{arr.shape} of {arr.dtype}"
            )
    if not (isinstance(names, tuple) and isinstance(row_names, tuple)):
        raise ProblemError("names, row_names: expected tuples of str")
    if len(names) != n or len(row_names) != m:
        raise ProblemError(
            f"names: expected {n} variable and {m} constraint names, got "
            f"{len(names)} and {len(row_names)}"
        )
    if constraints.format != "csr" or constraints.shape != (m, n):
        raise ProblemError(
            f"constraints: expected a CSR matrix of shape ({m}, {n}), got "
            f"{constraints.format} of shape {constraints.shape}"
        )


@dataclass(frozen=True, eq=False)
class Problem:
    r"""A validated, immutable optimisation problem in array form.

    .. math::

        \min / \max \; c_0 + c^\top x + \sum_{i \le j} Q_{ij} x_i x_j
        \quad \text{s.t.} \quad r^{lo} \le A x \le r^{up},\;
        l \le x \le u,\; x_i \in \mathbb{Z} \text{ for integer/binary } i

    Parameters
    ----------
    objective : array_like, shape (n,)
        Linear objective coefficients ``c``. [objective unit per variable unit]
    lower, upper : array_like or float, shape (n,)
        Variable bounds; ``-inf``/``inf`` allowed for continuous and integer
        variables. Binary variables are clipped to ``[0, 1]`` at most.
    kinds : array_like of VarKind/str/int or a single kind, optional
        Variable kinds, default continuous.
    names : sequence of str, optional
        Unique variable names, default ``x0, x1, ...``.
    quadratic : array_like or scipy sparse, shape (n, n), optional
        Quadratic coefficients. Entries ``(i, j)`` and ``(j, i)`` are summed into
        the upper triangle, so the objective term is ``sum_{i<=j} Q_ij x_i x_j``.
    constant : float
        Objective offset ``c_0``.
    sense : Sense or str
        ``"minimize"`` (default) or ``"maximize"``.
    constraints : array_like or scipy sparse, shape (m, n), optional
        Constraint matrix ``A`` (stored as CSR).
    row_lower, row_upper : array_like or float, shape (m,)
        Row bounds; equal values make an equality, ``-inf``/``inf`` one-sided.
    row_names : sequence of str, optional
        Unique constraint names, default ``c0, c1, ...``.
    name : str
        Problem name.

    Raises
    ------
    ProblemError
        On NaN or infinite coefficients, mismatched shapes, lower above upper
        bound, binary bounds outside [0, 1], or duplicate names.
    """

    objective: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    kinds: NDArray[np.int8]
    names: tuple[str, ...]
    quadratic: sp.csr_array | None
    constant: float
    sense: Sense
    constraints: sp.csr_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    row_names: tuple[str, ...]
    name: str
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        objective: ArrayLike,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = math.inf,
        kinds: Any = VarKind.CONTINUOUS,
        names: Sequence[str] | None = None,
        quadratic: Any = None,
        constant: float = 0.0,
        sense: Sense | str = Sense.MINIMIZE,
        constraints: Any = None,
        row_lower: ArrayLike = -math.inf,
        row_upper: ArrayLike = math.inf,
        row_names: Sequence[str] | None = None,
        name: str = "problem",
    ) -> None:
        c = np.array(objective, dtype=np.float64, copy=True).reshape(-1)
        n = c.size
        _check_no_nan(c, "objective", allow_inf=False)
        kind_arr = self._parse_kinds(kinds, n)
        lb = as_float_vector(lower, n, "lower")
        ub = as_float_vector(upper, n, "upper")
        _check_variable_bounds(lb, ub, kind_arr, names)
        var_names = self._parse_names(names, n, "x", "variable")
        if not np.isfinite(constant):
            raise ProblemError(f"constant: expected a finite number, got {constant!r}")
        if constraints is None:
            a = sp.csr_array((0, n), dtype=np.float64)
        else:
            a = sp.csr_array(constraints, dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != n:
                raise ProblemError(
                    f"constraints: expected a matrix with {n} columns, got shape {a.shape}"
                )
            a.sum_duplicates()
            a.sort_indices()
            _check_no_nan(np.asarray(a.data), "constraints", allow_inf=False)
        m = a.shape[0]
        rl = as_float_vector(row_lower, m, "row_lower")
        ru = as_float_vector(row_upper, m, "row_upper")
        _check_row_bounds(rl, ru)
        r_names = self._parse_names(row_names, m, "c", "constraint")
        q = _canonical_quadratic(quadratic, n)
        self._set_fields(c, lb, ub, kind_arr, var_names, q, constant, sense, a, rl, ru,
                         r_names, name)

    def _set_fields(self, objective: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                    kinds: np.ndarray, names: tuple[str, ...], quadratic: sp.csr_array | None,
                    constant: float, sense: Sense | str, constraints: sp.csr_array,
                    row_lower: np.ndarray, row_upper: np.ndarray,
                    row_names: tuple[str, ...], name: str) -> None:
        """Store checked values on the frozen instance (arrays made read-only)."""
        set_ = object.__setattr__
        for field_name, value in (
            ("objective", _freeze(objective)), ("lower", _freeze(lower)),
            ("upper", _freeze(upper)), ("kinds", _freeze(kinds)), ("names", names),
            ("quadratic", quadratic), ("constant", float(constant)),
            ("sense", Sense.parse(sense)), ("constraints", constraints),
            ("row_lower", _freeze(row_lower)), ("row_upper", _freeze(row_upper)),
            ("row_names", row_names), ("name", str(name)), ("_index", None),
        ):
            set_(self, field_name, value)

    @staticmethod
    def _parse_kinds(kinds: Any, n: int) -> NDArray[np.int8]:
        if isinstance(kinds, VarKind | str | int):
            return np.full(n, int(VarKind.parse(kinds)), dtype=np.int8)
        arr = np.asarray(kinds)
        if arr.dtype.kind in "iu":
            out = arr.astype(np.int8).reshape(-1)
            if out.size and (out.min() < 0 or out.max() > 2):
                raise ProblemError("kinds: integer codes must be 0, 1 or 2")
        else:
            out = np.array([int(VarKind.parse(k)) for k in arr.reshape(-1)], dtype=np.int8)
        if out.shape != (n,):
            raise ProblemError(f"kinds: expected {n} values, got {out.size}")
        return out

    @staticmethod
    def _parse_names(
        names: Sequence[str] | None, size: int, prefix: str, what: str
    ) -> tuple[str, ...]:
        if names is None:
            return tuple(f"{prefix}{i}" for i in range(size))
        out = tuple(str(s) for s in names)
        if len(out) != size:
            raise ProblemError(f"{what} names: expected {size}, got {len(out)}")
        if len(set(out)) != size:
            seen: set[str] = set()
            dup = next(s for s in out if s in seen or seen.add(s))  # type: ignore[func-returns-value]
            raise ProblemError(f"{what} names: duplicate name {dup!r}")
        return out

    @classmethod
    def from_trusted(
        cls,
        *,
        objective: NDArray[np.float64],
        lower: NDArray[np.float64],
        upper: NDArray[np.float64],
        kinds: NDArray[np.int8],
        names: tuple[str, ...],
        constraints: sp.csr_array,
        row_lower: NDArray[np.float64],
        row_upper: NDArray[np.float64],
        row_names: tuple[str, ...],
        name: str = "problem",
        constant: float = 0.0,
        sense: Sense | str = Sense.MINIMIZE,
    ) -> Problem:
        """The validated-once path for builders that already guarantee types, shapes
        and names by construction (e.g. a controller building thousands of plans a run).

        Makes the same :class:`Problem` as ``Problem(...)`` with the same arguments
        (tested field by field), minus the work the builder has already done:

        - *not re-checked*: ``names`` and ``row_names`` must be tuples of ``str``,
          unique by construction (``block[i]`` from unique block names); the per-name
          conversion and uniqueness check are the most expensive part of ``Problem()``.
        - *not copied*: ``objective``, ``lower``, ``upper``, ``row_lower`` and
          ``row_upper`` must be 1-D ``float64`` arrays and ``kinds`` 1-D ``int8``
          codes (0, 1, 2), owned by the caller and not used afterwards: they are frozen
          in place and become the problem's arrays. ``constraints`` must be a CSR array
          with ``n`` columns; it is put in canonical form in place (duplicates summed,
          indices sorted), as ``Problem()`` does with its copy.
        - *still checked*, with the same errors as ``Problem()``: the sizes of every
          array, NaN or infinite coefficients, NaN bounds, binary bounds outside
          [0, 1], crossed variable and row bounds, infinite row bounds on the wrong
          side. These are vectorised and cheap.

        No quadratic term (linear problems only). Anything not meeting the contract
        should go through ``Problem(...)``, which validates everything.

        Raises
        ------
        ProblemError
            As ``Problem()`` for the checks it still makes; also for arrays of the
            wrong dtype or dimension.
        """
        _check_trusted_shapes(objective, lower, upper, kinds, names, constraints, row_lower,
                              row_upper, row_names)
        _check_no_nan(objective, "objective", allow_inf=False)
        if kinds.size and (kinds.min() < 0 or kinds.max() > 2):
            raise ProblemError("kinds: integer codes must be 0, 1 or 2")
        _check_variable_bounds(lower, upper, kinds, names)
        if not np.isfinite(constant):
            raise ProblemError(f"constant: expected a finite number, got {constant!r}")
        a = constraints if constraints.dtype == np.float64 else constraints.astype(np.float64)
        a.sum_duplicates()
        a.sort_indices()
        _check_no_nan(np.asarray(a.data), "constraints", allow_inf=False)
        _check_row_bounds(row_lower, row_upper)
        self = object.__new__(cls)
        self._set_fields(objective, lower, upper, kinds, names, None, constant, sense, a,
                         row_lower, row_upper, row_names, name)
        return self

    # ------------------------------------------------------------------ shape
    @property
    def num_variables(self) -> int:
        """Number of variables ``n``."""
        return int(self.objective.size)

    @property
    def num_constraints(self) -> int:
        """Number of constraint rows ``m``."""
        return int(self.constraints.shape[0])

    @property
    def num_binary(self) -> int:
        """Number of binary variables."""
        return int(np.count_nonzero(self.kinds == _BINARY))

    @property
    def is_binary(self) -> bool:
        """True when every variable is binary."""
        return bool((self.kinds == _BINARY).all())

    @property
    def is_linear(self) -> bool:
        """True when the objective has no quadratic term."""
        return self.quadratic is None

    @property
    def is_continuous(self) -> bool:
        """True when no variable is integer or binary."""
        return bool((self.kinds == _CONTINUOUS).all())

    def index(self, name: str) -> int:
        """Return the position of variable ``name`` (a dict built once, then O(1))."""
        idx = self._index
        if idx is None:
            idx = {s: i for i, s in enumerate(self.names)}
            object.__setattr__(self, "_index", idx)
        try:
            return idx[name]
        except KeyError:
            raise KeyError(f"no variable named {name!r} in problem {self.name!r}") from None

    # -------------------------------------------------------------- evaluate
    def evaluate(self, x: ArrayLike) -> float:
        """Objective value of assignment ``x`` (in the problem's own sense)."""
        xv = np.asarray(x, dtype=np.float64)
        val = self.constant + float(self.objective @ xv)
        if self.quadratic is not None:
            val += float(xv @ (self.quadratic @ xv))
        return val

    def evaluate_many(self, xs: ArrayLike) -> NDArray[np.float64]:
        """Objective values of the rows of ``xs`` (shape (k, n))."""
        xm = np.asarray(xs, dtype=np.float64)
        vals = self.constant + xm @ self.objective
        if self.quadratic is not None:
            vals = vals + np.einsum("ij,ij->i", xm, (self.quadratic @ xm.T).T)
        return np.asarray(vals, dtype=np.float64)

    def violation(self, x: ArrayLike) -> float:
        """Largest absolute violation of bounds, integrality and constraints of ``x``."""
        xv = np.asarray(x, dtype=np.float64)
        if xv.shape != (self.num_variables,):
            raise ProblemError(
                f"assignment: expected {self.num_variables} values, got shape {xv.shape}"
            )
        worst = 0.0
        if xv.size:
            worst = max(
                float(np.max(self.lower - xv, initial=0.0)),
                float(np.max(xv - self.upper, initial=0.0)),
            )
            integral = self.kinds != VarKind.CONTINUOUS
            if integral.any():
                frac = np.abs(xv[integral] - np.round(xv[integral]))
                worst = max(worst, float(frac.max(initial=0.0)))
        if self.num_constraints:
            ax = self.constraints @ xv
            worst = max(
                worst,
                float(np.max(self.row_lower - ax, initial=0.0)),
                float(np.max(ax - self.row_upper, initial=0.0)),
            )
        return worst

    def is_feasible(self, x: ArrayLike, tol: float = FEASIBILITY_TOL) -> bool:
        """True when ``x`` respects bounds, integrality and constraints within ``tol``."""
        return self.violation(x) <= tol

    def feasible_mask(self, xs: ArrayLike, tol: float = FEASIBILITY_TOL) -> NDArray[np.bool_]:
        """Vectorised :meth:`is_feasible` over the rows of ``xs`` (shape (k, n))."""
        xm = np.asarray(xs, dtype=np.float64)
        ok = ((xm >= self.lower - tol) & (xm <= self.upper + tol)).all(axis=1)
        integral = self.kinds != VarKind.CONTINUOUS
        if integral.any():
            sub = xm[:, integral]
            ok &= (np.abs(sub - np.round(sub)) <= tol).all(axis=1)
        if self.num_constraints:
            ax = (self.constraints @ xm.T).T
            ok &= ((ax >= self.row_lower - tol) & (ax <= self.row_upper + tol)).all(axis=1)
        return np.asarray(ok)

    # --------------------------------------------------------------- derived
    def replace(self, **changes: Any) -> Problem:
        """Return a copy with some fields replaced (validated again)."""
        fields = {
            "objective": self.objective,
            "lower": self.lower,
            "upper": self.upper,
            "kinds": self.kinds,
            "names": self.names,
            "quadratic": self.quadratic,
            "constant": self.constant,
            "sense": self.sense,
            "constraints": self.constraints,
            "row_lower": self.row_lower,
            "row_upper": self.row_upper,
            "row_names": self.row_names,
            "name": self.name,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Problem fields {sorted(unknown)}; known: {sorted(fields)}")
        fields.update(changes)
        return Problem(**fields)

    def relaxed(self) -> Problem:
        """The continuous relaxation (every variable continuous, same bounds)."""
        return self.replace(kinds=np.zeros(self.num_variables, dtype=np.int8))

    def quadratic_dense(self) -> NDArray[np.float64]:
        """Upper-triangular quadratic coefficients as a dense (n, n) array."""
        if self.quadratic is None:
            return np.zeros((self.num_variables, self.num_variables))
        return np.asarray(self.quadratic.toarray())

    def summary(self) -> dict[str, Any]:
        """Sizes and kinds, for logs and diagnostics."""
        return {
            "name": self.name,
            "variables": self.num_variables,
            "binary": self.num_binary,
            "integer": int(np.count_nonzero(self.kinds == VarKind.INTEGER)),
            "continuous": int(np.count_nonzero(self.kinds == VarKind.CONTINUOUS)),
            "constraints": self.num_constraints,
            "nonzeros": int(self.constraints.nnz),
            "quadratic_terms": 0 if self.quadratic is None else int(self.quadratic.nnz),
            "sense": self.sense.value,
        }

    def same_as(self, other: Problem, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """True when both problems hold the same data (within tolerances)."""

        def close(a: np.ndarray, b: np.ndarray) -> bool:
            return a.shape == b.shape and bool(
                np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False)
                or np.array_equal(a, b)
            )

        qa = self.quadratic_dense() if self.quadratic is not None else None
        qb = other.quadratic_dense() if other.quadratic is not None else None
        return (
            self.names == other.names
            and self.row_names == other.row_names
            and self.sense == other.sense
            and np.array_equal(self.kinds, other.kinds)
            and close(self.objective, other.objective)
            and close(self.lower, other.lower)
            and close(self.upper, other.upper)
            and close(self.row_lower, other.row_lower)
            and close(self.row_upper, other.row_upper)
            and math.isclose(self.constant, other.constant, rel_tol=rtol, abs_tol=atol)
            and close(self.constraints.toarray(), other.constraints.toarray())
            and (qa is None) == (qb is None)
            and (qa is None or close(qa, qb))  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------- builder
