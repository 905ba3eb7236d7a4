"""The solver-call interface (twin.control.calls): one approximation-ratio convention."""

from __future__ import annotations

import pytest

from solvers import approximation_ratio
from twin.control.calls import CALL_COLUMNS, CallRecord


def _record(objective, reference):
    return CallRecord(
        call_id="ev_assignment#0", task="ev_assignment", start_s=0.0, end_s=0.0,
        solver_requested="qaoa", solver_used="qaoa", status="feasible",
        objective=objective, reference_objective=reference, reference_solver="milp",
        n_variables=4, n_binary=4, n_constraints=1, solve_wall_s=0.01)


@pytest.mark.parametrize(("objective", "reference"),
                         [(12.0, 10.0), (10.0, 10.0), (-8.0, -10.0), (0.0, 0.0), (3.0, -1.0)])
def test_call_ratio_is_the_solvers_approximation_ratio(objective, reference):
    """A call's ratio (record, per-call row) is solvers.approximation_ratio: f_opt/f for a
    positive minimisation, 1 optimal, never above 1 (12 vs 10 gives 0.83, not 1.2)."""
    record = _record(objective, reference)
    expected = approximation_ratio(objective, reference)
    assert record.approximation_ratio == expected
    assert record.row()["approximation_ratio"] == expected
    assert 0.0 <= expected <= 1.0
    assert "approximation_ratio" in CALL_COLUMNS


def test_call_ratio_is_none_without_a_reference():
    assert _record(5.0, None).approximation_ratio is None
    assert _record(None, 5.0).row()["approximation_ratio"] is None
    assert _record(12.0, 10.0).approximation_ratio == pytest.approx(10.0 / 12.0)


def test_solver_seeds_follow_the_run_seed_with_and_without_comms():
    """``--seed`` reaches the solver calls: the direct gateway is seeded with the run's
    seed, like the comms gateway (it took ``scenario.seed`` before, so seed replicates
    of a sweep repeated the same QAOA solves)."""
    from pathlib import Path

    from twin.engine import build
    from twin.scenario import load_scenario

    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    direct = load_scenario(scenarios / "microgrid_island_day.yaml")
    assert direct.comms is None or not direct.comms.enabled
    assert build(direct, seed=direct.seed + 5).controller.gateway.seed == direct.seed + 5
    assert build(direct).controller.gateway.seed == direct.seed
    comms = load_scenario(scenarios / "patterns_qpu_outage_evening_peak.yaml")
    assert comms.comms.enabled
    assert build(comms, seed=comms.seed + 5).controller.gateway.seed == comms.seed + 5


@pytest.mark.parametrize("solver", ["annealing", "qaoa"])
def test_gateway_solves_the_reference_once_and_passes_it_on(solver, monkeypatch):
    """A sampling solver called with reference=True gets the known milp optimum as
    reference_objective: milp solves the problem once per call, not once in the gateway
    and again inside the solver, and both report the same optimum."""
    import simpy

    from solvers import Problem, get_solver
    from twin.control.gateway import DirectGateway

    milp_cls = type(get_solver("milp"))
    calls = []
    original = milp_cls.solve

    def counting(self, problem, **kwargs):
        calls.append(problem)
        return original(self, problem, **kwargs)

    monkeypatch.setattr(milp_cls, "solve", counting)
    problem = Problem(objective=[1.0, -2.0, 0.5], kinds="binary", upper=1.0,
                      constraints=[[1.0, 1.0, 1.0]], row_lower=[1.0], row_upper=[2.0])
    env = simpy.Environment()
    gw = DirectGateway(seed=3)
    proc = env.process(gw.call(env, "decision", problem, solver=solver, reference=True))
    env.run()
    record = proc.value
    assert len(calls) == 1
    assert record.reference_objective == pytest.approx(-2.0)
    assert record.result.diagnostics["reference_objective"] == pytest.approx(-2.0)
