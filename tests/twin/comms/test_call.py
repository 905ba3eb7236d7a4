"""The caller: fallback chains, retries, deadlines, hedging, hybrid, and faults.

Every test states the rule in its docstring; times are hand-computed from the rig in
``conftest.py``: gateway -fibre 5 ms- isp -backbone 20 ms- cloud (preferred), or
gateway -lte 40 ms- cell -cell_bb 30 ms- cloud; 100 Mbit/s links; the cloud QPU has a
1 s queue, 2 s execution, 0.5 EUR a job + 0.001 EUR a shot, 1 kW; the edge 0.5 s, 20 W.
"""

from __future__ import annotations

import pytest

from twin.comms.task import ControlTask, FallbackStep, HedgeStep, HybridStep, SolverStep

CLOUD = SolverStep("qaoa", "to_cloud")
EDGE = SolverStep("milp", "local")


def chain_task(**kw):
    base = {"chain": (CLOUD, EDGE, FallbackStep("last_good_schedule"),
                       FallbackStep("rule_based")),
                "deadline_s": 30.0, "timeout_s": 10.0, "pattern": "cloud"}
    base.update(kw)
    return ControlTask("dispatch", **base)


def test_happy_path_latency_split_cost_and_energy(make_rig):
    """A clean cloud call: each latency component as hand-computed, cost and energy."""
    rig = make_rig([chain_task()])
    out = rig.run_call("dispatch")
    assert out.status == "solved"
    assert out.used_step == "qaoa@to_cloud"
    (a,) = out.attempts
    assert a.path == "gateway-isp-cloud"
    assert a.serialisation_s == pytest.approx(2 * 10_000 * 8 / 100e6)
    assert a.network_s == pytest.approx(0.025)
    assert a.queue_s == pytest.approx(1.0)
    assert a.execution_s == pytest.approx(2.0)
    assert a.return_s == pytest.approx(2 * 5_000 * 8 / 100e6 + 0.025)
    assert out.latency_s == pytest.approx(0.0016 + 0.025 + 1.0 + 2.0 + 0.0008 + 0.025)
    assert out.cost_eur == pytest.approx(0.5 + 0.001 * 100)
    assert out.energy_j == pytest.approx(1000.0 * 2.0)
    assert out.deadline_met


