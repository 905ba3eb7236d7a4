r"""QAOA on Qiskit Aer (``qaoa``), ideal or under a real device's noise model.

A binary or bounded-integer problem with linear constraints becomes a QUBO
through qiskit-optimization's ``QuadraticProgramToQubo`` (:func:`solvers.qubo.to_qubo`:
integer variables expanded into binaries, inequality slacks, equalities
penalised; the penalty is chosen automatically unless ``penalty=`` is given,
see :mod:`solvers.qubo`). The QUBO's Ising form is the cost operator of
qiskit's ``qaoa_ansatz`` (``reps`` layers of ``exp(-i gamma H_C)`` and
``RX(2 beta)`` mixers on :math:`|+\rangle^{\otimes n}`).

How the angles are found
------------------------
Ideal (``noise=None``): the cost is diagonal, so the expectation of the QAOA
state is computed exactly, without shot noise, by the numpy statevector kernel
of :mod:`solvers.statevector`; p = 1 is optimised on the closed-form
expectation (no statevector at all). The initial point (``initial_point``):

- ``"auto"``: a 32 x 16 grid over normalised (gamma, beta) on the p = 1 closed
  form, refined by Nelder-Mead on it, then layer by layer (INTERP of Zhou et
  al. 2020) up to ``reps``, each layer refined by ``optimizer`` on the kernel;
- ``"transfer"``: the normalised angles of this solver instance's last solve
  with the same ``reps`` (angle transfer between similar problems), then
  refined; falls back to ``"auto"`` the first time;
- ``"given"``: start from ``angles`` (raw, as ``diagnostics["final_angles"]``);
- ``"fixed"``: use ``angles`` (or the transferred ones) without optimising;
- ``"random"``: uniform in the normalised box, from ``seed``.

"Normalised" means gamma multiplied by the largest Ising coefficient, so
angles transfer between problems of different scale.
The final angles then run as the real circuit (transpiled, parameters bound)
on Qiskit Aer's ``SamplerV2`` with ``shots`` shots: the reported samples are
Aer's, and ``diagnostics["qasm3"]`` is that circuit.

With ``noise="<fake backend>"`` (e.g. ``"FakeTorino"`` or ``"torino"``; valid
names: :func:`solvers.noise.noise_models`) the circuit is transpiled to that
device's basis and coupling map and every evaluation of the optimisation loop
runs on the device's noise model (:class:`solvers.noise.NoisySetup`,
qiskit-ibm-runtime's offline calibration data): the ideal kernel gives the
starting angles, then ``noise_maxiter`` noisy evaluations refine them on the
sampled mean cost. Every number reported in this mode comes from the noisy run:
the final sampling job runs on a fresh seed stream, ``expected_objective`` is the
mean penalised objective of its shots (``expected_objective_source`` says so),
``best_probability`` the best sample's share of them, and the quality figures of
:mod:`solvers.metrics` are computed from them; the ideal state's exact value at
the same angles is given apart as ``ideal_expected_objective``. An unknown device
name gives an UNSUPPORTED Result naming it (so do a non-finite ``penalty`` and a
problem without binary or integer variables).

Samples are mapped back to the problem's variables and checked against the
original constraints (:mod:`solvers.sampling`); infeasible ones are repaired
by greedy bit flips or flagged, never passed off as feasible. The status is
FEASIBLE (sampling proves nothing), INFEASIBLE (unproven, no feasible sample),
TIME_LIMIT, or UNSUPPORTED (continuous variables, unbounded integers, more
qubits than ``max_qubits`` or than memory allows).

Modelled QPU time
-----------------
The whole variational loop is billed by :mod:`solvers.qpu`: ``qpu_jobs`` (the
optimiser's evaluations on the quantum state plus the final run; the p = 1
closed-form grid is classical), ``qpu_loop_time_s = jobs * shots * (circuit
duration + rep_delay)``, ``qpu_billed_time_s`` with the per-job or per-session
overhead, ``qpu_cost`` and the constants used (``qpu_cost_model``; overridable
with ``qpu_costs={...}``). The circuit duration comes from the device target's
gate times in noise mode, else from depth as ``d2 * gate_2q_s + (depth - d2) *
gate_1q_s + readout_s``. The older figures stay: ``modelled_qpu_time_s`` =
``shots * (circuit duration + rep_delay) + job_overhead`` (the final job only)
and ``modelled_qpu_time_loop_s`` (that job times the evaluations), with
:data:`QPU_TIMING` (IBM Heron-like ``gate_1q_s = 32e-9``, ``gate_2q_s = 68e-9``,
``readout_s = 1.56e-6``, ``rep_delay_s = 250e-6``, ``job_overhead_s = 2.0``,
overridable with ``qpu_timing={...}``).

Diagnostics keys
----------------
``qubits``, ``reps``, ``depth``, ``two_qubit_gates`` (after transpilation),
``shots``, ``circuit_evaluations`` (kernel + Aer evaluations),
``closed_form_evaluations``, ``optimizer_iterations``, ``optimizer_settings``
(method, maxiter and, for COBYLA, rhobeg and tol of the kernel refinement), ``final_angles``
(gammas then betas, raw), ``normalised_angles``, ``angle_scale``,
``initial_point``, ``expected_objective`` (expected QUBO objective of the final
state in the problem's sense: exact when ideal, from the noisy shots in noise
mode), ``expected_objective_source``, ``best_bitstring``, ``best_probability``,
``qasm3``, ``circuit_duration_s``, the QPU keys above, ``penalty``,
``inequality_penalty``, ``noise``, ``simulator_method``, ``seed``; in noise mode
``device``, ``physical_qubits``, ``noisy_expected_qubo_cost`` (the refinement's
best mean, biased low by selection), ``ideal_expected_objective``; the sampling
keys of :func:`solvers.sampling.result_from_samples` and the quality keys of
:mod:`solvers.metrics` (against ``reference_objective`` or ``reference_solver``).

Why one module of about 860 lines: :class:`QaoaSolver`'s circuit building, angle
search, final run and diagnostics share the solver's options and one flow; the
device noise lives in :mod:`solvers.noise`, the QPU bill in :mod:`solvers.qpu`,
the statevector kernel in :mod:`solvers.statevector` and the quality figures in
:mod:`solvers.metrics`.

Public names: :class:`QaoaSolver` (registered as ``qaoa``), :func:`expectation`,
:func:`qaoa_circuit`, :data:`QPU_TIMING`; :func:`noise_models` and
:func:`noise_model_reason` are re-exported from :mod:`solvers.noise`.

References
----------
.. [1] L. Zhou et al., "Quantum approximate optimization algorithm: performance,
   mechanism, and implementation on near-term devices", PRX 10, 021067 (2020).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from solvers.noise import NoisySetup, fake_backend, noise_model_reason, noise_models
from solvers.problem import Problem, ProblemError, Status, VarKind
from solvers.qpu import circuit_duration_s, loop_cost, qpu_costs
from solvers.qubo import Qubo, cost_vector, qubo_support, to_qubo
from solvers.registry import register
from solvers.result import Result
from solvers.sampling import (
    derived_seed,
    evaluate_samples,
    resolve_reference,
    result_from_samples,
)
from solvers.statevector import P1Expectation, QaoaKernel

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from qiskit import QuantumCircuit

__all__ = [
    "QPU_TIMING",
    "QaoaSolver",
    "expectation",
    "noise_model_reason",
    "noise_models",
    "qaoa_circuit",
]

logger = logging.getLogger(__name__)

#: Name prefix of qiskit's QAOA gamma parameters (Greek small gamma).
_GAMMA = "\u03b3"

#: Default constants of the modelled QPU time (see module docstring). [s]
QPU_TIMING: Mapping[str, float] = {
    "gate_1q_s": 32e-9,
    "gate_2q_s": 68e-9,
    "readout_s": 1.56e-6,
    "rep_delay_s": 250e-6,
    "job_overhead_s": 2.0,
}

#: Bytes per basis state the kernel and the final Aer run need (float64 and
#: float32 cost, two complex64 work states during the optimisation, then two
#: complex128 states and float64 probabilities for the exact final state, then
#: Aer's complex128 state).
_BYTES_PER_AMPLITUDE = 64

#: COBYLA's initial step on the normalised angles of the kernel refinement. From
#: the INTERP start, 0.3 with 25 evaluations reached a lower expected cost than
#: 0.1 with 40 (the default until 2026-11) on 7 of 8 test and benchmark
#: instances (8-20 binaries, reps 2; the eighth 0.5 % higher).
_COBYLA_RHOBEG = 0.3

#: COBYLA's final trust-region radius (scipy ``tol``) of the kernel refinement.
_COBYLA_TOL = 1e-5

_OPTIMIZERS = ("cobyla", "nelder-mead", "powell", "none")
_INITIAL_POINTS = ("auto", "transfer", "given", "fixed", "random")
_METHODS = ("automatic", "statevector", "matrix_product_state", "density_matrix")


class _TimeUp(Exception):
    """Raised inside the objective when the wall-clock limit is reached."""


def _available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _ising(qubo: Qubo) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Ising ``h, J, offset`` and the angle scale (largest |coefficient|)."""
    h, j, offset = qubo.to_ising()
    scale = float(max(np.abs(h).max(initial=0.0), np.abs(j).max(initial=0.0)))
    return h, j, offset, (scale if scale > 0 else 1.0)


