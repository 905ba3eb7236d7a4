"""The solver contract: every registered solver, the same small problems.

- a feasible answer respects bounds, integrality and constraints, and its
  objective is the problem's objective at ``x``;
- an exact solver's OPTIMAL equals the enumerated optimum, a heuristic's
  answer is never better than it;
- an infeasible problem is reported INFEASIBLE (never a "solution");
- a problem the solver cannot take (continuous variables for a QUBO solver,
  more variables than its size limit) is UNSUPPORTED with a reason, fast;
- a wall-clock time limit is honoured;
- the same seed gives the same result.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from solvers import Problem, Status, available_solvers, get_solver, registered_solvers

pytestmark = pytest.mark.quantum

SOLVERS = available_solvers()
#: Options that make each built-in solver's size limit small (for the too-large case).
SMALL_LIMIT = {
    "qaoa": {"max_qubits": 24},
    "exact": {"max_variables": 24},
    "annealing": {"max_variables": 24},
    "tabu": {"max_variables": 24},
    "hybrid": {"sampler_options": {"max_variables": 24}},
}
#: Solvers that prove optimality / infeasibility.
EXACT = {"milp", "exact"}
#: Solvers that need every variable binary or bounded integer.
QUBO_ONLY = {"qaoa", "exact", "annealing", "tabu", "greedy", "random"}
FAST = {"qaoa": {"reps": 1, "shots": 512}, "annealing": {"num_reads": 20, "num_sweeps": 200},
        "tabu": {"num_reads": 4, "num_restarts": 3}}


def _solver(name: str, **extra: object):
    return get_solver(name, **{**FAST.get(name, {}), **extra})


def _enumerate(problem: Problem) -> float | None:
    n = problem.num_variables
    xs = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)
    ok = problem.feasible_mask(xs)
    if not ok.any():
        return None
    return float(problem.evaluate_many(xs[ok]).min())


def small_binary() -> Problem:
    """Pick 3 of 6 items (equality), weight at most 7, minimise cost with an interaction."""
    cost = np.array([3.0, -2.0, 4.0, -1.0, 2.0, -3.0])
    quad = np.zeros((6, 6))
    quad[1, 5] = 4.0
    return Problem(objective=cost, kinds="binary", upper=1.0, quadratic=quad,
                   constraints=[[1, 1, 1, 1, 1, 1], [2, 3, 1, 2, 4, 3]],
                   row_lower=[3, -np.inf], row_upper=[3, 7], name="small-binary")


def infeasible_binary() -> Problem:
    return Problem(objective=[1.0, 1.0, 1.0], kinds="binary", upper=1.0,
                   constraints=[[1, 1, 0], [0, 1, 1]], row_lower=[2, -np.inf],
                   row_upper=[np.inf, 0], name="infeasible")


def mixed() -> Problem:
    """Two units: on/off binaries and continuous power, demand 3 MW."""
    return Problem(objective=[5.0, 2.0, 10.0, 1.0], kinds=["binary", "binary", "continuous",
                                                           "continuous"],
                   upper=[1, 1, 2, 2],
                   constraints=[[0, 0, 1, 1], [-2, 0, 1, 0], [0, -2, 0, 1]],
                   row_lower=[3, -np.inf, -np.inf], row_upper=[3, 0, 0], name="mixed")


def too_large() -> Problem:
    n = 40
    rng = np.random.default_rng(0)
    return Problem(objective=rng.integers(-5, 6, n).astype(float), kinds="binary", upper=1.0,
                   constraints=[np.ones(n)], row_lower=[10], row_upper=[10], name="too-large")


def _check_solution(problem: Problem, res) -> None:
    assert res.x is not None, res.message
    assert problem.violation(res.x) <= 1e-6
    assert res.objective == pytest.approx(problem.evaluate(res.x), abs=1e-6)
    assert dict(res.values) == {name: float(v) for name, v in
                                zip(problem.names, res.x, strict=True)}


def test_registry_lists_every_builtin() -> None:
    assert {"milp", "qaoa", "hybrid", "exact", "annealing", "tabu",
            "lp-rounding"} <= set(registered_solvers())


@pytest.mark.parametrize("name", SOLVERS)
def test_small_binary_problem(name: str) -> None:
    problem = small_binary()
    best = _enumerate(problem)
    res = _solver(name).solve(problem, seed=7)
    assert res.status in (Status.OPTIMAL, Status.FEASIBLE), res.message
    _check_solution(problem, res)
    assert res.objective >= best - 1e-9  # never better than the true optimum
    if name in EXACT:
        assert res.status is Status.OPTIMAL
        assert res.objective == pytest.approx(best)
    assert res.wall_time_s > 0
    assert res.solver == name


@pytest.mark.parametrize("name", SOLVERS)
def test_infeasible_problem_is_reported_infeasible(name: str) -> None:
    res = _solver(name).solve(infeasible_binary(), seed=7)
    assert res.status is Status.INFEASIBLE, (res.status, res.message)
    assert res.x is None
    assert res.objective is None
    assert res.message
    if name in EXACT:
        assert res.diagnostics.get("infeasible_proven", True) is True
    else:
        assert "infeasible_proven" in res.diagnostics


@pytest.mark.parametrize("name", SOLVERS)
def test_mixed_problem(name: str) -> None:
    problem = mixed()
    res = _solver(name).solve(problem, seed=7)
    if name in QUBO_ONLY:
        assert res.status is Status.UNSUPPORTED
        assert "continuous" in res.message or "binary" in res.message
        return
    assert res.status in (Status.OPTIMAL, Status.FEASIBLE), res.message
    _check_solution(problem, res)
    # optimum: unit 1 only can give 2 MW, so both on: 5 + 2 + 10*1 + 1*2 = 19
    assert res.objective >= 19.0 - 1e-6
    if name == "milp":
        assert res.objective == pytest.approx(19.0)


@pytest.mark.parametrize("name", SOLVERS)
def test_too_large_problem_is_unsupported_not_a_hang(name: str) -> None:
    problem = too_large()
    t0 = time.perf_counter()
    res = _solver(name, **SMALL_LIMIT.get(name, {})).solve(problem, seed=7)
    elapsed = time.perf_counter() - t0
    if name in SMALL_LIMIT:
        assert res.status is Status.UNSUPPORTED, res.message
        assert "40" in res.message or "more than" in res.message
        assert elapsed < 5.0
    else:  # solvers without a size limit solve it
        assert res.status in (Status.OPTIMAL, Status.FEASIBLE)
        _check_solution(problem, res)


#: Configurations that run far longer than 1 s without a time limit.
SLOW_CONFIG = {
    "milp": ({"mip_rel_gap": 0.0}, "scheduling-large"),
    # Sizes are chosen so that even an idle machine needs several times the limit
    # (lp-rounding: ~7 s, exact: 2**30 assignments, on a loaded 2-core machine).
    "lp-rounding": ({"fix_fraction": 0.0001}, "scheduling-large"),
    "hybrid": ({"sampler_options": {"num_reads": 100000}, "candidates": 1}, "uc"),
    "qaoa": ({"reps": 8, "maxiter": 5000}, "qubo12"),
    "exact": ({"max_variables": 30}, "qubo30"),
    "annealing": ({"num_reads": 100000}, "qubo18"),
    "tabu": ({"num_reads": 50, "num_restarts": 100000, "timeout_ms": 100000}, "qubo18"),
}


def _slow_problem(kind: str) -> Problem:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "field_instances", Path(__file__).with_name("field_instances.py"))
    fi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fi)  # type: ignore[union-attr]
    if kind == "scheduling":
        return fi.scheduling_96()
    if kind == "scheduling-large":
        return fi.scheduling_96(40, 40)
    if kind == "uc":
        return fi.unit_commitment_mixed(6, 8)
    n = {"qubo12": 12, "qubo18": 18, "qubo30": 30}[kind]
    rng = np.random.default_rng(1)
    return Problem(objective=rng.normal(size=n), kinds="binary", upper=1.0,
                   quadratic=np.triu(rng.normal(size=(n, n)), 1),
                   constraints=[np.ones(n)], row_lower=[n // 3], row_upper=[n // 3])


@pytest.mark.parametrize("name", SOLVERS)
def test_time_limit_is_honoured(name: str) -> None:
    """Stops within the limit plus a margin for the final step (e.g. QAOA's last sampling).

    One-time imports are done first: they are not the solver's work.
    """
    if name not in SLOW_CONFIG:
        pytest.skip(f"no slow configuration known for third-party solver {name!r}")
    options, kind = SLOW_CONFIG[name]
    problem = _slow_problem(kind)
    solver = get_solver(name, **options)
    _solver(name).solve(small_binary(), seed=0)  # warm-up: imports
    limit = 1.0
    t0 = time.perf_counter()
    res = solver.solve(problem, time_limit=limit, seed=3)
    elapsed = time.perf_counter() - t0
    assert res.status is Status.TIME_LIMIT, (res.status, res.message)
    assert elapsed < limit + 1.5, elapsed
    if res.x is not None:
        assert problem.violation(res.x) <= 1e-6


@pytest.mark.parametrize("name", SOLVERS)
def test_same_seed_same_result(name: str) -> None:
    problem = small_binary()
    a = _solver(name).solve(problem, seed=11)
    b = _solver(name).solve(problem, seed=11)
    assert a.status is b.status
    assert a.objective == b.objective
    assert np.array_equal(a.x, b.x)


@pytest.mark.parametrize("name", SOLVERS)
def test_unknown_option_lists_the_options(name: str) -> None:
    from solvers import SolverOptionError

    with pytest.raises(SolverOptionError) as info:
        get_solver(name, no_such_option=1)
    assert "no_such_option" in str(info.value)
    assert "options:" in str(info.value)
