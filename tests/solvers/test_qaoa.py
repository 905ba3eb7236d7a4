"""QAOA correctness: the landscape API against independent simulations, field instances."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from solvers import Problem, Status, approximation_ratio, compare, get_solver
from solvers.qaoa import expectation, qaoa_circuit
from solvers.qubo import cost_vector, to_qubo
from solvers.sampling import evaluate_samples, repair_binary
from solvers.statevector import QaoaKernel, p1_expectation

pytest.importorskip("qiskit_aer")
pytestmark = pytest.mark.quantum

_spec = importlib.util.spec_from_file_location(
    "field_instances", Path(__file__).with_name("field_instances.py"))
fi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fi)  # type: ignore[union-attr]


def _all_assignments(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def _penalised_objective(problem: Problem) -> np.ndarray:
    """Problem-sense value of every QUBO basis state (independent of the kernel)."""
    qubo = to_qubo(problem)
    zs = _all_assignments(qubo.num_variables)
    return qubo.sign * qubo.evaluate(zs)


def _statevector_expectation(problem: Problem, gammas, betas) -> float:
    from qiskit.quantum_info import Statevector

    circ = qaoa_circuit(to_qubo(problem), gammas, betas)
    circ.remove_final_measurements()
    probs = Statevector(circ).probabilities()
    return float(probs @ _penalised_objective(problem))


PROBLEMS = {
    "ev-soft-8": lambda: fi.ev_charging(2, 4, soft=True, seed=1),
    "battery-8-max": lambda: fi.battery_slots(4, 1, seed=2).replace(
        sense="maximize", objective=-fi.battery_slots(4, 1, seed=2).objective),
    "uc-binary": lambda: fi.unit_commitment_binary(3, 2, seed=3),
}


@pytest.mark.parametrize("key", sorted(PROBLEMS))
@pytest.mark.parametrize(("gammas", "betas"), [([0.13], [-0.4]), ([0.05, 0.11], [0.5, -0.2])])
def test_expectation_matches_qiskit_statevector(key: str, gammas, betas) -> None:
    problem = PROBLEMS[key]()
    ours = expectation(problem, gammas, betas)
    ref = _statevector_expectation(problem, gammas, betas)
    assert ours == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_expectation_without_constraints_is_the_expected_objective() -> None:
    problem = fi.ev_charging(2, 3, soft=True, seed=4)
    values = problem.evaluate_many(_all_assignments(problem.num_variables))
    # gamma = beta = 0: the uniform superposition
    assert expectation(problem, [0.0], [0.0]) == pytest.approx(values.mean())


def test_p1_closed_form_matches_the_kernel() -> None:
    problem = fi.unit_commitment_binary(3, 2, seed=5)
    qubo = to_qubo(problem)
    h, j, offset = qubo.to_ising()
    kernel = QaoaKernel(cost_vector(qubo.linear, qubo.quadratic, qubo.constant))
    for gamma, beta in [(0.01, 0.3), (0.07, -0.6), (0.2, 1.1)]:
        assert p1_expectation(h, j, offset, gamma, beta) == pytest.approx(
            kernel.expectation([gamma], [beta], precise=True), rel=1e-9)


def test_expectation_agrees_with_aer_samples_within_shot_noise() -> None:
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2

    problem = fi.ev_charging(2, 4, soft=True, seed=6)
    gammas, betas = [0.04, 0.09], [0.45, 0.2]
    exact = expectation(problem, gammas, betas)
    circ = qaoa_circuit(to_qubo(problem), gammas, betas)
    circ = generate_preset_pass_manager(1, AerSimulator()).run(circ)
    shots = 8192
    bits = SamplerV2(seed=1).run([circ], shots=shots).result()[0].data.meas
    z = bits.to_bool_array(order="little").astype(float)
    values = problem.evaluate_many(z)
    stderr = values.std(ddof=1) / np.sqrt(shots)
    assert abs(values.mean() - exact) < 4 * stderr
    assert abs(values.mean() - exact) > 0 or stderr == 0  # real samples, not the exact value


FIELD = {
    "ev-8": lambda: fi.ev_charging(2, 4, soft=False, seed=0),
    "ev-soft-16": lambda: fi.ev_charging(2, 8, soft=True, seed=0),
    "battery-12": lambda: fi.battery_slots(6, 2, seed=0),
    "uc-8": lambda: fi.unit_commitment_binary(4, 2, seed=0),
}


@pytest.mark.parametrize("key", sorted(FIELD))
def test_qaoa_on_field_instances_reports_its_approximation_ratio(key: str) -> None:
    problem = FIELD[key]()
    rows = compare(problem, {"qaoa": get_solver("qaoa", reps=2)}, reference="milp", seed=5)
    ref, row = rows
    assert ref["status"] == "optimal"
    assert row["status"] == "feasible", row["message"]
    ratio = row["approximation_ratio"]
    assert ratio is not None
    assert 0 < ratio <= 1 + 1e-9
    # the best of 1,024 shots over at most 16 qubits lands within 15 % of the optimum
    assert ratio >= 0.85, row


def test_qaoa_result_is_feasible_and_its_diagnostics_are_consistent() -> None:
    problem = fi.ev_charging(2, 4, soft=False, seed=0)
    res = get_solver("qaoa", reps=2, shots=2048,
                     qpu_timing={"job_overhead_s": 1.0, "rep_delay_s": 0.0}).solve(problem,
                                                                                  seed=1)
    assert res.status is Status.FEASIBLE
    assert problem.is_feasible(res.x)
    d = res.diagnostics
    assert d["qubits"] == 8
    assert d["reps"] == 2
    assert d["shots"] == 2048
    assert d["two_qubit_gates"] > 0
    assert d["depth"] > d["two_qubit_gates"] / 8
    assert d["qasm3"].startswith("OPENQASM 3")
    assert d["qasm3"].count("measure") >= 8
    assert d["optimizer_iterations"] >= 1
    assert d["circuit_evaluations"] >= 2
    assert len(d["final_angles"]) == 4
    assert 0 < d["best_probability"] <= 1
    # expected objective of the final state equals the landscape API at the final angles
    g, b = d["final_angles"][:2], d["final_angles"][2:]
    assert d["expected_objective"] == pytest.approx(expectation(problem, g, b), rel=1e-9)
    assert d["modelled_qpu_time_s"] == pytest.approx(1.0 + 2048 * d["circuit_duration_s"])
    assert d["penalty"] is not None
    assert d["penalty"] > 0


def test_optimised_angles_beat_the_uniform_superposition() -> None:
    problem = fi.ev_charging(2, 5, soft=True, seed=2)
    res = get_solver("qaoa", reps=2).solve(problem, seed=0)
    assert res.diagnostics["expected_objective"] < expectation(problem, [0.0], [0.0])


def test_fixed_angles_are_used_as_given() -> None:
    problem = fi.ev_charging(2, 3, soft=True, seed=2)
    angles = [0.05, 0.3]
    res = get_solver("qaoa", initial_point="fixed", angles=angles).solve(problem, seed=0)
    assert res.diagnostics["final_angles"] == pytest.approx(angles)
    assert res.diagnostics["optimizer_iterations"] == 0
    assert res.diagnostics["expected_objective"] == pytest.approx(
        expectation(problem, [0.05], [0.3]))


def test_angle_transfer_reuses_earlier_solves() -> None:
    solver = get_solver("qaoa", reps=2, initial_point="transfer", maxiter=15)
    a, b = fi.ev_charging(2, 5, soft=True, seed=1), fi.ev_charging(2, 5, soft=True, seed=2)
    first = solver.solve(a, seed=0)
    assert first.diagnostics["initial_point"] == "auto"  # nothing to transfer yet
    second = solver.solve(b, seed=0)
    assert second.diagnostics["initial_point"] == "transfer"
    # the start point is the first solve's normalised angles, rescaled to b
    norm = np.array(first.diagnostics["normalised_angles"])
    scale_b = second.diagnostics["angle_scale"]
    start = expectation(b, norm[:2] / scale_b, norm[2:])
    assert start < expectation(b, [0.0], [0.0])  # transferred angles already help
    assert second.diagnostics["expected_objective"] <= start + 1e-6  # refined from there


def test_bounded_integers_are_encoded() -> None:
    problem = Problem(objective=[-3.0, -2.0], kinds="integer", lower=0, upper=[3, 2],
                      constraints=[[1, 1]], row_upper=[4])
    res = get_solver("qaoa", reps=2).solve(problem, seed=0)
    assert res.status is Status.FEASIBLE
    assert problem.is_feasible(res.x)
    assert res.diagnostics["qubits"] > 2  # integer bits plus slack bits
    assert res.objective >= get_solver("milp").solve(problem).objective


def test_infeasible_samples_are_repaired_or_flagged() -> None:
    problem = Problem(objective=[1.0, 2.0, 3.0, 4.0], kinds="binary", upper=1.0,
                      constraints=[[1, 1, 1, 1]], row_lower=[2], row_upper=[2])
    bad = np.array([[1, 1, 1, 1], [0, 0, 0, 0]], dtype=float)
    fixed = repair_binary(problem, bad[0])
    assert fixed is not None
    assert problem.is_feasible(fixed)
    samples = evaluate_samples(problem, bad, np.array([5, 3]))
    assert samples.feasible[0]
    assert samples.repaired[0]
    assert samples.counts[0] == 0  # repaired assignments were never sampled
    samples = evaluate_samples(problem, bad, np.array([5, 3]), repair=False)
    assert not samples.feasible.any()
    # QAOA with a single shot: whatever it returns respects the constraints
    res = get_solver("qaoa", shots=1).solve(problem, seed=4)
    if res.x is not None:
        assert problem.is_feasible(res.x)
    else:
        assert res.status is Status.INFEASIBLE
        assert res.diagnostics["infeasible_proven"] is False


def test_too_many_qubits_is_unsupported_with_the_reason() -> None:
    problem = Problem(objective=np.ones(30), kinds="binary", upper=1.0)
    res = get_solver("qaoa").solve(problem)
    assert res.status is Status.UNSUPPORTED
    assert "max_qubits=24" in res.message
    res = get_solver("qaoa", max_qubits=40).solve(problem)
    assert res.status is Status.UNSUPPORTED
    assert "GiB" in res.message


def test_continuous_variables_are_unsupported() -> None:
    res = get_solver("qaoa").solve(fi.unit_commitment_mixed(2, 2))
    assert res.status is Status.UNSUPPORTED
    assert "hybrid" in res.message


def test_device_noise_runs_transpiled_to_the_device() -> None:
    pytest.importorskip("qiskit_ibm_runtime")
    problem = fi.ev_charging(1, 4, soft=True, seed=0)
    res = get_solver("qaoa", noise="FakeManilaV2", noise_maxiter=5, shots=512).solve(
        problem, seed=2)
    assert res.status is Status.FEASIBLE
    d = res.diagnostics
    assert d["device"] == "fake_manila"
    assert len(d["physical_qubits"]) >= 4
    assert d["noisy_expected_qubo_cost"] is not None
    assert "cx" in d["qasm3"] or "ecr" in d["qasm3"] or "cz" in d["qasm3"]
    ideal = get_solver("qaoa").solve(problem, seed=2)
    assert ideal.diagnostics["qasm3"] != d["qasm3"]


def test_compact_noise_model_matches_the_full_device() -> None:
    """Simulating only the used qubits gives the same distribution as the whole device."""
    pytest.importorskip("qiskit_ibm_runtime")
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2

    from solvers.noise import NoisySetup, fake_backend
    from solvers.qaoa import _bind, _parametric_circuit

    problem = fi.ev_charging(1, 3, soft=True, seed=0)
    qubo = to_qubo(problem)
    circ = _parametric_circuit(qubo, 1)
    circ.measure_all()
    setup = NoisySetup.build("manila", circ, optimization_level=1, simulator_method="automatic",
                             seed=0)
    shots = 8000
    full = SamplerV2.from_backend(AerSimulator.from_backend(fake_backend("manila")), seed=1)
    compact = SamplerV2.from_backend(setup.simulator, seed=2)
    dev = _bind(setup.device_circuit, [0.3], [0.4])
    cmp_ = _bind(setup.compact_circuit, [0.3], [0.4])
    a = full.run([dev], shots=shots).result()[0].data.meas.get_counts()
    b = compact.run([cmp_], shots=shots).result()[0].data.meas.get_counts()
    keys = set(a) | set(b)
    tv = 0.5 * sum(abs(a.get(k, 0) - b.get(k, 0)) for k in keys) / shots
    assert tv < 0.05


def test_approximation_ratio_conventions() -> None:
    assert approximation_ratio(10.0, 10.0) == 1.0
    assert approximation_ratio(12.5, 10.0, "min") == pytest.approx(0.8)
    assert approximation_ratio(-8.0, -10.0, "min") == pytest.approx(0.8)
    assert approximation_ratio(8.0, 10.0, "max") == pytest.approx(0.8)
    # across zero: no approximation at all; a zero optimum is met only by <= 0
    assert approximation_ratio(1.0, -1.0, "min") == 0.0
    assert approximation_ratio(2.0, 0.0, "min") == 0.0


@pytest.mark.slow
def test_device_noise_on_a_large_device() -> None:
    """FakeTorino (133 qubits): builds its noise model once (about 15 s), then runs compactly."""
    pytest.importorskip("qiskit_ibm_runtime")
    problem = fi.ev_charging(2, 3, soft=True, seed=0)
    ideal = get_solver("qaoa").solve(problem, seed=1)
    res = get_solver("qaoa", noise="FakeTorino", noise_maxiter=5).solve(problem, seed=1)
    assert res.status is Status.FEASIBLE
    d = res.diagnostics
    assert d["device"] == "fake_torino"
    assert "cz" in d["qasm3"]  # Heron's native two-qubit gate
    assert d["circuit_duration_s"] > 0
    # noise pulls the sampled energy above the ideal state's exact expectation
    # (margin: shot noise and the optimiser keeping its luckiest sample)
    ideal_e = ideal.diagnostics["expected_objective"]
    noisy_e = d["noisy_expected_qubo_cost"] * to_qubo(problem).sign
    assert noisy_e > ideal_e - 0.05 * abs(ideal_e)


def test_reported_qasm_is_the_circuit_whose_state_expectation_describes() -> None:
    """Load the solver's own OpenQASM 3 (the transpiled circuit Aer ran) back into qiskit."""
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3
    from qiskit.quantum_info import Statevector

    problem = fi.battery_slots(4, 1, seed=3)  # constrained: the QUBO carries penalties
    res = get_solver("qaoa", reps=2).solve(problem, seed=2)
    d = res.diagnostics
    circ = qasm3.loads(d["qasm3"])
    circ.remove_final_measurements()
    probs = Statevector(circ).probabilities()
    assert circ.num_qubits == d["qubits"]  # no coupling map in the ideal case: no routing
    value = float(probs @ _penalised_objective(problem))
    assert value == pytest.approx(d["expected_objective"], rel=1e-7, abs=1e-7)


