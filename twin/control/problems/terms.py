"""Sparse coefficient blocks the dispatch rows are made of, as ``solvers.SparseTerm``
triplets (no scipy object per term). Blocks that depend only on the plan's shape are
cached and read-only, shared between plans.

Public names: :func:`subtract`, :func:`dense`, :func:`index_range`, :func:`diagonal`,
:func:`frozen`, :func:`identity`, :func:`step_back`, :func:`slot_sum`,
:func:`storage_shift`, :func:`zone_model_terms`.
"""

from __future__ import annotations

import functools

import numpy as np

from solvers.builder import SparseTerm


def subtract(a: SparseTerm, b: SparseTerm) -> SparseTerm:
    """``a - b`` for terms with disjoint entries, zeros dropped (as CSR subtraction)."""
    val = np.concatenate([a.val, -b.val])
    keep = val != 0.0
    return SparseTerm(np.concatenate([a.row, b.row])[keep], np.concatenate([a.col, b.col])[keep],
                val[keep], a.shape)


def dense(mat: np.ndarray) -> SparseTerm:
    """Non-zero entries of a dense matrix (as ``scipy.sparse.csr_array(mat)``)."""
    mat = np.asarray(mat, dtype=float)
    row, col = np.nonzero(mat)
    return SparseTerm(row, col, mat[row, col], (int(mat.shape[0]), int(mat.shape[1])))


@functools.lru_cache(maxsize=256)
def index_range(size: int) -> np.ndarray:
    out = np.arange(size)
    out.flags.writeable = False
    return out


def diagonal(values: np.ndarray) -> SparseTerm:
    """Square diagonal matrix."""
    values = np.asarray(values, dtype=float)
    idx = index_range(values.size)
    return SparseTerm(idx, idx, values, (values.size, values.size))


def frozen(term: SparseTerm) -> SparseTerm:
    """``term`` with read-only arrays (for terms cached and shared between plans)."""
    for arr in (term.row, term.col, term.val):
        arr.flags.writeable = False
    return term


@functools.lru_cache(maxsize=256)
def identity(size: int) -> SparseTerm:
    """Identity (cached: the same for every plan of a size)."""
    return frozen(diagonal(np.ones(size)))


def step_back(t_len: int, n: int, values: np.ndarray | float = 1.0) -> SparseTerm:
    """Matrix picking unit ``j`` of slot ``t-1`` into row ``(t, j)``, scaled per column
    by ``values`` (order (t, unit), shape (t_len * n, t_len * n))."""
    size = t_len * n
    rows = index_range(size)[n:]
    cols = index_range(size)[: size - n]
    data = np.broadcast_to(np.asarray(values, dtype=float), (size,))[cols]
    return SparseTerm(rows, cols, data, (size, size))


@functools.lru_cache(maxsize=256)
def slot_sum(t_len: int, n: int, sign: float) -> SparseTerm:
    """Row ``t`` sums the ``n`` units of slot ``t`` (times ``sign``; cached)."""
    cols = index_range(t_len * n)
    return frozen(SparseTerm(cols // n, cols, np.full(cols.size, sign), (t_len, t_len * n)))


@functools.lru_cache(maxsize=64)
def storage_shift(t_len: int, n: int) -> SparseTerm:
    """``e_t - e_{t-1}`` rows of a storage balance (cached)."""
    return frozen(subtract(identity(t_len * n), step_back(t_len, n)))


@functools.lru_cache(maxsize=16)
def zone_model_terms(t_len: int, a_bytes: bytes, nz: int) -> tuple[tuple[SparseTerm, SparseTerm], ...]:
    """Per state row (air, mass) of the zone model: the ``x_t - a_self x_{t-1}`` term of
    its own state and the ``-a_other x_{t-1}`` term of the other (cached per model)."""
    a = np.frombuffer(a_bytes, dtype=np.float64).reshape(nz, 2, 2)
    big = identity(t_len * nz)
    out = []
    for row in (0, 1):
        a_self = np.tile(a[:, row, row], t_len)
        a_other = np.tile(a[:, row, 1 - row], t_len)
        out.append((frozen(subtract(big, step_back(t_len, nz, a_self))),
                    frozen(step_back(t_len, nz, -a_other))))
    return tuple(out)
