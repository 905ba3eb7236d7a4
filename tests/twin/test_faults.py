"""Fault injection: every fault kind, its reaction, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
import simpy
from pydantic import TypeAdapter, ValidationError

from twin.comms.event import EventLog
from twin.comms.model import build_comms
from twin.comms.spec import CommsSpec
from twin.faults import (
    FaultInjector,
    FaultsSpec,
    MeasurementGuard,
    PandapowerTopology,
    check_grid_elements,
)
from twin.reliability import reliability_indices

FAULTS = TypeAdapter(FaultsSpec)


def faults(*items):
    return FAULTS.validate_python(list(items))


def radial_net():
    """ext_grid - bus0 =trafo 0= bus1 -line 0- bus2 -line 1- bus3; loads at bus2 (0.1
    MW, 30 customers) and bus3 (0.05 MW, 20 customers)."""
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 20.0)
    b1, b2, b3 = (pp.create_bus(net, 0.4) for _ in range(3))
    pp.create_ext_grid(net, b0)
    pp.create_transformer(net, b0, b1, "0.4 MVA 20/0.4 kV")
    pp.create_line(net, b1, b2, 0.1, "NAYY 4x150 SE")
    pp.create_line(net, b2, b3, 0.1, "NAYY 4x150 SE")
    pp.create_load(net, b2, p_mw=0.1)
    pp.create_load(net, b3, p_mw=0.05)
    net.load["customers"] = [30, 20]
    return net


def test_line_outage_is_a_topology_change_with_reliability():
    """Line 1 out 1 h to 2 h: load at bus3 (20 customers, 0.05 MW) loses supply for
    60 min; trafo 0 out for 2 min at 3 h: both loads (50 customers) momentarily.
    Of 50 customers: SAIFI 0.4, SAIDI 24 min, CAIDI 60 min, MAIFI 1.0; ENS =
    0.05 MWh + 0.15 MW * 2/60 h."""
    env, log = simpy.Environment(), EventLog()
    net = radial_net()
    changes = []
    grid = PandapowerTopology(net, log, on_change=lambda: changes.append(1))
    spec = faults({"kind": "line_outage", "element": 1, "start": "1h", "duration": "1h"},
                  {"kind": "trafo_outage", "element": 0, "start": "3h", "duration": "2min"})
    FaultInjector(env, spec, 0, log, grid=grid).start()
    env.run(until=1.5 * 3600)
    assert not net.line.at[1, "in_service"]
    assert grid.unsupplied_loads() == {1}
    env.run(until=4 * 3600)
    grid.close(env.now)
    assert bool(net.line.at[1, "in_service"])
    assert bool(net.trafo.at[0, "in_service"])
    assert len(changes) == 4
    got = {(i.entity, i.start_s, i.end_s) for i in grid.interruptions}
    assert got == {("load/1", 3600.0, 7200.0), ("load/0", 10800.0, 10920.0),
                   ("load/1", 10800.0, 10920.0)}
    k = reliability_indices(grid.interruptions, grid.customers_served)
    assert grid.customers_served == 50
    assert k["saifi"] == pytest.approx(0.4)
    assert k["saidi_min"] == pytest.approx(24.0)
    assert k["caidi_min"] == pytest.approx(60.0)
    assert k["maifi"] == pytest.approx(1.0)
    assert k["energy_not_supplied_mwh"] == pytest.approx(0.05 + 0.15 * 2 / 60)
    kinds = [(e["category"], e["kind"]) for e in log.records]
    assert ("fault", "line_outage_start") in kinds
    assert ("grid", "supply_lost") in kinds
    assert ("grid", "supply_restored") in kinds


class _Assets:
    def __init__(self):
        self.calls = []

    def set_tripped(self, asset, tripped):
        self.calls.append((asset, tripped))


@pytest.mark.parametrize("kind", ["generator_trip", "pv_trip", "battery_trip"])
def test_asset_trips_reach_the_asset_and_are_events(kind):
    """A trip sets the asset tripped at its start and restores it at its end."""
    env, log, assets = simpy.Environment(), EventLog(), _Assets()
    FaultInjector(env, faults({"kind": kind, "asset": "a1", "start": "10min",
                               "duration": "5min"}), 0, log, assets=assets).start()
    env.run(until=600.0)
    assert assets.calls == []
    env.run(until=601.0)
    assert assets.calls == [("a1", True)]
    env.run(until=1000.0)
    assert assets.calls == [("a1", True), ("a1", False)]
    assert [e["kind"] for e in log.records] == [f"{kind}_start", f"{kind}_end"]


def _comms():
    env, log = simpy.Environment(), EventLog()
    return env, log, build_comms(env, CommsSpec(enabled=True), 0, log)


def test_comms_and_service_faults_drive_the_model():
    """Each comms, service and solver fault changes the model's state in its window."""
    env, log, model = _comms()
    spec = faults(
        {"kind": "link_down", "link": "fibre", "start": "10s", "duration": "100s"},
        {"kind": "latency_spike", "link": "lte", "extra_ms": 300, "start": "10s",
         "duration": "100s"},
        {"kind": "loss_burst", "link": "backbone_qpu", "loss_prob": 0.5, "start": "10s",
         "duration": "100s"},
        {"kind": "service_outage", "service": "cloud_qpu", "start": "10s", "duration": "100s"},
        {"kind": "queue_surge", "service": "cloud_sim", "extra_wait_s": 600, "start": "10s",
         "duration": "100s"},
        {"kind": "solver_error", "service": "edge", "start": "10s", "duration": "100s"},
        {"kind": "solver_timeout", "service": "cloud_milp", "slowdown_factor": 50,
         "start": "10s", "duration": "100s"},
    )
    FaultInjector(env, spec, 0, log, comms=model).start()
    env.run(until=50.0)
    net, svc = model.network, model.services
    assert not net.link_state("fibre").up
    assert net.active_path("to_qpu") == ("gateway", "cell", "isp", "qpu_cloud")
    assert net.link_state("lte").spikes_ms == [300.0]
    assert net.link_state("backbone_qpu").loss_prob(net.link_params("backbone_qpu")) == 0.5
    assert not svc["cloud_qpu"].state.up
    assert svc["cloud_sim"].state.surges_s == [600.0]
    assert svc["edge"].state.solver_error_count == 1
    assert svc["cloud_milp"].state.slowdowns == [50.0]
    env.run(until=200.0)
    assert net.link_state("fibre").up
    assert svc["cloud_qpu"].state.up
    assert net.link_state("lte").spikes_ms == []
    assert svc["cloud_sim"].state.surges_s == []
    assert svc["edge"].state.solver_error_count == 0
    assert svc["cloud_milp"].state.slowdowns == []
    assert net.active_path("to_qpu") == ("gateway", "isp", "qpu_cloud")
    fault_kinds = {e["kind"] for e in log.records if e["category"] == "fault"}
    assert {"link_down", "link_up", "latency_spike_start", "loss_burst_end",
            "service_outage_start", "queue_surge_start", "solver_error_start",
            "solver_timeout_end"} <= fault_kinds


