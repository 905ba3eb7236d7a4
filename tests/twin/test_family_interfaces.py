"""The public interface of the asset families: what the EMS and the microgrid read
through it is what the families then do.

Each test runs a real shipped scenario (shortened) with a probe process that reads the
families' public methods at CONTROL, after the controller and the island balancer,
and checks at AFTER (the step applied and solved) that the families did exactly that.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import twin
from twin.clock import Phase
from twin.scenario import apply_overrides

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _sim(case: str, overrides: dict):
    from twin.engine import build

    scenario = apply_overrides(twin.load_scenario(SCENARIOS / f"{case}.yaml"), overrides)
    return build(scenario)


@pytest.mark.integration
def test_forecasts_are_what_the_families_write() -> None:
    """The default feeder with a profiled load asset: at every step the public forecasts
    of the network, load and PV families for that step equal what they wrote at SENSE,
    and the EMS's uncontrolled forecast is the net demand of those rows."""
    from twin.control.ems import uncontrolled_forecast_kw
    from twin.engine import simulate

    sim = _sim("default", {
        "time.duration": "1d",
        "assets": [
            {"kind": "pv", "name": "pv_farm", "bus": 13, "peak_kw": 30, "profile": "PV5"},
            {"kind": "load", "name": "shop", "bus": 9, "peak_kw": 12, "profile": "L2-A"},
        ],
    })
    fams, model, inj = sim.families, sim.model, sim.injections
    net, load, pv = fams["network"], fams["load"], fams["pv"]
    ctx = SimpleNamespace(model=model, families=fams, n_steps=sim.clock.n_steps)
    weight = np.asarray(model.injection_weight, float)
    uncontrolled = np.zeros(model.n_injections, bool)
    for table, n_rows in net.n_rows.items():
        start = model.element_slices[table].start
        uncontrolled[start : start + n_rows] = True
    for fam, table in ((load, "load"), (pv, "sgen")):
        start = model.element_slices[table].start
        uncontrolled[start + fam.rows[0] : start + fam.rows[1]] = True
    seen = []

    def probe(env, clock):
        while True:
            k = yield clock.wait(Phase.CONTROL)
            steps = np.array([k])
            np.testing.assert_array_equal(load.forecast_p_mw(steps)[0], load.p_mw)
            np.testing.assert_array_equal(pv.forecast_available_p_mw(steps)[0],
                                          pv.available_p_mw)
            for table, p in net.forecast_p_mw(steps).items():
                sl = model.element_slices[table]
                np.testing.assert_array_equal(p[0], inj.p_mw[sl][: net.n_rows[table]])
            grid_kw = -float((weight * inj.p_mw)[uncontrolled].sum()) * 1000.0
            forecast_kw = float(uncontrolled_forecast_kw(ctx, k, 1)[0])
            assert forecast_kw == pytest.approx(grid_kw, rel=1e-12, abs=1e-9)
            seen.append(k)

    sim.env.process(probe(sim.env, sim.clock))
    simulate(sim)
    assert len(seen) == sim.clock.n_steps
    assert load.p_mw.max() > 0


@pytest.mark.integration
def test_commands_the_microgrid_reads_are_what_the_units_apply() -> None:
    """The island day under the rule-based controller (islanded 17h-21h): the battery's
    commanded power, the generator's request and the EV fleet's request, read at
    CONTROL after the island balancer, are what each family applies at ACT within its
    limits; the balancer's flexible cut goes through the fleet's public request."""
    from twin.assets.ev import ev_step
    from twin.engine import simulate

    sim = _sim("microgrid_island_day", {"control.mode": "rule_based"})
    fams = sim.families
    bat, gen, ev = fams["battery"], fams["generator"], fams["ev_fleet"]
    checked = {"battery": 0, "generator": 0, "ev": 0}
    inj, sl = sim.injections, sim.model.element_slices
    bat_rows = slice(sl["storage"].start + bat.rows[0], sl["storage"].start + bat.rows[1])
    gen_rows = slice(sl["sgen"].start + gen.rows[0], sl["sgen"].start + gen.rows[1])

    def probe(env, clock):
        while True:
            yield clock.wait(Phase.CONTROL)
            snap = bat.snapshot()
            bat_expected = bat.commanded_p_mw().clip(-snap.p_discharge_max_mw,
                                                     snap.p_charge_max_mw)
            request = gen.requested_p_kw().copy()
            s = ev.state
            ev_expected, _e = ev_step(ev.requested_p_kw(), s.plugged, s.e_kwh, ev.capacity_kwh,
                                      ev.charger_kw, ev.efficiency, ev.v2g, ev.step_s)
            fleet_expected = ev.expected_p_kw().copy()
            yield clock.wait(Phase.AFTER)
            # what each unit applied at ACT: its rows of the injection buffer (its power
            # channel adds the island slack it carries as a grid former on top)
            np.testing.assert_array_equal(inj.p_mw[bat_rows], bat_expected)
            checked["battery"] += int(np.any(bat_expected != 0))
            on = gen.state.on
            np.testing.assert_array_equal(
                inj.p_mw[gen_rows],
                np.where(on, np.clip(request, gen.p_min_kw, gen.p_max_kw), 0.0) / 1000.0)
            checked["generator"] += int(on.any())
            np.testing.assert_array_equal(ev.state.p_kw, ev_expected)
            np.testing.assert_allclose(ev.fleet_p_mw * 1000.0, fleet_expected, rtol=1e-12)
            checked["ev"] += int(np.any(ev_expected != 0))

    sim.env.process(probe(sim.env, sim.clock))
    out = simulate(sim)
    assert out.kpis["island_hours"] == pytest.approx(4.0)
    assert all(count > 0 for count in checked.values()), checked


