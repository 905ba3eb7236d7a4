"""The compiled QAOA kernel (solvers.statevector_jit) against Aer and the numpy kernel."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.statevector import QaoaKernel

jit = pytest.importorskip("solvers.statevector_jit")
if not jit.AVAILABLE:
    pytest.skip("numba is not installed", allow_module_level=True)
numba = pytest.importorskip("numba")


def _random_ising(n: int, seed: int, integer: bool) -> tuple[list, np.ndarray]:
    """Random Ising cost: Pauli terms (for qiskit) and its diagonal (bit i = qubit i)."""
    rng = np.random.default_rng(seed)
    terms = []
    for i in range(n):
        terms.append(("Z", [i], float(rng.integers(-2, 3) if integer else rng.normal())))
        for j in range(i + 1, n):
            if rng.random() < 0.4:
                w = float(rng.integers(-3, 4) if integer else rng.normal())
                terms.append(("ZZ", [i, j], w))
    z = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    spins = 1 - 2 * z
    cost = np.zeros(1 << n)
    for _, qubits, w in terms:
        cost += w * np.prod(spins[:, qubits], axis=1)
    return terms, cost


def _aer_expectation(n: int, terms: list, cost: np.ndarray, gammas, betas) -> float:
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    op = SparsePauliOp.from_sparse_list(terms, num_qubits=n)
    circ = qaoa_ansatz(op, reps=len(gammas))
    circ.save_statevector()
    sim = AerSimulator(method="statevector", precision="double")
    circ = generate_preset_pass_manager(optimization_level=1, backend=sim).run(circ)
    values = {}
    for prm in circ.parameters:
        k = int(prm.name[prm.name.index("[") + 1 : -1])
        values[prm] = float(gammas[k] if prm.name.startswith("\u03b3") else betas[k])
    state = np.asarray(sim.run(circ.assign_parameters(values)).result().get_statevector())
    return float(cost @ (state.real**2 + state.imag**2))


@pytest.mark.quantum
@pytest.mark.parametrize(("n", "integer"), [(5, True), (9, False), (18, True), (18, False)])
def test_compiled_kernel_agrees_with_aer_statevector(n: int, integer: bool) -> None:
    """float64 expectation = Aer's double-precision statevector's, to 1e-10.

    Integer costs take the phase-lookup path, real ones the cos/sin path; 18 qubits
    runs the threaded low pass (blocks of 2^16) and a high pass (qubits 16, 17).
    """
    terms, cost = _random_ising(n, seed=n + integer, integer=integer)
    rng = np.random.default_rng(n)
    gammas, betas = rng.uniform(-0.6, 0.6, 3), rng.uniform(-0.8, 0.8, 3)
    kernel = QaoaKernel(cost)
    assert kernel.compiled
    assert (jit.integer_levels(cost) is not None) == integer
    ref = _aer_expectation(n, terms, cost, gammas, betas)
    scale = max(1.0, float(np.abs(cost).max()))
    assert abs(kernel.expectation(gammas, betas, precise=True) - ref) < 1e-10 * scale
    assert kernel.expectation(gammas, betas) == pytest.approx(ref, abs=1e-4 * scale)


@pytest.mark.parametrize("integer", [True, False])
def test_compiled_state_equals_the_numpy_kernel(integer: bool) -> None:
    """Same state (complex128) as the numpy fallback, probabilities and p = 0 too."""
    n = 11
    _, cost = _random_ising(n, seed=3, integer=integer)
    gammas, betas = [0.3, -0.2, 0.5], [0.4, -0.3, 0.1]
    fast, slow = QaoaKernel(cost), QaoaKernel(cost, compiled=False)
    assert fast.compiled
    assert not slow.compiled
    a, b = fast.state(gammas, betas, precise=True), slow.state(gammas, betas, precise=True)
    assert a.dtype == np.complex128
    assert b.dtype == np.complex128
    assert np.abs(a - b).max() < 1e-13
    assert np.abs(fast.state(gammas, betas) - b).max() < 1e-5  # complex64
    assert fast.state(gammas, betas).dtype == np.complex64
    assert np.allclose(fast.probabilities(gammas, betas), slow.probabilities(gammas, betas),
                       rtol=0, atol=1e-14)
    uniform = fast.state([], [], precise=True)
    assert np.allclose(uniform, 2 ** (-n / 2), rtol=0, atol=1e-15)
    assert fast.expectation([], [], precise=True) == pytest.approx(cost.mean(), rel=1e-12)
    assert fast.evaluations == 6  # state x2 (+1 c64), probabilities, state, expectation


def test_results_are_bit_identical_for_any_thread_count_and_block_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Threads and cache blocking change no bit: the butterflies run in one qubit order.

    Small blocks and groups (4-qubit blocks, 3-qubit high groups, 256-amplitude
    buffers) force five high passes on 19 qubits, with runs of 16 and 32 amplitudes.
    """
    n = 19
    _, cost = _random_ising(n, seed=7, integer=False)
    gammas, betas = [0.2, -0.4], [0.3, 0.7]
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        kernel = QaoaKernel(cost)
        one = kernel.state(gammas, betas, precise=True)
        e_one = kernel.expectation(gammas, betas, precise=True)
        f_one = kernel.expectation(gammas, betas)
        numba.set_num_threads(threads)
        assert np.array_equal(kernel.state(gammas, betas, precise=True), one)
        assert kernel.expectation(gammas, betas, precise=True) == e_one
        assert kernel.expectation(gammas, betas) == f_one
        monkeypatch.setattr(jit, "BLOCK_QUBITS", 4)
        monkeypatch.setattr(jit, "HIGH_GROUP", 3)
        monkeypatch.setattr(jit, "_BUFFER_AMPLITUDES", 256)
        small = QaoaKernel(cost)
        assert len(jit.CompiledEvolver(cost, np.float64).plan(threads)[1]) == 5
        assert np.array_equal(small.state(gammas, betas, precise=True), one)
    finally:
        numba.set_num_threads(threads)


def test_integer_levels_only_for_integer_costs_in_range() -> None:
    cost = np.array([-3.0, 0.0, 2.0, 2.0])
    index, values = jit.integer_levels(cost)
    assert index.dtype == np.uint8
    assert np.array_equal(values[index], cost)
    wide = np.array([0.0, 300.0, 5.0, 1.0])
    index, values = jit.integer_levels(wide)
    assert index.dtype == np.uint16
    assert np.array_equal(values[index], wide)
    assert jit.integer_levels(np.array([0.0, 0.5, 1.0, 2.0])) is None
    assert jit.integer_levels(np.array([0.0, 70000.0, 1.0, 2.0])) is None
    assert jit.integer_levels(np.array([0.0, np.nan, 1.0, 2.0])) is None


def test_numpy_fallback_is_chosen_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDTWIN_QAOA_KERNEL", "numpy")
    assert not QaoaKernel(np.arange(4.0)).compiled
    monkeypatch.delenv("GRIDTWIN_QAOA_KERNEL")
    assert QaoaKernel(np.arange(4.0)).compiled
