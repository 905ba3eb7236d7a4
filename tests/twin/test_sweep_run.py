"""Sweeps that really run: local workers, resume after kill -9, a crashing worker, Dask.

Every run here is a real twin run of a small SimBench LV scenario (a few simulated
hours), written into a real results store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.store import open_run
from twin.study import (
    LocalExecutor,
    RunOutcome,
    load_sweep,
    preflight,
    read_sweep_dir,
    run_sweep,
)

BASE = (Path(__file__).parent / "data" / "tiny_base.yaml").read_text()

TWIN = [sys.executable, "-c", "import sys; from twin.cli import main; sys.argv[0] = 'twin'; main()"]


def _sweep_file(tmp_path: Path, body: str, duration: str = "3h") -> Path:
    (tmp_path / "base.yaml").write_text(BASE.replace("duration: 3h", f"duration: {duration}"))
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(body))
    return path


FOUR = """\
name: four
scenario: base.yaml
vary:
  grid:
    control.mode: ["off", self_consumption]
    seed: [1, 2]
"""


def _run_dirs(store: Path) -> list[Path]:
    return sorted(p for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))


def _assert_complete(folder: Path) -> None:
    data = open_run(folder)  # raises ResultsError for a partial folder
    assert data.manifest["run_id"] == folder.name
    assert data.kpis


def test_local_sweep_runs_every_run_once_and_a_rerun_skips_them(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep_file(tmp_path, FOUR))
    preflight(sweep)
    store, sweep_dir = tmp_path / "runs", tmp_path / "sweep"
    seen: list[RunOutcome] = []
    report = run_sweep(sweep, store=store, sweep_dir=sweep_dir,
                       executor=LocalExecutor(2), on_outcome=seen.append)
    assert report.ok
    assert report.count("done") == 4
    assert sorted(o.run_id for o in seen) == sorted(r.run_id for r in sweep.runs)
    assert [p.name for p in _run_dirs(store)] == sorted(r.run_id for r in sweep.runs)
    for folder in _run_dirs(store):
        _assert_complete(folder)
    # noise differs by seed (import), control mode moves the battery (throughput; in
    # these 3 morning hours it stores PV that would be exported, so import is the same)
    kpis = [json.loads((store / r.run_id / "kpis.json").read_text()) for r in sweep.runs]
    assert len({(k["energy_import_mwh"], k["battery_throughput_mwh"]) for k in kpis}) == 4
    assert len({k["energy_import_mwh"] for k in kpis}) == 2
    assert len({k["battery_throughput_mwh"] for k in kpis}) == 2
    # the sweep directory records runs with their parameters
    recorded = read_sweep_dir(sweep_dir)
    assert [(r.run_id, r.params) for r in recorded.runs] == [
        (r.run_id, r.params) for r in sweep.runs
    ]
    assert recorded.store == store.resolve()
    again = run_sweep(sweep, store=store, sweep_dir=sweep_dir, executor=LocalExecutor(2))
    assert again.count("skipped") == 4
    assert again.count("done") == 0
    assert len(_run_dirs(store)) == 4


def test_resume_after_kill_9_completes_without_duplicate_or_partial_runs(tmp_path: Path) -> None:
    path = _sweep_file(
        tmp_path,
        """\
        name: killme
        scenario: base.yaml
        vary:
          grid:
            control.mode: ["off", self_consumption]
            seed: [1, 2, 3, 4]
        """,
        duration="2d",
    )
    store, sweep_dir = tmp_path / "runs", tmp_path / "sweep"
    args = [*TWIN, "sweep", str(path), "--workers", "1", "--store", str(store),
            "--out", str(sweep_dir)]
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if store.is_dir() and len(_run_dirs(store)) >= 2:
                break
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-run
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    finished = _run_dirs(store)
    assert 2 <= len(finished) < 8, "the kill did not land mid-sweep"
    for folder in finished:
        _assert_complete(folder)
    before = {f.name: (f / "manifest.json").read_text() for f in finished}

    rerun = CliRunner().invoke(app, args[len(TWIN):])  # the same command, in this process
    assert rerun.exit_code == 0, rerun.output
    assert f"{len(finished)} already complete" in rerun.output
    expected = sorted(r["run_id"] for r in json.loads((sweep_dir / "sweep.json").read_text())["runs"])
    assert [p.name for p in _run_dirs(store)] == expected  # all 8, each once
    for folder in _run_dirs(store):
        _assert_complete(folder)
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")]
    # the runs finished before the kill were kept as they were, not rerun
    for run_id, manifest in before.items():
        assert (store / run_id / "manifest.json").read_text() == manifest


def test_a_worker_that_dies_loses_only_its_own_run(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep_file(
        tmp_path,
        """\
        name: crash
        scenario: base.yaml
        vary:
          grid:
            seed: [1, 2]
            time.duration: [3h, 60d]
        """,
    ))
    # 60 days (seconds of work) leave a wide window to kill a long run in its middle.
    long_runs = {r.run_id for r in sweep.runs if r.params["time.duration"] == "60d"}
    executor = LocalExecutor(2)
    killed: list[str] = []

    def kill_a_long_run() -> None:  # kill -9 a worker in the middle of a 60-day run
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for run_id, (pid, elapsed) in executor.running().items():
                if run_id in long_runs and elapsed > 0.3:
                    killed.append(run_id)
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_long_run)
    killer.start()
    store = tmp_path / "runs"
    report = run_sweep(sweep, store=store, sweep_dir=tmp_path / "sw", executor=executor)
    killer.join()
    assert len(killed) == 1
    by_id = {o.run_id: o for o in report.outcomes}
    assert by_id[killed[0]].status == "failed"
    assert "died (signal 9)" in by_id[killed[0]].error
    assert all(by_id[r.run_id].status == "done" for r in sweep.runs if r.run_id != killed[0])
    assert sorted(p.name for p in _run_dirs(store)) == sorted(
        r.run_id for r in sweep.runs if r.run_id != killed[0]
    )
    outcomes = [json.loads(x) for x in (tmp_path / "sw" / "outcomes.jsonl").read_text().splitlines()]
    assert [o["status"] for o in outcomes if o["run_id"] == killed[0]] == ["failed"]
    again = run_sweep(sweep, store=store, sweep_dir=tmp_path / "sw", executor=LocalExecutor(2))
    assert again.count("done") == 1
    assert again.count("skipped") == 3


def _content(store: Path, run_id: str) -> tuple[dict, pd.DataFrame, pd.DataFrame, tuple]:
    folder = store / run_id
    manifest = json.loads((folder / "manifest.json").read_text())
    return (
        json.loads((folder / "kpis.json").read_text()),
        pd.read_parquet(folder / "timeseries.parquet"),
        pd.read_parquet(folder / "events.parquet"),
        (manifest["scenario_hash"], manifest["seed"], manifest["scenario"]),
    )


def test_dask_localcluster_sweep_gives_the_same_results_as_a_serial_one(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from twin.study import DaskExecutor, connect_dask

    sweep = load_sweep(_sweep_file(tmp_path, FOUR))
    preflight(sweep)
    serial = run_sweep(sweep, store=tmp_path / "serial", sweep_dir=tmp_path / "s1",
                       executor=LocalExecutor(1))
    client, cluster = connect_dask(None, workers=2)
    executor = DaskExecutor(client, cluster)
    try:
        distributed = run_sweep(sweep, store=tmp_path / "dask", sweep_dir=tmp_path / "s2",
                                executor=executor)
    finally:
        executor.close()
    assert serial.ok
    assert distributed.ok, distributed.outcomes
    assert distributed.count("done") == 4
    for run in sweep.runs:
        a = _content(tmp_path / "serial", run.run_id)
        b = _content(tmp_path / "dask", run.run_id)
        assert a[0] == b[0]  # KPIs, exactly
        pd.testing.assert_frame_equal(a[1], b[1])  # time series, bit for bit
        pd.testing.assert_frame_equal(a[2], b[2])
        assert a[3] == b[3]
    assert not [p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------ bad input, exit 2


def _assert_nothing_started(tmp_path: Path) -> None:
    store = tmp_path / "runs"
    assert not store.exists() or not any(store.iterdir())
    assert not (tmp_path / "sweep").exists()


def _invoke(tmp_path: Path, path: Path, *extra: str):
    return CliRunner().invoke(
        app,
        ["sweep", str(path), "--store", str(tmp_path / "runs"), "--out", str(tmp_path / "sweep"),
         *extra],
    )


def test_cli_refuses_a_field_path_that_does_not_exist(tmp_path: Path) -> None:
    path = _sweep_file(tmp_path, "name: x\nscenario: base.yaml\nvary: {grid: {control.moode: [a]}}\n")
    result = _invoke(tmp_path, path)
    assert result.exit_code == 2
    assert f"{path}: vary.grid.control.moode: 'moode' does not exist at control" in result.output
    assert "Traceback" not in result.output
    _assert_nothing_started(tmp_path)


def test_cli_refuses_an_empty_vary(tmp_path: Path) -> None:
    path = _sweep_file(tmp_path, "name: x\nscenario: base.yaml\nvary: {}\n")
    result = _invoke(tmp_path, path)
    assert result.exit_code == 2
    assert f"{path}: vary: nothing varies" in result.output
    _assert_nothing_started(tmp_path)


def test_cli_refuses_a_check_on_an_unknown_kpi_before_running(tmp_path: Path) -> None:
    path = _sweep_file(
        tmp_path,
        "name: x\nscenario: base.yaml\nvary: {grid: {seed: [1, 2]}}\n"
        "checks: [{kpi: max_line_loadng_percent, max: 100}]\n",
    )
    result = _invoke(tmp_path, path)
    assert result.exit_code == 2
    assert "checks.0.kpi: unknown KPI 'max_line_loadng_percent'" in result.output
    assert "max_line_loading_percent" in result.output  # the names that exist
    _assert_nothing_started(tmp_path)


def test_cli_refuses_an_unreachable_scheduler(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path = _sweep_file(tmp_path, FOUR)
    result = _invoke(tmp_path, path, "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "1")
    assert result.exit_code == 2
    assert "--scheduler: cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.output
    _assert_nothing_started(tmp_path)


def test_cli_refuses_a_scheduler_that_is_not_an_address(tmp_path: Path) -> None:
    path = _sweep_file(tmp_path, FOUR)
    result = _invoke(tmp_path, path, "--scheduler", "localhost")
    assert result.exit_code == 2
    assert "expected tcp://HOST:PORT" in result.output
    _assert_nothing_started(tmp_path)


def test_cli_dry_run_lists_runs_and_starts_nothing(tmp_path: Path) -> None:
    path = _sweep_file(tmp_path, FOUR)
    result = _invoke(tmp_path, path, "--dry-run")
    assert result.exit_code == 0, result.output
    sweep = load_sweep(path)
    for run in sweep.runs:
        assert run.run_id in result.output
    assert "4 runs, 4 to run, 0 already complete" in result.output
    _assert_nothing_started(tmp_path)
