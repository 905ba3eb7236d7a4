"""Scenario models and semantic checks: round trip, overrides, hash, cross-section rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
MINE = ["default.yaml", "simbench_year.yaml", "cigre_lv_week.yaml"]


@pytest.mark.parametrize("name", MINE)
def test_dump_and_reload_gives_the_same_scenario(name: str) -> None:
    import twin
    from twin.scenario import scenario_from_dict, scenario_hash

    scenario = twin.load_scenario(ROOT / "scenarios" / name)
    again = scenario_from_dict(scenario.model_dump(mode="json"), scenario.source)
    assert again == scenario  # fields and source file alike
    assert scenario_hash(again) == scenario_hash(scenario)


def test_hash_ignores_the_seed_but_not_the_rest() -> None:
    import twin
    from twin.scenario import apply_overrides, scenario_hash

    base = twin.load_scenario(ROOT / "scenarios" / "default.yaml")
    assert scenario_hash(apply_overrides(base, {"seed": 99})) == scenario_hash(base)
    bigger = apply_overrides(base, {"assets.home_battery.capacity_kwh": 40})
    assert bigger.assets[1].capacity_kwh == 40
    assert scenario_hash(bigger) != scenario_hash(base)


def test_override_of_a_missing_path_names_it() -> None:
    import twin
    from twin.scenario import apply_overrides

    base = twin.load_scenario(ROOT / "scenarios" / "default.yaml")
    with pytest.raises(ScenarioError) as info:
        apply_overrides(base, {"assets.no_such_asset.power_kw": 1})
    (problem,) = info.value.problems
    assert problem.path == "assets.no_such_asset.power_kw"
    assert "home_battery" in problem.message


def _problems(data: dict) -> list[str]:
    from twin import checks
    from twin.grid import build_network, profile_library
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict(data, "s.yaml")
    found = checks.check_scenario(scenario)
    if not found:
        net = build_network(scenario.grid)
        code = checks.library_code(scenario)
        found = checks.check_against_network(scenario, net, profile_library(code) if code else None)
    return [str(p) for p in found]


LV = {"source": "simbench", "code": "1-LV-rural1--0-sw"}


def test_unknown_profile_lists_the_known_ones() -> None:
    (line,) = _problems({"name": "x", "grid": LV, "assets": [
        {"kind": "pv", "name": "p", "bus": 3, "peak_kw": 5, "profile": "PV99"}]})
    assert line.startswith("s.yaml: assets.0.profile: unknown renewables profile 'PV99'")
    assert "PV5" in line


def test_simbench_profiles_need_a_simbench_grid(tiny_grid: Path) -> None:
    (line,) = _problems({"name": "x", "grid": {"source": "file", "path": str(tiny_grid)}})
    assert line.startswith("s.yaml: profiles.source: 'simbench' needs a SimBench grid")


def test_named_profiles_need_a_library(tiny_grid: Path) -> None:
    (line,) = _problems({"name": "x", "grid": {"source": "file", "path": str(tiny_grid)},
                         "profiles": {"source": "constant"},
                         "assets": [{"kind": "load", "name": "l", "bus": 1, "peak_kw": 3,
                                     "profile": "H0-A"}]})
    assert line.startswith("s.yaml: assets.0.profile: named profiles need a SimBench library")


def test_step_must_fit_the_15_minute_profiles() -> None:
    (line,) = _problems({"name": "x", "grid": LV, "time": {"duration": "1d", "step": "16min"}})
    assert line.startswith("s.yaml: time.step: step 16min does not fit")


def test_finer_and_coarser_steps_run() -> None:
    """5-minute steps hold each quarter hour; 1-hour steps average four of them."""
    import numpy as np

    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    outs = {}
    for step in ("5min", "15min", "1h"):
        s = scenario_from_dict({"name": "x", "grid": LV, "time": {"duration": "1d", "step": step}})
        sim = build(s)
        simulate(sim)
        outs[step] = sim.recorder.p_mw[:, :13]  # the network's loads
    np.testing.assert_array_equal(outs["5min"][::3], outs["15min"])
    np.testing.assert_allclose(outs["1h"], outs["15min"].reshape(24, 4, 13).mean(axis=1))


def test_builtin_pandapower_network_runs(tmp_path: Path) -> None:
    """The CIGRE LV scenario (grid.source: pandapower) runs headless; its grid-scope
    battery works and the energy balance closes over the week."""
    import twin

    result = twin.run(twin.load_scenario(ROOT / "scenarios" / "cigre_lv_week.yaml"),
                      store=tmp_path)
    k = result.kpis
    assert k["n_steps"] == 672
    assert k["nonconverged_steps"] == 0
    assert k["battery_throughput_mwh"] > 0
    net_storage = k["battery_charge_mwh"] - k["battery_discharge_mwh"]
    balance = (k["energy_import_mwh"] - k["energy_export_mwh"] + k["generation_energy_mwh"]
               - k["load_energy_mwh"] - k["losses_mwh"] - net_storage)
    assert abs(balance) < 1e-6 * 168  # 1e-6 MW each step, over 168 hours
