r"""Exact QAOA states for diagonal costs: a numpy statevector kernel and the p=1 closed form.

The QAOA state with angles :math:`(\gamma_k, \beta_k)_{k=1..p}` is

.. math::

    |\gamma, \beta\rangle = \prod_{k=1}^{p} e^{-i\beta_k \sum_j X_j}
                            e^{-i\gamma_k C} \; |+\rangle^{\otimes n},

the circuit that qiskit's ``qaoa_ansatz`` builds (cost layer
``PauliEvolutionGate(H_C, gamma)`` = :math:`e^{-i\gamma H_C}`, mixer ``RX(2 beta)``
on every qubit); :math:`H_C` and the diagonal cost :math:`C(z)` differ by a
constant, i.e. a global phase. Because :math:`C` is diagonal, its layer is an
element-wise phase over the precomputed :math:`2^n` cost vector; the mixer is
a product of single-qubit RX, applied five qubits at a time as one small dense
matrix (a Kronecker power of RX) by batched matrix products. The optimisation
loop runs in ``complex64`` (phases from ``float32``); :meth:`QaoaKernel.expectation`
with ``precise=True`` uses ``complex128``.

For p = 1 the expectation of an Ising cost has a closed form (Ozaeta, van Dam
and McMahon 2022), evaluated here in :math:`O(n^3)` without any statevector:
:func:`p1_expectation`.

Public names: :class:`QaoaKernel`, :func:`p1_expectation`, :func:`kron_rx`.

References
----------
.. [1] A. Ozaeta, W. van Dam, P. L. McMahon, "Expectation values from the
   single-layer quantum approximate optimization algorithm on Ising problems",
   Quantum Sci. Technol. 7, 045036 (2022).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["QaoaKernel", "kron_rx", "p1_expectation"]

#: Qubits applied together in one mixer matrix product (measured best at n=20).
_MIXER_GROUP = 5


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


def kron_rx(beta: float, k: int, dtype: type = np.complex128) -> NDArray[np.complex128]:
    r"""The :math:`2^k \times 2^k` matrix :math:`RX(2\beta)^{\otimes k}`."""
    c, s = np.cos(beta), np.sin(beta)
    rx = np.array([[c, -1j * s], [-1j * s, c]], dtype=np.complex128)
    out = np.ones((1, 1), dtype=np.complex128)
    for _ in range(k):
        out = np.kron(out, rx)
    return out.astype(dtype)


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

    def __init__(self, cost: ArrayLike) -> None:
        c = np.asarray(cost, dtype=np.float64)
        size = c.size
        n = size.bit_length() - 1
        if size < 2 or (1 << n) != size:
            raise ValueError(f"cost vector length must be a power of two >= 2, got {size}")
        self.num_qubits = n
        self.cost = c
        self._mean = float(c.mean())
        # float32 copy centred on the mean (a global phase), for the fast phase layer
        self._cost32 = (c - self._mean).astype(np.float32)
        self.evaluations = 0

    def state(
        self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = False
    ) -> NDArray[np.complex128]:
        """The QAOA statevector for ``gammas``, ``betas`` (equal lengths p)."""
        g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
        if g.shape != b.shape or g.ndim != 1:
            raise ValueError(f"gammas and betas must have the same length, got {g.shape}, {b.shape}")
        n = self.num_qubits
        size = 1 << n
        ctype = np.complex128 if precise else np.complex64
        psi = np.full(size, 1.0 / np.sqrt(size), dtype=ctype)
        phase = np.empty(size, dtype=ctype)
        with _single_thread_blas():
            for gamma, beta in zip(g, b, strict=True):
                if precise:
                    angle = self.cost * (-gamma)
                else:
                    angle = self._cost32 * np.float32(-gamma)
                np.cos(angle, out=phase.real)
                np.sin(angle, out=phase.imag)
                psi *= phase
                psi = self._mixer(psi, float(beta), ctype)
        self.evaluations += 1
        return psi

    def _mixer(self, psi: np.ndarray, beta: float, ctype: type) -> np.ndarray:
        n = self.num_qubits
        done = 0
        mats: dict[int, np.ndarray] = {}
        while done < n:
            k = min(_MIXER_GROUP, n - done)
            if k not in mats:
                mats[k] = kron_rx(beta, k, ctype)
            m = mats[k]
            if done == 0:
                # lowest qubits: one GEMM over rows of 2^k amplitudes (m is symmetric)
                psi = psi.reshape(-1, 1 << k) @ m
            else:
                psi = np.matmul(m, psi.reshape(-1, 1 << k, 1 << done))
            done += k
        return psi.reshape(-1)

    def probabilities(
        self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = True
    ) -> NDArray[np.float64]:
        """Measurement probabilities of every basis state."""
        psi = self.state(gammas, betas, precise=precise)
        prob = (psi.real.astype(np.float64) ** 2) + (psi.imag.astype(np.float64) ** 2)
        return prob / prob.sum()

    def expectation(self, gammas: ArrayLike, betas: ArrayLike, *, precise: bool = False) -> float:
        """Expected cost of the QAOA state, :math:`\\langle C \\rangle`."""
        psi = self.state(gammas, betas, precise=precise)
        if precise:
            prob = psi.real**2 + psi.imag**2
            return float(np.dot(self.cost, prob) / prob.sum())
        prob32 = psi.real * psi.real + psi.imag * psi.imag
        return self._mean + float(np.dot(self._cost32, prob32)) / float(prob32.sum())


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
    hv = np.asarray(h, dtype=np.float64)
    jm = np.asarray(j, dtype=np.float64)
    gam, bet = np.broadcast_arrays(np.asarray(gamma, dtype=np.float64),
                                   np.asarray(beta, dtype=np.float64))
    out = np.empty(gam.shape, dtype=np.float64)
    n = hv.size
    iu, iv = np.triu_indices(n, 1)
    mask = jm[iu, iv] != 0
    iu, iv = iu[mask], iv[mask]
    juv = jm[iu, iv]
    # exclusion mask: w != u and w != v, shape (pairs, n)
    excl = np.ones((iu.size, n), dtype=bool)
    excl[np.arange(iu.size), iu] = False
    excl[np.arange(iu.size), iv] = False
    for idx in np.ndindex(gam.shape):
        g, b = float(gam[idx]), float(bet[idx])
        c = np.cos(2 * g * jm)
        np.fill_diagonal(c, 1.0)
        z1 = np.sin(2 * b) * np.sin(2 * g * hv) * np.prod(c, axis=1)
        total = offset + float(hv @ z1)
        if iu.size:
            cu = np.where(excl, c[iu], 1.0).prod(axis=1)
            cv = np.where(excl, c[iv], 1.0).prod(axis=1)
            plus = np.where(excl, np.cos(2 * g * (jm[iu] + jm[iv])), 1.0).prod(axis=1)
            minus = np.where(excl, np.cos(2 * g * (jm[iu] - jm[iv])), 1.0).prod(axis=1)
            term1 = 0.5 * np.sin(4 * b) * np.sin(2 * g * juv) * (
                np.cos(2 * g * hv[iu]) * cu + np.cos(2 * g * hv[iv]) * cv
            )
            term2 = 0.5 * np.sin(2 * b) ** 2 * (
                np.cos(2 * g * (hv[iu] + hv[iv])) * plus
                - np.cos(2 * g * (hv[iu] - hv[iv])) * minus
            )
            total += float(juv @ (term1 - term2))
        out[idx] = total
    return out