def test_sensor_stale_and_missing_use_last_value_or_estimate_and_say_so():
    """During a sensor fault the controller gets its last good value (or an estimate
    if it never had one), and one control event says which."""
    env, log = simpy.Environment(), EventLog()
    guard = MeasurementGuard(log)
    spec = faults({"kind": "sensor_stale", "asset": "bat", "start": "1h", "duration": "1h"},
                  {"kind": "sensor_missing", "asset": "pv", "start": "0s", "duration": "1h"})
    FaultInjector(env, spec, 0, log, sensors=guard).start()
    readings = []

    def controller():
        for k in range(4):
            readings.append((guard.read("bat", 0.5 + 0.1 * k, env.now),
                             guard.read("pv", 10.0 * k, env.now, estimate=7.0)))
            yield env.timeout(1800.0)

    env.process(controller())
    env.run(until=8000.0)
    bat = [r[0] for r in readings]
    pv = [r[1] for r in readings]
    assert bat == [(0.5, "measured"), (0.6, "measured"), (0.6, "last_value"),
                   (0.6, "last_value")]
    assert pv[0] == (7.0, "estimate")
    assert pv[1] == (7.0, "estimate")
    assert pv[2] == (20.0, "measured")
    subs = [e for e in log.records if e["kind"] == "measurement_substituted"]
    assert [(e["entity"], e["data"]["quality"]) for e in subs] == [
        ("asset/pv", "estimate"), ("asset/bat", "last_value")]
    assert "last value 0.6" in subs[1]["message"]


