"""The ``twin`` commands: run, show, compare, list, validate, schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import app

ROOT = Path(__file__).resolve().parents[2]
MY_SCENARIOS = ["default.yaml", "simbench_year.yaml", "cigre_lv_week.yaml"]

SMALL = """\
name: small
time: {start: "2016-05-02T00:00:00", duration: 6h, step: 15min}
grid: {source: simbench, code: 1-LV-rural1--0-sw}
profiles: {load_noise_frac: 0.1}
assets:
  - {kind: battery, name: bat, bus: 5, capacity_kwh: 8, power_kw: 3}
control: {mode: self_consumption}
"""


def test_committed_schema_is_fresh(tmp_path: Path) -> None:
    """scenarios/schema.json is what `twin schema` writes now (regenerate it if not)."""
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    committed = (ROOT / "scenarios" / "schema.json").read_text()
    assert json.loads(out.read_text()) == json.loads(committed), (
        "scenarios/schema.json is stale: run `twin schema`"
    )
    assert out.read_text() == committed


def test_schema_describes_sections() -> None:
    result = CliRunner().invoke(app, ["schema", "--out", "-"])
    schema = json.loads(result.stdout)
    assert {"name", "time", "grid", "assets", "control", "outputs"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", MY_SCENARIOS)
def test_shipped_scenarios_validate_and_say_what_they_show(name: str) -> None:
    file = ROOT / "scenarios" / name
    assert file.read_text().startswith("# "), "a shipped scenario opens with a comment header"
    result = CliRunner().invoke(app, ["validate", str(file)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{file}: ok"


def test_run_show_compare_list(tmp_path: Path) -> None:
    file = tmp_path / "small.yaml"
    file.write_text(SMALL)
    store = tmp_path / "runs"
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(file), "--out", str(store), "--seed", "3"])
    assert first.exit_code == 0, first.stderr
    assert "\x1b[" not in first.stdout  # plain output when not on a terminal
    run_a = next(store.iterdir())
    assert run_a.name.startswith("small-")
    assert run_a.name.endswith("-s3")
    assert f"-> {run_a}" in first.stdout
    assert "battery_throughput_mwh" in first.stdout

    second = runner.invoke(app, ["run", str(file), "-o", str(store), "--seed", "4", "-q"])
    assert second.exit_code == 0
    run_b = Path(second.stdout.strip())
    assert run_b.name.endswith("-s4")
    assert run_b.parent == store

    show = runner.invoke(app, ["show", str(run_a)])
    assert show.exit_code == 0
    kpis = json.loads((run_a / "kpis.json").read_text())
    for name in ("energy_import_mwh", "min_bus_voltage_pu", "voltage_violation_bus_steps"):
        assert name in show.stdout
    assert "24 steps of 900 s" in show.stdout
    row = next(line for line in show.stdout.splitlines() if line.startswith("n_steps"))
    assert row.split()[1] == f"{int(kpis['n_steps']):,}"  # an integer, not "24.0"
    header = next(line for line in show.stdout.splitlines() if line.startswith("kpi"))
    assert header.split() == ["kpi", "value", "unit"]
    energy = next(line for line in show.stdout.splitlines()
                  if line.startswith("energy_import_mwh"))
    assert energy.split()[-1] == "MWh"
    assert "-0.0" not in show.stdout
    assert "e-1" not in show.stdout

    compare = runner.invoke(app, ["compare", run_a.name, run_b.name, "--store", str(store)])
    assert compare.exit_code == 0, compare.stderr
    kb = json.loads((run_b / "kpis.json").read_text())
    line = next(line for line in compare.stdout.splitlines() if line.startswith("energy_import_mwh"))
    assert next(line for line in compare.stdout.splitlines() if line.startswith("kpi")
                ).split() == ["kpi", "A", "B", "B", "-", "A", "change", "unit"]
    delta = float(line.split()[3].replace(",", ""))
    change = float(line.split()[4])
    assert change == pytest.approx(100 * delta / kpis["energy_import_mwh"], abs=0.01)
    assert delta == pytest.approx(kb["energy_import_mwh"] - kpis["energy_import_mwh"], rel=1e-5, abs=1e-9)
    assert delta != 0  # the load noise differs between seeds 3 and 4

    listing = runner.invoke(app, ["list", "--store", str(store)])
    assert listing.stdout.startswith(f"2 runs in {store}")
    assert run_a.name in listing.stdout
    assert run_b.name in listing.stdout


def test_show_unknown_run_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["show", "nothing-here", "--store", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("nothing-here: no such run folder")


def test_base_file_and_override(tmp_path: Path) -> None:
    """A scenario may name a base file and override fields of it."""
    import twin

    shutil.copy(ROOT / "scenarios" / "default.yaml", tmp_path / "default.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("base: default.yaml\nname: child\ntime: {duration: 1d}\n"
                     "control: {mode: 'off'}\n")
    scenario = twin.load_scenario(child)
    base = twin.load_scenario(tmp_path / "default.yaml")
    assert scenario.name == "child"
    assert scenario.time.duration == "1d"
    assert scenario.time.start == base.time.start
    assert scenario.assets == base.assets
    assert scenario.control.mode == "off"