def qaoa_circuit(qubo: Qubo, gammas: ArrayLike, betas: ArrayLike) -> QuantumCircuit:
    """The QAOA circuit of ``qubo`` with angles bound, measured (qiskit ``qaoa_ansatz``).

    Parameters
    ----------
    qubo : Qubo
        The QUBO (its Ising form is the cost operator).
    gammas, betas : array_like, shape (p,)
        Raw angles: the cost layer is ``exp(-i gamma H_C)``, the mixer ``RX(2 beta)``. [rad]
    """
    circ = _parametric_circuit(qubo, len(np.atleast_1d(gammas)))
    bound = _bind(circ, gammas, betas)
    bound.measure_all()
    return bound


def _parametric_circuit(qubo: Qubo, reps: int) -> QuantumCircuit:
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit.quantum_info import SparsePauliOp

    h, j, _, _ = _ising(qubo)
    n = qubo.num_variables
    terms: list[tuple[str, list[int], float]] = [
        ("Z", [i], float(h[i])) for i in np.flatnonzero(h)
    ]
    iu, iv = np.nonzero(np.triu(j, 1))
    terms += [("ZZ", [int(a), int(b)], float(j[a, b])) for a, b in zip(iu, iv, strict=True)]
    if not terms:
        terms = [("I", [0], 0.0)]
    op = SparsePauliOp.from_sparse_list(terms, num_qubits=n)
    return qaoa_ansatz(op, reps=reps)