def test_p1_closed_form_on_a_grid_equals_its_pointwise_values() -> None:
    """The vectorised grid evaluation (chunked) is the scalar formula at every point."""
    import solvers.statevector as sv

    problem = fi.ev_charging(2, 5, soft=True, seed=10)
    qubo = to_qubo(problem)
    h, j, offset = qubo.to_ising()
    gg, bb = np.meshgrid(np.linspace(0.01, 0.3, 7), np.linspace(-0.7, 0.7, 5), indexing="ij")
    grid = p1_expectation(h, j, offset, gg, bb)
    assert grid.shape == gg.shape
    kernel = QaoaKernel(cost_vector(qubo.linear, qubo.quadratic, qubo.constant))
    for idx in [(0, 0), (3, 2), (6, 4)]:
        assert grid[idx] == pytest.approx(
            kernel.expectation([gg[idx]], [bb[idx]], precise=True), rel=1e-9)
    old = sv._P1_CHUNK_ELEMENTS
    try:
        sv._P1_CHUNK_ELEMENTS = 1  # one angle pair per chunk
        assert np.allclose(p1_expectation(h, j, offset, gg, bb), grid, rtol=1e-13, atol=0)
    finally:
        sv._P1_CHUNK_ELEMENTS = old


@pytest.mark.parametrize("n", [3, 7, 18])
def test_kernel_blocked_and_threaded_paths_match_a_dense_reference(n: int) -> None:
    """Blocks (16 qubits), the two-thread split (>= 18 qubits) and odd group counts."""
    rng = np.random.default_rng(n)
    cost = rng.standard_normal(1 << n) * 5
    gammas, betas = [0.3, -0.2], [0.4, -0.3]
    psi = np.full(1 << n, 2 ** (-n / 2), dtype=complex)
    rx = [np.array([[np.cos(b), -1j * np.sin(b)], [-1j * np.sin(b), np.cos(b)]]) for b in betas]
    for g, m in zip(gammas, rx, strict=True):
        psi = (psi * np.exp(-1j * g * cost)).reshape([2] * n)
        for q in range(n):
            ax = n - 1 - q  # qubit q is bit q: axis n-1-q of the C-ordered reshape
            psi = np.moveaxis(np.tensordot(m, psi, axes=([1], [ax])), 0, ax)
        psi = psi.reshape(-1)
    kernel = QaoaKernel(cost)
    state = kernel.state(gammas, betas, precise=True)
    assert np.abs(state - psi).max() < 1e-12
    ref = float(np.abs(psi) ** 2 @ cost)
    assert kernel.expectation(gammas, betas, precise=True) == pytest.approx(ref, rel=1e-12)
    assert kernel.expectation(gammas, betas) == pytest.approx(ref, rel=1e-4, abs=1e-4)
    first = kernel.state(gammas, betas)
    kernel.expectation([0.1, 0.1], [0.1, 0.1])  # reuses the work buffers
    assert np.array_equal(kernel.state(gammas, betas), first)  # state() returns a copy


