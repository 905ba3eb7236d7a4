r"""Compiled QAOA statevector kernel (numba): phase lookups and cache-blocked RX butterflies.

The QAOA layer of :mod:`solvers.statevector` (a diagonal phase
:math:`e^{-i\gamma C}`, then :math:`RX(2\beta)` on every qubit) as compiled loops
over a state held as two real arrays (real and imaginary parts, so that every loop
vectorises without complex shuffles):

- **phase**: when the cost takes integer values over a range of at most 65,536
  (MaxCut, integer-weighted QUBOs), a lookup: the state stores the cost as a
  ``uint8``/``uint16`` index and each layer computes the :math:`e^{-i\gamma v}` of
  every distinct value once; otherwise a fused ``cos``/``sin`` per amplitude;
- **mixer**: in-place butterflies :math:`(a, b) \mapsto (c a - i s b, c b - i s a)`,
  :math:`c = \cos\beta`, :math:`s = \sin\beta`, two qubits per sweep (radix 4).
  One *low pass* per layer applies the phase and the butterflies of the lowest
  :data:`BLOCK_QUBITS` qubits block by block (a block of :math:`2^{16}` amplitudes,
  1 MiB in float64, stays in the 2 MiB L2 cache); one *high pass* per group of up to
  :data:`HIGH_GROUP` higher qubits gathers, for a run of consecutive low indices,
  the :math:`2^k` amplitudes the group mixes into a per-thread buffer, applies the
  group's butterflies there and writes them back. Up to 24 qubits a layer is
  therefore two passes over the state;
- **threads**: from 18 qubits, ``numba.prange`` over a fixed split of the blocks
  (or buffer chunks) between ``numba.get_num_threads()`` threads; below, serial
  drivers of the same block functions (a parallel region's start-up cost a
  small state more than its work: on the loaded machine an 8-qubit solve at
  reps 2 took 1.5 s with parallel regions, 0.2 s without). No floating-point reduction
  crosses a block: the expectation sums each block, then adds the block sums in
  order, so results are bit-identical for any thread count.

Everything is compiled with ``cache=True`` (numba's on-disk cache, next to this
file): the first use in a fresh checkout compiles each function once for each
precision (a few seconds); later processes load the cached machine code.

Public names: :data:`AVAILABLE` (numba importable), :class:`CompiledEvolver`,
:data:`BLOCK_QUBITS`, :data:`HIGH_GROUP`, :func:`integer_levels`, :func:`plan`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["AVAILABLE", "BLOCK_QUBITS", "HIGH_GROUP", "CompiledEvolver", "integer_levels", "plan",
           "warm_up"]

try:
    import numba
    from numba import njit, prange
except ImportError:  # the numpy kernel of solvers.statevector is the fallback
    AVAILABLE = False
else:
    AVAILABLE = True

#: Qubits of a low-pass block (2^16 amplitudes: 1 MiB in float64, in the 2 MiB L2).
BLOCK_QUBITS = 16

#: Most qubits one high pass applies (2^8 rows of a per-thread buffer).
HIGH_GROUP = 8

#: Amplitudes in one thread's high-pass buffer (rows x run length).
_BUFFER_AMPLITUDES = 1 << 15

#: Widest integer range of cost values stored as a lookup index.
_MAX_LEVELS = 1 << 16


def integer_levels(cost: NDArray[np.float64]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(index, values)`` with ``cost == values[index]`` when the cost is integer-valued.

    Only when every value is an integer and the range spans at most 65,536 values
    (``index`` is then ``uint8`` or ``uint16``); else None (the kernel then takes a
    ``cos``/``sin`` per amplitude).
    """
    if cost.size == 0 or not np.isfinite(cost).all():
        return None
    lo, hi = float(cost.min()), float(cost.max())
    if hi - lo >= _MAX_LEVELS or not np.array_equal(cost, np.rint(cost)):
        return None
    levels = int(hi - lo) + 1
    dtype = np.uint8 if levels <= 256 else np.uint16
    index = (cost - lo).astype(dtype)
    return index, lo + np.arange(levels, dtype=np.float64)


