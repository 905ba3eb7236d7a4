"""Building a :class:`~solvers.problem.Problem` from blocks of arrays: :class:`ProblemBuilder`.

Schedules are blocks of variables (one per asset and time step) and constraints
written as block-sparse rows; the builder assembles them into one validated
:class:`~solvers.problem.Problem` in milliseconds for thousands of variables.

Public names: :class:`ProblemBuilder`, :class:`VarBlock`, :class:`SparseTerm`.

Examples
--------
>>> import numpy as np
>>> b = ProblemBuilder("toy")
>>> p = b.add_variables("p_mw", 3, lower=0.0, upper=2.0, cost=[1.0, 2.0, 3.0])
>>> u = b.add_variables("u", 3, kind="binary", cost=0.5)
>>> b.add_constraints([(p, np.ones((1, 3)))], lower=2.5, name="demand")
range(0, 1)
>>> b.add_constraints([(p, np.eye(3)), (u, -2.0 * np.eye(3))], upper=0.0, name="on")
range(1, 4)
>>> problem = b.build()
>>> problem.num_variables, problem.num_constraints
(6, 4)
>>> problem.names[:2]
('p_mw[0]', 'p_mw[1]')
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem, ProblemError, Sense, VarKind, as_float_vector

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["ProblemBuilder", "SparseTerm", "VarBlock"]


@dataclass(frozen=True)
class SparseTerm:
    """A constraint term as plain COO triplets, ``matrix[row[k], col[k]] += val[k]``.

    :meth:`ProblemBuilder.add_constraints` takes it like a scipy matrix, without a
    scipy object per term (a builder of many small terms, such as a controller's
    schedule of about 60 terms made thousands of times a run, saves scipy's
    constructor cost of tens of microseconds a term). Explicit zeros are kept as
    entries, as in a ``scipy.sparse.coo_array``.

    Attributes
    ----------
    row, col : numpy.ndarray
        Integer positions of the entries.
    val : numpy.ndarray
        ``float64`` values of the entries.
    shape : tuple of int
        ``(rows, columns)`` of the term.
    """

    row: NDArray[np.int64]
    col: NDArray[np.int64]
    val: NDArray[np.float64]
    shape: tuple[int, int]

    def __neg__(self) -> SparseTerm:
        return SparseTerm(self.row, self.col, -self.val, self.shape)

    def to_scipy(self) -> sp.coo_array:
        """The same term as a scipy COO array."""
        return sp.coo_array((self.val, (self.row, self.col)), shape=self.shape)


@functools.lru_cache(maxsize=1024)
def _block_names(prefix: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    """``prefix[i]`` (1-D) or ``prefix[i,j,...]`` names of a block, built once per
    prefix and shape (a builder called for every plan of a run reuses them)."""
    if len(shape) == 1:
        return tuple(f"{prefix}[{i}]" for i in range(shape[0]))
    return tuple(f"{prefix}[{','.join(map(str, idx))}]" for idx in np.ndindex(*shape))


@functools.lru_cache(maxsize=1024)
def _constant_values(size: int, value_hex: str) -> NDArray[np.float64]:
    """``np.full(size, value)``, read-only and shared (keyed by the exact value: the hex
    form tells -0.0 from 0.0); :meth:`ProblemBuilder.build` concatenates copies."""
    out = np.full(size, float.fromhex(value_hex))
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=256)
def _constant_codes(size: int, kind: int) -> NDArray[np.int8]:
    """``np.full(size, kind, dtype=np.int8)``, read-only and shared."""
    out = np.full(size, kind, dtype=np.int8)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class VarBlock:
    """A contiguous block of variables added by :meth:`ProblemBuilder.add_variables`.

    Attributes
    ----------
    name : str
        Block prefix; variables are named ``name[i]`` or ``name[i,j]``.
    start : int
        Position of the first variable of the block.
    shape : tuple of int
        Shape the block was declared with.
    """

    name: str
    start: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        """Number of variables in the block."""
        return math.prod(self.shape)

    @property
    def indices(self) -> NDArray[np.int64]:
        """Variable positions, reshaped to the block's shape."""
        return np.arange(self.start, self.start + self.size).reshape(self.shape)

    def values(self, x: ArrayLike) -> NDArray[np.float64]:
        """The block's values out of a full solution array, in the block's shape."""
        xv = np.asarray(x, dtype=np.float64)
        return xv[self.start : self.start + self.size].reshape(self.shape)