def _problem_sense_costs(problem: Problem) -> np.ndarray:
    qubo = to_qubo(problem)
    return qubo.sign * cost_vector(qubo.linear, qubo.quadratic, qubo.constant)


def test_noise_mode_reports_the_noisy_run() -> None:
    """The reported expectation is the noisy circuit's, checked against an independent run.

    The reported OpenQASM 3 (the device-transpiled circuit) runs again on
    ``AerSimulator.from_backend`` of the same fake device (its full noise model, a
    different seed, more shots): the two noisy means agree within shot noise, and
    both differ clearly from the ideal state's exact expectation at the same angles.
    """
    pytest.importorskip("qiskit_ibm_runtime")
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3
    from qiskit_aer import AerSimulator

    from solvers.noise import fake_backend as _fake_backend

    problem = fi.ev_charging(1, 4, soft=True, seed=0)
    shots = 4096
    res = get_solver("qaoa", noise="FakeManilaV2", noise_maxiter=5, shots=shots,
                     reps=2).solve(problem, seed=2)
    d = res.diagnostics
    assert d["expected_objective_source"] == "noisy samples of the final run"
    costs = _problem_sense_costs(problem)
    n = int(np.log2(costs.size))
    circ = qasm3.loads(d["qasm3"])
    counts = AerSimulator.from_backend(_fake_backend("FakeManilaV2"), seed_simulator=99).run(
        circ, shots=16000).result().get_counts()
    idx = np.array([int(k.replace(" ", ""), 2) & ((1 << n) - 1) for k in counts])
    w = np.array(list(counts.values()), dtype=float)
    mean = float(costs[idx] @ w / w.sum())
    sd = float(np.sqrt(((costs[idx] - mean) ** 2) @ w / w.sum()))
    se = sd * np.sqrt(1 / shots + 1 / w.sum())
    assert abs(d["expected_objective"] - mean) < 4 * se, (d["expected_objective"], mean, se)
    # noise matters here: the ideal state at the same angles is far lower
    ideal = d["ideal_expected_objective"]
    assert ideal == pytest.approx(expectation(problem, d["final_angles"][:2],
                                              d["final_angles"][2:]))
    assert d["expected_objective"] - ideal > 6 * sd / np.sqrt(shots)
    # the other figures come from the same noisy shots
    assert d["p_optimal"] <= d["feasible_share"]
    assert 0 < d["best_probability"] <= 1
    # the whole loop is billed, with the device's gate times
    assert d["qpu_jobs"] == d["optimizer_iterations"] + 1
    assert d["circuit_duration_s"] == pytest.approx(
        circ.estimate_duration(_fake_backend("FakeManilaV2").target, unit="s"))
    assert d["qpu_loop_time_s"] == pytest.approx(
        d["qpu_jobs"] * shots * (d["circuit_duration_s"] + d["qpu_cost_model"]["rep_delay_s"]))


