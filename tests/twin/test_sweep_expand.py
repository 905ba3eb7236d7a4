"""Sweep files: expansion (grid product, zip, nested field paths) and refusal of bad input.

No run happens here: expansion resolves and validates every run's scenario up front.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from twin.scenario import apply_overrides, load_scenario
from twin.store import scenario_run_id as run_id_for
from twin.study import SweepInputError, load_sweep

BASE = (Path(__file__).parent / "data" / "tiny_base.yaml").read_text()


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_grid_is_the_cartesian_product_first_path_outermost(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: g
        scenario: base.yaml
        vary:
          grid:
            control.mode: ["off", self_consumption]
            seed: [0, 1, 2]
        """,
    )
    sweep = load_sweep(path)
    got = [(r.params["control.mode"], r.params["seed"]) for r in sweep.runs]
    assert got == list(itertools.product(["off", "self_consumption"], [0, 1, 2]))
    assert [r.index for r in sweep.runs] == list(range(6))
    assert len({r.run_id for r in sweep.runs}) == 6
    base = load_scenario(tmp_path / "base.yaml")
    for run in sweep.runs:
        resolved = apply_overrides(base, run.params)
        assert run.run_id == run_id_for(resolved)
        assert run.run_id.endswith(f"-s{run.params['seed']}")
        assert run.scenario["control"]["mode"] == run.params["control.mode"]


def test_zip_walks_lists_in_step_and_combines_with_grid(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: z
        scenario: base.yaml
        vary:
          grid:
            seed: [0, 1]
          zip:
            assets.bat1.capacity_kwh: [10, 20, 40]
            assets.bat1.power_kw: [2.5, 5, 10]
        """,
    )
    sweep = load_sweep(path)
    assert len(sweep.runs) == 6
    pairs = {(r.params["assets.bat1.capacity_kwh"], r.params["assets.bat1.power_kw"])
             for r in sweep.runs}
    assert pairs == {(10, 2.5), (20, 5), (40, 10)}  # never (10, 5) etc.
    assert sweep.axes == (("seed",), ("assets.bat1.capacity_kwh", "assets.bat1.power_kw"))


def test_several_zip_groups_form_a_product(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: z2
        scenario: base.yaml
        vary:
          zip:
            - {assets.bat1.capacity_kwh: [10, 20], assets.bat1.power_kw: [5, 10]}
            - {seed: [3, 4, 5], profiles.load_scale: [0.8, 1.0, 1.2]}
        """,
    )
    sweep = load_sweep(path)
    assert len(sweep.runs) == 6
    assert {(r.params["seed"], r.params["profiles.load_scale"]) for r in sweep.runs} == {
        (3, 0.8), (4, 1.0), (5, 1.2)
    }