@pytest.mark.integration
def test_building_request_and_flexible_share() -> None:
    """The campus's buildings under the rule-based controller: the HVAC request in force
    at CONTROL (the thermostat's) is what the zones draw at ACT within their limits, and
    ``scale_flexible`` scales only the buildings at the given buses."""
    from twin.engine import simulate

    sim = _sim("building_campus_summer", {"control.mode": "rule_based", "time.duration": "1d"})
    bld = sim.families["building"]
    drawn = []

    def probe(env, clock):
        while True:
            yield clock.wait(Phase.CONTROL)
            heat, cool = (x.copy() for x in bld.hvac_request_kw())
            yield clock.wait(Phase.AFTER)
            expected = np.minimum(heat + cool, bld.fleet.p_el_max_kw)
            np.testing.assert_allclose(bld.p_hvac_kw, expected, rtol=1e-12, atol=1e-12)
            drawn.append(float(expected.sum()))

    sim.env.process(probe(sim.env, sim.clock))
    simulate(sim)
    assert max(drawn) > 0
    bld.command(np.full(bld.fleet.n, 4.0), np.zeros(bld.fleet.n), None)
    first = int(bld.bus[0])
    bld.scale_flexible({first}, 0.25)
    heat, cool = bld.hvac_request_kw()
    np.testing.assert_array_equal(heat, np.where(bld.bus == first, 1.0, 4.0))
    np.testing.assert_array_equal(cool, 0.0)


def test_one_slack_formula_matches_pandapower(tiny_grid: Path) -> None:
    """The tiny grid solved by the twin: the slack power of the one formula is what
    :meth:`PowerFlowModel.derive` records, bit for bit, and what pandapower's own
    ``runpp`` reports at the external grid."""
    import pandapower as pp

    from twin.grid import PowerFlowModel

    net = pp.from_json(str(tiny_grid))
    model = PowerFlowModel(net)
    p, q = model.element_values()
    assert model.solve(p.copy(), q.copy()).converged
    one = model.slack_s_mva(model.v, p, q)
    derived = model.derive(model.v[None, :], p[None, :], q[None, :])
    np.testing.assert_array_equal(one.real, derived.slack_p_mw[0])
    np.testing.assert_array_equal(one.imag, derived.slack_q_mvar[0])
    pp.runpp(net)
    np.testing.assert_allclose(one.real, net.res_ext_grid.p_mw.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(one.imag, net.res_ext_grid.q_mvar.to_numpy(), atol=1e-9)


@pytest.mark.integration
def test_ems_comfort_guard_is_the_buildings_thermostat() -> None:
    """The campus under the EMS: at every step, the comfort guard's floor (the guard of
    a plan with no HVAC at all) equals the buildings' own ideal thermostat with the
    guard's 0.05 K margin, bit for bit: both call the one ``ideal_hvac_kw``."""
    from twin.assets.building import (
        ThermostatParams,
        ThermostatState,
        thermostat_setpoints,
    )
    from twin.engine import simulate

    sim = _sim("building_campus_summer", {"control.mode": "ems", "time.duration": "1d"})
    bld, ems = sim.families["building"], sim.controller
    params = ThermostatParams(kind="ideal", margin_k=0.05)
    active = []

    def probe(env, clock):
        while True:
            k = yield clock.wait(Phase.CONTROL)
            zero = np.zeros(bld.fleet.n)
            guard = ems.comfort.guard(bld, k, zero, zero)
            own = thermostat_setpoints(bld.fleet, bld.state, ThermostatState.off(bld.fleet.n),
                                       bld.occupied_table[k], bld.weather.temp_air_c[k],
                                       bld.weather.ghi_w_per_m2[k], bld.step_s, params)
            np.testing.assert_array_equal(guard[0], own[0])
            np.testing.assert_array_equal(guard[1], own[1])
            active.append(bool(np.any(own[0] > 0) or np.any(own[1] > 0)))

    sim.env.process(probe(sim.env, sim.clock))
    simulate(sim)
    assert any(active)
