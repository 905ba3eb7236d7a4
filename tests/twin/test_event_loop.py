"""The event-driven loop (issue 12): intervals of constant network state, one metering
truth, unserved energy, islands as power flows and decisions that take time.

- the energy balance ``import + generation = load served + losses + storage`` closes on
  every interval of every shipped scenario (faulted ones included) within 1e-6 MW;
- the PCC bill equals the integral of the power-flow import over the intervals;
- hand-computed cases: a 3-minute trip inside a 15-minute step; a 7-minute answer
  applied at minute 7; an answer past its deadline counted late and not applied;
- hypothesis: random latency, deadlines, fault and outage timings on a small scenario,
  through a test gateway and through the comms model with its own (random) link and
  service-queue distributions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
SHORT = {"simbench_year": {"time.duration": "1d"}}


def _run(scenario):
    from twin.engine import build, simulate

    sim = build(scenario)
    return sim, simulate(sim)


def interval_balance(sim, out) -> np.ndarray:
    """Per interval: import + generation - (load served + losses + storage). [MW]"""
    iv = out.recording.intervals
    d = out.derived_intervals
    flows = sim.model.injection_weight * iv.p_mw
    sl = sim.model.element_slices
    imp = np.nansum(d.slack_p_mw, axis=1)  # island slack: on the forming units' own rows
    gen = flows[:, sl["sgen"]].sum(axis=1)
    load = -flows[:, sl["load"]].sum(axis=1)
    storage = -flows[:, sl["storage"]].sum(axis=1)
    return np.where(iv.converged, imp + gen - load - d.losses_p_mw - storage, 0.0)


@pytest.mark.integration
@pytest.mark.parametrize("case", SCENARIOS)
def test_energy_balance_closes_on_every_interval(case: str) -> None:
    """Every interval of every shipped scenario, faulted ones included: import (and the
    grid-forming units of islands) + generation = load served + losses + storage, within
    1e-6 MW; load on dark buses is unserved, not served; PCC billing = power-flow import."""
    from twin.scenario import apply_overrides, load_scenario

    scenario = load_scenario(ROOT / "scenarios" / f"{case}.yaml")
    if case in SHORT:
        scenario = apply_overrides(scenario, SHORT[case])
    sim, out = _run(scenario)
    iv = out.recording.intervals
    assert iv.duration_s.sum() == pytest.approx(out.recording.n_steps * out.recording.step_s)
    assert iv.converged.all(), f"{case}: {np.count_nonzero(~iv.converged)} intervals unsolved"
    mismatch = interval_balance(sim, out)
    assert np.abs(mismatch).max() < 1e-6, f"{case}: worst interval {np.abs(mismatch).max()} MW"
    k = out.kpis
    if "pcc_import_mwh" in k:  # one metering truth: the bill is the power-flow import
        d = out.derived_intervals
        flow = np.nan_to_num(d.slack_p_mw.sum(axis=1))
        assert (flow[iv.pcc_open] == 0.0).all()  # nothing crosses an open PCC
        assert iv.pcc_open.any() == bool(sim.scenario.pcc.outages)
        hours = iv.duration_s / 3600.0
        assert k["pcc_import_mwh"] == pytest.approx(
            float((np.clip(flow, 0, None) * hours).sum()), abs=1e-9)
        assert k["pcc_export_mwh"] == pytest.approx(
            float((-np.clip(flow, None, 0) * hours).sum()), abs=1e-9)
    if "reliability_energy_not_supplied_mwh" in k:  # one unserved-energy figure
        assert k["reliability_energy_not_supplied_mwh"] * 1000.0 == pytest.approx(
            k["unserved_energy_kwh"], abs=1e-9)


def _tiny(grid: Path, faults: list[dict], **extra):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "tiny_events",
        "time": {"start": "2016-06-01T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(grid)},
        "profiles": {"source": "constant"},
        "faults": faults,
        **extra,
    })


def test_three_minute_trip_inside_a_step(tiny_grid: Path) -> None:
    """Line 0 (feeding buses 1 and 2) trips at 09:05 for 3 minutes, inside the 09:00
    step: exactly 3 minutes of interruption (momentary: MAIFI 1, SAIFI 0), and the
    energy not supplied is the 10 kW load for 3 minutes (0.5 kWh), in every figure;
    the step is split into 09:00-09:05, 09:05-09:08 (dark) and 09:08-09:15."""
    scenario = _tiny(tiny_grid, [{"kind": "line_outage", "element": 0, "start": "9h5min",
                                  "duration": "3min"}])
    sim, out = _run(scenario)
    k = out.kpis
    iv = out.recording.intervals
    step = 36
    rows = np.flatnonzero(iv.step == step)
    assert iv.start_s[rows].tolist() == [32400.0, 32700.0, 32880.0]
    assert iv.duration_s[rows].tolist() == [300.0, 180.0, 420.0]
    assert iv.unserved_mw[rows].tolist() == [0.0, 0.010, 0.0]
    assert (iv.step != step).sum() == out.recording.n_steps - 1  # no other step split
    assert k["reliability_maifi"] == 1.0
    assert k["reliability_saifi"] == 0.0
    assert k["reliability_energy_not_supplied_mwh"] == pytest.approx(0.010 * 3 / 60, abs=1e-15)
    assert k["unserved_energy_kwh"] == pytest.approx(0.5, abs=1e-12)
    assert k["load_unserved_mwh"] == pytest.approx(0.010 * 3 / 60, abs=1e-15)
    # served load is the day's load minus the 3 dark minutes; the PV was dark as well
    assert k["load_energy_mwh"] == pytest.approx(0.010 * (24 - 0.05), rel=1e-12)
    assert k["generation_energy_mwh"] == pytest.approx(0.005 * (24 - 0.05), rel=1e-12)
    # the step's mean import in the time series integrates to the step's energy
    from twin.engine import timeseries_series

    grid = {s.quantity: s.values[:, 0] for s in timeseries_series(sim, out) if s.group == "grid"}
    d = out.derived_intervals
    want = float((d.slack_p_mw[rows].sum(axis=1) * iv.duration_s[rows]).sum()) / 900.0
    assert grid["import_p_mw"][step] == pytest.approx(want, rel=1e-12)
    assert grid["load_p_mw"][step] == pytest.approx(0.010 * 720 / 900, rel=1e-12)


def test_a_trip_at_a_step_boundary_splits_nothing_else(tiny_grid: Path) -> None:
    """A fault that starts at a profile boundary is taken by that step's own solve (no
    zero-length interval); its end inside the step splits that one step only."""
    scenario = _tiny(tiny_grid, [{"kind": "line_outage", "element": 1, "start": "9h",
                                  "duration": "3min"}])
    _sim, out = _run(scenario)
    iv = out.recording.intervals
    assert iv.n == out.recording.n_steps + 1
    rows = np.flatnonzero(iv.step == 36)
    assert iv.duration_s[rows].tolist() == [180.0, 720.0]
    assert out.kpis["reliability_energy_not_supplied_mwh"] == pytest.approx(0.010 * 3 / 60)


class DelayedGateway:
    """Every call answers ``delay_s`` after it is made (then solves at once)."""

    def __init__(self, inner, delay_s: float) -> None:
        self.inner = inner
        self.log = inner.log
        self.delay_s = float(delay_s)

    def call(self, env, task, problem, **kw):
        yield env.timeout(self.delay_s)
        return (yield from self.inner.call(env, task, problem, **kw))


def _ems_minutes(grid: Path, **ems):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "tiny_loop",
        "time": {"start": "2016-06-01T08:00:00", "duration": "1h", "step": "1min"},
        "grid": {"source": "file", "path": str(grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 20,
                    "power_kw": 5}],
        "control": {"mode": "ems", "ems": {"plan_step": "15min", "horizon": "1h",
                                           "replan_every": "15min", **ems}},
    })


def _delayed_run(scenario, delay_s: float, deadline_s: float | None):
    from twin.engine import build, simulate

    sim = build(scenario)
    ctl = sim.controller
    ctl.gateway = DelayedGateway(ctl.gateway, delay_s)
    ctl.timed = True
    ctl.loop.deadline_s = deadline_s
    return sim, simulate(sim)


def _events(out, kind: str) -> list[dict]:
    return [e for e in out.recording.events if e["kind"] == kind]


def test_an_answer_with_7_minutes_latency_is_applied_at_minute_7(tiny_grid: Path) -> None:
    """Re-plans every 15 min; every answer takes 7 min. The first is applied at minute 7
    (families' defaults before: no schedule yet, the fallback), each later one 7 min
    after its request, with the previous schedule in force until then; no step is
    uncontrolled, and 4 x 7 of the 60 minutes run on a schedule older than the latest
    request."""
    _sim, out = _delayed_run(_ems_minutes(tiny_grid), 420.0, 600.0)
    applied = _events(out, "decision_applied")
    assert [(e["data"]["request_s"], e["data"]["arrival_s"], e["data"]["applied_s"])
            for e in applied] == [(t, t + 420.0, t + 420.0) for t in (0.0, 900.0, 1800.0, 2700.0)]
    assert [e["data"]["in_force_since_s"] for e in applied] == [None, 420.0, 1320.0, 2220.0]
    k = out.kpis
    assert k["uncontrolled_s"] == 0.0
    assert k["applied_answers"] == 4.0
    assert k["late_answers"] == 0.0
    assert k["decision_age_p50_s"] == 420.0
    assert k["decision_age_p99_s"] == 420.0
    assert k["stale_schedule_share"] == pytest.approx(4 * 420.0 / 3600.0)
    # the schedule in force is the one applied last: before minute 7 there is none
    bat = next(s for s in out.recording.channels if s.entities == ("asset/bat",)
               and s.quantity == "p_mw")
    assert (bat.values[:7, 0] == 0.0).all()  # no schedule yet: the battery idles


def test_a_7_minute_answer_inside_a_15_minute_step_applies_at_minute_7(tiny_grid: Path) -> None:
    """15-minute steps, re-plans every 15 min, every answer takes exactly 7 min: each
    step is split at minute 7 into two power flows; before it the previous schedule
    holds (step 0: none yet, the battery idles), after it the new one. With lossless
    cells the stored energy after each step is the old power x 7 min plus the new power
    x 8 min, the power channel is the step's mean, the energy KPIs and the metered
    import integrate both intervals, and each decision is 420 s old when applied."""
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "tiny_loop_15",
        "time": {"start": "2016-06-01T08:00:00", "duration": "1h", "step": "15min"},
        "grid": {"source": "file", "path": str(tiny_grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 20,
                    "power_kw": 5, "charge_efficiency": 1.0, "discharge_efficiency": 1.0,
                    "self_discharge_frac_per_day": 0.0, "soc_initial_frac": 0.5}],
        "pcc": {"tariff": [{"from_h": 0, "import_eur_per_kwh": 0.1},
                           {"from_h": 8.25, "import_eur_per_kwh": 0.5},
                           {"from_h": 8.75, "import_eur_per_kwh": 0.05}]},
        "control": {"mode": "ems", "ems": {"plan_step": "15min", "horizon": "1h",
                                           "replan_every": "15min"}},
    })
    sim, out = _delayed_run(scenario, 420.0, 600.0)
    iv = out.recording.intervals
    assert iv.start_s.tolist() == [t + d for t in (0.0, 900.0, 1800.0, 2700.0)
                                   for d in (0.0, 420.0)]
    assert iv.duration_s.tolist() == [420.0, 480.0] * 4
    storage = iv.p_mw[:, sim.model.element_slices["storage"]][:, 0]
    old, new = storage[0::2], storage[1::2]
    assert old[0] == 0.0  # before the first answer: no schedule, the battery idles
    assert (old != new).any()  # the answers changed the set points mid-step
    channels = {s.quantity: s.values[:, 0] for s in out.recording.channels
                if s.entities == ("asset/bat",)}
    e_mwh = 0.010 + np.cumsum(old * 420.0 + new * 480.0) / 3600.0
    np.testing.assert_allclose(channels["soc_frac"], e_mwh / 0.020, rtol=0, atol=1e-12)
    np.testing.assert_allclose(channels["p_mw"], (old * 7 + new * 8) / 15, rtol=0, atol=1e-15)
    k = out.kpis
    assert k["battery_charge_mwh"] == pytest.approx(
        float((old.clip(0) * 420 + new.clip(0) * 480).sum() / 3600), abs=1e-15)
    assert k["battery_discharge_mwh"] == pytest.approx(
        float(-(old.clip(None, 0) * 420 + new.clip(None, 0) * 480).sum() / 3600), abs=1e-15)
    flow = out.derived_intervals.slack_p_mw.sum(axis=1)
    assert k["pcc_import_mwh"] == pytest.approx(
        float((flow.clip(0) * iv.duration_s).sum() / 3600), abs=1e-12)
    assert k["energy_import_mwh"] == pytest.approx(k["pcc_import_mwh"], abs=1e-12)
    assert np.abs(interval_balance(sim, out)).max() < 1e-6
    applied = _events(out, "decision_applied")
    assert [(e["data"]["request_s"], e["data"]["applied_s"]) for e in applied] == [
        (t, t + 420.0) for t in (0.0, 900.0, 1800.0, 2700.0)]
    assert k["decision_age_p50_s"] == k["decision_age_p99_s"] == 420.0
    assert k["stale_schedule_share"] == pytest.approx(4 * 420.0 / 3600.0)
    assert k["uncontrolled_s"] == 0.0


@pytest.mark.parametrize("latency_s", [420.0, 61.5])
def test_family_energy_kpis_integrate_their_injections_over_split_steps(
        tiny_grid: Path, latency_s: float) -> None:
    """A day with a battery, a diesel and six home EVs under the EMS whose answers
    arrive inside steps: every family's energy KPI equals the integral of its own
    power-flow injection over the intervals (both parts of every split step), and the
    per-step power channels are the steps' means."""
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "tiny_split_families",
        "time": {"start": "2016-06-01T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(tiny_grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [
            {"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 40, "power_kw": 15},
            {"kind": "generator", "name": "diesel", "bus": 1, "p_min_kw": 2, "p_max_kw": 10,
             "fuel_cost_eur_per_kwh": 0.05},
            {"kind": "ev_fleet", "name": "evs", "bus": 2, "site": "home", "vehicles": 6,
             "charger_kw": 11},
        ],
        "pcc": {"tariff": [{"from_h": 0, "import_eur_per_kwh": 0.1},
                           {"from_h": 17, "import_eur_per_kwh": 0.6},
                           {"from_h": 21, "import_eur_per_kwh": 0.1}]},
        "control": {"mode": "ems", "ems": {"horizon": "6h"}},
    })
    sim, out = _delayed_run(scenario, latency_s, 600.0)
    iv = out.recording.intervals
    assert iv.n > out.recording.n_steps  # answers split steps
    hours = iv.duration_s / 3600.0
    flows = sim.model.injection_weight * iv.p_mw  # + into the grid
    sl = sim.model.element_slices
    k = out.kpis
    storage = -flows[:, sl["storage"]][:, 0]
    assert k["battery_charge_mwh"] - k["battery_discharge_mwh"] == pytest.approx(
        float((storage * hours).sum()), abs=1e-12)
    assert k["battery_charge_mwh"] == pytest.approx(
        float((storage.clip(0) * hours).sum()), abs=1e-12)
    gen_row = sl["sgen"].start + sim.families["generator"].rows[0]
    assert k["generator_energy_mwh"] == pytest.approx(
        float((flows[:, gen_row] * hours).sum()), abs=1e-12)
    ev_row = sl["load"].start + sim.families["ev_fleet"].rows[0]
    assert k["ev_energy_delivered_mwh"] - k["ev_energy_discharged_mwh"] == pytest.approx(
        float((-flows[:, ev_row] * hours).sum()), abs=1e-12)
    assert k["ev_energy_delivered_mwh"] > 0
    assert k["generator_energy_mwh"] > 0
    split = iv.step[np.flatnonzero(np.diff(iv.step) == 0)]  # steps with a second interval
    for row in (sl["storage"].start, ev_row):  # both changed inside steps
        firsts = iv.p_mw[iv.first[split], row]
        assert (iv.p_mw[iv.first[split] + 1, row] != firsts).any()
    # the per-step power channels are the steps' means: x step = the step's energy
    channels = {(s.entities, s.quantity): s.values[:, 0] for s in out.recording.channels}
    step_h = out.recording.step_s / 3600.0
    assert float(channels[(("asset/bat",), "p_mw")].sum() * step_h) == pytest.approx(
        float((storage * hours).sum()), abs=1e-12)
    assert float(channels[(("asset/evs",), "p_mw")].sum() * step_h) == pytest.approx(
        float((-flows[:, ev_row] * hours).sum()), abs=1e-12)


