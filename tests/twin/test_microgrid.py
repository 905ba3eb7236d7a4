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
    grid-forming unit. Islanded for 2 h, 3 kW are shed: 6 kWh unserved, no more."""
    from twin.engine import build, simulate

    assets = [{"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 100, "power_kw": 2,
               "soc_initial_frac": 0.8}]
    out = simulate(build(_scenario(tiny_grid, assets, "rule_based", True)))
    assert out.kpis["unserved_energy_kwh"] == pytest.approx(6.0, abs=1e-6)
    assert out.kpis["island_hours"] == pytest.approx(2.0)
    # the slack carried only the island's losses
    assert out.kpis["island_slack_max_kw"] < 0.05 * 5.0


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
    lhs = totals["import_p_mw"] + totals["island_p_mw"] + totals["generation_p_mw"]
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