def test_stochastic_faults_are_seeded_and_independent():
    """MTBF/MTTR faults: the same seed gives the same events; adding another fault
    does not move the first one's failure times."""
    def run(seed, extra=False):
        env, log, model = _comms()
        items = [{"kind": "link_down", "link": "fibre", "mtbf_h": 2.0, "mttr_h": 0.25}]
        if extra:
            items.append({"kind": "service_outage", "service": "cloud_qpu",
                             "mtbf_h": 1.0, "mttr_h": 0.1})
        FaultInjector(env, faults(*items), seed, log, comms=model).start()
        env.run(until=48 * 3600.0)
        return [(e["time_s"], e["kind"]) for e in log.records if e["entity"] == "fibre"]

    a, b, c = run(1), run(1), run(2)
    assert a == b
    assert a != c
    assert len(a) > 4
    assert run(1, extra=True) == a
    # long-run share of time down is about MTTR / (MTBF + MTTR) = 0.111
    times = [t for t, _ in run(3)]
    down = sum(times[i + 1] - times[i] for i in range(0, len(times) - 1, 2))
    assert 0.03 < down / (48 * 3600.0) < 0.3


@pytest.mark.parametrize(("item", "field"), [
    ({"kind": "link_down", "link": "x", "mtbf_h": -5, "mttr_h": 1}, "mtbf_h"),
    ({"kind": "link_down", "link": "x", "start": "1h"}, "start and duration"),
    ({"kind": "link_down", "link": "x", "start": "1h", "duration": "1h", "mtbf_h": 3,
      "mttr_h": 1}, "either scheduled"),
    ({"kind": "latency_spike", "link": "x", "start": "1h", "duration": "1h"}, "extra_ms"),
    ({"kind": "solver_timeout", "service": "s", "start": "1h", "duration": "1h"},
     "slowdown_factor"),
    ({"kind": "meteor", "start": "1h", "duration": "1h"}, "kind"),
])
def test_bad_fault_specs_are_refused(item, field):
    with pytest.raises(ValidationError, match=field):
        faults(item)


def test_fault_on_missing_grid_element_names_the_field():
    problems = check_grid_elements(
        faults({"kind": "line_outage", "element": 7, "start": "1h", "duration": "1h"}),
        radial_net(), "s.yaml")
    assert len(problems) == 1
    assert problems[0].path == "faults.0.element"
    assert "no line 7" in problems[0].message


def test_unconnected_loads_vector_matches_pandapower():
    """Sanity: with everything in service every load is supplied."""
    grid = PandapowerTopology(radial_net(), EventLog())
    assert grid.unsupplied_loads() == set()
    assert np.allclose(grid._p_mw(), [0.1, 0.05])