def test_service_outage_at_deadline_falls_back_to_edge(make_rig):
    """Quantum service down during the call: job refused, edge MILP answers in time."""
    rig = make_rig([chain_task()], cloud={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch", at_s=1.0)
    assert out.status == "solved"
    assert out.used_step == "milp@local"
    assert out.fallback_reasons == (("qaoa@to_cloud", "service_outage"),)
    assert out.result.objective == -12.0
    assert "service_outage_start" in rig.kinds("fault")
    assert "job_rejected" in rig.kinds("service")


def test_outage_mid_job_aborts_and_falls_back(make_rig):
    """An outage starting while the job waits in the queue aborts it; fallback runs."""
    rig = make_rig([chain_task()], cloud={"outage_windows": ((0.5, 100.0),)})
    out = rig.run_call("dispatch")
    assert out.fallback_reasons[0] == ("qaoa@to_cloud", "service_outage")
    assert out.used_step == "milp@local"
    assert "job_aborted" in rig.kinds("service")


def test_all_solvers_fail_last_good_then_rule_based(make_rig):
    """No solver answer and no last good schedule: the rule-based fallback answers."""
    rig = make_rig([chain_task()], cloud={"outage_windows": ((0.0, 100.0),)},
                   edge={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch")
    assert out.status == "fallback"
    assert out.fallback_value == "rules"
    assert [r for _, r in out.fallback_reasons] == [
        "service_outage", "service_outage", "unavailable"]
    assert not out.deadline_met


def test_last_good_schedule_used_when_available(make_rig):
    """With a last good schedule in hand, it answers before the rule-based fallback."""
    rig = make_rig([chain_task()], cloud={"outage_windows": ((0.0, 100.0),)},
                   edge={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch", fallbacks={"last_good_schedule": lambda p: "last",
                                              "rule_based": lambda p: "rules"})
    assert out.status == "fallback"
    assert out.fallback_value == "last"
    assert out.used_step == "last_good_schedule"


def test_nothing_answers_gives_failed(make_rig):
    """A chain of solver steps only, all failing: status failed, no exception."""
    task = ControlTask("dispatch", chain=(CLOUD,), deadline_s=30.0, timeout_s=10.0)
    rig = make_rig([task], cloud={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch")
    assert out.status == "failed"
    assert out.result is None


def test_queue_surge_times_out_then_edge(make_rig):
    """A queue surge of 60 s exceeds the 10 s time-out: timeout, job withdrawn (no cost)."""
    rig = make_rig([chain_task()])
    rig.services["qpu"].schedule_queue_surge(0.0, 100.0, 60.0)
    out = rig.run_call("dispatch")
    assert out.fallback_reasons[0] == ("qaoa@to_cloud", "timeout")
    assert out.attempts[0].latency_s == pytest.approx(10.0)
    assert out.attempts[0].cost_eur == 0.0
    assert out.used_step == "milp@local"
    assert rig.services["qpu"].state.admitted == 0


def test_deadline_caps_the_timeout(make_rig):
    """Time-out 10 s but deadline 5 s: the attempt ends at 5 s with reason deadline."""
    rig = make_rig([chain_task(deadline_s=5.0)])
    rig.services["qpu"].schedule_queue_surge(0.0, 100.0, 60.0)
    out = rig.run_call("dispatch")
    assert out.fallback_reasons[0] == ("qaoa@to_cloud", "deadline")
    assert out.fallback_reasons[1] == ("milp@local", "deadline")
    assert out.status == "fallback"
    assert out.latency_s == pytest.approx(5.0)
    assert out.deadline_elapsed
    assert not out.deadline_met
    assert "deadline_missed" in rig.kinds("call")


def test_link_down_failover_after_detection(make_rig):
    """Fibre down at 0: a call at 0.5 s is lost (before detection, times out); after
    the 1 s detection the route fails over to LTE and a call at 2 s succeeds via cell."""
    rig = make_rig([chain_task(chain=(CLOUD,), timeout_s=5.0)])
    rig.network.schedule_link_down("fibre", 0.0, 1000.0)
    first = rig.run_call("dispatch", at_s=0.5)
    assert first.status == "failed"
    assert first.fallback_reasons == (("qaoa@to_cloud", "link_down"),)
    assert first.attempts[0].latency_s == pytest.approx(5.0)
    assert "route_failover" in rig.kinds("route")
    second = rig.run_call("dispatch", at_s=10.0)
    assert second.status == "solved"
    assert second.attempts[0].path == "gateway-cell-cloud"
    assert second.attempts[0].network_s == pytest.approx(0.070)


def test_link_repair_fails_back(make_rig):
    """After the fibre is repaired, the route returns to the preferred path."""
    rig = make_rig([chain_task(chain=(CLOUD,))])
    rig.network.schedule_link_down("fibre", 0.0, 3.0)
    rig.env.run(until=10.0)
    assert rig.kinds("route") == ["route_failover", "route_failback"]
    assert rig.network.active_path("to_cloud") == ("gateway", "isp", "cloud")


def test_latency_spike_adds_to_network_time(make_rig):
    """A +500 ms spike on the backbone adds 0.5 s each way."""
    rig = make_rig([chain_task()])
    rig.network.schedule_latency_spike("backbone", 0.0, 100.0, 500.0)
    out = rig.run_call("dispatch")
    a = out.attempts[0]
    assert a.network_s == pytest.approx(0.525)
    assert a.return_s == pytest.approx(0.0008 + 0.525)
    assert "latency_spike_start" in rig.kinds("fault")


def test_loss_burst_drops_and_retries(make_rig):
    """Loss probability 1 on the fibre during a burst: every message is dropped after
    its link retransmissions; the call retries with back-off, then falls back."""
    rig = make_rig([chain_task(retries=2, backoff_s=0.5, timeout_s=2.0)])
    rig.network.schedule_loss_burst("fibre", 0.0, 100.0, 1.0)
    out = rig.run_call("dispatch")
    qaoa = [a for a in out.attempts if a.solver == "qaoa"]
    assert [a.outcome for a in qaoa] == ["packet_loss"] * 3
    assert [a.start_s for a in qaoa] == pytest.approx([0.0, 2.5, 2.5 + 2.0 + 1.0])
    assert all(a.retransmissions == 3 for a in qaoa)
    assert rig.kinds("call").count("retry") == 2
    assert out.used_step == "milp@local"


def test_solver_error_fault_falls_back(make_rig):
    """An injected solver error answers at once with solver_error; it is retried."""
    rig = make_rig([chain_task(retries=1, backoff_s=0.1)])
    rig.services["qpu"].schedule_solver_error(0.0, 100.0)
    out = rig.run_call("dispatch")
    assert [a.outcome for a in out.attempts[:2]] == ["solver_error"] * 2
    assert out.used_step == "milp@local"


def test_solver_exception_is_an_error_not_a_crash(make_rig, fake_solver):
    """A solver that raises gives solver_error, and the chain goes on."""
    FakeSolver = fake_solver
    rig = make_rig([chain_task()], solvers={"qaoa": FakeSolver(1.0, raises=True),
                                           "milp": FakeSolver(-12.0)})
    out = rig.run_call("dispatch")
    assert out.fallback_reasons[0] == ("qaoa@to_cloud", "solver_error")
    assert out.used_step == "milp@local"


def test_solver_timeout_fault(make_rig):
    """A slowdown x1000 makes the 2 s job exceed max_execution_s=60: solver_timeout."""
    rig = make_rig([chain_task(timeout_s=100.0, deadline_s=200.0)],
                   cloud={"max_execution_s": 60.0})
    rig.services["qpu"].schedule_solver_timeout(0.0, 1000.0, 1000.0)
    out = rig.run_call("dispatch")
    assert out.fallback_reasons[0] == ("qaoa@to_cloud", "solver_timeout")
    assert out.attempts[0].execution_s == pytest.approx(60.0)


def test_infeasible_answer_is_not_retried(make_rig, fake_solver):
    """A solver answering infeasible gives solver_infeasible, not retried."""
    FakeSolver = fake_solver
    rig = make_rig([chain_task(retries=3)],
                   solvers={"qaoa": FakeSolver(1.0, status="infeasible"),
                            "milp": FakeSolver(-12.0)})
    out = rig.run_call("dispatch")
    assert [a.outcome for a in out.attempts] == ["solver_infeasible", "ok"]


def test_rate_limit_quota_and_queue_full(make_rig):
    """Admission refusals come back at once with their reason."""
    rig = make_rig([chain_task()], cloud={"quota_jobs": 0})
    assert rig.run_call("dispatch").fallback_reasons[0][1] == "quota_exceeded"
    rig = make_rig([chain_task()], cloud={"rate_limit_per_s": 0.001, "rate_limit_burst": 1})
    rig.run_call("dispatch")
    assert rig.run_call("dispatch").fallback_reasons[0][1] == "rate_limited"


def test_hedge_best_takes_better_objective(make_rig):
    """Hedge take=best: both answer; the lower objective (milp, -12) wins though later?
    Here the edge answers first (0.5 s) and the cloud later (3.05 s); best waits."""
    task = ControlTask("dispatch", chain=(HedgeStep((CLOUD, EDGE), take="best"),
                                          FallbackStep("rule_based")),
                       deadline_s=30.0, timeout_s=10.0)
    rig = make_rig([task])
    out = rig.run_call("dispatch")
    assert out.status == "solved"
    assert out.result.objective == -12.0
    assert out.latency_s == pytest.approx(3.0524)
    assert out.used_attempt.step == "milp@local"
    assert out.cost_eur == pytest.approx(0.6)


def test_hedge_first_cancels_the_slower_branch(make_rig):
    """Hedge take=first: the edge answers at 0.5 s; the cloud branch is withdrawn."""
    task = ControlTask("dispatch", chain=(HedgeStep((CLOUD, EDGE), take="first"),
                                          FallbackStep("rule_based")),
                       deadline_s=30.0, timeout_s=10.0)
    rig = make_rig([task])
    out = rig.run_call("dispatch")
    assert out.latency_s == pytest.approx(0.5)
    assert out.result.objective == -12.0
    cloud = next(a for a in out.attempts if a.solver == "qaoa")
    assert cloud.outcome == "cancelled"
    assert cloud.cost_eur == 0.0


def test_hedge_survives_one_branch_down(make_rig):
    """Hedge best with the cloud down: the edge's answer is used, reason recorded."""
    task = ControlTask("dispatch", chain=(HedgeStep((CLOUD, EDGE)), FallbackStep("rule_based")),
                       deadline_s=30.0, timeout_s=10.0)
    rig = make_rig([task], cloud={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch")
    assert out.status == "solved"
    assert out.result.objective == -12.0
    assert ("qaoa@to_cloud", "service_outage") in out.fallback_reasons


class _Plan:
    def split(self, problem):
        return ["a", "b"]

    def merge(self, problem, results):
        from types import SimpleNamespace

        return SimpleNamespace(status="feasible",
                               objective=sum(r.objective for r in results),
                               diagnostics={}, wall_time_s=0.0, values={})


def test_hybrid_splits_calls_in_parallel_and_merges(make_rig):
    """Hybrid: 0.05 s split, two cloud sub-calls in parallel (one slot: the second
    waits for the first's 2 s execution), 0.05 s reconcile; objective is the sum."""
    task = ControlTask("dispatch", chain=(HybridStep(CLOUD), EDGE), deadline_s=30.0,
                       timeout_s=10.0, pattern="hybrid")
    rig = make_rig([task])
    out = rig.run_call("dispatch", hybrid=_Plan())
    assert out.status == "solved"
    assert out.result.objective == -20.0
    assert out.solver == "hybrid:qaoa"
    assert out.latency_s == pytest.approx(0.05 + 3.0524 + 2.0 + 0.05)
    edge = [a for a in out.attempts if a.solver == "<hybrid-edge>"]
    assert sum(a.energy_j for a in edge) == pytest.approx(30.0 * 0.1)


def test_hybrid_failure_falls_back(make_rig):
    """A hybrid step whose remote is down falls back to the edge MILP."""
    task = ControlTask("dispatch", chain=(HybridStep(CLOUD), EDGE), deadline_s=30.0,
                       timeout_s=10.0)
    rig = make_rig([task], cloud={"outage_windows": ((0.0, 100.0),)})
    out = rig.run_call("dispatch", hybrid=_Plan())
    assert out.used_step == "milp@local"
    assert out.fallback_reasons[-1] == ("hybrid(qaoa@to_cloud)", "service_outage")


def test_unknown_route_or_solver_is_refused_with_field_path(make_rig):
    """A chain naming an unknown route or solver is refused, naming the field."""
    with pytest.raises(ValueError, match=r"chain\[0\]\.route: unknown route 'nowhere'"):
        make_rig([ControlTask("dispatch", chain=(SolverStep("qaoa", "nowhere"),),
                              deadline_s=1.0, timeout_s=1.0)])
    with pytest.raises(ValueError, match=r"chain\[0\]\.solver: unknown solver 'grover'"):
        make_rig([ControlTask("dispatch", chain=(SolverStep("grover", "local"),),
                              deadline_s=1.0, timeout_s=1.0)])


def test_an_object_without_supports_is_not_a_solver(make_rig, fake_solver):
    """The caller takes solvers.registry.Solver objects only: one with solve() but no
    supports() is refused at construction, naming it."""

    class SolveOnly:
        name = "half"

        def solve(self, problem, *, time_limit=None, seed=None):
            raise AssertionError("never called")

    with pytest.raises(ValueError, match=r"solvers\['qaoa'\]: not a solver"):
        make_rig([chain_task()], solvers={"qaoa": SolveOnly(), "milp": fake_solver(2.0)})


def test_same_seed_same_calls(make_rig):
    """Lognormal queue and jitter, loss: the same seed gives identical attempts and
    events; another seed differs."""
    from twin.comms.latency import LognormalLatency

    def run(seed):
        rig = make_rig([chain_task()], seed=seed,
                       cloud={"queue_wait": LognormalLatency(2000.0, 20_000.0)},
                       links={"backbone": {"jitter_ms": 10.0, "loss_prob": 0.2}})
        outs = [rig.run_call("dispatch", at_s=60.0 * k) for k in range(5)]
        return [o.attempts for o in outs], rig.log.records

    a, b, c = run(7), run(7), run(8)
    assert a == b
    assert a[0] != c[0]