def test_ideal_mode_bills_every_kernel_evaluation() -> None:
    problem = fi.ev_charging(2, 4, soft=True, seed=1)
    res = get_solver("qaoa", reps=2, shots=500,
                     qpu_costs={"billing": "session", "price_per_qpu_s": 2.0}).solve(
        problem, seed=0)
    d = res.diagnostics
    assert d["optimizer_iterations"] > 0
    assert d["qpu_jobs"] == d["optimizer_iterations"] + 1
    c = d["qpu_cost_model"]
    expected = (d["qpu_jobs"] * 500 * (d["circuit_duration_s"] + c["rep_delay_s"])
                + c["session_overhead_s"] + d["qpu_jobs"] * c["job_overhead_in_session_s"])
    assert d["qpu_billed_time_s"] == pytest.approx(expected)
    assert d["qpu_cost"] == pytest.approx(2.0 * expected)
    assert d["expected_objective_source"] == "exact ideal state"


def test_unknown_noise_model_is_unsupported_and_names_it() -> None:
    from solvers.noise import noise_model_reason, noise_models

    pytest.importorskip("qiskit_ibm_runtime")
    res = get_solver("qaoa", noise="FakeAtlantis").solve(fi.ev_charging(1, 3, soft=True))
    assert res.status is Status.UNSUPPORTED
    assert "FakeAtlantis" in res.message
    assert "FakeTorino" in res.message  # lists valid names
    assert "FakeTorino" in noise_models()
    assert noise_model_reason("torino") is None
    assert noise_model_reason("fake_manila_v2") is None


