"""Per-call KPIs: hand-checked percentiles, latency split, rates, cost per query."""

from __future__ import annotations

import numpy as np
import pytest

from twin.comms.kpi import LATENCY_PARTS, call_kpis, call_row, percentile, quality_lost
from twin.comms.task import ControlTask, FallbackStep, SolverStep


def test_percentiles_hand_checked():
    """1..100: h = 99 q/100; p50 = 50.5, p95 = 95.05, p99 = 99.01 (by hand)."""
    values = list(range(100, 0, -1))  # order must not matter
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    # agrees with numpy's default method
    rng = np.random.default_rng(3)
    x = rng.lognormal(0, 1, 257)
    for q in (50, 95, 99):
        assert percentile(x, q) == pytest.approx(np.percentile(x, q))
    with pytest.raises(ValueError, match="q must be"):
        percentile(values, 101)


def test_small_sample_percentiles_by_hand():
    """[1, 2, 3, 10]: p50 = 2.5; p95: h = 2.85 -> 3 + 0.85*7 = 8.95; p99: 9.79."""
    assert percentile([10, 1, 3, 2], 50) == pytest.approx(2.5)
    assert percentile([10, 1, 3, 2], 95) == pytest.approx(8.95)
    assert percentile([10, 1, 3, 2], 99) == pytest.approx(9.79)


def _task(**kw):
    base = {"chain": (SolverStep("qaoa", "to_cloud"), SolverStep("milp", "local"),
                       FallbackStep("rule_based")),
                "deadline_s": 30.0, "timeout_s": 10.0, "pattern": "cloud"}
    base.update(kw)
    return ControlTask("dispatch", **base)


def test_latency_split_adds_up_and_cost_per_query(make_rig):
    """Three calls: clean (0.6 EUR), during an outage (edge, 0 EUR), clean (0.6 EUR):
    cost per query 0.4 EUR; fallback rate 1/3 with reason service_outage; the parts of
    each call's latency add up to its latency."""
    rig = make_rig([_task()])
    rig.services["qpu"].schedule_outage(100.0, 50.0)
    outs = [rig.run_call("dispatch", at_s=t) for t in (0.0, 120.0, 200.0)]
    rows = [call_row(o) for o in outs]
    for row in rows:
        assert sum(row[p] for p in LATENCY_PARTS) == pytest.approx(row["latency_s"])
    assert rows[0]["lost_s"] == pytest.approx(0.0)
    assert rows[0]["queue_s"] == pytest.approx(1.0)
    assert rows[1]["execution_s"] == pytest.approx(0.5)  # the edge's execution
    k = call_kpis(rows)
    assert k["calls"] == 3
    assert k["cost_total_eur"] == pytest.approx(1.2)
    assert k["cost_per_query_eur"] == pytest.approx(0.4)
    assert k["fallback_rate"] == pytest.approx(1 / 3)
    assert k["fallback_rate_service_outage"] == pytest.approx(1 / 3)
    assert k["deadline_miss_rate"] == 0.0
    assert k["energy_total_j"] == pytest.approx(2 * 2000.0 + 20.0 * 0.5)
    assert k["cloud.energy_per_call_j"] == pytest.approx(k["energy_total_j"] / 3)
    assert k["latency_p50_s"] == pytest.approx(3.0524)


def test_quality_lost_against_fault_free_run(make_rig):
    """The same three calls without the outage: the outage call lost 2 (milp -12 vs
    qaoa -10 is *better*: loss -2, the edge MILP beat the cloud QAOA)."""
    def rows(outage):
        rig = make_rig([_task()])
        if outage:
            rig.services["qpu"].schedule_outage(100.0, 50.0)
        return [call_row(rig.run_call("dispatch", at_s=t)) for t in (0.0, 120.0, 200.0)]

    q = quality_lost(rows(True), rows(False))
    assert q["quality_calls_compared"] == 3
    assert q["quality_loss_total"] == pytest.approx(-2.0)
    assert q["quality_loss_mean_frac"] == pytest.approx((-2.0 / 10.0) / 3)


def test_quality_lost_counts_unanswered_and_max_sense():
    """A call answered only by a non-solver fallback is counted, not compared."""
    base = [{"call_id": "a", "objective": 5.0}, {"call_id": "b", "objective": 4.0}]
    run = [{"call_id": "a", "objective": 4.0}, {"call_id": "b", "objective": None}]
    q = quality_lost(run, base, sense="max")
    assert q["quality_loss_total"] == 1.0
    assert q["quality_calls_unanswered"] == 1.0
