"""Microgrid: islands come from the topology, an island balances or sheds, and it sheds
nothing it could have served; the energy balance closes each step with EVs, HVAC,
generators and batteries in the grid, through an islanding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=300, deadline=None)
@given(
    fixed=st.floats(0, 200), flexible=st.floats(0, 100), pv=st.floats(0, 200),
    n_bat=st.integers(0, 3), n_gen=st.integers(0, 3), data=st.data(),
)
def test_island_balances_or_sheds_only_what_it_cannot_serve(
    fixed: float, flexible: float, pv: float, n_bat: int, n_gen: int, data: st.DataObject,
) -> None:
    from twin.microgrid import island_balance

    floats = lambda n, hi: np.array(data.draw(st.lists(st.floats(0, hi), min_size=n, max_size=n)))  # noqa: E731
    ch_max, dis_max = floats(n_bat, 60), floats(n_bat, 60)
    bat_plan = floats(n_bat, 1) * (ch_max + dis_max) - dis_max
    g_max = floats(n_gen, 80)
    g_min = floats(n_gen, 1) * g_max
    g_plan = floats(n_gen, 100)
    r = island_balance(fixed, flexible, pv, bat_plan, ch_max, dis_max, g_plan, g_min, g_max)
    # units within their limits
    assert (r.battery_kw <= ch_max + 1e-9).all()
    assert (r.battery_kw >= -dis_max - 1e-9).all()
    assert (r.generator_kw <= g_max + 1e-9).all()
    assert (r.generator_kw >= g_min - 1e-9).all()
    short = fixed + flexible - pv - dis_max.sum() - g_max.sum()
    surplus = g_min.sum() - ch_max.sum() - (fixed + flexible - pv)
    # nothing that could be served is shed: the cut is exactly the shortfall, flexible first
    assert r.flexible_cut_kw + r.shed_kw == pytest.approx(max(0.0, min(short, fixed + flexible)), abs=1e-6)
    assert r.flexible_cut_kw == pytest.approx(min(max(short, 0.0), flexible), abs=1e-6)
    assert r.curtailed_kw == pytest.approx(min(max(surplus, 0.0), pv), abs=1e-6)
    if short <= 0 and surplus <= pv:
        # balanced: demand served = supply
        served = fixed + flexible - r.flexible_cut_kw - r.shed_kw
        supply = pv - r.curtailed_kw - r.battery_kw.sum() + r.generator_kw.sum()
        assert served == pytest.approx(supply, abs=1e-6)


def test_islands_from_topology(tiny_grid: Path) -> None:
    """With the upstream grid, buses reachable from it are supplied; taking a line out
    makes an island; without the upstream grid the whole network is one island."""
    import pandapower as pp

    from twin.microgrid import supplied_buses

    net = pp.from_json(str(tiny_grid))
    supplied, islands = supplied_buses(net, upstream=True)
    assert supplied == {0, 1, 2}
    assert islands == []
    net.line.loc[1, "in_service"] = False
    supplied, islands = supplied_buses(net, upstream=True)
    assert supplied == {0, 1}
    assert islands == [{2}]
    net.line.loc[1, "in_service"] = True
    supplied, islands = supplied_buses(net, upstream=False)
    assert supplied == set()
    assert islands == [{0, 1, 2}]


def _scenario(grid: Path, assets: list[dict], mode: str, outage: bool):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "island",
        "time": {"start": "2016-01-11T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(grid)},
        "profiles": {"source": "constant"},
        "assets": assets,
        "pcc": {"outages": [{"start": "10h", "duration": "2h"}] if outage else []},
        "control": {"mode": mode, "ems": {"horizon": "12h"}},
    })


def test_island_with_too_little_capacity_sheds_exactly_the_shortfall(tiny_grid: Path) -> None:
    """Tiny grid: 10 kW load, 5 kW static generation; a battery of 2 kW is the only
    grid-forming unit. Islanded for 2 h the battery runs at its 2 kW limit (carrying
    the island's slack as its own power, no separate term) and what it cannot carry is
    shed: 3 kW for 2 h plus the island's losses (6 kWh + losses), no more; its stored
    energy falls by what it delivered (through its discharge efficiency)."""
    from twin.engine import build, simulate

    assets = [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 100, "power_kw": 2,
               "soc_initial_frac": 0.8, "self_discharge_frac_per_day": 0.0}]
    sim = build(_scenario(tiny_grid, assets, "rule_based", True))
    out = simulate(sim)
    iv = out.recording.intervals
    hours = iv.duration_s / 3600.0
    isl = iv.pcc_open
    bat_row = sim.model.element_slices["storage"].start
    np.testing.assert_allclose(iv.p_mw[isl, bat_row], -0.002, rtol=0, atol=1e-9)
    losses_kwh = float((out.derived_intervals.losses_p_mw[isl] * hours[isl]).sum()) * 1000.0
    assert losses_kwh > 0
    assert out.kpis["unserved_energy_kwh"] == pytest.approx(6.0 + losses_kwh, abs=1e-6)
    assert out.kpis["island_hours"] == pytest.approx(2.0)
    soc = next(s for s in out.recording.channels if s.quantity == "soc_frac").values[:, 0]
    eta = sim.families["battery"].params.discharge_efficiency[0]
    # steps 40..47 are islanded: 2 kW for 2 h out of the 100 kWh battery
    assert (soc[39] - soc[47]) * 100.0 == pytest.approx(2.0 * 2.0 / eta, abs=1e-6)


def _two_load_grid(tmp_path: Path) -> Path:
    """bus 0 (external grid) - line 0 - bus 1 - line 1 - bus 2 with loads 0 (6 kW) and
    1 (4 kW) at bus 2, no PV."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=1.0)
    buses = [pp.create_bus(net, vn_kv=0.4) for _ in range(3)]
    pp.create_ext_grid(net, buses[0], vm_pu=1.0)
    for a, b in ((0, 1), (1, 2)):
        pp.create_line_from_parameters(net, buses[a], buses[b], length_km=0.2,
                                       r_ohm_per_km=0.206, x_ohm_per_km=0.08,
                                       c_nf_per_km=261.0, max_i_ka=0.27)
    pp.create_load(net, buses[2], p_mw=0.006, q_mvar=0.0)
    pp.create_load(net, buses[2], p_mw=0.004, q_mvar=0.0)
    path = tmp_path / "two_loads.json"
    pp.to_json(net, str(path))
    return path


@pytest.mark.parametrize(("pcc", "served_kw", "unserved_kwh"), [
    ({}, (1.8, 1.2), 7.0),  # proportional: each load keeps 30 %
    ({"shed_priority": {"load/1": 10}}, (0.0, 3.0), 7.0),  # load 0 first, then load 1
    ({"island_overload": "dark"}, (0.0, 0.0), 10.0),  # no shedding scheme: dark
])
def test_branch_fault_island_sheds_by_priority_at_the_battery_limit(
    tmp_path: Path, pcc: dict, served_kw: tuple[float, float], unserved_kwh: float
) -> None:
    """Line 1 fails from 10:05 for 1 h (inside a step): bus 2 becomes an island formed
    by its 3 kW battery; 10 kW of load; a one-bus island has no losses, so 7 kW are
    shed (7 kWh), by declared priority, or the island goes dark (10 kWh). The battery
    delivers exactly its 3 kW limit while it carries the island, and the one ENS
    figure agrees everywhere."""
    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "branch_island",
        "time": {"start": "2016-01-11T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(_two_load_grid(tmp_path))},
        "profiles": {"source": "constant"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 100,
                    "power_kw": 3, "soc_initial_frac": 0.8}],
        "pcc": pcc,
        "faults": [{"kind": "line_outage", "element": 1, "start": "10h5min",
                    "duration": "1h"}],
        "control": {"mode": "rule_based"},
    })
    sim = build(scenario)
    out = simulate(sim)
    iv = out.recording.intervals
    during = (iv.start_s >= 36300) & (iv.start_s < 39900)
    assert iv.duration_s[during].sum() == 3600.0
    loads = sim.model.element_slices["load"]
    np.testing.assert_allclose(iv.p_mw[during][:, loads] * 1000.0,
                               np.tile(served_kw, (during.sum(), 1)), rtol=0, atol=1e-6)
    k = out.kpis
    assert k["unserved_energy_kwh"] == pytest.approx(unserved_kwh, abs=1e-6)
    assert k["reliability_energy_not_supplied_mwh"] * 1000.0 == pytest.approx(unserved_kwh,
                                                                              abs=1e-6)
    if unserved_kwh < 10.0:
        bat = sim.model.element_slices["storage"].start
        np.testing.assert_allclose(iv.p_mw[during, bat], -0.003, rtol=0, atol=1e-9)
        # reliability from the power flow's energised buses: the battery-formed island
        # is supplied (no interruption), as metering has it (its loads are served)
        assert k["reliability_saifi"] == 0.0
        assert k["reliability_maifi"] == 0.0


