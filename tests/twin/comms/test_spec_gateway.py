"""The comms: section (defaults, chains, seeds) and CommsGateway over the EMS seam."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from pydantic import ValidationError

from twin.comms.gateway import CommsGateway, EdgeReconcilePlan
from twin.comms.latency import LognormalLatency, load_trace
from twin.comms.model import build_comms
from twin.comms.spec import CommsSpec, StepSpec, default_chain
from twin.comms.task import FallbackStep, HedgeStep, HybridStep, SolverStep


@pytest.mark.parametrize(("pattern", "first"), [
    ("cloud", "qaoa@to_qpu"), ("edge", "qaoa@local"), ("hybrid", "hybrid(qaoa@to_qpu)"),
    ("simulation-service", "qaoa@to_sim"), ("on-device", "qaoa@to_device")])
def test_default_chain_of_each_pattern(pattern, first):
    labels = [s.label for s in default_chain(pattern, "qaoa", "milp")]
    assert labels == [first, "milp@local", "last_good_schedule", "rule_based"]


def test_edge_pattern_with_the_edge_solver_has_no_duplicate():
    assert [s.label for s in default_chain("edge", "milp", "milp")] == [
        "milp@local", "last_good_schedule", "rule_based"]


def test_step_specs_build_runtime_steps():
    hedge = StepSpec(hedge=[{"solver": "qaoa", "route": "to_qpu"},
                            {"solver": "milp", "route": "local", "timeout_s": 5}], take="first")
    step = hedge.step()
    assert isinstance(step, HedgeStep)
    assert step.take == "first"
    assert step.branches[1] == SolverStep("milp", "local", timeout_s=5.0)
    assert isinstance(StepSpec(hybrid={"solver": "qaoa", "route": "to_qpu"}).step(), HybridStep)
    assert StepSpec(fallback="rule_based").step() == FallbackStep("rule_based")
    with pytest.raises(ValidationError, match="exactly one of"):
        StepSpec(solver="milp", route="local", fallback="rule_based")
    with pytest.raises(ValidationError, match="needs a route"):
        StepSpec(solver="milp")
    with pytest.raises(ValidationError, match="at least 2"):
        StepSpec(hedge=[{"solver": "qaoa", "route": "to_qpu"}])


def test_default_topology_has_a_backup_path():
    model = build_comms(simpy.Environment(), CommsSpec(enabled=True), 0)
    state = model.network.route_state("to_qpu")
    assert state.paths == (("gateway", "isp", "qpu_cloud"),
                           ("gateway", "cell", "isp", "qpu_cloud"))
    assert set(model.services) == {"edge", "cloud_qpu", "cloud_milp", "cloud_sim",
                                   "coprocessor"}


def _draws(spec, n=20):
    env = simpy.Environment()
    model = build_comms(env, spec, 5)
    out = []

    def proc():
        for _ in range(n):
            t = yield from model.network.transfer("to_qpu", 1000)
            out.append(t.network_s)

    env.process(proc())
    env.run()
    return out


def test_adding_a_link_does_not_shift_other_links_draws():
    """Each link draws from its own stream keyed by name."""
    base = CommsSpec(enabled=True)
    extra = base.model_copy(update={
        "nodes": (*base.nodes, base.nodes[1].model_copy(update={"name": "sat"})),
        "links": (base.links[-1].model_copy(update={"name": "satcom", "a": "gateway",
                                                    "b": "sat"}), *base.links),
    })
    assert _draws(base) == _draws(extra)
    assert _draws(base) == _draws(base.model_copy())  # same spec, same draws
    assert len(set(_draws(base))) > 1


def test_lognormal_median_and_p99_are_honoured():
    model = LognormalLatency(median_ms=30.0, p99_ms=600.0)
    rng = np.random.default_rng(0)
    x = np.array([model.sample_ms(rng) for _ in range(40_000)])
    assert np.percentile(x, 50) == pytest.approx(30.0, rel=0.03)
    assert np.percentile(x, 99) == pytest.approx(600.0, rel=0.08)


def test_trace_file_with_comments_and_bad_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# provenance line\nqueue_wait_s\n1.5\n\n2\n")
    assert load_trace(path).samples_ms == (1500.0, 2000.0)
    path.write_text("latency_ms\n3\n-1\n")
    with pytest.raises(ValueError, match="row 3"):
        load_trace(path)


class _Solver:
    name = "fake"

    def __init__(self, objective, status="optimal"):
        self.objective, self.status, self.calls = objective, status, 0

    def supports(self, problem):
        return None

    def solve(self, problem, *, time_limit=None, seed=None):
        self.calls += 1
        return SimpleNamespace(status=SimpleNamespace(value=self.status, name=self.status.upper()),
                               objective=self.objective, diagnostics={"qubits": 4},
                               wall_time_s=0.0, values={})


class _Recorder:
    def __init__(self):
        self.events = []

    def event(self, time_s, category, kind, entity, message, data):
        self.events.append((time_s, category, kind, entity, data))


def _problem():
    return SimpleNamespace(num_variables=4, num_binary=4, num_constraints=1, is_binary=True,
                           sense=SimpleNamespace(name="MINIMIZE"))


@pytest.mark.parametrize("pattern", ["cloud", "edge", "hybrid", "simulation-service",
                                     "on-device"])
def test_gateway_each_pattern_answers_with_kpis(pattern):
    """Every pattern answers through the seam; the record carries the latency split,
    cost and modelled compute energy, and the recorder gets every event."""
    env = simpy.Environment()
    rec = _Recorder()
    gw = CommsGateway(env, CommsSpec(enabled=True, pattern=pattern, deadline_s=3600,
                                     timeout_s=3000), seed=1, recorder=rec,
                      solvers={"qaoa": _Solver(-3.0), "milp": _Solver(-4.0)})
    out = []

    def proc():
        record = yield from gw.call(env, "ev_assignment", _problem(), solver="qaoa")
        out.append(record)

    env.process(proc())
    env.run()
    (record,) = out
    assert record.status == "optimal"
    assert record.fallback is None
    x = record.extra
    assert x["pattern"] == pattern
    parts = sum(x[p] for p in ("connect_s", "serialisation_s", "network_s", "queue_s",
                               "execution_s", "return_s", "lost_s"))
    assert parts == pytest.approx(record.latency_s)
    assert x["energy_j"] > 0
    if pattern in ("cloud", "hybrid"):
        assert x["cost_eur"] >= 0.3
        assert x["queue_s"] > 0
    if pattern == "hybrid":
        assert record.solver_used == "hybrid:qaoa"
        assert record.objective == -4.0
    if pattern in ("edge", "on-device"):
        assert x["network_s"] < 1e-3
        assert x["queue_s"] == 0.0
    assert any(kind == "solver_call" for _, _, kind, _, _ in rec.events)
    assert gw.kpis()["comms.calls"] == 1


def test_gateway_fallback_to_controller_when_nothing_answers():
    """All solver steps fail (QPU and edge down): the record has no answer and names the
    controller fallback the chain reached, with every reason."""
    env = simpy.Environment()
    spec = CommsSpec(enabled=True, pattern="cloud")
    gw = CommsGateway(env, spec, seed=1, solvers={"qaoa": _Solver(-3.0), "milp": _Solver(-4.0)})
    gw.model.services["cloud_qpu"].outage_begin()
    gw.model.services["edge"].outage_begin()
    out = []

    def proc():
        out.append((yield from gw.call(env, "dispatch", _problem(), solver="qaoa")))

    env.process(proc())
    env.run()
    (record,) = out
    assert not record.ok
    assert record.solver_used is None
    assert record.status == "failed"
    assert record.fallback == "last_good_schedule"
    assert "qaoa@to_qpu: service_outage" in record.fallback_reason
    assert "milp@local: service_outage" in record.fallback_reason


def test_edge_reconcile_plan_keeps_the_better_answer():
    plan = EdgeReconcilePlan(_Solver(-4.0), max_binaries=4)
    problem = _problem()
    assert plan.split(problem) == [problem]
    assert plan.split(SimpleNamespace(num_variables=9, is_binary=True)) == []
    merged = plan.merge(problem, [_Solver(-3.0).solve(problem)])
    assert merged.objective == -4.0
    assert plan.merge(problem, [_Solver(-5.0).solve(problem)]).objective == -5.0


def test_qpu_execution_uses_the_solvers_modelled_qpu_time():
    """The cloud QPU is busy for its job overhead plus the solver's modelled time of the
    final sampling job (or of every evaluation with loop=True); it bills those shots."""
    from twin.comms.execution import QpuExecution
    from twin.comms.presets import cloud_quantum_service

    result = SimpleNamespace(diagnostics={"shots": 2000, "optimizer_iterations": 4,
                                          "modelled_qpu_time_s": 2.5,
                                          "modelled_qpu_time_loop_s": 12.5})
    assert QpuExecution(job_overhead_s=1.0).seconds(None, result) == pytest.approx(3.5)
    assert QpuExecution(job_overhead_s=1.0, loop=True).seconds(None, result) == pytest.approx(13.5)
    assert QpuExecution(loop=True).billed_shots(result) == 10_000
    env = simpy.Environment()
    from twin.comms.event import EventLog
    from twin.comms.service import Service

    service = Service(env, cloud_quantum_service(queue_wait=None), np.random.default_rng(0),
                      EventLog())
    job = service.submit("j", "qaoa", lambda: result, None)
    env.run()
    assert job.execution_s == pytest.approx(3.5)
    assert job.cost_eur == pytest.approx(0.30 + 0.00035 * 2000)
    assert job.energy_j == pytest.approx(25_000.0 * 3.5)


class _Steps:
    """A solver whose answers jump: values x = 0, 10, 200, 205 on successive calls."""

    name = "steps"

    def __init__(self):
        self.k = 0

    def supports(self, problem):
        return None

    def solve(self, problem, *, time_limit=None, seed=None):
        x = [0.0, 10.0, 200.0, 205.0][self.k]
        self.k += 1
        return SimpleNamespace(status=SimpleNamespace(value="optimal", name="OPTIMAL"),
                               objective=-x, diagnostics={}, wall_time_s=0.0,
                               values={"p_kw[0]": x}, has_solution=True)


@pytest.mark.parametrize(("prob", "decision"), [(1.0, "approved"), (0.0, "rejected")])
def test_operator_gate_holds_large_jumps(prob, decision):
    """Changes of 10 pass; the jump of 190 (> 50) waits a constant 300 s for the
    operator; approved it is adopted, rejected the controller keeps its last plan."""
    env = simpy.Environment()
    spec = CommsSpec(enabled=True, pattern="edge", approval={
        "enabled": True, "hold_above_change": 50, "approve_prob": prob,
        "delay": {"kind": "constant", "value_ms": 300_000}})
    gw = CommsGateway(env, spec, seed=1, solvers={"milp": _Steps()})
    records = []

    def proc():
        for _ in range(4):
            records.append((yield from gw.call(env, "dispatch", _problem(), solver="milp")))
            yield env.timeout(900)

    env.process(proc())
    env.run()
    assert [r.extra.get("approval") for r in records[:3]] == [None, None, decision]
    held = records[2]
    assert held.latency_s == pytest.approx(300.0 + (0.05 + 5e-4 * 4) / 0.5)  # + edge MILP
    kinds = [e["kind"] for e in gw.events.records if e["category"] == "control"]
    assert kinds[:2] == ["approval_requested", f"approval_{decision}"]
    if decision == "approved":
        assert held.ok
        assert records[3].extra.get("approval") is None
    else:
        assert not held.ok
        assert held.fallback == "last_good_schedule"
        assert "operator rejected" in held.fallback_reason
        assert records[3].extra.get("approval") == "rejected"  # 205 vs 10: held again
