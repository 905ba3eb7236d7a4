"""Tripped assets in a run: the asset's own state and channels follow the trip, so the
energy it reports is the energy the grid received (no phantom charging, PV or fuel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin import engine
from twin.scenario import apply_overrides, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STEP_S = 900

pytestmark = pytest.mark.integration


def _channel(out, entity: str, quantity: str) -> np.ndarray:
    for series in out.recording.channels:
        if series.group == "asset" and series.quantity == quantity and entity in series.entities:
            return series.values[:, series.entities.index(entity)]
    raise KeyError((entity, quantity))


def _window(n_steps: int, start_h: float, end_h: float) -> np.ndarray:
    t = np.arange(n_steps) * STEP_S
    return (t >= start_h * 3600) & (t < end_h * 3600)


def _run(name: str, overrides: dict):
    scenario = apply_overrides(load_scenario(SCENARIOS / name), overrides)
    sim = engine.build(scenario)
    return sim, engine.simulate(sim)


def _grid_row(sim, table: str, family: str) -> int:
    return sim.model.element_slices[table].start + sim.families[family].rows[0]


def test_tripped_battery_exchanges_nothing_and_only_self_discharges():
    """default.yaml, one June day: the home battery charges from midday PV. Tripped
    10:00-14:00, its own power channel reads 0 (as the grid injection does) and its
    state of charge does not rise; after the trip it charges again."""
    _, base = _run("default.yaml", {"time.duration": "1d"})
    sim, out = _run("default.yaml", {"time.duration": "1d", "faults": [
        {"kind": "battery_trip", "asset": "home_battery", "start": "10h", "duration": "4h"}]})
    n = out.recording.n_steps
    during = _window(n, 10, 14)
    p_base = _channel(base, "asset/home_battery", "p_mw")
    assert np.abs(p_base[during]).max() > 0  # without the trip it works then
    p = _channel(out, "asset/home_battery", "p_mw")
    grid = out.recording.p_mw[:, _grid_row(sim, "storage", "battery")]
    np.testing.assert_array_equal(p, grid)  # what the asset reports is what the grid got
    assert (p[during] == 0).all()
    soc = _channel(out, "asset/home_battery", "soc_frac")
    assert (np.diff(soc[during]) <= 0).all()  # self-discharge only
    assert p[_window(n, 14, 16)].max() > 0  # restored: it charges again
    at_14 = int(14 * 3600 / STEP_S) - 1
    assert soc[at_14] < _channel(base, "asset/home_battery", "soc_frac")[at_14]


def test_tripped_pv_reports_no_output_and_no_curtailment():
    """default.yaml: pv_farm tripped 10:00-12:00 offers, delivers and curtails nothing,
    and the feeder's PV energy KPIs drop by exactly what it would have made."""
    _, base = _run("default.yaml", {"time.duration": "1d"})
    sim, out = _run("default.yaml", {"time.duration": "1d", "faults": [
        {"kind": "pv_trip", "asset": "pv_farm", "start": "10h", "duration": "2h"}]})
    n = out.recording.n_steps
    during = _window(n, 10, 12)
    for quantity in ("p_mw", "available_p_mw", "curtailed_p_mw"):
        assert (_channel(out, "asset/pv_farm", quantity)[during] == 0).all(), quantity
    p = _channel(out, "asset/pv_farm", "p_mw")
    grid = out.recording.p_mw[:, _grid_row(sim, "sgen", "pv")]
    np.testing.assert_array_equal(p, grid)
    assert p[_window(n, 12, 14)].max() > 0
    # the PV KPIs (all PV of the feeder) lose exactly what the farm would have made
    lost = _channel(base, "asset/pv_farm", "p_mw")[during].sum() * STEP_S / 3600.0
    assert lost > 0
    for kpi in ("pv_energy_mwh", "pv_available_mwh"):
        assert base.kpis[kpi] - out.kpis[kpi] == pytest.approx(lost, rel=1e-9), kpi


def test_tripped_generator_cannot_form_the_island_and_burns_no_fuel():
    """microgrid_island_day.yaml islands 17:00-21:00 with a battery and a grid-forming
    diesel. With the diesel tripped 16:00-22:00 it stays off (output 0, no fuel) and the
    island sheds more than with it; the battery alone still forms the island."""
    _, base = _run("microgrid_island_day.yaml", {})
    sim, out = _run("microgrid_island_day.yaml", {"faults": [
        {"kind": "generator_trip", "asset": "diesel", "start": "16h", "duration": "6h"}]})
    n = out.recording.n_steps
    during = _window(n, 16, 22)
    p_base = _channel(base, "asset/diesel", "p_mw")
    assert p_base[_window(n, 17, 21)].max() > 0  # without the trip it serves the island
    p = _channel(out, "asset/diesel", "p_mw")
    assert (p[during] == 0).all()
    assert (_channel(out, "asset/diesel", "on_frac")[during] == 0).all()
    grid = out.recording.p_mw[:, _grid_row(sim, "sgen", "generator")]
    np.testing.assert_array_equal(p, grid)
    energy_kwh = p.sum() * STEP_S / 3600.0 * 1000.0
    assert out.kpis["generator_energy_mwh"] * 1000.0 == pytest.approx(energy_kwh)
    assert out.kpis["generator_fuel_cost_eur"] == pytest.approx(energy_kwh * 0.35)
    assert out.kpis["unserved_energy_kwh"] > base.kpis["unserved_energy_kwh"]
    kinds = [e["kind"] for e in out.recording.events]
    assert "generator_trip_start" in kinds
    assert "generator_trip_end" in kinds