def _bind(circ: QuantumCircuit, gammas: ArrayLike, betas: ArrayLike) -> QuantumCircuit:
    g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
    values: dict[Any, float] = {}
    for param in circ.parameters:
        name = param.name  # "\u03b3[k]" (gamma) / "\u03b2[k]" (beta)
        k = int(name[name.index("[") + 1 : -1])
        values[param] = float(g[k]) if name.startswith(_GAMMA) else float(b[k])
    return circ.assign_parameters(values)


def expectation(
    problem: Problem, gammas: ArrayLike, betas: ArrayLike, *, penalty: float | None = None
) -> float:
    """Exact expected objective of the QAOA state with these angles.

    Parameters
    ----------
    problem : Problem
        A binary or bounded-integer problem (at most about 26 QUBO binaries).
    gammas, betas : array_like, shape (p,)
        Raw angles of the ``p`` layers (as ``diagnostics["final_angles"]`` of
        ``qaoa``). [rad]
    penalty : float, optional
        QUBO penalty (None: the automatic one ``qaoa`` uses).

    Returns
    -------
    float
        :math:`\\langle f \\rangle` in the problem's own objective and sense. For a
        problem with constraints it is the expected penalised objective (the
        QUBO the circuit encodes), equal to the objective on feasible states.

    Examples
    --------
    >>> from solvers import Problem
    >>> p = Problem(objective=[1.0, -1.0], kinds="binary", upper=1.0)
    >>> round(expectation(p, [0.0], [0.0]), 6)   # uniform superposition: mean of f
    0.0
    """
    reason = qubo_support(problem)
    if reason is not None:
        raise ProblemError(reason)
    qubo = to_qubo(problem, penalty)
    kernel = QaoaKernel(cost_vector(qubo.linear, qubo.quadratic, qubo.constant))
    return float(qubo.sign * kernel.expectation(gammas, betas, precise=True))


@dataclass
class _AngleMemory:
    """Normalised final angles of earlier solves, by reps (for angle transfer)."""

    by_reps: dict[int, np.ndarray] = field(default_factory=dict)


def _interp(x: np.ndarray) -> np.ndarray:
    """INTERP initial point for p+1 layers from optimal p-layer angles (Zhou et al.)."""
    p = x.size
    padded = np.concatenate([[0.0], x, [0.0]])
    i = np.arange(1, p + 2)
    return (i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i]


