"""HiGHS statuses and options; baselines and the hybrid solver against HiGHS."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from solvers import Problem, Status, get_solver

_spec = importlib.util.spec_from_file_location(
    "field_instances", Path(__file__).with_name("field_instances.py"))
fi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fi)  # type: ignore[union-attr]


def test_milp_statuses_are_mapped_faithfully() -> None:
    milp = get_solver("milp")
    unbounded = Problem(objective=[-1.0, 0.0], lower=0.0, upper=math.inf,
                        constraints=[[1.0, -1.0]], row_upper=[1.0])
    assert milp.solve(unbounded).status is Status.UNBOUNDED
    infeasible = Problem(objective=[1.0], kinds="integer", lower=0, upper=10,
                         constraints=[[2.0]], row_lower=[3.0], row_upper=[3.0])
    res = milp.solve(infeasible)
    assert res.status is Status.INFEASIBLE
    assert res.x is None
    # its relaxation is feasible (x = 1.5)
    relaxed = get_solver("milp", relax=True).solve(infeasible)
    assert relaxed.status is Status.OPTIMAL
    assert relaxed.x[0] == pytest.approx(1.5)
    assert relaxed.diagnostics["relaxation"] is True


def test_relaxation_of_binary_products_reports_the_mccormick_bound() -> None:
    """min -2 x0^2 - 4 x1^2 s.t. 3 x0 + 5 x1 <= 3 over binaries: optimum -2 at (1, 0).
    The relaxation's LP (x_i^2 = x_i linearised) reaches -2.4 at (0, 0.6): a bound below
    the optimum, although the quadratic itself is only -1.44 at that point (found by
    hypothesis: the relaxation used to report -1.44, above the optimum)."""
    import scipy.sparse as sp

    problem = Problem(objective=np.zeros(2), kinds="binary", upper=1.0,
                      quadratic=sp.csr_array(np.diag([-2.0, -4.0])),
                      constraints=sp.csr_array([[3.0, 5.0]]), row_upper=[3.0])
    milp = get_solver("milp").solve(problem)
    relaxed = get_solver("milp", relax=True).solve(problem)
    assert milp.objective == pytest.approx(-2.0)
    assert relaxed.status is Status.OPTIMAL
    assert relaxed.objective == pytest.approx(-2.4)
    assert relaxed.x == pytest.approx([0.0, 0.6])
    assert relaxed.diagnostics["objective_at_x"] == pytest.approx(-1.44)


def test_milp_options_reach_highs() -> None:
    problem = fi.unit_commitment_mixed(4, 4, seed=1)
    res = get_solver("milp", threads=1, mip_rel_gap=1e-4).solve(problem, seed=5)
    assert res.status is Status.OPTIMAL
    assert res.diagnostics["threads"] == 1
    assert res.diagnostics["seed"] == 5
    assert res.diagnostics["mip_gap"] <= 1e-4
    assert res.diagnostics["dual_bound"] <= res.objective + 1e-6


def test_milp_time_limit_keeps_the_best_feasible_point() -> None:
    problem = fi.scheduling_96(seed=2)
    res = get_solver("milp", mip_rel_gap=0.0).solve(problem, time_limit=2.0, seed=0)
    assert res.status is Status.TIME_LIMIT
    assert res.wall_time_s < 3.5
    if res.x is not None:
        assert problem.violation(res.x) <= 1e-5


def test_milp_solves_binary_quadratic_objectives_exactly() -> None:
    problem = fi.ev_charging(2, 5, soft=True, seed=3)
    milp = get_solver("milp").solve(problem)
    exact = get_solver("exact").solve(problem)
    assert milp.status is exact.status is Status.OPTIMAL
    assert milp.objective == pytest.approx(exact.objective)
    assert milp.diagnostics["linearised_products"] > 0


def test_exact_enumeration_matches_milp_on_random_constrained_problems() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        n = 12
        problem = Problem(objective=rng.integers(-9, 10, n).astype(float), kinds="binary",
                          upper=1.0, quadratic=np.triu(rng.integers(-3, 4, (n, n)), 1),
                          constraints=rng.integers(0, 4, (2, n)), row_lower=[3, -np.inf],
                          row_upper=[np.inf, 12])
        a, b = get_solver("exact").solve(problem), get_solver("milp").solve(problem)
        assert a.status is b.status
        if a.status is Status.OPTIMAL:
            assert a.objective == pytest.approx(b.objective)


@pytest.mark.parametrize("name", ["annealing", "tabu", "lp-rounding"])
def test_heuristics_are_close_on_field_instances(name: str) -> None:
    problem = fi.battery_slots(8, 2, seed=1)
    best = get_solver("milp").solve(problem).objective
    res = get_solver(name).solve(problem, seed=0)
    assert res.status is Status.FEASIBLE
    assert problem.is_feasible(res.x)
    assert res.objective >= best - 1e-9
    if name != "lp-rounding":  # samplers find this 16-binary optimum
        assert res.objective == pytest.approx(best)


def test_lp_rounding_on_mixed_unit_commitment() -> None:
    problem = fi.unit_commitment_mixed(5, 6, seed=2)
    best = get_solver("milp").solve(problem).objective
    res = get_solver("lp-rounding").solve(problem, seed=0)
    assert res.status is Status.FEASIBLE, res.message
    assert problem.is_feasible(res.x)
    assert best <= res.objective <= 1.5 * best
    assert res.diagnostics["dive_steps"] >= 1


@pytest.mark.parametrize("sampler", ["annealing", "tabu"])
def test_hybrid_reports_both_parts(sampler: str) -> None:
    problem = fi.unit_commitment_mixed(4, 4, seed=0)
    best = get_solver("milp").solve(problem).objective
    res = get_solver("hybrid", sampler=sampler).solve(problem, seed=1)
    assert res.status is Status.FEASIBLE, res.message
    assert problem.is_feasible(res.x)
    assert best - 1e-6 <= res.objective <= 1.2 * best
    d = res.diagnostics
    assert d["discrete_objective"] + d["continuous_objective"] == pytest.approx(res.objective)
    assert set(d["discrete_values"]) == {n for n in problem.names if n.startswith("u[")}
    assert d["candidates_feasible"] >= 1
    assert d["relaxation_objective"] <= best + 1e-6


@pytest.mark.quantum
def test_hybrid_with_qaoa_sampler() -> None:
    problem = fi.unit_commitment_mixed(3, 2, seed=0)
    best = get_solver("milp").solve(problem).objective
    res = get_solver("hybrid", sampler="qaoa", sampler_options={"reps": 1}).solve(problem,
                                                                                 seed=1)
    assert res.status is Status.FEASIBLE, res.message
    assert res.objective >= best - 1e-6
    assert res.diagnostics["sampler_diagnostics"]["qubits"] == 6


def test_hybrid_refuses_a_continuous_problem() -> None:
    res = get_solver("hybrid").solve(Problem(objective=[1.0], upper=1.0))
    assert res.status is Status.UNSUPPORTED
    assert "milp" in res.message


def _constrained_qubo(n: int, seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    return Problem(objective=rng.normal(size=n), kinds="binary", upper=1.0,
                   quadratic=np.triu(rng.normal(size=(n, n)), 1),
                   constraints=[np.ones(n)], row_lower=[n // 3], row_upper=[n // 3])


def test_greedy_honours_its_time_limit_and_keeps_its_reads_when_not_cut() -> None:
    """``greedy`` looks at its deadline between chunks of reads: a limit it does not reach
    gives, bit for bit, the reads of a run without one (the solver's own random starts
    for the seed); a limit far shorter than the reads stops early with TIME_LIMIT."""
    pytest.importorskip("dwave.samplers")
    problem = _constrained_qubo(18, 2)
    solver = get_solver("greedy", num_reads=5000, reference_solver=None)
    free = solver.solve(problem, seed=11)
    limited = solver.solve(problem, seed=11, time_limit=600.0)
    assert limited.status is free.status is Status.FEASIBLE
    assert limited.objective == free.objective
    assert np.array_equal(limited.x, free.x)
    assert limited.diagnostics["reads"] == free.diagnostics["reads"] == 5000
    assert limited.diagnostics["expected_objective"] == free.diagnostics["expected_objective"]
    cut = get_solver("greedy", num_reads=200_000, reference_solver=None).solve(
        problem, seed=11, time_limit=0.05)
    assert cut.status is Status.TIME_LIMIT
    assert 0 < cut.diagnostics["reads"] < 200_000
    assert problem.violation(cut.x) <= 1e-6


def test_distinct_samples_are_numpys_unique_rows() -> None:
    """The samplers' distinct-sample table (integer keys per 0/1 row) is exactly
    ``np.unique(rows, axis=0, return_inverse=True)``, rows and inverse, for any width."""
    from solvers.qubo_samplers import _unique_rows

    rng = np.random.default_rng(0)
    for n, m in [(1, 10), (5, 1000), (18, 20_000), (63, 300), (64, 100)]:
        bits = rng.integers(0, 2, size=(m, n)).astype(np.float64)
        bits = np.vstack([bits, bits[: m // 3]])
        want_rows, want_inverse = np.unique(bits, axis=0, return_inverse=True)
        rows, inverse = _unique_rows(bits)
        assert rows.dtype == want_rows.dtype
        assert np.array_equal(rows, want_rows)
        assert np.array_equal(inverse.reshape(-1), want_inverse.reshape(-1))