class ProblemBuilder:
    """Assemble a :class:`Problem` from blocks of numpy/scipy arrays.

    Variables are added in blocks (one call per quantity: ``p_mw`` over
    (steps, units), ``u`` binaries, ``soc_mwh`` ...); constraints in row blocks,
    each a list of ``(block, matrix)`` terms whose matrices have one column per
    variable of the block (dense or scipy sparse). Nothing is copied per element:
    a 10,000-variable schedule builds in milliseconds.

    Parameters
    ----------
    name : str
        Problem name.
    sense : Sense or str
        Objective sense.
    """

    def __init__(self, name: str = "problem", sense: Sense | str = Sense.MINIMIZE) -> None:
        self.name = name
        self.sense = Sense.parse(sense)
        self._blocks: list[VarBlock] = []
        self._block_names: set[str] = set()
        self._row_names: set[str] = set()
        self._names: list[str] = []
        self._cost: list[np.ndarray] = []
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._kinds: list[np.ndarray] = []
        self._n = 0
        self._rows: list[tuple[list[tuple[VarBlock, Any]], np.ndarray, np.ndarray, str, int]] = []
        self._m = 0
        self._quad: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.constant = 0.0

    @property
    def num_variables(self) -> int:
        """Variables added so far."""
        return self._n

    def add_variables(
        self,
        name: str,
        shape: int | tuple[int, ...],
        *,
        kind: VarKind | str = VarKind.CONTINUOUS,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = math.inf,
        cost: ArrayLike = 0.0,
    ) -> VarBlock:
        """Add a block of variables named ``name[i]`` (1-D) or ``name[i,j,...]``.

        Parameters
        ----------
        name : str
            Block prefix (unique).
        shape : int or tuple of int
            Block shape, e.g. ``(steps, units)``.
        kind : VarKind or str
            Kind of every variable of the block.
        lower, upper, cost : array_like or float
            Bounds and linear objective coefficients, broadcast to ``shape``.

        Returns
        -------
        VarBlock
            The block, to reference in constraints and to read results.
        """
        shp = (shape,) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shp):
            raise ProblemError(f"variables {name!r}: negative shape {shp}")
        if name in self._block_names:
            raise ProblemError(f"variables {name!r}: a block with this name already exists")
        k = VarKind.parse(kind)
        size = math.prod(shp)
        block = VarBlock(name, self._n, shp)

        def bcast(v: ArrayLike, what: str) -> np.ndarray:
            # the common cases (a number, an array of the block's shape) without
            # np.broadcast_to's overhead: the same values
            if isinstance(v, float | int) and not isinstance(v, bool):
                return _constant_values(size, float(v).hex())
            if isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == shp:
                return v.reshape(-1)
            try:
                return np.broadcast_to(np.asarray(v, dtype=np.float64), shp).reshape(-1)
            except ValueError:
                raise ProblemError(
                    f"variables {name!r}: {what} of shape {np.shape(v)} does not fit {shp}"
                ) from None

        lb, ub = bcast(lower, "lower"), bcast(upper, "upper")
        if k is VarKind.BINARY:
            lb = np.maximum(lb, 0.0) if np.ndim(lower) == 0 and lower == 0.0 else lb
            ub = np.minimum(ub, 1.0) if np.ndim(upper) == 0 and np.isinf(upper) else ub
        self._cost.append(bcast(cost, "cost"))
        self._lower.append(lb)
        self._upper.append(ub)
        self._kinds.append(_constant_codes(size, int(k)))
        self._names.extend(_block_names(name, shp))
        self._blocks.append(block)
        self._block_names.add(name)
        self._n += size
        return block

    def add_constraints(
        self,
        terms: Iterable[tuple[VarBlock, Any]] | Mapping[VarBlock, Any],
        *,
        lower: ArrayLike = -math.inf,
        upper: ArrayLike = math.inf,
        name: str = "c",
    ) -> range:
        """Add rows ``lower <= sum_k M_k x_{block_k} <= upper``.

        Parameters
        ----------
        terms : iterable of (VarBlock, matrix) or mapping VarBlock -> matrix
            Each matrix has shape (rows, block.size); dense, scipy sparse or a
            :class:`SparseTerm`.
        lower, upper : array_like or float
            Row bounds, broadcast to (rows,). Equal values give equalities.
        name : str
            Row prefix; rows are named ``name[i]`` (unique per builder).

        Returns
        -------
        range
            Positions of the new rows.
        """
        pairs = list(terms.items()) if isinstance(terms, Mapping) else list(terms)
        if not pairs:
            raise ProblemError(f"constraints {name!r}: no terms given")
        rows = None
        for block, mat in pairs:
            shape = mat.shape if hasattr(mat, "shape") else np.shape(mat)
            if len(shape) != 2 or shape[1] != block.size:
                raise ProblemError(
                    f"constraints {name!r}: matrix for block {block.name!r} must have "
                    f"{block.size} columns, got shape {shape}"
                )
            if rows is None:
                rows = shape[0]
            elif shape[0] != rows:
                raise ProblemError(
                    f"constraints {name!r}: matrices disagree on the number of rows "
                    f"({rows} vs {shape[0]})"
                )
        assert rows is not None
        if name in self._row_names:
            raise ProblemError(f"constraints {name!r}: a row block with this name exists")
        self._row_names.add(name)
        lo = as_float_vector(lower, rows, f"constraints {name!r} lower")
        hi = as_float_vector(upper, rows, f"constraints {name!r} upper")
        self._rows.append((pairs, lo, hi, name, rows))
        start = self._m
        self._m += rows
        return range(start, start + rows)

    def add_quadratic(self, first: VarBlock, second: VarBlock, matrix: Any) -> None:
        """Add objective terms ``x_first^T M x_second`` (M of shape (first.size, second.size))."""
        coo = sp.coo_array(matrix)
        if coo.shape != (first.size, second.size):
            raise ProblemError(
                f"quadratic {first.name!r} x {second.name!r}: expected shape "
                f"({first.size}, {second.size}), got {coo.shape}"
            )
        rr, cc = coo.coords
        self._quad.append((rr + first.start, cc + second.start, np.asarray(coo.data, float)))

    def build(self) -> Problem:
        """Validate and return the :class:`Problem`.

        A linear problem goes through :meth:`Problem.from_trusted` (the builder makes
        fresh arrays and unique ``block[i]`` names by construction; values, bounds and
        sizes are still checked there), a quadratic one through ``Problem(...)``.
        """
        n = self._n
        cat = np.concatenate
        data, ri, ci, lo, hi, rnames = [], [], [], [], [], []
        row_off, col_off, counts = [], [], []
        offset = 0
        for pairs, rl, ru, name, rows in self._rows:
            for block, mat in pairs:
                if isinstance(mat, SparseTerm):
                    r, c, v = mat.row, mat.col, np.asarray(mat.val, dtype=np.float64)
                else:
                    coo = sp.coo_array(mat, dtype=np.float64)
                    (r, c), v = coo.coords, np.asarray(coo.data, dtype=np.float64)
                data.append(v)
                ri.append(r)
                ci.append(c)
                row_off.append(offset)
                col_off.append(block.start)
                counts.append(v.size)
            lo.append(rl)
            hi.append(ru)
            rnames.extend(_block_names(name, (rows,)))
            offset += rows
        a = None
        if offset:
            if data:
                # each term's row and column offsets added once for all terms (the
                # same integers as adding them term by term)
                per_term = np.array(counts)
                rows_all = cat(ri).astype(np.int64, copy=False)
                cols_all = cat(ci).astype(np.int64, copy=False)
                rows_all = rows_all + np.repeat(np.array(row_off, dtype=np.int64), per_term)
                cols_all = cols_all + np.repeat(np.array(col_off, dtype=np.int64), per_term)
                a = sp.csr_array((cat(data), (rows_all, cols_all)), shape=(offset, n))
            else:
                a = sp.csr_array(([], ([], [])), shape=(offset, n))
        quad = None
        if self._quad:
            r = cat([q[0] for q in self._quad])
            c = cat([q[1] for q in self._quad])
            v = cat([q[2] for q in self._quad])
            quad = sp.coo_array((v, (r, c)), shape=(n, n))
        elif a is not None and self._cost:
            return Problem.from_trusted(
                objective=cat(self._cost), lower=cat(self._lower), upper=cat(self._upper),
                kinds=cat(self._kinds), names=tuple(self._names), constraints=a,
                row_lower=cat(lo), row_upper=cat(hi), row_names=tuple(rnames),
                name=self.name, constant=self.constant, sense=self.sense,
            )
        return Problem(
            objective=cat(self._cost) if self._cost else np.zeros(0),
            lower=cat(self._lower) if self._lower else np.zeros(0),
            upper=cat(self._upper) if self._upper else np.zeros(0),
            kinds=cat(self._kinds) if self._kinds else np.zeros(0, dtype=np.int8),
            names=self._names,
            quadratic=quad,
            constant=self.constant,
            sense=self.sense,
            constraints=a,
            row_lower=cat(lo) if lo else np.zeros(0),
            row_upper=cat(hi) if hi else np.zeros(0),
            row_names=rnames,
            name=self.name,
        )


# ----------------------------------------------------------------- result
