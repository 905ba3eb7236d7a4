"""Quality metrics against hand-computed values, and every sampler reporting them alike."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from solvers import Problem, Status, get_solver
from solvers.metrics import (
    QUALITY_KEYS,
    RANDOM_KEYS,
    approximation_ratio,
    approximation_ratios,
    random_baseline_closed_form,
    random_baseline_sampled,
    sample_quality,
    success_probability,
    tts99,
)
from solvers.qpu import loop_cost, qpu_costs
from solvers.sampling import fold_seed


def two_item_problem() -> Problem:
    """min -x0 - 2 x1 s.t. x0 + x1 <= 1: values 00 -> 0, 10 -> -1, 01 -> -2, 11 infeasible."""
    return Problem(objective=[-1.0, -2.0], kinds="binary", upper=1.0,
                   constraints=[[1.0, 1.0]], row_upper=[1.0])


@pytest.mark.parametrize(("value", "optimum", "sense", "expected"), [
    (10.0, 10.0, "min", 1.0),
    (12.5, 10.0, "min", 0.8),          # f*/f
    (-8.0, -10.0, "min", 0.8),         # f/f* for negative objectives
    (0.0, -10.0, "min", 0.0),          # reached zero: no approximation
    (3.0, -10.0, "min", 0.0),          # across zero
    (0.0, 0.0, "min", 1.0),
    (2.0, 0.0, "min", 0.0),
    (8.0, 10.0, "max", 0.8),
    (-12.5, -10.0, "max", 0.8),
    (9.0, 10.0, "min", 1.0),           # better than a non-optimal reference
])
def test_approximation_ratio_hand_values(value, optimum, sense, expected) -> None:
    assert approximation_ratio(value, optimum, sense) == pytest.approx(expected)


@pytest.mark.parametrize("optimum", [-7.0, 0.0, 3.0])
@pytest.mark.parametrize("sense", ["min", "max"])
def test_approximation_ratio_is_bounded_and_monotone(optimum: float, sense: str) -> None:
    values = np.linspace(-30.0, 30.0, 601)
    r = approximation_ratios(values, optimum, sense)
    assert ((r >= 0.0) & (r <= 1.0)).all()
    worse_order = values if sense == "min" else values[::-1]  # from best to worst
    ordered = approximation_ratios(worse_order, optimum, sense)
    assert (np.diff(ordered) <= 1e-15).all()  # never better when the value gets worse
    assert approximation_ratio(optimum, optimum, sense) == 1.0


def test_tts99_hand_values() -> None:
    assert tts99(3.0, 0.0) == math.inf
    assert tts99(3.0, 1.0) == 3.0
    assert tts99(3.0, 0.9) == pytest.approx(6.0)  # ln 0.01 / ln 0.1 = 2 runs
    assert tts99(1.0, 0.5) == pytest.approx(math.log(0.01) / math.log(0.5))  # 6.64 runs
    assert tts99(2.0, 0.995) == 2.0  # never less than one run


def test_success_probability_hand_values() -> None:
    assert success_probability(0.5, 3) == pytest.approx(0.875)
    assert success_probability(0.0, 1000) == 0.0
    assert success_probability(1.0, 1) == 1.0


def test_sample_quality_hand_values() -> None:
    q = sample_quality(
        objectives=[10.0, 10.05, 12.0, 99.0], counts=[2, 1, 1, 4],
        feasible=[True, True, True, False], optimum=10.0, t_run_s=2.0,
        expected_objective=12.5)
    assert q["p_optimal"] == pytest.approx(2 / 8)
    assert q["p_within_1pct"] == pytest.approx(3 / 8)  # 10/10.05 = 0.995 is within 1 %
    assert q["feasible_share"] == pytest.approx(4 / 8)
    assert q["best_ratio"] == 1.0
    assert q["expected_ratio"] == pytest.approx(0.8)
    assert q["p_success"] == pytest.approx(1 - 0.75**8)
    assert q["tts99_shots"] == pytest.approx(math.log(0.01) / math.log(0.75))
    # one run of 8 shots succeeds with 1 - 0.75^8 = 0.90: about 2 runs of 2 s
    assert q["tts99_s"] == pytest.approx(2.0 * math.log(0.01) / (8 * math.log(0.75)))
    assert set(QUALITY_KEYS) <= set(q)


def test_sample_quality_tts_of_a_weak_run() -> None:
    q = sample_quality([5.0, 6.0], [1, 99], [True, True], 5.0, t_run_s=1.0)
    p = 1 - 0.99**100
    assert q["p_success"] == pytest.approx(p)
    assert q["tts99_s"] == pytest.approx(math.log(0.01) / math.log(1 - p))


def test_random_baseline_closed_form_by_hand() -> None:
    """Ratios per assignment 00: 0, 10: 0.5, 01: 1, 11: infeasible (0); two shots."""
    out = random_baseline_closed_form(two_item_problem(), -2.0, shots=2)
    assert out["p_optimal"] == pytest.approx(0.25)
    assert out["feasible_share"] == pytest.approx(0.75)
    assert out["p_within_1pct"] == pytest.approx(0.25)
    assert out["p_success"] == pytest.approx(1 - 0.75**2)
    # 7 of 16 ordered pairs hold the optimum, 5 more hold 10: (7 + 0.5 * 5) / 16
    assert out["expected_best_ratio"] == pytest.approx(9.5 / 16)
    assert out["method"] == "closed_form"
    assert set(RANDOM_KEYS) <= set(out)


def test_random_baseline_closed_form_against_enumerated_shot_tuples() -> None:
    """Expected best-of-3 ratio and success probability by listing all 3-shot draws."""
    problem = Problem(objective=[3.0, -1.0, 2.0], quadratic=np.array(
        [[0, 2.0, 0], [0, 0, -4.0], [0, 0, 0]]), kinds="binary", upper=1.0,
        constraints=[[1.0, 1.0, 1.0]], row_lower=[1.0])
    xs = ((np.arange(8)[:, None] >> np.arange(3)) & 1).astype(float)
    values = problem.evaluate_many(xs)
    feasible = problem.feasible_mask(xs)
    opt = float(values[feasible].min())
    ratios = np.where(feasible, approximation_ratios(values, opt), 0.0)
    optimal = feasible & (values == opt)
    best, success = [], []
    for draw in itertools.product(range(8), repeat=3):
        best.append(ratios[list(draw)].max())
        success.append(optimal[list(draw)].any())
    out = random_baseline_closed_form(problem, opt, shots=3)
    assert out["expected_best_ratio"] == pytest.approx(np.mean(best), rel=1e-12)
    assert out["p_success"] == pytest.approx(np.mean(success), rel=1e-12)


def test_random_baseline_sampled_agrees_with_the_closed_form() -> None:
    problem = two_item_problem()
    exact = random_baseline_closed_form(problem, -2.0, shots=4000)
    draw = random_baseline_sampled(problem, -2.0, shots=4000, seed=5)
    assert draw["p_optimal"] == pytest.approx(exact["p_optimal"], abs=0.03)
    assert draw["feasible_share"] == pytest.approx(exact["feasible_share"], abs=0.03)


def test_qpu_loop_cost_hand_values() -> None:
    costs = qpu_costs({"rep_delay_s": 1e-4, "job_overhead_s": 2.0, "price_per_qpu_s": 1.5})
    out = loop_cost(evaluations=26, shots=1000, circuit_s=5e-6, costs=costs)
    assert out["qpu_loop_time_s"] == pytest.approx(26 * 1000 * 105e-6)  # 2.73 s
    assert out["qpu_billed_time_s"] == pytest.approx(2.73 + 52.0)
    assert out["qpu_cost"] == pytest.approx(1.5 * 54.73)
    session = loop_cost(evaluations=26, shots=1000, circuit_s=5e-6, costs=qpu_costs(
        {**costs, "billing": "session", "session_overhead_s": 5.0,
         "job_overhead_in_session_s": 0.5}))
    assert session["qpu_billed_time_s"] == pytest.approx(2.73 + 5.0 + 13.0)
    with pytest.raises(ValueError, match="unknown"):
        qpu_costs({"gate_3q_s": 1.0})
    with pytest.raises(ValueError, match="finite"):
        qpu_costs({"price_per_qpu_s": math.nan})


@pytest.mark.parametrize("seed", [0, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**100, -1])
def test_fold_seed_range_and_identity(seed: int) -> None:
    folded = fold_seed(seed)
    assert 0 <= folded < 2**31
    assert fold_seed(seed) == folded  # deterministic
    if 0 <= seed < 2**31:
        assert folded == seed  # in-range seeds unchanged (results for them unchanged)


@pytest.mark.quantum
@pytest.mark.parametrize("name", ["annealing", "tabu", "greedy", "random"])
@pytest.mark.parametrize("seed", [2**31, 2**32 + 7, 2**64 + 1, -3])
def test_samplers_take_any_seed(name: str, seed: int) -> None:
    """dwave-samplers refuses seeds outside its range; ours fold them (same seed, same answer)."""
    pytest.importorskip("dwave.samplers")
    options = {"annealing": {"num_reads": 10, "num_sweeps": 100}, "tabu": {"num_reads": 2},
               "greedy": {"num_reads": 10}, "random": {"shots": 64}}[name]
    solver = get_solver(name, **options)
    a = solver.solve(two_item_problem(), seed=seed)
    b = solver.solve(two_item_problem(), seed=seed)
    assert a.status in (Status.FEASIBLE, Status.OPTIMAL), a.message
    assert a.diagnostics["expected_objective"] == b.diagnostics["expected_objective"]


def _knapsack() -> Problem:
    rng = np.random.default_rng(4)
    w = rng.integers(1, 6, 8).astype(float)
    return Problem(objective=-rng.integers(1, 9, 8).astype(float), kinds="binary", upper=1.0,
                   constraints=[w], row_upper=[float(w.sum() // 2)])


SAMPLERS = {
    "qaoa": {"reps": 1, "shots": 256},
    "annealing": {"num_reads": 50, "num_sweeps": 200},
    "tabu": {"num_reads": 4, "num_restarts": 3},
    "greedy": {"num_reads": 50},
    "random": {"shots": 256},
}


@pytest.mark.quantum
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_reports_the_same_quality_keys(name: str) -> None:
    pytest.importorskip("dimod")
    problem = _knapsack()
    opt = get_solver("exact").solve(problem).objective
    res = get_solver(name, **SAMPLERS[name]).solve(problem, seed=3)
    d = res.diagnostics
    assert set(QUALITY_KEYS) <= set(d), set(QUALITY_KEYS) - set(d)
    assert {f"random_{k}" for k in RANDOM_KEYS} <= set(d)
    assert d["reference_objective"] == pytest.approx(opt)  # milp's optimum by default
    assert 0.0 <= d["p_optimal"] <= d["p_within_1pct"] <= d["feasible_share"] <= 1.0
    assert 0.0 <= d["expected_ratio"] <= 1.0
    if res.has_solution:
        assert d["result_ratio"] == pytest.approx(approximation_ratio(res.objective, opt))
        assert d["best_ratio"] <= d["result_ratio"] + 1e-12  # repair can only add
    assert d["tts99_s"] >= res.wall_time_s or d["tts99_s"] == math.inf
    # the random baseline is at equal shots and is the closed form here (8 binaries)
    assert d["random_method"] == "closed_form"
    assert d["random_p_optimal"] == pytest.approx(random_baseline_closed_form(
        problem, opt, d["shots"])["p_optimal"])
    # the caller's reference is used as given, and no reference means no ratio keys
    given = get_solver(name, **SAMPLERS[name]).solve(problem, seed=3,
                                                     reference_objective=opt - 1.0)
    assert given.diagnostics["reference_solver"] == "given"
    assert given.diagnostics["p_optimal"] == 0.0
    bare = get_solver(name, **SAMPLERS[name], reference_solver=None).solve(problem, seed=3)
    assert "expected_ratio" not in bare.diagnostics
    assert "feasible_share" in bare.diagnostics


@pytest.mark.quantum
def test_infeasible_samples_are_counted_never_reported_as_solutions() -> None:
    """Ten one-hot slots: random sampling is mostly infeasible; repair off shows it honestly."""
    pytest.importorskip("dimod")
    problem = Problem(objective=np.arange(10.0), kinds="binary", upper=1.0,
                      constraints=[np.ones(10)], row_lower=[1.0], row_upper=[1.0])
    res = get_solver("random", shots=64, repair=False).solve(problem, seed=1)
    d = res.diagnostics
    share = 10 / 1024
    assert d["feasible_share"] < share + 0.1
    assert d["random_feasible_share"] == pytest.approx(share)
    if res.has_solution:
        assert problem.is_feasible(res.x)
    else:
        assert res.status is Status.INFEASIBLE
        assert d["best_ratio"] == 0.0


def test_binary_enumeration_by_doubling_equals_row_by_row() -> None:
    from solvers.metrics import _binary_enumeration

    rng = np.random.default_rng(2)
    n = 9
    problem = Problem(objective=rng.normal(size=n), quadratic=np.triu(rng.normal(size=(n, n)), 1),
                      kinds="binary", lower=np.r_[np.zeros(n - 1), 1.0], upper=1.0,
                      constraints=rng.integers(-2, 4, size=(3, n)).astype(float),
                      row_lower=[-np.inf, 1.0, 2.0], row_upper=[5.0, np.inf, 2.0])
    xs = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)
    objective, feasible = _binary_enumeration(problem)
    np.testing.assert_allclose(objective, problem.evaluate_many(xs), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(feasible, problem.feasible_mask(xs))
    assert 0 < feasible.sum() < feasible.size