def test_grid_model_switches_topology_like_pandapower():
    """PowerFlowModel.set_branch_in_service: with line 1 out the model gives
    pandapower's own results (bus 3 not energised); back in, the original ones; a run
    that switched is derived step by step with the matrices in force."""
    from twin.grid import PowerFlowModel

    net = radial_net()
    model = PowerFlowModel(net, backend="lightsim2grid")
    p, q = model.element_values()
    assert model.solve(p, q).converged
    v = [model.v.copy()]
    dark = model.set_branch_in_service("line", 1, False)
    assert list(dark) == [3]
    assert model.solve(p, q).converged
    v.append(model.v.copy())
    model.set_branch_in_service("line", 1, True)
    assert model.solve(p, q).converged
    v.append(model.v.copy())
    derived = model.derive(np.array(v), np.array([p] * 3), np.array([q] * 3))

    ref = radial_net()
    pp.runpp(ref)
    out = radial_net()
    out.line.loc[1, "in_service"] = False
    pp.runpp(out)
    for k, expect in ((0, ref), (1, out), (2, ref)):
        np.testing.assert_allclose(derived.vm_pu[k], expect.res_bus.vm_pu.to_numpy(),
                                   atol=1e-6, equal_nan=True)
        np.testing.assert_allclose(derived.trafo_loading_percent[k],
                                   expect.res_trafo.loading_percent.to_numpy(), rtol=1e-5)
        np.testing.assert_allclose(derived.line_loading_percent[k][0],
                                   expect.res_line.loading_percent.to_numpy()[0], rtol=1e-5)
    with pytest.raises(KeyError, match="no line 9"):
        model.set_branch_in_service("line", 9, False)


@pytest.mark.integration
def test_grid_faults_in_a_run_reliability_and_trip():
    """default.yaml, one day: line 1 out 12:00-14:00 cuts buses 4, 5, 13 (3 of 13 loads,
    one customer each): SAIFI 3/13, SAIDI 3*120/13 min, CAIDI 120 min, energy not
    supplied > 0; the run goes on, every step converges, the cut buses show no voltage
    during the outage only; pv_farm tripped 10:00-11:00 injects nothing then."""
    from pathlib import Path

    from twin import engine
    from twin.scenario import apply_overrides, load_scenario

    scenario = apply_overrides(
        load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "default.yaml"),
        {"time.duration": "1d", "faults": [
            {"kind": "line_outage", "element": 1, "start": "12h", "duration": "2h"},
            {"kind": "pv_trip", "asset": "pv_farm", "start": "10h", "duration": "1h"}]})
    sim = engine.build(scenario)
    out = engine.simulate(sim)
    k = out.kpis
    assert k["reliability_saifi"] == pytest.approx(3 / 13)
    assert k["reliability_saidi_min"] == pytest.approx(3 * 120 / 13)
    assert k["reliability_caidi_min"] == pytest.approx(120.0)
    assert k["reliability_energy_not_supplied_mwh"] > 0
    assert k["faults_started"] == 2
    assert out.recording.converged.all()
    vm = out.derived.vm_pu
    cut = [list(sim.model.bus_index).index(b) for b in (4, 5, 13)]
    steps = np.arange(out.recording.n_steps) * 900
    during = (steps >= 12 * 3600) & (steps < 14 * 3600)
    assert np.isnan(vm[np.ix_(during, cut)]).all()
    assert np.isfinite(vm[np.ix_(~during, cut)]).all()
    pv_row = sim.model.element_slices["sgen"].start + sim.families["pv"].rows[0]
    p = out.recording.p_mw[:, pv_row]
    tripped = (steps >= 10 * 3600) & (steps < 11 * 3600)
    assert (p[tripped] == 0).all()
    assert p[(steps >= 9 * 3600) & (steps < 10 * 3600)].max() > 0
    kinds = [e["kind"] for e in out.recording.events]
    assert kinds.count("supply_lost") == 3
    assert kinds.count("supply_restored") == 3


def test_a_fault_that_cannot_be_applied_is_an_event_not_a_crash():
    """A target that raises (here: an asset with no grid element) gives a
    fault_not_applied event and the simulation goes on."""
    class Broken:
        def set_tripped(self, asset, tripped):
            raise KeyError(f"no grid element for asset {asset!r}")

    env, log = simpy.Environment(), EventLog()
    FaultInjector(env, faults({"kind": "pv_trip", "asset": "ghost", "start": "1s",
                               "duration": "1s"}), 0, log, assets=Broken()).start()
    env.run(until=10.0)
    kinds = [e["kind"] for e in log.records]
    assert kinds == ["pv_trip_start", "fault_not_applied", "pv_trip_end", "fault_not_applied"]