def test_non_finite_penalty_and_no_binaries_are_unsupported() -> None:
    problem = fi.battery_slots(3, 1, seed=0)  # constrained: needs a penalty
    for bad in (float("inf"), float("nan")):
        res = get_solver("qaoa", penalty=bad).solve(problem)
        assert res.status is Status.UNSUPPORTED
        assert "penalty" in res.message
        assert "finite" in res.message
    continuous = Problem(objective=[1.0, 2.0], upper=1.0)
    res = get_solver("qaoa").solve(continuous)
    assert res.status is Status.UNSUPPORTED
    assert "no binary or integer variables" in res.message


def test_compact_noise_model_of_every_qubit_is_the_full_device_model() -> None:
    """Built through qiskit-aer's public device-model functions on the compact target:
    on all of a device's qubits it equals NoiseModel.from_backend exactly."""
    pytest.importorskip("qiskit_ibm_runtime")
    from qiskit_aer.noise import NoiseModel

    from solvers.noise import compact_noise_model, fake_backend

    fake = fake_backend("manila")
    assert compact_noise_model("manila", range(fake.num_qubits)) == NoiseModel.from_backend(fake)
    assert compact_noise_model("manila", range(fake.num_qubits), 2.0) != \
        NoiseModel.from_backend(fake)


