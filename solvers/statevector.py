r"""Exact QAOA states for diagonal costs: the statevector kernel (compiled or numpy) and the p=1 closed form.

The QAOA state with angles :math:`(\gamma_k, \beta_k)_{k=1..p}` is

.. math::

    |\gamma, \beta\rangle = \prod_{k=1}^{p} e^{-i\beta_k \sum_j X_j}
                            e^{-i\gamma_k C} \; |+\rangle^{\otimes n},

the circuit that qiskit's ``qaoa_ansatz`` builds (cost layer
``PauliEvolutionGate(H_C, gamma)`` = :math:`e^{-i\gamma H_C}`, mixer ``RX(2 beta)``
on every qubit); :math:`H_C` and the diagonal cost :math:`C(z)` differ by a
constant, i.e. a global phase. Because :math:`C` is diagonal, its layer is an
element-wise phase over the precomputed :math:`2^n` cost vector.

Two implementations of the same evolution, chosen per :class:`QaoaKernel`:

- **compiled** (default when numba is installed, the quantum extra):
  :mod:`solvers.statevector_jit`: the phase by a lookup over the distinct cost
  values when the cost is integer-valued (else a fused cos/sin), the mixer as
  in-place RX butterflies, cache-blocked (the lowest 16 qubits block by block in
  L2, higher qubits in strided passes of up to 8 qubits), on numba's threads;
  bit-identical for any thread count;
- **numpy** (fallback without numba, or ``GRIDTWIN_QAOA_KERNEL=numpy``): the
  mixer applied four qubits at a time as one small dense matrix (a Kronecker power
  of RX) by batched matrix products; from 18 qubits every layer is split in two
  halves run on two threads (numpy releases the GIL; BLAS stays single-threaded
  in each) when two CPUs are usable.

The optimisation loop runs in single precision (``complex64``; phases from
``float32`` in the numpy kernel, from a float64 table or float32 cos/sin in the
compiled one) in work buffers kept between evaluations; :meth:`QaoaKernel.expectation`
with ``precise=True`` uses double precision (``complex128``).

For p = 1 the expectation of an Ising cost has a closed form (Ozaeta, van Dam
and McMahon 2022), evaluated here in :math:`O(n^3)` without any statevector:
:func:`p1_expectation`.

Public names: :class:`QaoaKernel`, :func:`p1_expectation` (and :class:`P1Expectation`,
the same with the cost's parts precomputed), :func:`kron_rx`.

References
----------
.. [1] A. Ozaeta, W. van Dam, P. L. McMahon, "Expectation values from the
   single-layer quantum approximate optimization algorithm on Ising problems",
   Quantum Sci. Technol. 7, 045036 (2022).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["P1Expectation", "QaoaKernel", "kron_rx", "p1_expectation"]

#: Qubits applied together in one mixer matrix product (measured best at n=16 and 20:
#: 4 is 15-25 % faster than 5 with the two-thread split).
_MIXER_GROUP = 4

#: Largest (angle points x pairs x qubits) temporary of :func:`p1_expectation`.
_P1_CHUNK_ELEMENTS = 1 << 14


def _single_thread_blas() -> Any:
    """Context limiting BLAS to one thread (threadpoolctl), else a no-op.

    The mixer's matrix products are small (32 x 32 against 2^n / 32 columns);
    multithreaded OpenBLAS gains nothing on them and, on a loaded machine,
    made one 18-qubit evaluation 15x slower (0.69 s against 0.044 s measured).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional: without it BLAS keeps its own thread count
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: Any = None

#: Smallest state (qubits) whose layers are split across two threads.
_THREAD_MIN_QUBITS = 18

_POOL: Any = None


def _workers() -> int:
    """Threads the kernel splits its layers across: 2 when two CPUs are usable, else 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


_WORKERS = _workers()


def _split(length: int, qubits: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of ``length`` items, one per worker (one below the threshold)."""
    if _WORKERS < 2 or qubits < _THREAD_MIN_QUBITS or length < 2:
        return [(0, length)]
    half = length // 2
    return [(0, half), (half, length)]