@pytest.mark.parametrize("mode", ["rule_based", "ems"])
def test_energy_balance_closes_with_evs_hvac_generators_through_an_island(
    tiny_grid: Path, mode: str
) -> None:
    """Every step: import + generation = load + losses + storage (1e-6 MW), with EVs,
    a heat-pump building, a generator and a battery, through a 2 h islanding; each
    family's energy KPI equals the energy of its own rows; nothing shed while the
    island has the capacity."""
    from twin.engine import build, simulate, timeseries_series

    assets = [
        {"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 60, "power_kw": 20},
        {"kind": "generator", "name": "gen", "bus": 1, "p_min_kw": 3, "p_max_kw": 25,
         "fuel_cost_eur_per_kwh": 0.25},
        {"kind": "ev_fleet", "name": "evs", "bus": 2, "site": "home", "vehicles": 3,
         "charger_kw": 7.4, "capacity_kwh": 40},
        {"kind": "building", "name": "house", "bus": 1, "building_type": "residential",
         "deferrable": [{"power_kw": 2, "duration": "1h", "earliest_h": 8, "latest_end_h": 20}]},
    ]
    sim = build(_scenario(tiny_grid, assets, mode, True), seed=3)
    out = simulate(sim)
    assert out.recording.converged.all()
    series = timeseries_series(sim, out)
    totals = {s.quantity: s.values[:, 0] for s in series if s.group == "grid"}
    # the island is a power flow: its grid-forming unit is its slack, nothing is imported
    assert "island_p_mw" not in totals  # no separate term: the forming units carry it
    lhs = totals["import_p_mw"] + totals["generation_p_mw"]
    rhs = totals["load_p_mw"] + totals["losses_p_mw"] + totals["storage_p_mw"]
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-6)
    islanded = out.recording.intervals.pcc_open[out.recording.intervals.first]
    assert islanded.sum() == 8
    assert (totals["import_p_mw"][islanded] == 0.0).all()
    step_h = 0.25
    asset_p = {s.entities[0]: s.values[:, 0] for s in series
               if s.group == "asset" and s.quantity == "p_mw" and len(s.entities) == 1}
    k = out.kpis
    assert asset_p["asset/gen"].sum() * step_h == pytest.approx(k["generator_energy_mwh"], abs=1e-9)
    assert asset_p["asset/house"].sum() * step_h == pytest.approx(k["building_energy_mwh"], abs=1e-9)
    ev_net = k["ev_energy_delivered_mwh"] - k["ev_energy_discharged_mwh"]
    assert asset_p["asset/evs"].sum() * step_h == pytest.approx(ev_net, abs=1e-9)
    assert k["building_hvac_energy_mwh"] > 0  # January: the heat pump works
    assert k["unserved_energy_kwh"] == 0.0
    assert k["island_hours"] == pytest.approx(2.0)
    assert k["island_slack_max_kw"] < 1.0