@register(
    "qaoa",
    requires=("qiskit", "qiskit_aer", "qiskit_optimization"),
    install_hint="pip install 'gridtwin[quantum]'",
    description="QAOA on Qiskit Aer (ideal or device noise model), exact-kernel angle search",
)
@dataclass(frozen=True)
class QaoaSolver:
    """QAOA for binary / bounded-integer problems (see the module docstring).

    Parameters
    ----------
    reps : int
        QAOA layers ``p``.
    optimizer : str
        ``"cobyla"``, ``"nelder-mead"``, ``"powell"`` (scipy) or ``"none"``.
    maxiter : int
        Objective evaluations allowed to the optimizer per layer. Default 25,
        with COBYLA's initial step ``rhobeg`` 0.3 on the normalised angles
        (until 2026-11: 40 evaluations from a 0.1 step; the larger step reached a
        lower expected cost in fewer evaluations on 7 of 8 test and benchmark
        instances, see :data:`_COBYLA_RHOBEG`). Both are in
        ``diagnostics["optimizer_settings"]``.
    shots : int
        Shots of the final sampling run (and of each noisy evaluation).
    initial_point : str
        ``"auto"``, ``"transfer"``, ``"given"``, ``"fixed"`` or ``"random"``.
    angles : sequence of float, optional
        ``2 * reps`` raw angles, gammas then betas (for ``"given"``/``"fixed"``). [rad]
    simulator_method : str
        Aer method: ``"automatic"``, ``"statevector"``, ``"matrix_product_state"``,
        ``"density_matrix"``.
    noise : str, optional
        A qiskit-ibm-runtime fake backend (``"FakeTorino"``, ``"torino"``, ...).
    noise_maxiter : int
        Noisy evaluations refining the angles when ``noise`` is set.
    two_qubit_error_scale : float
        Factor on the device's calibrated two-qubit gate errors when ``noise`` is set
        (:func:`solvers.noise.compact_noise_model`; 1: as calibrated). The circuit's
        use-weighted mean two-qubit error is reported as ``two_qubit_error_mean``. [-]
    max_qubits : int
        Largest QUBO accepted; above it the result is UNSUPPORTED. [qubits]
    penalty : float, optional
        QUBO penalty (None: automatic).
    repair : bool
        Repair infeasible samples by greedy bit flips when none is feasible.
    optimization_level : int
        Transpiler optimisation level (0-3).
    qpu_timing : mapping, optional
        Overrides of :data:`QPU_TIMING` keys. [s]
    qpu_costs : mapping, optional
        Overrides of :data:`solvers.qpu.DEFAULT_QPU_COSTS` (gate times, overheads,
        prices, ``billing`` "job" or "session") for the whole-loop QPU bill.
    time_limit : float, optional
        Default wall-clock limit. [s]
    reference_solver : str or None
        Solver computing the reference optimum of the quality diagnostics when
        ``solve`` is not given ``reference_objective`` (None: no quality keys).
    """

    name: ClassVar[str] = "qaoa"
    reps: int = 1
    optimizer: str = "cobyla"
    maxiter: int = 25
    shots: int = 1024
    initial_point: str = "auto"
    angles: Sequence[float] | None = None
    simulator_method: str = "automatic"
    noise: str | None = None
    noise_maxiter: int = 30
    two_qubit_error_scale: float = 1.0
    max_qubits: int = 24
    penalty: float | None = None
    repair: bool = True
    optimization_level: int = 1
    qpu_timing: Mapping[str, float] | None = None
    qpu_costs: Mapping[str, Any] | None = None
    time_limit: float | None = None
    reference_solver: str | None = "milp"
    _memory: _AngleMemory = field(default_factory=_AngleMemory, init=False, repr=False,
                                  compare=False)

    def __post_init__(self) -> None:
        if int(self.reps) < 1:
            raise ValueError(f"reps must be >= 1, got {self.reps!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} unknown; choose from {_OPTIMIZERS}")
        if self.initial_point not in _INITIAL_POINTS:
            raise ValueError(
                f"initial_point {self.initial_point!r} unknown; choose from {_INITIAL_POINTS}"
            )
        if self.simulator_method not in _METHODS:
            raise ValueError(
                f"simulator_method {self.simulator_method!r} unknown; choose from {_METHODS}"
            )
        if int(self.shots) < 1 or int(self.maxiter) < 0 or int(self.noise_maxiter) < 0:
            raise ValueError("shots must be >= 1, maxiter and noise_maxiter >= 0")
        scale = self.two_qubit_error_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) \
                or not math.isfinite(scale) or scale < 0:
            raise ValueError(f"two_qubit_error_scale must be a finite number >= 0, got {scale!r}")
        if self.angles is not None:
            arr = np.asarray(self.angles, dtype=np.float64).reshape(-1)
            if arr.size != 2 * self.reps or not np.isfinite(arr).all():
                raise ValueError(
                    f"angles must be {2 * self.reps} finite numbers (gammas then betas), "
                    f"got {list(self.angles)!r}"
                )
        if self.initial_point == "given" and self.angles is None:
            raise ValueError("initial_point='given' needs angles=[gammas..., betas...]")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit!r}")
        unknown = set(self.qpu_timing or {}) - set(QPU_TIMING)
        if unknown:
            raise ValueError(f"qpu_timing keys {sorted(unknown)} unknown; known: {list(QPU_TIMING)}")
        qpu_costs(self.qpu_costs)  # raises ValueError naming a bad key or value

    # ------------------------------------------------------------ support
    def supports(self, problem: Problem) -> str | None:
        """None when the problem fits (binary/bounded integer, qubits, memory).

        An unknown ``noise`` device or a non-finite ``penalty`` is a reason too:
        the solve then returns UNSUPPORTED naming it (no exception).
        """
        if self.noise is not None:
            reason = noise_model_reason(self.noise)
            if reason is not None:
                return reason
        if self.penalty is not None and not math.isfinite(float(self.penalty)):
            return f"the QUBO penalty must be finite, got penalty={self.penalty!r}"
        if not (problem.kinds != VarKind.CONTINUOUS).any():
            return "the problem has no binary or integer variables: nothing for QAOA to decide"
        reason = qubo_support(problem)
        if reason is not None:
            return reason
        return None

    def _size_reason(self, qubits: int) -> str | None:
        if qubits > self.max_qubits:
            return f"the QUBO needs {qubits} qubits, more than max_qubits={self.max_qubits}"
        need = (1 << qubits) * _BYTES_PER_AMPLITUDE
        avail = _available_memory_bytes()
        if avail is not None and need > 0.8 * avail:
            return (
                f"{qubits} qubits need about {need / 2**30:.1f} GiB for the statevector, "
                f"more than 80% of the {avail / 2**30:.1f} GiB available"
            )
        return None

    # -------------------------------------------------------------- solve
    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None,
        reference_objective: float | None = None,
    ) -> Result:
        """Run QAOA; never raises for unsupported or infeasible problems.

        ``reference_objective`` (else ``reference_solver``'s optimum, computed
        outside ``wall_time_s``) gives the quality keys of :mod:`solvers.metrics`.
        """
        t0 = time.perf_counter()
        limit = time_limit if time_limit is not None else self.time_limit
        deadline = None if limit is None else t0 + float(limit)
        out = self._prepare(problem)
        if isinstance(out, str):
            return Result(Status.UNSUPPORTED, self.name, message=out,
                          wall_time_s=time.perf_counter() - t0, problem=problem)
        try:
            samples, diag, timed_out = self._run(problem, out, seed, deadline)
        except MemoryError as exc:  # pragma: no cover - guarded by _size_reason
            return Result(Status.UNSUPPORTED, self.name, problem=problem,
                          message=f"out of memory: {exc}",
                          wall_time_s=time.perf_counter() - t0)
        wall = time.perf_counter() - t0
        ref, ref_info = resolve_reference(problem, reference_objective, self.reference_solver,
                                          deadline)
        diag.update(ref_info)
        return result_from_samples(problem, self.name, samples, wall_time_s=wall,
                                   diagnostics=diag, timed_out=timed_out,
                                   reference_objective=ref,
                                   expected_objective=diag["expected_objective"], seed=seed)

    def _prepare(self, problem: Problem) -> Qubo | str:
        reason = self.supports(problem)
        if reason is not None:
            return reason
        # cheap qubit count before the converter runs on something huge
        if problem.num_variables > self.max_qubits:
            return (f"{problem.num_variables} variables need at least as many qubits, "
                    f"more than max_qubits={self.max_qubits}")
        try:
            qubo = to_qubo(problem, self.penalty)
        except ProblemError as exc:
            return str(exc)
        if qubo.penalty is not None and not math.isfinite(qubo.penalty):
            return f"the QUBO penalty is not finite ({qubo.penalty}); give a finite penalty="
        if not np.isfinite(qubo.linear).all() or not np.isfinite(qubo.quadratic).all():
            return "the QUBO has non-finite coefficients (objective or penalty overflow)"
        size = self._size_reason(qubo.num_variables)
        return size if size is not None else qubo

    def sample(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> tuple[Any, dict[str, Any], str | None, bool]:
        """Samples of ``problem`` for the ``hybrid`` solver (None with a reason if unsupported)."""
        t0 = time.perf_counter()
        limit = time_limit if time_limit is not None else self.time_limit
        out = self._prepare(problem)
        if isinstance(out, str):
            return None, {}, out, False
        samples, diag, timed_out = self._run(
            problem, out, seed, None if limit is None else t0 + float(limit)
        )
        return samples, diag, None, timed_out

    def _run(
        self, problem: Problem, qubo: Qubo, seed: int | None, deadline: float | None
    ) -> tuple[Any, dict[str, Any], bool]:
        """Angle search, final run (ideal or noisy), evaluation and diagnostics."""
        p = int(self.reps)
        h, j, offset, scale = _ising(qubo)
        cost = cost_vector(qubo.linear, qubo.quadratic, qubo.constant)
        kernel = QaoaKernel(cost)
        counters = {"closed_form": 0, "iterations": 0, "aer": 0}
        x_norm, how, timed_out = self._search_angles(
            kernel, p, scale, (h, j, offset), np.random.default_rng(seed), counters, deadline)
        kernel.release()  # the optimisation's work states, before the exact state and Aer
        if self.noise is not None:
            final = self._final_noisy(qubo, cost, x_norm, scale, seed, counters, deadline)
        else:
            final = self._final_ideal(qubo, kernel, x_norm, scale, seed)
        timed_out = timed_out or final.timed_out
        counters["aer"] += 1
        counters["kernel"] = kernel.evaluations  # optimiser's + the exact final state
        samples = evaluate_samples(problem, final.z, final.counts, qubo=qubo, repair=self.repair)
        self._memory.by_reps[p] = np.array(final.x_norm)
        diag = self._diagnostics(qubo, final, scale, how, counters, seed)
        return samples, diag, timed_out

    def _search_angles(
        self, kernel: QaoaKernel, p: int, scale: float,
        ising: tuple[np.ndarray, np.ndarray, float], rng: np.random.Generator,
        counters: dict[str, int], deadline: float | None,
    ) -> tuple[np.ndarray, str, bool]:
        """Normalised angles (gammas * scale, betas) from the ideal kernel, and how."""
        h, j, offset = ising

        def check_time() -> None:
            if deadline is not None and time.perf_counter() > deadline:
                raise _TimeUp

        x_norm, how = self._initial_point(p, scale, h, j, offset, rng, counters, check_time)
        best: dict[str, Any] = {"x": x_norm, "f": math.inf}

        def kernel_objective(xn: np.ndarray) -> float:
            check_time()
            q = xn.size // 2
            val = kernel.expectation(xn[:q] / scale, xn[q:])
            counters["iterations"] += 1
            if val < best["f"]:
                best["x"], best["f"] = np.array(xn), val
            return val

        timed_out = False
        try:
            if how == "auto" and (self.initial_point == "fixed" or self.optimizer == "none"):
                while x_norm.size < 2 * p:
                    q = x_norm.size // 2
                    x_norm = np.concatenate([_interp(x_norm[:q]), _interp(x_norm[q:])])
            elif how == "auto":
                x_norm = self._layerwise(x_norm, p, kernel_objective, best)
            elif self.initial_point != "fixed" and self.optimizer != "none":
                best["x"] = x_norm
                x_norm = self._minimize(kernel_objective, x_norm, best)
        except _TimeUp:
            timed_out = True
            x_norm = best["x"] if best["x"].size == 2 * p else _pad(best["x"], p)
        x_norm = np.asarray(x_norm, dtype=np.float64)
        if x_norm.size != 2 * p:
            x_norm = _pad(x_norm, p)
        return x_norm, how, timed_out

    def _final_ideal(self, qubo: Qubo, kernel: QaoaKernel, x_norm: np.ndarray, scale: float,
                     seed: int | None) -> _FinalRun:
        """The transpiled circuit on ideal Aer; the state's figures from the exact kernel."""
        n = qubo.num_variables
        p = x_norm.size // 2
        gammas, betas = x_norm[:p] / scale, x_norm[p:]
        circuit = self._transpiled(qubo, gammas, betas, seed)
        z, counts = self._sample_circuit(circuit, self._backend(seed), n, seed)
        prob = kernel.probabilities(gammas, betas, precise=True)
        best_z = _best_sample(qubo, z, counts)
        best_index = int((best_z.astype(np.int64) << np.arange(n)).sum())
        return _FinalRun(
            x_norm=np.array(x_norm), circuit=circuit,
            z=z, counts=counts, best_z=best_z,
            expected_objective=float(qubo.sign * float(prob @ kernel.cost)),
            best_probability=float(prob[best_index]), source="exact ideal state",
            target=None, extra={}, timed_out=False)

    def _final_noisy(self, qubo: Qubo, cost: np.ndarray, x_norm: np.ndarray, scale: float,
                     seed: int | None, counters: dict[str, int], deadline: float | None,
                     ) -> _FinalRun:
        """Noisy refinement, then the final noisy run: every figure from its samples.

        The expected objective is the mean penalised objective over the final noisy
        run's shots (an unbiased estimate of the noisy state's expectation; the
        refinement's best mean is biased low by selection and is reported apart as
        ``noisy_expected_qubo_cost``); ``best_probability`` is the best sample's
        share of those shots. The ideal state's exact expectation at the same
        angles is ``ideal_expected_objective``, for comparison only.
        """
        n = qubo.num_variables
        p = x_norm.size // 2
        circ = _parametric_circuit(qubo, p)
        circ.measure_all()
        setup = NoisySetup.build(self.noise, circ,  # type: ignore[arg-type]
                                 optimization_level=int(self.optimization_level),
                                 simulator_method=self.simulator_method, seed=seed,
                                 two_qubit_error_scale=float(self.two_qubit_error_scale))
        x_norm, extra, timed_out = self._noisy_refine(setup, cost, x_norm, scale, seed,
                                                      counters, deadline)
        gammas, betas = x_norm[:p] / scale, x_norm[p:]
        circuit = _bind(setup.device_circuit, gammas, betas)
        # a fresh stream: the refinement's runs all used ``seed``, so re-using it would
        # return the luckiest evaluation's samples (biased low by selection)
        final_seed = derived_seed(seed, 1)
        setup.simulator.set_options(seed_simulator=final_seed)
        z, counts = self._sample_circuit(_bind(setup.compact_circuit, gammas, betas),
                                         setup.simulator, n, final_seed)
        index = (z.astype(np.int64) << np.arange(n)).sum(axis=1)
        shots = float(counts.sum())
        best_z = _best_sample(qubo, z, counts)
        best_share = float(counts[np.flatnonzero((z == best_z).all(axis=1))].sum() / shots)
        ideal = QaoaKernel(cost)
        extra["two_qubit_error_scale"] = setup.two_qubit_error_scale
        extra["two_qubit_error_mean"] = setup.two_qubit_error_mean
        extra["ideal_expected_objective"] = float(
            qubo.sign * ideal.expectation(gammas, betas, precise=True))
        return _FinalRun(
            x_norm=np.array(x_norm), circuit=circuit, z=z, counts=counts, best_z=best_z,
            expected_objective=float(qubo.sign * float(cost[index] @ counts) / shots),
            best_probability=best_share, source="noisy samples of the final run",
            target=fake_backend(self.noise).target, extra=extra,  # type: ignore[arg-type]
            timed_out=timed_out)

    def _diagnostics(self, qubo: Qubo, final: _FinalRun, scale: float, how: str,
                     counters: dict[str, int], seed: int | None) -> dict[str, Any]:
        """The diagnostics keys of the module docstring."""
        from qiskit import qasm3

        circuit = final.circuit
        p = final.x_norm.size // 2
        depth = int(circuit.depth())
        two_q = int(sum(1 for inst in circuit.data if inst.operation.num_qubits == 2))
        timing = {**QPU_TIMING, **(self.qpu_timing or {})}
        duration = self._duration(circuit, timing)
        job = timing["job_overhead_s"] + self.shots * (duration + timing["rep_delay_s"])
        costs = qpu_costs({**timing, **(self.qpu_costs or {})})
        billed = loop_cost(evaluations=counters["iterations"] + 1, shots=int(self.shots),
                           circuit_s=duration, costs=costs)
        gammas, betas = final.x_norm[:p] / scale, final.x_norm[p:]
        return {
            "qubits": qubo.num_variables,
            "reps": p,
            "depth": depth,
            "two_qubit_gates": two_q,
            "shots": int(self.shots),
            "circuit_evaluations": int(counters["kernel"] + counters["aer"]),
            "closed_form_evaluations": int(counters["closed_form"]),
            "optimizer_iterations": int(counters["iterations"]),
            "optimizer_settings": self._optimizer_settings(),
            "final_angles": [float(v) for v in np.concatenate([gammas, betas])],
            "normalised_angles": [float(v) for v in final.x_norm],
            "angle_scale": scale,
            "initial_point": how,
            "expected_objective": final.expected_objective,
            "expected_objective_source": final.source,
            "best_bitstring": "".join(str(int(v)) for v in final.best_z[::-1]),
            "best_probability": final.best_probability,
            "qasm3": qasm3.dumps(circuit),
            "circuit_duration_s": duration,
            "modelled_qpu_time_s": job,
            "modelled_qpu_time_loop_s": job * (counters["iterations"] + 1),
            **billed,
            "qpu_cost_model": costs,
            "penalty": qubo.penalty,
            "inequality_penalty": qubo.inequality_penalty,
            "noise": self.noise,
            "simulator_method": self.simulator_method,
            "seed": seed,
            **final.extra,
        }

    # --------------------------------------------------------- angle search
    def _initial_point(
        self, p: int, scale: float, h: np.ndarray, j: np.ndarray, offset: float,
        rng: np.random.Generator, counters: dict[str, int], check_time: Any,
    ) -> tuple[np.ndarray, str]:
        if self.initial_point in ("given", "fixed") and self.angles is not None:
            raw = np.asarray(self.angles, dtype=np.float64)
            return np.concatenate([raw[:p] * scale, raw[p:]]), self.initial_point
        if self.initial_point in ("transfer", "fixed"):
            prev = self._memory.by_reps.get(p)
            if prev is not None:
                return np.array(prev), self.initial_point
        if self.initial_point == "random":
            return np.concatenate([rng.uniform(0, np.pi, p), rng.uniform(-np.pi / 4, np.pi / 4, p)]
                                  ), "random"
        # auto: p=1 grid + refinement on the exact closed form
        p1 = P1Expectation(h / scale, j / scale, offset / scale)
        gam = np.linspace(np.pi / 64, np.pi / 2, 32)
        bet = np.linspace(-np.pi / 4, np.pi / 4, 17)[1:]
        gg, bb = np.meshgrid(gam, bet, indexing="ij")
        vals = p1(gg, bb)  # the whole grid in one vectorised call
        counters["closed_form"] += vals.size
        k = np.unravel_index(int(np.argmin(vals)), vals.shape)
        x0 = np.array([gg[k], bb[k]])

        def f(x: np.ndarray) -> float:
            counters["closed_form"] += 1
            return float(p1(x[0], x[1]))

        from scipy.optimize import minimize

        res = minimize(f, x0, method="Nelder-Mead",
                       options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 200})
        return np.asarray(res.x, dtype=np.float64), "auto"

    def _optimizer_settings(self) -> dict[str, Any]:
        """The scipy options of the kernel refinement (``diagnostics["optimizer_settings"]``)."""
        out: dict[str, Any] = {"method": self.optimizer, "maxiter": int(self.maxiter)}
        if self.optimizer == "cobyla":
            out.update(rhobeg=_COBYLA_RHOBEG, tol=_COBYLA_TOL)
        return out

    def _minimize(self, fun: Any, x0: np.ndarray, best: dict[str, Any]) -> np.ndarray:
        from scipy.optimize import minimize

        if self.optimizer == "none" or self.maxiter == 0:
            fun(x0)
            return x0
        method = {"cobyla": "COBYLA", "nelder-mead": "Nelder-Mead", "powell": "Powell"}[
            self.optimizer
        ]
        opts: dict[str, Any] = {"maxiter": int(self.maxiter)}
        if method == "COBYLA":
            opts["rhobeg"] = _COBYLA_RHOBEG
            opts["tol"] = _COBYLA_TOL
        elif method == "Nelder-Mead":
            opts["maxfev"] = int(self.maxiter)
        else:
            opts["maxfev"] = int(self.maxiter)
        minimize(fun, x0, method=method, options=opts)
        return np.array(best["x"])

    def _layerwise(self, x1: np.ndarray, p: int, fun: Any, best: dict[str, Any]) -> np.ndarray:
        """Kernel refinement of p=1, then INTERP to each further layer and refine."""
        x = np.array(x1)
        for layer in range(1, p + 1):
            if layer > 1:
                x = np.concatenate([_interp(x[: layer - 1]), _interp(x[layer - 1 :])])
            best["x"], best["f"] = x, math.inf
            if layer == 1:
                continue  # the closed form already optimised p=1 exactly
            x = self._minimize(fun, x, best)
        return x

    # ---------------------------------------------------------------- aer
    def _backend(self, seed: int | None) -> Any:
        """The ideal Aer simulator (seeded)."""
        from qiskit_aer import AerSimulator

        opts: dict[str, Any] = {"method": self.simulator_method}
        if seed is not None:
            opts["seed_simulator"] = int(seed) % (2**31)
        return AerSimulator(**opts)

    def _transpiled(
        self, qubo: Qubo, gammas: np.ndarray, betas: np.ndarray, seed: int | None
    ) -> QuantumCircuit:
        """The bound circuit transpiled to a generic CX + RZ/SX/X basis."""
        return _ideal_pass_manager(int(self.optimization_level),
                                   0 if seed is None else int(seed)).run(
            qaoa_circuit(qubo, gammas, betas))

    def _sample_circuit(
        self, circuit: QuantumCircuit, backend: Any, n: int, seed: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        from qiskit_aer.primitives import SamplerV2

        sampler = SamplerV2.from_backend(backend, seed=seed, default_shots=int(self.shots))
        result = sampler.run([circuit]).result()[0]
        counts = result.data.meas.get_counts()
        keys = sorted(counts)
        z = np.array([[int(ch) for ch in reversed(k)] for k in keys], dtype=np.float64)
        return z.reshape(len(keys), n), np.array([counts[k] for k in keys], dtype=np.int64)

    def _duration(self, circuit: QuantumCircuit, timing: Mapping[str, float]) -> float:
        """One shot of ``circuit``: the device target's gate times, else the depth model."""
        target = fake_backend(self.noise).target if self.noise is not None else None
        return circuit_duration_s(circuit, target, timing)[0]

    def _noisy_refine(
        self, setup: NoisySetup, cost: np.ndarray, x_norm: np.ndarray, scale: float,
        seed: int | None, counters: dict[str, int], deadline: float | None,
    ) -> tuple[np.ndarray, dict[str, Any], bool]:
        """Refine the angles on the noisy simulator (sampled mean QUBO cost)."""
        from qiskit_aer.primitives import SamplerV2

        p = x_norm.size // 2
        sampler = SamplerV2.from_backend(setup.simulator, seed=seed,
                                         default_shots=int(self.shots))
        tcirc = setup.compact_circuit
        params = list(tcirc.parameters)
        best = {"x": np.array(x_norm), "f": math.inf}
        weights = 1 << np.arange(int(np.log2(cost.size)))

        def noisy(xn: np.ndarray) -> float:
            if deadline is not None and time.perf_counter() > deadline:
                raise _TimeUp
            g, b = xn[:p] / scale, xn[p:]
            vals = []
            for prm in params:
                k = int(prm.name[prm.name.index("[") + 1 : -1])
                vals.append(g[k] if prm.name.startswith(_GAMMA) else b[k])
            res = sampler.run([(tcirc, np.asarray(vals))]).result()[0]
            bits = res.data.meas.to_bool_array(order="little").astype(np.int64)
            mean = float(cost[bits @ weights].mean())
            counters["aer"] += 1
            counters["iterations"] += 1
            if mean < best["f"]:
                best["x"], best["f"] = np.array(xn), mean
            return mean

        timed_out = False
        try:
            if self.noise_maxiter > 0 and self.initial_point != "fixed":
                from scipy.optimize import minimize

                minimize(noisy, x_norm, method="COBYLA",
                         options={"maxiter": int(self.noise_maxiter), "rhobeg": 0.1})
            else:
                noisy(x_norm)
        except _TimeUp:
            timed_out = True
        return np.array(best["x"]), {
            "noisy_expected_qubo_cost": best["f"] if math.isfinite(best["f"]) else None,
            "device": setup.device_name,
            "physical_qubits": setup.physical_qubits,
        }, timed_out


@dataclass(frozen=True, eq=False)
class _FinalRun:
    """The final sampling run and the state figures reported with it."""

    x_norm: np.ndarray
    circuit: Any
    z: np.ndarray
    counts: np.ndarray
    best_z: np.ndarray
    expected_objective: float
    best_probability: float
    source: str
    target: Any
    extra: dict[str, Any]
    timed_out: bool


def _best_sample(qubo: Qubo, z: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The most frequent among the lowest-QUBO-cost samples."""
    sampled_cost = z @ qubo.linear + np.einsum("si,ij,sj->s", z, qubo.quadratic, z)
    return z[int(np.lexsort((-counts, sampled_cost))[0])]


_PASS_MANAGERS: dict[tuple[int, int], Any] = {}


def _ideal_pass_manager(level: int, seed: int) -> Any:
    """The preset pass manager to the generic basis, built once per (level, seed).

    A preset pass manager runs any number of circuits; building one took about
    7 ms a solve. At most 64 are kept.
    """
    key = (level, seed)
    pm = _PASS_MANAGERS.get(key)
    if pm is None:
        from qiskit.transpiler import generate_preset_pass_manager

        if len(_PASS_MANAGERS) >= 64:
            _PASS_MANAGERS.clear()
        pm = generate_preset_pass_manager(optimization_level=level,
                                          basis_gates=["rz", "sx", "x", "cx"],
                                          seed_transpiler=seed)
        _PASS_MANAGERS[key] = pm
    return pm


def _pad(x: np.ndarray, p: int) -> np.ndarray:
    """Pad half-length angle vectors (gammas, betas of fewer layers) to ``p`` layers."""
    q = x.size // 2
    g = np.concatenate([x[:q], np.zeros(p - q)])
    b = np.concatenate([x[q:], np.zeros(p - q)])
    return np.concatenate([g, b])