def _parallel(fn: Any, calls: list[tuple[Any, ...]]) -> None:
    """Run ``fn(*args)`` for every ``args``: the first in this thread, the rest in the pool.

    numpy releases the GIL in its ufunc loops and matrix products, so two halves
    of an array run on two cores; BLAS stays single-threaded in each (no
    OpenBLAS worker threads spinning on a loaded machine).
    """
    global _POOL
    if len(calls) == 1:
        fn(*calls[0])
        return
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_WORKERS - 1, thread_name_prefix="qaoa-kernel")
    futures = [_POOL.submit(fn, *args) for args in calls[1:]]
    fn(*calls[0])
    for fut in futures:
        fut.result()


def kron_rx(beta: float, k: int, dtype: type = np.complex128) -> NDArray[np.complex128]:
    r"""The :math:`2^k \times 2^k` matrix :math:`RX(2\beta)^{\otimes k}`.

    Entry :math:`(a, b)` is :math:`\cos^{k-d}\beta\,(-i\sin\beta)^d` with
    :math:`d` the Hamming distance of :math:`a` and :math:`b` (a lookup, no Kronecker
    products).
    """
    c, s = np.cos(beta), np.sin(beta)
    d = _hamming(k)
    powers = c ** (k - np.arange(k + 1)) * (-1j * s) ** np.arange(k + 1)
    return powers.astype(dtype)[d]


_HAMMING: dict[int, np.ndarray] = {}


def _hamming(k: int) -> np.ndarray:
    """Hamming distances between all pairs of k-bit integers, shape (2^k, 2^k)."""
    if k not in _HAMMING:
        x = np.arange(1 << k)
        xor = x[:, None] ^ x[None, :]
        _HAMMING[k] = ((xor[..., None] >> np.arange(max(k, 1))) & 1).sum(axis=-1)
    return _HAMMING[k]


#: Lowest qubits whose mixer groups (and the phase layer) run block by block, in cache.
_BLOCK_QUBITS = 16


class _MixerMatrices:
    """:func:`kron_rx` matrices of one mixer angle, by group size (built on first use)."""

    def __init__(self, beta: float, ctype: type) -> None:
        self.beta, self.ctype = beta, ctype
        self.by_k: dict[int, np.ndarray] = {}

    def __call__(self, k: int) -> np.ndarray:
        m = self.by_k.get(k)
        if m is None:
            m = self.by_k[k] = kron_rx(self.beta, k, self.ctype)
        return m