def test_shed_priority_naming_no_load_is_refused(tmp_path: Path) -> None:
    """A shed priority for something that is not a load is bad input naming the field."""
    from twin.engine import build
    from twin.errors import ScenarioError
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "bad_priority",
        "time": {"start": "2016-01-11T00:00:00", "duration": "1h", "step": "15min"},
        "grid": {"source": "file", "path": str(_two_load_grid(tmp_path))},
        "profiles": {"source": "constant"},
        "pcc": {"shed_priority": {"load/1": 5, "load/7": 5, "pump": 1}},
    })
    with pytest.raises(ScenarioError) as info:
        build(scenario)
    text = str(info.value)
    assert "pcc.shed_priority.load/7" in text
    assert "pcc.shed_priority.pump" in text
    assert "pcc.shed_priority.load/1" not in text


@pytest.mark.parametrize(("startup", "unserved_kwh"), [("0s", 0.0), ("6min", 1.0)])
def test_island_generator_start_up_time_leaves_the_island_dark_meanwhile(
    tiny_grid: Path, startup: str, unserved_kwh: float
) -> None:
    """Tiny grid (10 kW load at bus 2, 5 kW PV), no battery, a grid-forming 20 kW
    generator at bus 2 with a start-up time; the PCC opens at 10:00 for 2 h. Nothing
    forms the island until the generator runs: with 6 minutes to start, the island is
    dark 10:00-10:06 (10 kW x 0.1 h = 1 kWh unserved, PV dark too), the step splits at
    10:06 and from then the generator carries the island (nothing shed); it starts
    once. Without a start-up time nothing is unserved."""
    from twin.engine import build, simulate

    assets = [{"kind": "generator", "name": "gen", "bus": 2, "p_min_kw": 1, "p_max_kw": 20,
               "grid_forming": True, "startup_time": startup}]
    sim = build(_scenario(tiny_grid, assets, "rule_based", True))
    out = simulate(sim)
    k = out.kpis
    assert k["unserved_energy_kwh"] == pytest.approx(unserved_kwh, abs=1e-9)
    assert k["load_unserved_mwh"] * 1000.0 == pytest.approx(unserved_kwh, abs=1e-9)
    assert k["generator_starts"] == 1.0
    iv = out.recording.intervals
    rows = np.flatnonzero(iv.step == 40)
    if startup == "6min":
        assert iv.start_s[rows].tolist() == [36000.0, 36360.0]
        assert iv.unserved_mw[rows].tolist() == [0.010, 0.0]
        gen_row = sim.model.element_slices["sgen"].start + 1
        assert iv.p_mw[rows[0], gen_row] == 0.0
        assert iv.p_mw[rows[1], gen_row] > 0.005  # carries load minus PV plus losses
    else:
        assert rows.size == 1


