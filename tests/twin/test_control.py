"""Rule-based self-consumption: batteries soak up surplus and cover deficit within their
limits; PV is curtailed only to keep export under the limit."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest


def _run(tiny_grid: Path, control: dict, battery_kw: float = 20.0):
    from twin.engine import build, simulate, timeseries_series
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "ctrl",
        "time": {"start": "2016-06-10T00:00:00", "duration": "2d", "step": "15min"},
        "grid": {"source": "file", "path": str(tiny_grid)},
        "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
        "assets": [
            {"kind": "pv", "name": "pv", "bus": 2, "peak_kw": 60, "profile": "PV5"},
            {"kind": "battery", "name": "bat", "bus": 2, "capacity_kwh": 40,
             "power_kw": battery_kw, "soc_initial_frac": 0.5},
        ],
        "control": control,
    })
    sim = build(scenario)
    out = simulate(sim)
    series = {(s.entities[0], s.quantity): s.values[:, 0] for s in timeseries_series(sim, out)
              if len(s.entities) == 1 or s.group == "asset"}
    return sim, out, series


def test_off_leaves_battery_idle_and_pv_uncurtailed(tiny_grid: Path) -> None:
    _, out, s = _run(tiny_grid, {"mode": "off"})
    assert np.all(s[("asset/bat", "p_mw")] == 0)
    assert out.kpis["pv_curtailed_mwh"] == 0
    assert np.all(s[("asset/bat", "soc_frac")] == 0.5)


def test_bus_scope_balances_the_battery_bus(tiny_grid: Path) -> None:
    """At bus 2 the net consumption is the 10 kW network load minus PV; the battery takes
    the surplus (charging) or covers the deficit, within its 20 kW and SoC limits and
    within the whole feeder's surplus or deficit (it never charges from upstream nor
    discharges into it)."""
    sim, _, s = _run(tiny_grid, {"mode": "self_consumption", "scope": "bus"})
    bat = s[("asset/bat", "p_mw")]
    pv = s[("asset/pv", "p_mw")]
    load = sim.recorder.p_mw[:, 0]  # the network's own load at bus 2
    generation = s[("grid/total", "generation_p_mw")]  # every generator, the PV asset too
    soc = s[("asset/bat", "soc_frac")]
    at_bus = pv - load
    surplus = generation - s[("grid/total", "load_p_mw")]  # the feeder's, batteries apart
    wanted = np.where(at_bus > 0, np.minimum(at_bus, np.maximum(surplus, 0.0)),
                      -np.minimum(-at_bus, np.maximum(-surplus, 0.0)))
    assert np.all(bat <= np.maximum(surplus, 0.0) + 1e-9)  # no charging from upstream
    free = (np.abs(wanted) < 0.02 - 1e-9) & (soc > 0.1 + 1e-6) & (soc < 0.9 - 1e-6)
    np.testing.assert_allclose(bat[free], wanted[free], atol=1e-9)
    assert np.all(np.abs(bat) <= 0.02 + 1e-12)
    assert bat.max() > 0
    assert bat.min() < 0


def test_export_limit_curtails_pv(tiny_grid: Path) -> None:
    _, out, s = _run(tiny_grid, {"mode": "self_consumption", "export_limit_kw": 15},
                     battery_kw=5.0)
    assert out.kpis["pv_curtailed_mwh"] > 0
    export = -s[("grid/total", "import_p_mw")]
    assert export.max() <= 0.015 + 1e-9
    curtailed = s[("asset/pv", "curtailed_p_mw")]
    assert np.all(curtailed >= 0)
    # start and end of curtailment are events, alternating, one pair per sunny midday
    kinds = [e["kind"] for e in out.recording.events if e["category"] == "control"]
    assert kinds[:2] == ["curtailment_start", "curtailment_end"]
    assert all(a != b for a, b in itertools.pairwise(kinds))
    # curtailment only happens when the limit binds
    binding = curtailed > 1e-9
    assert np.all(export[binding] > 0.015 - 0.002)  # at the limit, less the losses


def test_unknown_mode_is_refused() -> None:
    from twin.errors import ScenarioError
    from twin.scenario import scenario_from_dict

    with pytest.raises(ScenarioError, match=r"control\.mode"):
        scenario_from_dict({"name": "x", "grid": {"source": "simbench", "code": "1-LV-rural1--0-sw"},
                            "control": {"mode": "telepathy"}})