def test_two_qubit_error_scale_moves_the_noisy_expectation() -> None:
    """The noise scale multiplies the two-qubit errors the circuit sees (reported as
    two_qubit_error_mean), and a 30x scale makes the noisy expected objective worse than
    the calibrated device's, which is worse than relaxation-only (scale 0)."""
    pytest.importorskip("qiskit_ibm_runtime")
    problem = fi.ev_charging(1, 3, soft=True, seed=0)
    out = {}
    for scale in (0.0, 1.0, 30.0):
        res = get_solver("qaoa", noise="manila", noise_maxiter=0, shots=4000,
                         two_qubit_error_scale=scale).solve(problem, seed=5)
        d = res.diagnostics
        assert d["two_qubit_error_scale"] == scale
        out[scale] = (d["expected_objective"], d["two_qubit_error_mean"])
    assert out[0.0][1] == 0.0
    assert out[30.0][1] == pytest.approx(30.0 * out[1.0][1])
    sign = to_qubo(problem).sign
    e = {k: sign * v[0] for k, v in out.items()}
    assert e[0.0] < e[30.0]
    assert e[1.0] < e[30.0]
    from solvers.registry import SolverOptionError

    with pytest.raises(SolverOptionError, match="two_qubit_error_scale"):
        get_solver("qaoa", noise="manila", two_qubit_error_scale=-1.0)