def test_island_black_start_honours_minimum_down_time() -> None:
    """A unit stopped 2 steps ago with a 1 h minimum down time (4 steps of 15 min) is
    not black-started for an island; one off long enough is, at once without a
    start-up time."""
    from twin.assets.generator import GeneratorFamily
    from twin.scenario.assets import GeneratorAssetSpec

    specs = [GeneratorAssetSpec(kind="generator", name=n, bus=0, p_min_kw=1, p_max_kw=10,
                                min_down="1h", grid_forming=True) for n in ("a", "b")]
    fam = GeneratorFamily(specs, (0, 2))
    fam.min_up_steps = np.array([4, 4])
    fam.min_down_steps = np.array([4, 4])
    fam.state.steps_in_state = np.array([2, 5])
    fam.start_for_island(np.array([True, True]))
    assert fam.state.on.tolist() == [False, True]
    assert fam.state.starts.tolist() == [0, 1]


def test_branch_fault_island_curtails_pv_beyond_the_battery_charge_limit(tmp_path: Path) -> None:
    """The two-load grid with 20 kW of PV at bus 2 and a 3 kW battery there: cut off by
    the line 1 fault (10:05, 1 h), the island has 10 kW of surplus; the battery charges
    at exactly its 3 kW limit and the other 7 kW of PV are curtailed: 7 kWh in
    island_curtailed_kwh (a one-bus island has no losses), nothing unserved."""
    import pandapower as pp

    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    grid = _two_load_grid(tmp_path)
    net = pp.from_json(str(grid))
    pp.create_sgen(net, 2, p_mw=0.020, q_mvar=0.0, type="PV")
    pp.to_json(net, str(grid))
    scenario = scenario_from_dict({
        "name": "branch_island_pv",
        "time": {"start": "2016-01-11T00:00:00", "duration": "1d", "step": "15min"},
        "grid": {"source": "file", "path": str(grid)},
        "profiles": {"source": "constant"},
        "assets": [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 100,
                    "power_kw": 3, "soc_initial_frac": 0.5}],
        "faults": [{"kind": "line_outage", "element": 1, "start": "10h5min",
                    "duration": "1h"}],
        "control": {"mode": "rule_based"},
    })
    sim = build(scenario)
    out = simulate(sim)
    iv = out.recording.intervals
    during = (iv.start_s >= 36300) & (iv.start_s < 39900)
    bat = sim.model.element_slices["storage"].start
    np.testing.assert_allclose(iv.p_mw[during, bat], 0.003, rtol=0, atol=1e-9)
    assert out.kpis["island_curtailed_kwh"] == pytest.approx(7.0, abs=1e-6)
    assert out.kpis["unserved_energy_kwh"] == pytest.approx(0.0, abs=1e-9)