if AVAILABLE:

    @njit(cache=True, nogil=True, inline="always")
    def _bf(ar: Any, ai: Any, br: Any, bi: Any, c: Any, s: Any) -> Any:
        """One butterfly: (a, b) -> (c a - i s b, c b - i s a), as real parts."""
        return c * ar + s * bi, c * ai - s * br, c * br + s * ai, c * bi - s * ar

    @njit(cache=True, nogil=True)
    def _mix_rows(re: Any, im: Any, off: int, rows: int, width: int, k: int,
                  c: Any, s: Any) -> None:
        """RX on k qubits of ``rows`` = 2^k rows of ``width`` contiguous amplitudes.

        Row r starts at ``off + r * width``; qubit j of the group has row stride
        2^j. Two qubits per sweep (radix 4); the inner loops run over slices
        (views), which lets LLVM vectorise them.
        """
        j = 0
        end = off + rows * width
        while j + 1 < k:
            h = (1 << j) * width
            for g in range(off, end, 4 * h):
                r0, i0 = re[g:g + h], im[g:g + h]
                r1, i1 = re[g + h:g + 2 * h], im[g + h:g + 2 * h]
                r2, i2 = re[g + 2 * h:g + 3 * h], im[g + 2 * h:g + 3 * h]
                r3, i3 = re[g + 3 * h:g + 4 * h], im[g + 3 * h:g + 4 * h]
                for t in range(h):
                    a0r, a0i, a1r, a1i = _bf(r0[t], i0[t], r1[t], i1[t], c, s)
                    a2r, a2i, a3r, a3i = _bf(r2[t], i2[t], r3[t], i3[t], c, s)
                    r0[t], i0[t], r2[t], i2[t] = _bf(a0r, a0i, a2r, a2i, c, s)
                    r1[t], i1[t], r3[t], i3[t] = _bf(a1r, a1i, a3r, a3i, c, s)
            j += 2
        if j < k:
            h = (1 << j) * width
            for g in range(off, end, 2 * h):
                r0, i0 = re[g:g + h], im[g:g + h]
                r1, i1 = re[g + h:g + 2 * h], im[g + h:g + 2 * h]
                for t in range(h):
                    r0[t], i0[t], r1[t], i1[t] = _bf(r0[t], i0[t], r1[t], i1[t], c, s)

    @njit(cache=True, nogil=True)
    def _mix_low3(re: Any, im: Any, off: int, size: int, c: Any, s: Any) -> None:
        """RX on qubits 0, 1, 2 of ``size`` amplitudes at ``off``: 8 at a time, unrolled."""
        for g in range(off, off + size, 8):
            r, i = re[g:g + 8], im[g:g + 8]
            x0r, x0i, x1r, x1i = _bf(r[0], i[0], r[1], i[1], c, s)
            x2r, x2i, x3r, x3i = _bf(r[2], i[2], r[3], i[3], c, s)
            x4r, x4i, x5r, x5i = _bf(r[4], i[4], r[5], i[5], c, s)
            x6r, x6i, x7r, x7i = _bf(r[6], i[6], r[7], i[7], c, s)
            x0r, x0i, x2r, x2i = _bf(x0r, x0i, x2r, x2i, c, s)
            x1r, x1i, x3r, x3i = _bf(x1r, x1i, x3r, x3i, c, s)
            x4r, x4i, x6r, x6i = _bf(x4r, x4i, x6r, x6i, c, s)
            x5r, x5i, x7r, x7i = _bf(x5r, x5i, x7r, x7i, c, s)
            r[0], i[0], r[4], i[4] = _bf(x0r, x0i, x4r, x4i, c, s)
            r[1], i[1], r[5], i[5] = _bf(x1r, x1i, x5r, x5i, c, s)
            r[2], i[2], r[6], i[6] = _bf(x2r, x2i, x6r, x6i, c, s)
            r[3], i[3], r[7], i[7] = _bf(x3r, x3i, x7r, x7i, c, s)

    @njit(cache=True, nogil=True)
    def _mix_block(re: Any, im: Any, off: int, bq: int, c: Any, s: Any) -> None:
        """RX on qubits 0 .. bq-1 of the 2^bq amplitudes at ``off``."""
        if bq >= 3:
            _mix_low3(re, im, off, 1 << bq, c, s)
            if bq > 3:  # qubits 3 .. bq-1: 2^(bq-3) rows of 8 amplitudes
                _mix_rows(re, im, off, 1 << (bq - 3), 8, bq - 3, c, s)
        else:
            _mix_rows(re, im, off, 1 << bq, 1, bq, c, s)

    @njit(cache=True, nogil=True)
    def _low_lookup_block(re: Any, im: Any, index: Any, tre: Any, tim: Any, c: Any, s: Any,
                          bq: int, init: Any, blk: int) -> None:
        """Block ``blk`` of the low pass: phase by lookup, then RX on qubits 0..bq-1.

        With ``init`` nonzero the state is not read: every amplitude starts as
        ``init`` (the uniform superposition).
        """
        size = 1 << bq
        off = blk * size
        r, i, ix = re[off:off + size], im[off:off + size], index[off:off + size]
        if init != 0:
            for x in range(size):
                r[x] = init * tre[ix[x]]
                i[x] = init * tim[ix[x]]
        else:
            for x in range(size):
                pr, pi = tre[ix[x]], tim[ix[x]]
                ar, ai = r[x], i[x]
                r[x] = ar * pr - ai * pi
                i[x] = ar * pi + ai * pr
        _mix_block(re, im, off, bq, c, s)

    @njit(cache=True, nogil=True)
    def _low_cost_block(re: Any, im: Any, cost: Any, neg_gamma: Any, c: Any, s: Any,
                        bq: int, init: Any, blk: int) -> None:
        """Block ``blk`` of the low pass: phase ``exp(i neg_gamma cost)``, then RX."""
        size = 1 << bq
        off = blk * size
        r, i, cs = re[off:off + size], im[off:off + size], cost[off:off + size]
        if init != 0:
            for x in range(size):
                a = neg_gamma * cs[x]
                r[x] = init * np.cos(a)
                i[x] = init * np.sin(a)
        else:
            for x in range(size):
                a = neg_gamma * cs[x]
                pr, pi = np.cos(a), np.sin(a)
                ar, ai = r[x], i[x]
                r[x] = ar * pr - ai * pi
                i[x] = ar * pi + ai * pr
        _mix_block(re, im, off, bq, c, s)

    @njit(cache=True, nogil=True)
    def _high_item(re: Any, im: Any, q0: int, k: int, width: int, c: Any, s: Any,
                   br: Any, bi: Any, item: int) -> None:
        """Work item of a high pass: (bits above the group, a run of ``width`` low indices).

        Its 2^k rows (stride 2^q0) are copied into the buffer, mixed, copied back.
        """
        rows = 1 << k
        stride = 1 << q0
        runs = stride // width
        base = (item // runs) << (q0 + k) | (item % runs) * width
        for r in range(rows):
            src = base + r * stride
            br[r * width:(r + 1) * width] = re[src:src + width]
            bi[r * width:(r + 1) * width] = im[src:src + width]
        _mix_rows(br, bi, 0, rows, width, k, c, s)
        for r in range(rows):
            src = base + r * stride
            re[src:src + width] = br[r * width:(r + 1) * width]
            im[src:src + width] = bi[r * width:(r + 1) * width]

    @njit(cache=True, nogil=True)
    def _sums_lookup_block(re: Any, im: Any, index: Any, values: Any, bq: int,
                           blk: int, out: Any) -> None:
        """out[blk] = (sum of values[index] |psi|^2, sum of |psi|^2) over block blk."""
        size = 1 << bq
        off = blk * size
        r, i, ix = re[off:off + size], im[off:off + size], index[off:off + size]
        num = 0.0
        den = 0.0
        for x in range(size):
            p = np.float64(r[x]) * r[x] + np.float64(i[x]) * i[x]
            num += values[ix[x]] * p
            den += p
        out[blk, 0] = num
        out[blk, 1] = den

    @njit(cache=True, nogil=True)
    def _sums_cost_block(re: Any, im: Any, cost: Any, bq: int, blk: int, out: Any) -> None:
        """out[blk] = (sum of cost |psi|^2, sum of |psi|^2) over block blk."""
        size = 1 << bq
        off = blk * size
        r, i, cs = re[off:off + size], im[off:off + size], cost[off:off + size]
        num = 0.0
        den = 0.0
        for x in range(size):
            p = np.float64(r[x]) * r[x] + np.float64(i[x]) * i[x]
            num += np.float64(cs[x]) * p
            den += p
        out[blk, 0] = num
        out[blk, 1] = den

    # Drivers: ``*_threads`` split the blocks (items) in ``threads`` fixed contiguous
    # ranges over numba.prange; the serial ones loop in the calling thread (a small
    # state, or one thread: no parallel region, no worker wake-ups).

    @njit(cache=True, nogil=True, parallel=True)
    def low_pass_lookup_threads(re: Any, im: Any, index: Any, tre: Any, tim: Any, c: Any,
                                s: Any, bq: int, init: Any, threads: int) -> None:
        """Low pass (lookup phase) over every block, on ``threads`` threads."""
        blocks = re.size >> bq
        for t in prange(threads):
            for blk in range(blocks * t // threads, blocks * (t + 1) // threads):
                _low_lookup_block(re, im, index, tre, tim, c, s, bq, init, blk)

    @njit(cache=True, nogil=True)
    def low_pass_lookup(re: Any, im: Any, index: Any, tre: Any, tim: Any, c: Any, s: Any,
                        bq: int, init: Any) -> None:
        """Low pass (lookup phase) over every block, in this thread."""
        for blk in range(re.size >> bq):
            _low_lookup_block(re, im, index, tre, tim, c, s, bq, init, blk)

    @njit(cache=True, nogil=True, parallel=True)
    def low_pass_cost_threads(re: Any, im: Any, cost: Any, neg_gamma: Any, c: Any, s: Any,
                              bq: int, init: Any, threads: int) -> None:
        """Low pass (cos/sin phase) over every block, on ``threads`` threads."""
        blocks = re.size >> bq
        for t in prange(threads):
            for blk in range(blocks * t // threads, blocks * (t + 1) // threads):
                _low_cost_block(re, im, cost, neg_gamma, c, s, bq, init, blk)

    @njit(cache=True, nogil=True)
    def low_pass_cost(re: Any, im: Any, cost: Any, neg_gamma: Any, c: Any, s: Any,
                      bq: int, init: Any) -> None:
        """Low pass (cos/sin phase) over every block, in this thread."""
        for blk in range(re.size >> bq):
            _low_cost_block(re, im, cost, neg_gamma, c, s, bq, init, blk)

    @njit(cache=True, nogil=True, parallel=True)
    def high_pass_threads(re: Any, im: Any, q0: int, k: int, width: int, c: Any, s: Any,
                          bre: Any, bim: Any, threads: int) -> None:
        """High pass on qubits q0 .. q0+k-1, thread t using buffers ``bre[t]``, ``bim[t]``."""
        items = (re.size >> (q0 + k)) * ((1 << q0) // width)
        for t in prange(threads):
            for item in range(items * t // threads, items * (t + 1) // threads):
                _high_item(re, im, q0, k, width, c, s, bre[t], bim[t], item)

    @njit(cache=True, nogil=True)
    def high_pass(re: Any, im: Any, q0: int, k: int, width: int, c: Any, s: Any,
                  br: Any, bi: Any) -> None:
        """High pass on qubits q0 .. q0+k-1 in this thread, through buffers ``br``, ``bi``."""
        for item in range((re.size >> (q0 + k)) * ((1 << q0) // width)):
            _high_item(re, im, q0, k, width, c, s, br, bi, item)

    @njit(cache=True, nogil=True, parallel=True)
    def block_sums_lookup_threads(re: Any, im: Any, index: Any, values: Any, bq: int,
                                  threads: int) -> Any:
        """Per block: (sum of values[index] |psi|^2, sum of |psi|^2), in float64."""
        blocks = re.size >> bq
        out = np.zeros((blocks, 2))
        for t in prange(threads):
            for blk in range(blocks * t // threads, blocks * (t + 1) // threads):
                _sums_lookup_block(re, im, index, values, bq, blk, out)
        return out

    @njit(cache=True, nogil=True)
    def block_sums_lookup(re: Any, im: Any, index: Any, values: Any, bq: int) -> Any:
        """Per block: (sum of values[index] |psi|^2, sum of |psi|^2), this thread."""
        out = np.zeros((re.size >> bq, 2))
        for blk in range(re.size >> bq):
            _sums_lookup_block(re, im, index, values, bq, blk, out)
        return out

    @njit(cache=True, nogil=True, parallel=True)
    def block_sums_cost_threads(re: Any, im: Any, cost: Any, bq: int, threads: int) -> Any:
        """Per block: (sum of cost |psi|^2, sum of |psi|^2), in float64."""
        blocks = re.size >> bq
        out = np.zeros((blocks, 2))
        for t in prange(threads):
            for blk in range(blocks * t // threads, blocks * (t + 1) // threads):
                _sums_cost_block(re, im, cost, bq, blk, out)
        return out

    @njit(cache=True, nogil=True)
    def block_sums_cost(re: Any, im: Any, cost: Any, bq: int) -> Any:
        """Per block: (sum of cost |psi|^2, sum of |psi|^2), this thread."""
        out = np.zeros((re.size >> bq, 2))
        for blk in range(re.size >> bq):
            _sums_cost_block(re, im, cost, bq, blk, out)
        return out


def _ordered_sum(parts: np.ndarray) -> tuple[float, float]:
    """The block sums added in block order (a fixed order, whatever the thread count)."""
    num = den = 0.0
    for a, b in parts.tolist():
        num += a
        den += b
    return num, den


def plan(num_qubits: int, threads: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Passes of one layer: low-pass block qubits and the high passes.

    Returns ``(bq, [(first qubit, qubits, run width), ...])``: the low pass applies
    the phase and qubits ``0 .. bq-1`` block by block, each high pass up to
    :data:`HIGH_GROUP` higher qubits. With more than one thread the block shrinks
    (not below 10 qubits) until every thread has a block.
    """
    n = num_qubits
    bq = min(n, BLOCK_QUBITS)
    while bq > 10 and (1 << (n - bq)) < threads:
        bq -= 1
    highs = []
    q0 = bq
    while q0 < n:
        k = min(HIGH_GROUP, n - q0)
        width = min(1 << q0, max(1, _BUFFER_AMPLITUDES >> k))
        highs.append((q0, k, width))
        q0 += k
    return bq, highs


class CompiledEvolver:
    """QAOA evolution of one cost vector in one precision (``float64`` or ``float32``).

    Parameters
    ----------
    cost : numpy.ndarray, shape (2**n,)
        The diagonal cost (float64).
    ftype : numpy dtype
        ``np.float64`` (complex128-equivalent) or ``np.float32`` (complex64).
    centre : float
        Subtracted from the cost in the phase and the expectation (a global phase;
        keeps float32 phase angles small); added back to the expectation.
    levels : tuple or None, optional
        :func:`integer_levels` of ``cost`` when already computed (None: none, use
        cos/sin); by default computed here.
    """

    #: Smallest state (qubits) whose passes run on more than one thread.
    THREAD_MIN_QUBITS = 18

    def __init__(self, cost: NDArray[np.float64], ftype: Any, centre: float = 0.0,
                 levels: tuple[np.ndarray, np.ndarray] | bool | None = True) -> None:
        if not AVAILABLE:
            raise RuntimeError("numba is not installed")
        self.ftype = np.dtype(ftype)
        self.size = cost.size
        self.num_qubits = cost.size.bit_length() - 1
        self.centre = float(centre)
        if levels is True:  # not given: look for integer levels here
            levels = integer_levels(cost)
        if levels:
            self.index, vals = levels
            self.values = vals - self.centre  # float64 table (phase and expectation)
            self.cost = None
        else:
            self.index = self.values = None
            self.cost = (cost - self.centre).astype(self.ftype)
        self.re: np.ndarray | None = None
        self.im: np.ndarray | None = None
        self._buffers: tuple[np.ndarray, np.ndarray] | None = None

    def release(self) -> None:
        """Free the state and the per-thread buffers."""
        self.re = self.im = None
        self._buffers = None

    def threads(self) -> int:
        """Threads of the passes: numba's thread count from 18 qubits on, else 1."""
        if self.num_qubits < self.THREAD_MIN_QUBITS:
            return 1
        return int(numba.get_num_threads())

    def plan(self, threads: int) -> tuple[int, list[tuple[int, int, int]]]:
        """This state's :func:`plan`."""
        return plan(self.num_qubits, threads)

    def evolve(self, gammas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The QAOA state's real and imaginary parts (work arrays, overwritten next call)."""
        ft = self.ftype.type
        threads = self.threads()
        if self.re is None:
            self.re = np.empty(self.size, dtype=self.ftype)
            self.im = np.empty(self.size, dtype=self.ftype)
        re, im = self.re, self.im
        if len(gammas) == 0:
            re.fill(ft(1.0 / np.sqrt(self.size)))
            im.fill(ft(0.0))
            return re, im
        bq, highs = self.plan(threads)
        if highs and (self._buffers is None or self._buffers[0].shape[0] != threads):
            self._buffers = (np.empty((threads, _BUFFER_AMPLITUDES), dtype=self.ftype),
                             np.empty((threads, _BUFFER_AMPLITUDES), dtype=self.ftype))
        init = ft(1.0 / np.sqrt(self.size))
        for layer, (gamma, beta) in enumerate(zip(gammas, betas, strict=True)):
            c, s = ft(np.cos(beta)), ft(np.sin(beta))
            start = init if layer == 0 else ft(0.0)
            if self.index is not None:
                angle = -float(gamma) * self.values
                tre = np.cos(angle).astype(self.ftype)
                tim = np.sin(angle).astype(self.ftype)
                if threads > 1:
                    low_pass_lookup_threads(re, im, self.index, tre, tim, c, s, bq, start,
                                            threads)
                else:
                    low_pass_lookup(re, im, self.index, tre, tim, c, s, bq, start)
            elif threads > 1:
                low_pass_cost_threads(re, im, self.cost, ft(-gamma), c, s, bq, start, threads)
            else:
                low_pass_cost(re, im, self.cost, ft(-gamma), c, s, bq, start)
            for q0, k, width in highs:
                bre, bim = self._buffers  # type: ignore[misc]
                if threads > 1:
                    high_pass_threads(re, im, q0, k, width, c, s, bre, bim, threads)
                else:
                    high_pass(re, im, q0, k, width, c, s, bre[0], bim[0])
        return re, im

    def expectation(self, gammas: np.ndarray, betas: np.ndarray) -> float:
        """Expected cost :math:`\\langle C\\rangle` (normalised by the state's norm)."""
        re, im = self.evolve(gammas, betas)
        threads = self.threads()
        bq = min(self.num_qubits, BLOCK_QUBITS)
        if self.index is not None:
            parts = (block_sums_lookup_threads(re, im, self.index, self.values, bq, threads)
                     if threads > 1 else block_sums_lookup(re, im, self.index, self.values, bq))
        elif threads > 1:
            parts = block_sums_cost_threads(re, im, self.cost, bq, threads)
        else:
            parts = block_sums_cost(re, im, self.cost, bq)
        num, den = _ordered_sum(parts)
        return self.centre + num / den


class _Threaded(CompiledEvolver):
    """An evolver that takes the multi-thread passes at any size (for :func:`warm_up`)."""

    THREAD_MIN_QUBITS = 0

    def threads(self) -> int:
        return 2


_WARM = False


def warm_up() -> None:
    """Compile (or load from numba's cache) every specialisation the kernel uses.

    numba compiles a function on its first call with new argument types; with
    ``cache=True`` later processes load the machine code from disk. Without this, the
    first solve on a fresh checkout (empty cache) compiles inside its time limit: the
    first 18-qubit call compiled the multi-thread passes there and a 1 s limit took
    15 s. Runs once per process, on a 17-qubit state (one low pass and one high pass),
    in both precisions, with the lookup phase (``uint8`` and ``uint16`` indices) and
    the cos/sin phase, serial and multi-thread: a few milliseconds from the cache,
    tens of seconds once per machine when the cache is empty.
    """
    global _WARM
    if _WARM or not AVAILABLE:
        return
    n = BLOCK_QUBITS + 1
    ramp = np.arange(1 << n, dtype=np.float64)
    costs = (ramp % 5, ramp % 300, np.sin(ramp))  # uint8 levels, uint16 levels, real
    g, b = np.array([0.3]), np.array([0.2])
    for cls in (CompiledEvolver, _Threaded):
        for ftype in (np.float32, np.float64):
            for cost in costs:
                cls(cost, ftype, float(cost.mean())).expectation(g, b)
    _WARM = True