def _group_count(first: int, last: int) -> int:
    """Mixer groups covering qubits ``first .. last-1``."""
    return -(-(last - first) // _MIXER_GROUP)


def _apply_groups(src: np.ndarray, dst: np.ndarray, first: int, last: int,
                  mats: _MixerMatrices, threaded_qubits: int = 0) -> np.ndarray:
    """RX on qubits ``first .. last-1`` of ``src`` (a state or a block of one), in groups.

    Ping-pongs between ``src`` and ``dst``; returns the one holding the result.
    With ``threaded_qubits`` at or above the threshold each product is split
    over the threads.
    """
    done = first
    while done < last:
        k = min(_MIXER_GROUP, last - done)
        m = mats(k)
        if done == 0:
            # lowest qubits: one GEMM over rows of 2^k amplitudes (m is symmetric)
            s2, d2 = src.reshape(-1, 1 << k), dst.reshape(-1, 1 << k)
            _parallel(lambda lo, hi, s2=s2, d2=d2, m=m: np.matmul(
                s2[lo:hi], m, out=d2[lo:hi]), _split(s2.shape[0], threaded_qubits))
        else:
            s3 = src.reshape(-1, 1 << k, 1 << done)
            d3 = dst.reshape(s3.shape)
            if s3.shape[0] > 1:  # split the batch
                _parallel(lambda lo, hi, s3=s3, d3=d3, m=m: np.matmul(
                    m, s3[lo:hi], out=d3[lo:hi]), _split(s3.shape[0], threaded_qubits))
            else:  # one product: split its columns
                _parallel(lambda lo, hi, s3=s3, d3=d3, m=m: np.matmul(
                    m, s3[0, :, lo:hi], out=d3[0, :, lo:hi]),
                    _split(s3.shape[2], threaded_qubits))
        src, dst = dst, src
        done += k
    return src


class QaoaKernel:
    """QAOA statevector simulator for one diagonal cost vector.

    Parameters
    ----------
    cost : array_like, shape (2**n,)
        Cost of every basis state, qiskit bit order (bit ``i`` = qubit ``i``).

    Examples
    --------
    >>> import numpy as np
    >>> kernel = QaoaKernel(np.array([0.0, 1.0, 1.0, 0.0]))   # MaxCut on one edge, negated
    >>> round(kernel.expectation([0.0], [0.0]), 6)              # uniform superposition
    0.5
    """

    def __init__(self, cost: ArrayLike, *, compiled: bool | None = None) -> None:
        c = np.asarray(cost, dtype=np.float64)
        size = c.size
        n = size.bit_length() - 1
        if size < 2 or (1 << n) != size:
            raise ValueError(f"cost vector length must be a power of two >= 2, got {size}")
        self.num_qubits = n
        self.cost = c
        self._mean = float(c.mean())
        self.evaluations = 0
        # imports numba: only when a kernel is built
        from solvers import statevector_jit

        if compiled is None:
            compiled = statevector_jit.AVAILABLE and os.environ.get(
                "GRIDTWIN_QAOA_KERNEL", "compiled") != "numpy"
        elif compiled and not statevector_jit.AVAILABLE:
            raise RuntimeError("compiled=True needs numba (the quantum extra)")
        #: True when the compiled (numba) kernel runs, False for the numpy fallback.
        self.compiled = bool(compiled)
        if self.compiled:
            statevector_jit.warm_up()  # compile outside any solve's time limit (once)
            levels = statevector_jit.integer_levels(c)
            self._fast = statevector_jit.CompiledEvolver(c, np.float32, self._mean, levels)
            self._precise = statevector_jit.CompiledEvolver(c, np.float64, 0.0, levels)
        else:
            # float32 copy centred on the mean (a global phase), for the fast phase layer
            self._cost32 = (c - self._mean).astype(np.float32)
        # complex64 state and mixer target, kept between evaluations (release() frees them)
        self._work: tuple[np.ndarray, ...] | None = None

    def state(
        self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = False
    ) -> NDArray[np.complex128]:
        """The QAOA statevector for ``gammas``, ``betas`` (equal lengths p).

        ``complex128`` with ``precise=True``, else ``complex64``.
        """
        if self.compiled:
            ev = self._evolver(precise)
            re, im = ev.evolve(*self._angles(gammas, betas))
            out = np.empty(re.size, dtype=np.complex128 if precise else np.complex64)
            out.real, out.imag = re, im
            self._done(ev, precise)
            return out
        return self._evolve(gammas, betas, precise).copy()

    def release(self) -> None:
        """Free the work buffers kept between evaluations (both precisions)."""
        self._work = None
        if self.compiled:
            self._fast.release()
            self._precise.release()

    @staticmethod
    def _angles(gammas: ArrayLike, betas: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
        if g.shape != b.shape or g.ndim != 1:
            raise ValueError(f"gammas and betas must have the same length, got {g.shape}, {b.shape}")
        return g, b

    def _evolver(self, precise: bool) -> Any:
        return self._precise if precise else self._fast

    def _done(self, ev: Any, precise: bool) -> None:
        """Count the evaluation (the state's buffers stay until :meth:`release`)."""
        self.evaluations += 1

    def _evolve(self, gammas: ArrayLike, betas: ArrayLike, precise: bool) -> np.ndarray:
        """The state in a work buffer (overwritten by the next fast evaluation)."""
        g, b = self._angles(gammas, betas)
        n = self.num_qubits
        size = 1 << n
        if precise:  # complex128, fresh buffers (used once per solve)
            ctype, cost, ftype = np.complex128, self.cost, np.float64
            work = (np.empty(size, dtype=ctype), np.empty(size, dtype=ctype))
        else:
            ctype, cost, ftype = np.complex64, self._cost32, np.float32
            if self._work is None:
                self._work = (np.empty(size, dtype=ctype), np.empty(size, dtype=ctype))
            work = self._work
        psi, other = work
        psi.fill(1.0 / np.sqrt(size))
        # cache blocking: the phase and the mixer on the lowest qubits run block by
        # block (2^_BLOCK_QUBITS amplitudes, in cache); the higher qubits' groups
        # then take one pass over the whole state each
        bq = min(n, _BLOCK_QUBITS)
        block = 1 << bq
        blocks = _split(size >> bq, n)

        with _single_thread_blas():
            for gamma, beta in zip(g, b, strict=True):
                mats = _MixerMatrices(float(beta), ctype)
                neg_gamma = ftype(-gamma)

                def low(first: int, last: int, src: np.ndarray = psi, dst: np.ndarray = other,
                        mats: _MixerMatrices = mats, neg_gamma: Any = neg_gamma) -> None:
                    a = np.empty(block, dtype=ftype)  # phase angle and phase of one block
                    ph = np.empty(block, dtype=ctype)
                    for i in range(first, last):
                        sl = slice(i * block, (i + 1) * block)
                        np.multiply(cost[sl], neg_gamma, out=a)
                        np.cos(a, out=ph.real)
                        np.sin(a, out=ph.imag)
                        s, d = src[sl], dst[sl]
                        s *= ph
                        _apply_groups(s, d, 0, bq, mats)

                _parallel(low, blocks)
                # the result of the low groups is in psi (even count) or other (odd)
                if _group_count(0, bq) % 2:
                    psi, other = other, psi
                if bq < n:
                    out = _apply_groups(psi, other, bq, n, mats, threaded_qubits=n)
                    if out is not psi:
                        psi, other = out, psi
        self.evaluations += 1
        return psi

    def probabilities(
        self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = True
    ) -> NDArray[np.float64]:
        """Measurement probabilities of every basis state."""
        if self.compiled:
            ev = self._evolver(precise)
            re, im = ev.evolve(*self._angles(gammas, betas))
            prob = re.astype(np.float64) ** 2
            prob += im.astype(np.float64) ** 2
            self._done(ev, precise)
            return prob / prob.sum()
        psi = self._evolve(gammas, betas, precise)
        prob = (psi.real.astype(np.float64) ** 2) + (psi.imag.astype(np.float64) ** 2)
        return prob / prob.sum()

    def expectation(self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = False) -> float:
        """Expected cost of the QAOA state, :math:`\\langle C \\rangle`."""
        if self.compiled:
            ev = self._evolver(precise)
            value = ev.expectation(*self._angles(gammas, betas))
            self._done(ev, precise)
            return value
        psi = self._evolve(gammas, betas, precise)
        if precise:
            prob = psi.real**2 + psi.imag**2
            return float(np.dot(self.cost, prob) / prob.sum())
        parts = _split(psi.size, self.num_qubits)
        sums = [(0.0, 0.0)] * len(parts)

        def reduce(i: int, lo: int, hi: int) -> None:
            re, im = psi.real[lo:hi], psi.imag[lo:hi]
            prob32 = re * re
            prob32 += im * im
            sums[i] = (float(np.dot(self._cost32[lo:hi], prob32)), float(prob32.sum()))

        _parallel(reduce, [(i, lo, hi) for i, (lo, hi) in enumerate(parts)])
        num = sum(s[0] for s in sums)
        den = sum(s[1] for s in sums)
        return self._mean + num / den


def p1_expectation(
    h: ArrayLike, j: ArrayLike, offset: float, gamma: ArrayLike, beta: ArrayLike
) -> NDArray[np.float64]:
    r"""Exact p=1 QAOA expectation of an Ising cost, without a statevector.

    Parameters
    ----------
    h : array_like, shape (n,)
        Local fields of :math:`C = \text{offset} + \sum_i h_i Z_i + \sum_{i<j} J_{ij} Z_i Z_j`.
    j : array_like, shape (n, n)
        Symmetric couplings with zero diagonal.
    offset : float
        Constant term.
    gamma, beta : array_like
        Angles (broadcast together); the state is
        :math:`e^{-i\beta\sum X} e^{-i\gamma C}|+\rangle^{\otimes n}`.

    Returns
    -------
    numpy.ndarray
        :math:`\langle C \rangle` with the broadcast shape of ``gamma`` and ``beta``.

    Notes
    -----
    With :math:`c_{uw} = \cos 2\gamma J_{uw}` (Ozaeta et al. 2022, Thm. 1):

    .. math::

        \langle Z_u\rangle &= \sin 2\beta \,\sin 2\gamma h_u \prod_{w\ne u} c_{uw} \\
        \langle Z_uZ_v\rangle &= \tfrac{\sin 4\beta}{2}\sin 2\gamma J_{uv}
           \Big[\cos 2\gamma h_u \prod_{w\ne u,v} c_{uw}
              + \cos 2\gamma h_v \prod_{w\ne u,v} c_{vw}\Big] \\
          &\quad - \tfrac{\sin^2 2\beta}{2}\Big[\cos 2\gamma(h_u+h_v)
              \prod_{w\ne u,v}\cos 2\gamma(J_{uw}+J_{vw})
            - \cos 2\gamma(h_u-h_v)\prod_{w\ne u,v}\cos 2\gamma(J_{uw}-J_{vw})\Big]
    """
    return P1Expectation(h, j, offset)(gamma, beta)


class P1Expectation:
    """:func:`p1_expectation` for one Ising cost, the angle-independent parts precomputed.

    Calling it with ``gamma, beta`` (broadcast together) evaluates every angle
    pair at once, without a Python loop over them.
    """

    def __init__(self, h: ArrayLike, j: ArrayLike, offset: float) -> None:
        hv = np.asarray(h, dtype=np.float64).reshape(-1)
        jm = np.array(j, dtype=np.float64)
        n = hv.size
        np.fill_diagonal(jm, 0.0)
        iu, iv = np.triu_indices(n, 1)
        mask = jm[iu, iv] != 0
        self.h, self.offset, self.n = hv, float(offset), n
        self.iu, self.iv = iu[mask], iv[mask]
        self.pairs = np.arange(self.iu.size)
        self.juv = jm[self.iu, self.iv]
        self.hu, self.hv = hv[self.iu], hv[self.iv]
        self.hsum, self.hdiff = self.hu + self.hv, self.hu - self.hv
        self.jt = jm[:, None, :]  # (w, 1, u); symmetric, zero diagonal
        # points per chunk, bounding the (n, points, pairs) temporaries
        self.chunk = max(1, _P1_CHUNK_ELEMENTS // max(1, self.iu.size * n, n * n))

    def __call__(self, gamma: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
        gam, bet = np.broadcast_arrays(np.asarray(gamma, dtype=np.float64),
                                       np.asarray(beta, dtype=np.float64))
        gf, bf = gam.reshape(-1), bet.reshape(-1)
        out = np.empty(gf.size, dtype=np.float64)
        for s in range(0, gf.size, self.chunk):
            out[s : s + self.chunk] = self._chunk(gf[s : s + self.chunk], bf[s : s + self.chunk])
        return out.reshape(gam.shape)

    def _chunk(self, gam: np.ndarray, bet: np.ndarray) -> np.ndarray:
        iu, iv, pairs = self.iu, self.iv, self.pairs
        g2 = 2.0 * gam
        gp = g2[:, None]
        arg = g2[None, :, None] * self.jt  # (w, points, u): 2 gamma J_uw
        c, s = np.cos(arg), np.sin(arg)  # c_uw; the diagonal is cos 0 = 1, sin 0 = 0
        z1 = (np.sin(2 * bet)[:, None] * np.sin(gp * self.h)) * c.prod(axis=0)
        total = self.offset + z1 @ self.h
        if not iu.size:
            return total
        # factors over w of each pair, (w, points, pairs); w = u, v must give 1:
        # c_uu = c_vv = 1 already, c_uv (in cu at w = v, cv at w = u) set to 1;
        # then cos 2g(J_uw +- J_vw) = c_uw c_vw -+ s_uw s_vw is 1 there too
        cu, cv = c[:, :, iu], c[:, :, iv]
        cu[iv, :, pairs] = 1.0
        cv[iu, :, pairs] = 1.0
        cc = cu * cv
        ss = s[:, :, iu]
        ss *= s[:, :, iv]
        plus = (cc - ss).prod(axis=0)
        cc += ss
        minus = cc.prod(axis=0)
        term1 = (0.5 * np.sin(4 * bet))[:, None] * np.sin(gp * self.juv) * (
            np.cos(gp * self.hu) * cu.prod(axis=0) + np.cos(gp * self.hv) * cv.prod(axis=0)
        )
        term2 = (0.5 * np.sin(2 * bet) ** 2)[:, None] * (
            np.cos(gp * self.hsum) * plus - np.cos(gp * self.hdiff) * minus
        )
        return total + (term1 - term2) @ self.juv