@pytest.mark.parametrize("rule", ["drop", "apply_if_valid"])
def test_an_answer_past_its_deadline_is_late_and_not_applied(tiny_grid: Path, rule: str) -> None:
    """Deadline 5 min, answers after 7 min: every answer is counted late; with 'drop'
    none is applied (no schedule, the fallback runs all along: still no uncontrolled
    time), with 'apply_if_valid' each is applied on arrival since it still covers the
    present."""
    _sim, out = _delayed_run(_ems_minutes(tiny_grid, late_answers=rule), 420.0, 300.0)
    k = out.kpis
    late = _events(out, "answer_late")
    assert k["late_answers"] == len(late) >= 4
    assert all(e["data"]["arrival_s"] - e["data"]["request_s"] == 420.0 for e in late)
    assert k["uncontrolled_s"] == 0.0
    if rule == "drop":
        assert k["applied_answers"] == 0.0
        assert not _events(out, "decision_applied")
        assert all(e["data"]["applied"] is False for e in late)
    else:
        assert k["applied_answers"] == len(late)
        assert all(e["data"]["applied"] is True for e in late)


def _random_latency_gateway(inner, rng: np.random.Generator, median_s: float):
    """A gateway whose calls take lognormal times (median ``median_s``)."""

    class Gateway:
        log = inner.log

        def call(self, env, task, problem, **kw):
            yield env.timeout(float(rng.lognormal(np.log(median_s), 1.0)))
            return (yield from inner.call(env, task, problem, **kw))

    return Gateway()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    median_s=st.floats(1.0, 1200.0),
    deadline_s=st.floats(1.0, 1800.0),
    rule=st.sampled_from(["drop", "apply_if_valid"]),
    fault_start_s=st.integers(60, 20 * 3600),
    fault_s=st.integers(1, 7200),
    outage_start_s=st.integers(60, 20 * 3600),
    outage_s=st.integers(60, 4 * 3600),
    line=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**31),
)
def test_loop_properties_under_random_latency_deadlines_and_faults(
    tiny_grid: Path, median_s: float, deadline_s: float, rule: str, fault_start_s: int,
    fault_s: int, outage_start_s: int, outage_s: int, line: int, seed: int,
) -> None:
    """Tiny grid with a battery under the EMS whose calls take random (lognormal) times
    against a random deadline, a line fault and an upstream outage at random instants
    (inside steps, overlapping or not): every interval balances (1e-6 MW); the PCC
    bill is the integral of the power-flow import (1e-9 MWh); nothing crosses the open
    PCC; no time is uncontrolled (the fallback chain ends in rule-based defaults); the
    unserved energy is the load on dark buses integrated over the intervals."""
    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "tiny_random_loop",
        "time": {"start": "2016-06-01T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(tiny_grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 40,
                    "power_kw": 15}],
        "pcc": {"outages": [{"start": f"{outage_start_s}s", "duration": f"{outage_s}s"}]},
        "faults": [{"kind": "line_outage", "element": line, "start": f"{fault_start_s}s",
                    "duration": f"{fault_s}s"}],
        "control": {"mode": "ems", "ems": {"horizon": "6h", "late_answers": rule}},
    })
    sim = build(scenario)
    ctl = sim.controller
    ctl.gateway = _random_latency_gateway(ctl.gateway, np.random.default_rng(seed), median_s)
    ctl.timed = True
    ctl.loop.deadline_s = deadline_s
    out = simulate(sim)
    iv = out.recording.intervals
    d = out.derived_intervals
    k = out.kpis
    assert iv.converged.all()
    assert np.abs(interval_balance(sim, out)).max() < 1e-6
    flow = np.nan_to_num(d.slack_p_mw.sum(axis=1))
    assert (flow[iv.pcc_open] == 0.0).all()
    assert iv.pcc_open.any()
    hours = iv.duration_s / 3600.0
    assert k["pcc_import_mwh"] == pytest.approx(float((np.clip(flow, 0, None) * hours).sum()),
                                                abs=1e-9)
    assert k["energy_import_mwh"] == pytest.approx(k["pcc_import_mwh"], abs=1e-9)
    assert k["uncontrolled_s"] == 0.0
    assert k["load_unserved_mwh"] == pytest.approx(float((iv.unserved_mw * hours).sum()),
                                                   abs=1e-12)
    assert k["reliability_energy_not_supplied_mwh"] * 1000.0 == pytest.approx(
        k["unserved_energy_kwh"], abs=1e-9)
    # every change inside a step split it: the fault's and the outage's instants are
    # interval starts
    for t in (fault_start_s, fault_start_s + fault_s, outage_start_s, outage_start_s + outage_s):
        if t < 86400:
            assert float(t) in set(iv.start_s.tolist())


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    queue_median_s=st.floats(0.5, 900.0),
    queue_spread=st.floats(1.0, 20.0),
    link_median_ms=st.floats(1.0, 2000.0),
    link_spread=st.floats(1.0, 10.0),
    deadline_s=st.floats(30.0, 3600.0),
    rule=st.sampled_from(["drop", "apply_if_valid"]),
    fault_start_s=st.integers(60, 20 * 3600),
    fault_s=st.integers(1, 7200),
    seed=st.integers(0, 2**31),
)
def test_loop_properties_under_the_comms_models_own_latency_distributions(
    tiny_grid: Path, queue_median_s: float, queue_spread: float, link_median_ms: float,
    link_spread: float, deadline_s: float, rule: str, fault_start_s: int, fault_s: int,
    seed: int,
) -> None:
    """The EMS's dispatch crosses the real comms model to the cloud MILP service: the
    fibre link's latency and the service's queue wait are lognormal distributions drawn
    at random (median and p99), sampled by the comms model itself, against a random
    deadline and a line fault at a random instant. Every interval balances; the PCC
    bill is the integral of the power-flow import (1e-9 MWh); no time is uncontrolled;
    every adopted answer is applied at its arrival instant unless the network was
    islanded (never here), so each decision's age is its call's latency."""
    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    lognormal = lambda median_ms, spread: {  # noqa: E731
        "kind": "lognormal", "median_ms": median_ms, "p99_ms": median_ms * spread}
    services = [
        {"name": "edge", "preset": "edge_compute", "node": "gateway"},
        {"name": "cloud_qpu", "preset": "cloud_quantum", "node": "qpu_cloud"},
        {"name": "cloud_milp", "preset": "cloud_classical", "node": "hpc_cloud",
         "queue": lognormal(queue_median_s * 1000.0, queue_spread)},
        {"name": "cloud_sim", "preset": "simulation", "node": "sim_cloud"},
        {"name": "coprocessor", "preset": "on_device_quantum", "node": "qpu_device"},
    ]
    links = [
        {"name": "fibre", "a": "gateway", "b": "isp",
         "latency": lognormal(link_median_ms, link_spread)},
        {"name": "backbone_hpc", "a": "isp", "b": "hpc_cloud",
         "latency": lognormal(15.0, 50.0 / 15.0)},
    ]
    scenario = scenario_from_dict({
        "name": "tiny_comms_loop",
        "seed": seed,
        "time": {"start": "2016-06-01T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(tiny_grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 40,
                    "power_kw": 15}],
        "faults": [{"kind": "line_outage", "element": 1, "start": f"{fault_start_s}s",
                    "duration": f"{fault_s}s"}],
        "control": {"mode": "ems", "ems": {"horizon": "6h", "late_answers": rule}},
        "comms": {
            "enabled": True, "links": links, "services": services,
            "routes": [{"name": "local", "target": "gateway"},
                       {"name": "to_hpc", "target": "hpc_cloud"}],
            "tasks": {"dispatch": {
                "deadline_s": deadline_s, "timeout_s": min(deadline_s, 3600.0),
                "chain": [{"solver": "milp", "route": "to_hpc"},
                          {"fallback": "last_good_schedule"}, {"fallback": "rule_based"}]}},
        },
    })
    sim = build(scenario)
    out = simulate(sim)
    iv = out.recording.intervals
    d = out.derived_intervals
    k = out.kpis
    assert iv.converged.all()
    assert np.abs(interval_balance(sim, out)).max() < 1e-6
    flow = np.nan_to_num(d.slack_p_mw.sum(axis=1))
    hours = iv.duration_s / 3600.0
    assert k["pcc_import_mwh"] == pytest.approx(float((np.clip(flow, 0, None) * hours).sum()),
                                                abs=1e-9)
    assert k["uncontrolled_s"] == 0.0
    calls = {e["data"]["call_id"]: e for e in out.recording.events if e["kind"] == "call"
             and e["entity"] == "dispatch"}
    assert calls, "the dispatch went through the comms model"
    applied = _events(out, "decision_applied")
    assert k["applied_answers"] == float(len(applied) + sum(
        1 for e in calls.values() if e["data"]["latency_s"] == 0.0))
    for e in applied:  # applied at arrival: the step split there (or its own boundary)
        data = e["data"]
        assert data["applied_s"] == data["arrival_s"]
        assert data["arrival_s"] - data["request_s"] <= deadline_s or rule == "apply_if_valid"
        if data["applied_s"] % 900.0:
            assert data["applied_s"] in set(iv.start_s.tolist())
    latencies = [e["data"]["latency_s"] for e in calls.values()]
    for e in applied:  # each decision's age is the latency of its call
        assert min(abs(e["data"]["age_s"] - t) for t in latencies) < 1e-6
    assert float(fault_start_s) in set(iv.start_s.tolist())
