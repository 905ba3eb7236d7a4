"""Property tests: conversions keep the problem, relaxations bound the optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers import Problem, Sense, Status, VarKind, get_solver
from solvers.qubo import (
    problem_from_quadratic_program,
    problem_to_quadratic_program,
    to_qubo,
)

pytest.importorskip("qiskit_optimization")

_SETTINGS = settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])

coef = st.integers(-5, 5).map(float)


@st.composite
def problems(draw: st.DrawFn, *, binary_only: bool = False, max_vars: int = 6) -> Problem:
    """Random small problems: any kinds, bounds (some infinite), ranged rows."""
    n = draw(st.integers(1, max_vars))
    m = draw(st.integers(0, 3))
    kinds = np.array(draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)))
    if binary_only:
        kinds[:] = VarKind.BINARY
    lower = np.array(draw(st.lists(st.sampled_from([-math.inf, -2.0, 0.0]), min_size=n,
                                   max_size=n)))
    upper = np.array(draw(st.lists(st.sampled_from([1.0, 3.5, math.inf]), min_size=n,
                                   max_size=n)))
    binary = kinds == VarKind.BINARY
    lower[binary], upper[binary] = 0.0, 1.0
    upper[kinds == VarKind.INTEGER] = np.floor(upper[kinds == VarKind.INTEGER])
    a = np.array(draw(st.lists(coef, min_size=n * m, max_size=n * m))).reshape(m, n)
    row_lo = np.array(draw(st.lists(st.sampled_from([-math.inf, -1.0, 0.0, 1.0]),
                                    min_size=m, max_size=m)))
    width = np.array(draw(st.lists(st.sampled_from([0.0, 2.0, math.inf]), min_size=m,
                                   max_size=m)))
    with np.errstate(invalid="ignore"):
        row_hi = np.where(np.isinf(row_lo), np.where(np.isinf(width), math.inf, 3.0),
                          row_lo + width)
    quad = None
    if draw(st.booleans()):
        quad = np.triu(np.array(draw(st.lists(coef, min_size=n * n, max_size=n * n))).reshape(
            n, n))
    return Problem(
        objective=draw(st.lists(coef, min_size=n, max_size=n)), lower=lower, upper=upper,
        kinds=kinds, quadratic=quad, constant=draw(coef),
        sense=draw(st.sampled_from(["minimize", "maximize"])), constraints=a if m else None,
        row_lower=row_lo, row_upper=row_hi,
    )


@_SETTINGS
@given(problems())
def test_quadratic_program_round_trip_is_lossless(prob: Problem) -> None:
    back = problem_from_quadratic_program(problem_to_quadratic_program(prob))
    assert back.same_as(prob)


def _brute_force(prob: Problem) -> float | None:
    n = prob.num_variables
    xs = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)
    ok = prob.feasible_mask(xs)
    if not ok.any():
        return None
    vals = prob.evaluate_many(xs[ok])
    return float(vals.min() if prob.sense is Sense.MINIMIZE else vals.max())


@_SETTINGS
@given(problems(binary_only=True, max_vars=5))
def test_qubo_keeps_the_optimum_of_binary_problems(prob: Problem) -> None:
    """The QUBO's minimisers, mapped back, are optimal for the original problem."""
    best = _brute_force(prob)
    qubo = to_qubo(prob)
    k = qubo.num_variables
    zs = ((np.arange(1 << k)[:, None] >> np.arange(k)) & 1).astype(float)
    energies = qubo.evaluate(zs)
    z_star = zs[int(np.argmin(energies))]
    x_star = qubo.interpret(z_star)
    if best is None:
        # no feasible assignment: the QUBO minimiser must be infeasible too
        assert not prob.is_feasible(x_star)
        return
    assert prob.is_feasible(x_star)
    assert prob.evaluate(x_star) == pytest.approx(best, abs=1e-9)
    # for every feasible x, the best slack setting makes the QUBO equal the objective
    xs = np.array([qubo.interpret(z) for z in zs])
    feas = prob.feasible_mask(xs)
    best_energy: dict[tuple[float, ...], float] = {}
    for x, e in zip(xs[feas], energies[feas], strict=True):
        key = tuple(x)
        best_energy[key] = min(best_energy.get(key, math.inf), float(e))
    for key, e in best_energy.items():
        assert qubo.sign * e == pytest.approx(prob.evaluate(np.array(key)), abs=1e-9)


@_SETTINGS
@given(problems(max_vars=6))
def test_lp_relaxation_bounds_the_milp_optimum(prob: Problem) -> None:
    prob = prob.replace(sense="minimize")
    milp = get_solver("milp").solve(prob)
    relax = get_solver("milp", relax=True).solve(prob)
    if milp.status is Status.OPTIMAL:
        assert relax.status is Status.OPTIMAL
        assert relax.objective <= milp.objective + 1e-6 * max(1.0, abs(milp.objective))
    if relax.status is Status.INFEASIBLE:  # (HiGHS refuses integer QPs: unsupported)
        assert milp.status in (Status.INFEASIBLE, Status.UNSUPPORTED)
