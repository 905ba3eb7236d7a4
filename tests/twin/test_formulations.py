"""QUBO-sized decision formulations: QUBO = constrained MILP, decomposition, bad input.

For each decision type, random small instances (hypothesis) are built; the QUBO that
qiskit-optimization's converters make of the constrained problem (penalties, slack
binaries) is enumerated (up to 16 binaries) and its minimiser, mapped back, must be
feasible and reach the MILP's optimum. The decomposition's recombined decision must be
feasible for the full problem, with its gap to the full MILP optimum reported.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solvers import get_solver
from solvers.qubo import to_qubo
from twin.control.formulations import (
    BatteryModeSelection,
    DeferrableLoadStarts,
    EvChargerAssignment,
    UnitCommitment,
    solve_decomposed,
)
from twin.control.formulations.router import quality

MAX_ENUM = 16


def _qubo_optimum(problem):
    """Enumerate the QUBO; return (objective of the mapped-back minimiser, feasible)."""
    qubo = to_qubo(problem)
    n = qubo.num_variables
    z = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    energy = qubo.evaluate(z)
    x = qubo.interpret(z[int(np.argmin(energy))])
    return problem.evaluate(x), problem.is_feasible(x)


def _seeded(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _unit_commitment(seed: int, t_len: int, n_gen: int) -> UnitCommitment:
    rng = _seeded(seed)
    cap = rng.integers(1, 3, n_gen)
    return UnitCommitment(
        run_cost=np.round(rng.normal(0.0, 2.0, (t_len, n_gen)), 2),
        startup_cost=np.round(rng.uniform(0.0, 3.0, n_gen), 2),
        cap_units=cap, required_units=rng.integers(0, int(cap.sum()) + 1, t_len),
        min_up=rng.integers(1, 3, n_gen), min_down=rng.integers(1, 3, n_gen),
        on0=rng.random(n_gen) < 0.5, in_state0=rng.integers(0, 3, n_gen),
    )


def _ev(seed: int, t_len: int, n_ev: int) -> EvChargerAssignment:
    rng = _seeded(seed)
    return EvChargerAssignment(
        allowed=rng.random((n_ev, t_len)) < 0.7, duration=rng.integers(1, 3, n_ev),
        weight=np.ones(n_ev, np.int64), capacity=rng.integers(0, 3, t_len),
        start_cost=np.round(rng.uniform(0.0, 3.0, (n_ev, t_len)), 2),
        defer_cost=np.round(rng.uniform(1.0, 6.0, n_ev), 2),
    )


def _deferrable(seed: int, t_len: int, n_run: int) -> DeferrableLoadStarts:
    rng = _seeded(seed)
    weight = rng.integers(1, 3, n_run)
    return DeferrableLoadStarts(
        allowed=rng.random((n_run, t_len)) < 0.7, duration=rng.integers(1, 3, n_run),
        weight=weight, capacity=rng.integers(1, int(weight.sum()) + 1, t_len),
        start_cost=np.round(rng.uniform(0.0, 3.0, (n_run, t_len)), 2),
        defer_cost=np.round(rng.uniform(1.0, 6.0, n_run), 2),
    )


def _battery(seed: int, t_len: int, _n: int) -> BatteryModeSelection:
    rng = _seeded(seed)
    size = int(rng.integers(1, 3))
    return BatteryModeSelection(
        mode_cost=np.round(rng.normal(0.0, 1.0, (t_len, 3)), 2), switch_cost=0.5,
        s0_units=int(rng.integers(0, size + 1)), size_units=size, end_value=0.2,
    )


BUILDERS = {
    "unit_commitment": (_unit_commitment, 3, 2),
    "ev_chargers": (_ev, 3, 3),
    "deferrable_loads": (_deferrable, 3, 3),
    "battery_mode": (_battery, 3, 1),
}


@pytest.mark.parametrize("decision", sorted(BUILDERS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**31 - 1), t_len=st.integers(1, 3), n=st.integers(1, 3))
def test_qubo_with_penalties_has_the_milp_optimum(decision: str, seed: int, t_len: int,
                                                  n: int) -> None:
    build, t_max, n_max = BUILDERS[decision]
    formulation = build(seed, min(t_len, t_max), min(n, n_max))
    problem = formulation.to_problem()
    assume(problem.num_variables > 0)
    qubits = formulation.qubits()
    assume(qubits <= MAX_ENUM)
    milp = get_solver("milp").solve(problem)
    assume(milp.has_solution)  # a coverage row the units cannot meet: no optimum to match
    value, feasible = _qubo_optimum(problem)
    assert feasible, "the QUBO's minimiser violates a constraint (penalty too small)"
    assert value == pytest.approx(milp.objective, abs=1e-6)


@pytest.mark.parametrize("decision", sorted(BUILDERS))
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_decomposition_is_feasible_for_the_full_problem(decision: str, seed: int) -> None:
    """Windows and clusters within 8 qubits: each part fits, the recombined decision is
    feasible for the full problem and never better than its MILP optimum (gap >= 0)."""
    build, _t, n_max = BUILDERS[decision]
    formulation = build(seed, 6, n_max)
    full = formulation.to_problem()
    milp = get_solver("milp")
    decision_value, parts = solve_decomposed(
        formulation, lambda p: (milp.solve(p).x, "milp"), max_qubits=8)
    assert parts
    x = formulation.decision_x(decision_value)
    assert full.is_feasible(x)
    optimum = milp.solve(full)
    if optimum.has_solution:
        gap = (full.evaluate(x) - optimum.objective) / max(1.0, abs(optimum.objective))
        assert gap >= -1e-9
    # every part within the budget, unless it is one slot of one asset (then refused)
    assert all(p.qubits <= 8 or (p.spec.t1 - p.spec.t0 == 1 and len(p.spec.assets) == 1)
               for p in parts)


def test_decomposition_of_one_instance_reports_a_gap() -> None:
    """A 6-slot unit commitment in windows: feasible recombination and a finite gap."""
    formulation = _unit_commitment(3, 6, 2)
    full = formulation.to_problem()
    milp = get_solver("milp")
    decision, parts = solve_decomposed(formulation, lambda p: (milp.solve(p).x, "milp"),
                                       max_qubits=6)
    assert len(parts) > 1
    x = formulation.decision_x(decision)
    assert full.is_feasible(x)
    gap = full.evaluate(x) - milp.solve(full).objective
    assert math.isfinite(gap)
    assert gap >= -1e-9


def test_quality_is_the_project_convention_and_never_none() -> None:
    """The router's ratio is solvers.metrics' (f*/f, 1 optimal) and 0 without an answer."""
    from solvers.metrics import approximation_ratio

    assert quality(12.0, 10.0) == pytest.approx(approximation_ratio(12.0, 10.0))
    assert quality(-8.0, -10.0) == pytest.approx(0.8)
    assert quality(None, 1.0) == 0.0
    assert quality(1.0, None) == 0.0


def test_ev_from_inputs_respects_departures_and_capacity() -> None:
    """Vehicles may only start where their block fits before departure; the transformer
    headroom caps the chargers per slot."""
    from twin.control.problems import DispatchInputs, EvInputs

    avail = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    ev = EvInputs(available=avail, p_max_kw=np.array([11.0, 11.0]),
                  efficiency=np.array([1.0, 1.0]), need_kwh=np.array([22.0, 11.0]),
                  room_kwh=np.array([30.0, 11.0]), e0_kwh=np.zeros(2), v2g=np.zeros(2, bool),
                  degradation_eur_per_kwh=np.zeros(2))
    inp = DispatchInputs(dt_h=1.0, base_kw=np.array([0.0, 0.0, 10.0, 0.0]),
                         import_eur_per_kwh=np.array([0.3, 0.1, 0.2, 0.3]),
                         export_eur_per_kwh=0.05, pcc_limit_kw=25.0, ev=ev)
    formulation, idx = EvChargerAssignment.from_inputs(inp, chargers=2)
    assert list(idx) == [0, 1]
    assert list(formulation.duration) == [2, 1]
    assert formulation.allowed[0].tolist() == [True, True, True, False]
    assert formulation.allowed[1].tolist() == [True, True, False, False]
    assert formulation.capacity.tolist() == [2, 2, 1, 2]
    result = get_solver("milp").solve(formulation.to_problem())
    starts = formulation.finish(formulation.interpret(result.x))
    assert starts.tolist() == [1, 1]  # the cheap slot for both (two chargers there)


def test_bad_input_decision_type_without_binaries_and_unknown_noise(tmp_path) -> None:
    """A decision type the scenario has no assets for, and a noise model that does not
    exist: exit 2 with the field named; a non-finite penalty: exit 2."""
    from typer.testing import CliRunner

    from twin.cli import app

    base = (
        "name: q\ntime: {start: 2016-06-15T00:00:00, duration: 2h, step: 15min}\n"
        "grid: {source: simbench, code: 1-LV-rural1--0-sw}\n"
        "assets:\n  - {kind: battery, name: b, bus: 3, capacity_kwh: 50, power_kw: 20}\n"
        "control:\n  mode: ems\n  ems:\n    decisions:\n"
    )
    cases = {
        "types": ("      types: [unit_commitment]\n", "control.ems.decisions.types.0",
                  "no binaries"),
        "noise": ("      types: [battery_mode]\n      options: {noise: FakeNowhere}\n",
                  "control.ems.decisions.options", "FakeNowhere"),
        "penalty": ("      types: [battery_mode]\n      penalty: .inf\n",
                    "control.ems.decisions.penalty", ""),
    }
    for name, (body, field, text) in cases.items():
        file = tmp_path / f"{name}.yaml"
        file.write_text(base + body)
        for command in (["validate", str(file)], ["run", str(file), "--out", str(tmp_path)]):
            result = CliRunner().invoke(app, command)
            assert result.exit_code == 2, (name, command[0], result.output, result.exception)
            lines = result.stderr.strip().splitlines()
            assert any(field in line and text in line for line in lines), (name, lines)


def test_subproblem_above_the_qubit_limit_without_decomposition_is_unsupported() -> None:
    """Decomposition off and a problem above QAOA's qubit budget: QAOA returns
    UNSUPPORTED naming the qubit count; the router then uses the fallback (milp), which
    is counted under milp."""
    formulation = _battery(1, 6, 1)
    problem = formulation.to_problem()
    result = get_solver("qaoa", max_qubits=8).solve(problem, seed=1)
    assert result.status.value == "unsupported"
    assert "max_qubits=8" in result.message


@pytest.mark.parametrize("decision", sorted(BUILDERS))
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_minimum_part_size_merges_small_parts_within_the_budget(decision: str,
                                                                seed: int) -> None:
    """With a minimum part size every part stays within the budget, and a part below the
    minimum is handed out only when joining it to the next pending part would break the
    budget (or there is none to join); the recombined decision stays feasible."""
    from twin.control.formulations.base import PartQueue, merged

    build, _t, n_max = BUILDERS[decision]
    formulation = build(seed, 6, n_max)
    milp = get_solver("milp")
    budget, floor = 10, 6
    queue = PartQueue(formulation, formulation.decompose(budget), budget, min_qubits=floor)
    decided = formulation.empty_decision()
    while (item := queue.next(decided)) is not None:
        spec, sub, problem, qubits = item
        assert qubits <= budget or (spec.t1 - spec.t0 == 1 and len(spec.assets) == 1)
        if 0 < qubits < floor and queue.pending:
            union = merged(spec, queue.pending[0])
            assert union is None or formulation.part(union, decided).qubits() > budget
        x = milp.solve(problem).x if problem.num_variables else np.zeros(0)
        if x is None:
            x = np.zeros(problem.num_variables)
        decided = formulation.merge(decided, spec, sub.interpret(x))


def test_windows_are_balanced() -> None:
    """12 slots at a 5-slot window are 4 + 4 + 4, not 5 + 5 + 2."""
    formulation = _battery(0, 12, 1)
    specs = formulation.plan_parts(5, 1)
    assert [(s.t0, s.t1) for s in specs] == [(0, 4), (4, 8), (8, 12)]
    assert [s.last_window for s in specs] == [False, False, True]


def test_peeling_keeps_parts_long() -> None:
    """A window above the budget keeps its longest leading window that fits and hands the
    rest on: no part is cut to halves that leave the budget half unused."""
    formulation = _battery(1, 12, 1)
    milp = get_solver("milp")
    _, parts = solve_decomposed(formulation, lambda p: (milp.solve(p).x, "milp"),
                                max_qubits=16, min_qubits=12)
    assert all(p.qubits <= 16 for p in parts)
    # every part but the last could not take one more slot within the budget
    for p in parts[:-1]:
        longer = formulation.part(
            type(p.spec)(p.spec.t0, p.spec.t1 + 1, p.spec.assets, p.spec.t1 + 1 >= 12),
            formulation.empty_decision())
        assert p.spec.t1 == 12 or longer.qubits() > 16 or p.qubits >= 12


def test_normalised_expected_ratio_by_hand() -> None:
    """min -2 x0 - x1 + 3 x0 x1 s.t. x0 + x1 = 1, penalty 4: the QUBO adds
    4 (x0 + x1 - 1)^2, so its values are 00: 4, 10: -2, 01: -1, 11: 4; uniform guessing
    averages E0 = 1.25 and the optimum is -2. A sampler whose mean is 0.5 (positive:
    the project ratio gives it 0) covers (1.25 - 0.5) / (1.25 + 2) = 0.2308 of the way."""
    import scipy.sparse as sp

    from solvers import Problem
    from solvers.metrics import approximation_ratio
    from twin.control.formulations.router import normalised_ratio, uniform_mean

    problem = Problem(objective=np.array([-2.0, -1.0]), kinds="binary", lower=0.0, upper=1.0,
                      quadratic=sp.coo_array(([3.0], ([0], [1])), shape=(2, 2)),
                      names=["x0", "x1"], constraints=sp.coo_array(np.array([[1.0, 1.0]])),
                      row_lower=np.array([1.0]), row_upper=np.array([1.0]))
    qubo = to_qubo(problem, 4.0)
    values = sorted(float(qubo.evaluate(np.array(z, float))[0])
                    for z in itertools.product((0, 1), repeat=qubo.num_variables))
    assert values == pytest.approx([-2.0, -1.0, 4.0, 4.0])
    assert uniform_mean(problem, 4.0) == pytest.approx(1.25)
    assert approximation_ratio(0.5, -2.0) == 0.0
    assert normalised_ratio(0.5, -2.0, 1.25) == pytest.approx(0.75 / 3.25)
    assert normalised_ratio(-2.0, -2.0, 1.25) == 1.0
    assert normalised_ratio(1.25, -2.0, 1.25) == 0.0
    assert normalised_ratio(3.0, -2.0, 1.25) == pytest.approx(-1.75 / 3.25)  # worse than guessing
    # offset-free: shifting every value by a constant leaves it unchanged
    assert normalised_ratio(10.5, 8.0, 11.25) == pytest.approx(0.75 / 3.25)
    # maximisation mirrors it; guessing at the optimum: 1 only at the optimum
    assert normalised_ratio(-0.5, 2.0, -1.25, maximize=True) == pytest.approx(0.75 / 3.25)
    assert normalised_ratio(1.0, 1.0, 1.0) == 1.0
    assert normalised_ratio(2.0, 1.0, 1.0) == 0.0
    assert normalised_ratio(None, 1.0, 1.0) is None
