"""The communication model and faults inside a full run of the twin (engine + EMS)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin import engine
from twin.scenario import apply_overrides, load_scenario

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"

SHORT = {
    "time.start": "2016-06-15T16:00:00",
    "time.duration": "6h",
    "control.ems.horizon": "6h",
    "pcc.outages": [{"start": "1h", "duration": "4h"}],
}


def _scenario(**extra):
    scenario = load_scenario(SCENARIOS / "patterns_qpu_outage_evening_peak.yaml")
    overrides = dict(SHORT)
    overrides["faults"] = [{"kind": "service_outage", "service": "cloud_qpu",
                            "start": "30min", "duration": "3h"}]
    overrides.update(extra)
    return apply_overrides(scenario, overrides)


def _run(scenario, seed=None):
    sim = engine.build(scenario, seed=seed)
    out = engine.simulate(sim)
    return sim, out


@pytest.fixture(scope="module")
def faulted():
    return _run(_scenario())


@pytest.fixture(scope="module")
def clean():
    return _run(_scenario(faults=[]))


def test_quantum_outage_at_deadline_falls_back_and_keeps_serving_load(faulted, clean):
    """Calls during the cloud-QPU outage are refused, answered by the edge MILP within
    their deadline, no plan fails, and the twin serves all load as without the fault."""
    sim, out = faulted
    rows = sim.extras.gateway.rows
    hit = [r for r in rows if "qaoa@to_qpu:service_outage" in r["reasons"]]
    assert hit, "the outage window must cover at least one quantum call"
    for row in hit:
        assert row["status"] == "solved"
        assert row["used_step"] == "milp@local"
        assert row["deadline_met"]
        assert 1800.0 <= row["start_s"] <= 1800.0 + 3 * 3600.0
    assert out.kpis["ems_failed_plans"] == 0
    assert out.kpis["unserved_energy_kwh"] == pytest.approx(clean[1].kpis["unserved_energy_kwh"])
    assert out.recording.converged.all()
    assert out.kpis["comms.fallback_rate_service_outage"] > 0
    assert "comms.fallback_rate_service_outage" not in clean[1].kpis
    kinds = {(e["category"], e["kind"]) for e in out.recording.events}
    assert {("fault", "service_outage_start"), ("service", "job_rejected"),
            ("call", "fallback"), ("call", "solver_call")} <= kinds
    # the per-call record the EMS got names the fallback and why
    records = [r for r in sim.controller.gateway.log.records if r.task == "ev_assignment"]
    assert any(r.fallback == "milp" and "service_outage" in (r.fallback_reason or "")
               for r in records)


def test_kpis_latency_split_cost_and_quality(faulted, clean):
    """Per-call KPIs are in kpis.json; quality lost to the outage is measured against
    the same run without it."""
    from twin.comms.kpi import LATENCY_PARTS, quality_lost

    sim, out = faulted
    k = out.kpis
    for q in ("p50", "p95", "p99"):
        assert k[f"comms.latency_{q}_s"] is not None
    assert k["comms.latency_p50_s"] <= k["comms.latency_p95_s"] <= k["comms.latency_p99_s"]
    parts = sum(k[f"comms.mean_{p}"] for p in LATENCY_PARTS)
    assert parts == pytest.approx(k["comms.latency_mean_s"])
    assert k["comms.cost_total_eur"] == pytest.approx(
        sum(r["cost_eur"] for r in sim.extras.gateway.rows))
    assert k["comms.cost_per_query_eur"] == pytest.approx(k["comms.cost_total_eur"] / k["comms.calls"])
    assert k["comms.cloud.energy_per_call_j"] > 0
    assert k["comms.edge.energy_per_call_j"] > 0
    q = quality_lost(sim.extras.gateway.rows, clean[0].extras.gateway.rows)
    assert q["quality_calls_compared"] > 0
    json.dumps(k, allow_nan=False)


def test_same_seed_same_events_latencies_and_results(faulted):
    """Re-running with the same seed gives the same events (wall-clock fields aside),
    the same per-call latencies and the same grid results; another seed differs."""
    sim_a, out_a = faulted
    sim_b, out_b = _run(_scenario())

    def events(out):
        return [(e["time_s"], e["category"], e["kind"], e["entity"],
                 {k: v for k, v in e["data"].items() if "wall" not in k})
                for e in out.recording.events]

    assert events(out_a) == events(out_b)
    assert sim_a.extras.gateway.rows == sim_b.extras.gateway.rows
    np.testing.assert_array_equal(out_a.recording.v, out_b.recording.v)
    sim_c, _out_c = _run(_scenario(), seed=99)
    assert [r["latency_s"] for r in sim_c.extras.gateway.rows] != [
        r["latency_s"] for r in sim_a.extras.gateway.rows]


def test_stale_battery_sensor_ems_uses_last_value_and_says_so():
    """A stale battery measurement from 30 min for 2 h: the EMS plans on the energy it
    last read before the fault (recorded as a control event naming the value), while the
    battery's real state keeps changing."""
    _sim, out = _run(_scenario(faults=[
        {"kind": "sensor_stale", "asset": "community_battery", "start": "30min",
         "duration": "2h"}]))
    subs = [e for e in out.recording.events if e["kind"] == "measurement_substituted"]
    assert subs
    assert all(e["entity"] == "asset/community_battery" for e in subs)
    energy = [e for e in subs if e["data"]["quantity"] == "energy_mwh"]
    assert energy
    assert energy[0]["data"]["quality"] == "last_value"
    assert 1800.0 <= energy[0]["time_s"] <= 1800.0 + 7200.0
    last_read_s = energy[0]["time_s"] - energy[0]["data"]["age_s"]
    assert last_read_s < 1800.0
    assert "last value" in energy[0]["message"]
    soc = next(s for s in out.recording.channels if s.quantity == "soc_frac").values[:, 0]
    assert np.ptp(soc[2:10]) > 0  # the real state moved during the fault
