"""The results store: complete runs or nothing, readable back, corrupted ones refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin.errors import ResultsError

ROOT = Path(__file__).resolve().parents[2]


def test_run_dir_holds_the_contract(run_dir: Path) -> None:
    import twin

    data = twin.open_run(run_dir)
    m = data.manifest
    for key in ("run_id", "scenario_name", "scenario_file", "scenario", "scenario_hash", "seed",
                "versions", "git_commit", "started_at", "wall_time_s", "n_steps", "step_s",
                "sim_start", "gridtwin_version"):
        assert key in m, key
    assert m["run_id"] == run_dir.name == f"default-{m['scenario_hash'][:10]}-s1"
    assert m["scenario"]["seed"] == 1
    assert m["n_steps"] == 96
    assert m["step_s"] == 900
    assert "pandapower" in m["versions"]
    assert "lightsim2grid" in m["versions"]
    ts = data.timeseries
    assert list(ts.columns) == ["time_s", "entity", "quantity", "unit", "value"]
    assert str(ts.time_s.dtype) == "int64"
    assert str(ts.value.dtype) == "float64"
    assert sorted(ts.time_s.unique()) == [k * 900 for k in range(96)]
    entities = set(ts.entity.astype(str))
    assert {"bus/0", "line/0", "trafo/0", "grid/total", "load/0", "sgen/0",
            "asset/home_battery", "asset/pv_farm"} <= entities
    assert list(data.events.columns) == ["time_s", "category", "kind", "entity", "message", "data"]
    soc = data.series("asset/home_battery", "soc_frac")
    assert len(soc) == 96
    assert soc.between(0.1, 0.9).all()


def test_kpis_agree_with_the_timeseries(run_dir: Path) -> None:
    """KPIs recomputed from timeseries.parquet by hand equal kpis.json."""
    import twin

    data = twin.open_run(run_dir)
    ts, kpis = data.timeseries, data.kpis
    step_h = 0.25

    def q(entity_prefix: str, quantity: str):
        rows = ts[ts.entity.astype(str).str.startswith(entity_prefix) & (ts.quantity == quantity)]
        return rows.value

    imp = q("grid/total", "import_p_mw")
    assert kpis["energy_import_mwh"] == pytest.approx(imp.clip(lower=0).sum() * step_h)
    assert kpis["energy_export_mwh"] == pytest.approx(-imp.clip(upper=0).sum() * step_h)
    assert kpis["losses_mwh"] == pytest.approx(q("grid/total", "losses_p_mw").sum() * step_h)
    vm = q("bus/", "vm_pu")
    assert kpis["min_bus_voltage_pu"] == pytest.approx(vm.min())
    assert kpis["max_bus_voltage_pu"] == pytest.approx(vm.max())
    assert kpis["voltage_violation_bus_steps"] == int(((vm < 0.95) | (vm > 1.05)).sum())
    assert kpis["max_line_loading_percent"] == pytest.approx(q("line/", "loading_percent").max())
    assert kpis["max_trafo_loading_percent"] == pytest.approx(q("trafo/", "loading_percent").max())
    bat = ts[(ts.entity == "asset/home_battery") & (ts.quantity == "p_mw")].value
    assert kpis["battery_throughput_mwh"] == pytest.approx(bat.abs().sum() * step_h)
    assert kpis["battery_throughput_mwh"] > 0
    pv = ts[(ts.entity == "asset/pv_farm") & (ts.quantity == "p_mw")].value
    assert kpis["pv_energy_mwh"] >= pv.sum() * step_h > 0


def test_a_tight_voltage_band_counts_violations(run_dir: Path, tmp_path: Path) -> None:
    import twin
    from twin.scenario import apply_overrides, scenario_from_dict

    data = twin.open_run(run_dir)
    scenario = scenario_from_dict(data.manifest["scenario"])
    tight = apply_overrides(scenario, {"outputs.voltage_band_pu": [0.95, 1.02],
                                       "outputs.loading_limit_percent": 10})
    result = twin.run(tight, store=tmp_path)
    vm = data.timeseries.query("quantity == 'vm_pu'").value
    assert result.kpis["voltage_violation_bus_steps"] == int((vm > 1.02).sum()) > 0
    assert result.kpis["line_overload_steps"] > 0


def test_list_runs_and_rerun_replaces(run_dir: Path, tmp_path: Path) -> None:
    import twin
    from twin.scenario import scenario_from_dict

    store = tmp_path / "store"
    shutil.copytree(run_dir, store / run_dir.name)
    (store / "not-a-run").mkdir()
    (store / ".tmp-x-999999999").mkdir()
    runs = twin.list_runs(store)
    assert [r.run_id for r in runs] == [run_dir.name]
    scenario = scenario_from_dict(twin.open_run(run_dir).manifest["scenario"])
    again = twin.run(scenario, store=store)
    assert again.path == store / run_dir.name  # same scenario and seed: same folder
    assert [r.run_id for r in twin.list_runs(store)] == [run_dir.name]
    assert not (store / ".tmp-x-999999999").exists()  # stale temp folder of a dead process


@pytest.mark.parametrize(
    "damage",
    ["no_manifest", "bad_manifest", "no_kpis", "no_timeseries", "bad_parquet", "missing_dir"],
)
def test_open_run_refuses_partial_or_corrupted(run_dir: Path, tmp_path: Path, damage: str) -> None:
    import twin

    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    if damage == "no_manifest":
        (broken / "manifest.json").unlink()
    elif damage == "bad_manifest":
        (broken / "manifest.json").write_text("{not json")
    elif damage == "no_kpis":
        (broken / "kpis.json").unlink()
    elif damage == "no_timeseries":
        (broken / "timeseries.parquet").unlink()
    elif damage == "bad_parquet":
        (broken / "timeseries.parquet").write_bytes(b"PAR1 truncated")
    else:
        shutil.rmtree(broken)
    with pytest.raises(ResultsError, match="broken"):
        twin.open_run(broken)


def test_show_of_a_corrupted_run_exits_2(run_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twin.cli import app

    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "kpis.json").write_text("[1, 2")
    result = CliRunner().invoke(app, ["show", str(broken)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if "kpis.json" in line
    ]
    assert "Traceback" not in result.stderr


# two months of the 97-bus MV grid: about 3 million time-series rows to write
BIG = """
name: killme
time: {duration: 60d, step: 15min}
grid: {source: simbench, code: 1-MV-rural--0-sw}
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_leaves_no_half_written_run(tmp_path: Path, sig: signal.Signals) -> None:
    """Kill a real `twin run` while it writes its folder: the store holds no run."""
    import twin

    file = tmp_path / "big.yaml"
    file.write_text(BIG)
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twin.cli import main; main()", "run", str(file),
         "--out", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    deadline = time.monotonic() + 240
    seen_tmp = False
    while time.monotonic() < deadline and proc.poll() is None:
        if store.is_dir() and any(p.name.startswith(".tmp-") for p in store.iterdir()):
            seen_tmp = True
            break
        time.sleep(0.002)
    if not seen_tmp:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run never reached its write phase: {proc.stderr.read().decode()[-500:]}")
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert twin.list_runs(store) == []
    visible = [p for p in store.iterdir() if not p.name.startswith(".")]
    assert visible == []
    folders = lambda: [p.name for p in store.iterdir()]  # noqa: E731
    if sig == signal.SIGTERM:  # a terminated run cleans up after itself
        assert folders() == []
    else:  # a killed one leaves a hidden temp folder, swept by the next write
        from twin.store import recover

        assert recover(store)
        assert list(store.iterdir()) == []


def test_written_kpis_are_plain_json(run_dir: Path) -> None:
    kpis = json.loads((run_dir / "kpis.json").read_text())
    assert all(isinstance(v, int | float) or v is None for v in kpis.values())
    assert {"energy_import_mwh", "energy_export_mwh", "losses_mwh", "min_bus_voltage_pu",
            "max_bus_voltage_pu", "voltage_violation_bus_steps", "max_line_loading_percent",
            "line_overload_steps", "max_trafo_loading_percent", "trafo_overload_steps",
            "pv_energy_mwh", "pv_curtailed_mwh", "battery_throughput_mwh"} <= set(kpis)