def test_nested_field_paths_by_name_index_and_section(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: n
        scenario: base.yaml
        set:
          time.step: 5min
        vary:
          grid:
            assets.bat1.capacity_kwh: [15]
            assets.0.peak_kw: [12, 24]
            control.export_limit_kw: [null, 3]
            profiles.load_noise_frac: [0.1]
        """,
    )
    sweep = load_sweep(path)
    assert len(sweep.runs) == 4
    for run in sweep.runs:
        s = run.scenario
        assert s["time"]["step"] == "5min"
        assert s["assets"][1]["capacity_kwh"] == 15
        assert s["assets"][0]["peak_kw"] == run.params["assets.0.peak_kw"]
        assert s["control"]["export_limit_kw"] == run.params["control.export_limit_kw"]
        assert s["profiles"]["load_noise_frac"] == 0.1
    # the fixed override changes the resolved scenario, hence the run ids
    assert all(r.scenario["time"]["step"] == "5min" for r in sweep.runs)


@pytest.mark.parametrize(
    ("vary", "where", "says"),
    [
        ("control.nope: [1]", "vary.grid.control.nope", "'nope' does not exist at control"),
        ("assets.bat9.power_kw: [1]", "vary.grid.assets.bat9.power_kw", "bat1"),
        ("assets.7.power_kw: [1]", "vary.grid.assets.7.power_kw", "names no item"),
        ("time.step.minutes: [1]", "vary.grid.time.step.minutes", "is a value, not a section"),
    ],
)
def test_a_field_path_that_does_not_exist_is_refused_by_name(
    tmp_path: Path, vary: str, where: str, says: str
) -> None:
    path = _write(tmp_path, f"name: bad\nscenario: base.yaml\nvary:\n  grid:\n    {vary}\n")
    with pytest.raises(SweepInputError) as info:
        load_sweep(path)
    message = str(info.value)
    assert str(path) in message
    assert where in message
    assert says in message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("vary: {}\n", "nothing varies"),
        ("vary: {grid: {}, zip: []}\n", "nothing varies"),
        ("vary: {grid: {seed: []}}\n", "vary.grid.seed: empty list"),
        ("vary: {zip: {seed: [1, 2], profiles.load_scale: [1.0]}}\n", "differ in length"),
        ("vary: {grid: {seed: [1]}, zip: {seed: [2]}}\n", "also given in vary.grid"),
        ("vary: {grid: {seed: [1, 1]}}\n", "resolve to the same scenario and seed"),
        ("vary: {grid: {assets.bat1.capacity_kwh: [10, -5]}}\n", "greater than 0"),
        ("vary: {grid: {seed: [1]}}\nextra: 1\n", "extra: unknown key"),
    ],
)
def test_bad_vary_sections_are_refused(tmp_path: Path, body: str, says: str) -> None:
    path = _write(tmp_path, "name: bad\nscenario: base.yaml\n" + body)
    with pytest.raises(SweepInputError) as info:
        load_sweep(path)
    assert says in str(info.value)


def test_a_check_needs_a_bound(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: b
        scenario: base.yaml
        vary: {grid: {seed: [0, 1]}}
        checks:
          - {kpi: energy_import_mwh, max: 1}
          - {kpi: energy_import_mwh}
        """,
    )
    with pytest.raises(SweepInputError, match=r"checks.1: check on 'energy_import_mwh' has "
                       r"neither 'min' nor 'max'"):
        load_sweep(path)


def test_baseline_problems_are_listed_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: b
        scenario: base.yaml
        vary:
          grid: {control.mode: ["off", self_consumption], seed: [0, 1]}
        baselines:
          plain: {control.mode: "rule_based"}
          other: {grid.code: x}
        checks:
          - {kpi: energy_import_mwh, relative_to: nosuch, max: 1}
          - {kpi: energy_import_mwh, max: 1, where: {profiles.load_scale: 1.0}}
        """,
    )
    with pytest.raises(SweepInputError) as info:
        load_sweep(path)
    lines = str(info.value).splitlines()
    assert any("baselines.plain.control.mode" in x and "not among the varied" in x for x in lines)
    assert any("baselines.other.grid.code" in x and "not a varied field" in x for x in lines)
    assert any("checks.0.relative_to" in x and "no baseline named 'nosuch'" in x for x in lines)
    assert any("checks.1.where.profiles.load_scale" in x for x in lines)


def test_unknown_kpi_is_refused_when_the_kpi_names_are_known(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: k
        scenario: base.yaml
        vary: {grid: {seed: [0, 1]}}
        checks: [{kpi: energy_imprt_mwh, max: 1}]
        """,
    )
    with pytest.raises(SweepInputError, match=r"checks.0.kpi: unknown KPI 'energy_imprt_mwh'"):
        load_sweep(path, kpis=frozenset({"energy_import_mwh"}))


def test_base_scenario_problems_name_the_sweep_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: s\nscenario: missing.yaml\nvary: {grid: {seed: [1]}}\n")
    with pytest.raises(SweepInputError, match=r"sweep.yaml: scenario: base scenario is invalid"):
        load_sweep(path)


SHIPPED = sorted((Path(__file__).resolve().parents[2] / "scenarios" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweeps_expand(path: Path) -> None:
    """Every sweep under scenarios/sweeps/ still expands against today's schema."""
    sweep = load_sweep(path)
    assert len(sweep.runs) >= 2
    assert sweep.spec.checks, "a shipped sweep gates on something"
    text = path.read_text()
    assert text.startswith("#"), "a shipped sweep is documented at its top"
