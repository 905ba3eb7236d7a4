"""The DuckDB catalogue over a real results store and sweep directory."""

from __future__ import annotations

import csv
import io
import json
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.store.catalogue import Catalogue, CatalogueError
from twin.study import LocalExecutor, load_sweep, run_sweep

BASE = (Path(__file__).parent / "data" / "tiny_base.yaml").read_text()


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list]:
    root = tmp_path_factory.mktemp("cat")
    (root / "base.yaml").write_text(BASE)
    (root / "sweep.yaml").write_text(textwrap.dedent("""\
        name: cat
        scenario: base.yaml
        vary:
          grid:
            control.mode: ["off", self_consumption]
            seed: [1, 2]
        """))
    sweep = load_sweep(root / "sweep.yaml")
    store, sweep_dir = root / "runs", root / "sweep"
    report = run_sweep(sweep, store=store, sweep_dir=sweep_dir, executor=LocalExecutor(2))
    assert report.ok
    return store, sweep_dir, list(sweep.runs)


def test_runs_and_kpis_views_match_the_files(swept: tuple[Path, Path, list]) -> None:
    store, _, runs = swept
    with Catalogue(store) as cat:
        listed = cat.query("SELECT run_id, seed, scenario_hash, path FROM runs ORDER BY run_id")
        assert [r[0] for r in listed.rows] == sorted(r.run_id for r in runs)
        for run_id, seed, digest, path in listed.rows:
            manifest = json.loads((store / run_id / "manifest.json").read_text())
            assert (seed, digest) == (manifest["seed"], manifest["scenario_hash"])
            assert Path(path) == (store / run_id).resolve()
        kpis = cat.kpis_of([r.run_id for r in runs])
        for run in runs:
            on_disk = json.loads((store / run.run_id / "kpis.json").read_text())
            assert kpis[run.run_id]["energy_import_mwh"] == on_disk["energy_import_mwh"]
        long = cat.query("SELECT count(*) FROM kpis_long WHERE kpi = 'max_line_loading_percent'")
        assert long.rows[0][0] == len(runs)


def test_timeseries_and_sweep_params_join(swept: tuple[Path, Path, list]) -> None:
    store, sweep_dir, runs = swept
    run = runs[0]
    expected = pd.read_parquet(store / run.run_id / "timeseries.parquet")
    with Catalogue(store, [sweep_dir]) as cat:
        n = cat.query("SELECT count(*) FROM timeseries WHERE run_id = ?", [run.run_id])
        assert n.rows[0][0] == len(expected)
        by_mode = cat.query(
            "SELECT p.value->>'$' AS mode, count(*) FROM params p JOIN kpis k USING (run_id) "
            "WHERE p.path = 'control.mode' GROUP BY 1 ORDER BY 1"
        )
        assert by_mode.rows == (("off", 2), ("self_consumption", 2))
        status = cat.query("SELECT DISTINCT status FROM sweep_runs")
        assert status.rows == (("complete",),)


def test_partial_folders_are_not_runs(swept: tuple[Path, Path, list], tmp_path: Path) -> None:
    store, _, runs = swept
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    partial = copy / f".tmp-{runs[0].run_id}-999999"
    shutil.copytree(copy / runs[0].run_id, partial)
    (copy / "not-a-run").mkdir()
    (copy / "not-a-run" / "kpis.json").write_text('{"energy_import_mwh": 99}')
    with Catalogue(copy) as cat:
        assert cat.query("SELECT count(*) FROM runs").rows[0][0] == len(runs)
        ids = {r[0] for r in cat.query("SELECT run_id FROM kpis").rows}
        assert partial.name not in ids


def test_empty_store_has_empty_views(tmp_path: Path) -> None:
    with Catalogue(tmp_path / "nothing") as cat:
        for view in ("runs", "kpis", "kpis_long", "timeseries", "events", "sweep_runs"):
            assert cat.query(f"SELECT count(*) FROM {view}").rows[0][0] == 0


def test_bad_sql_names_the_views(swept: tuple[Path, Path, list]) -> None:
    with Catalogue(swept[0]) as cat, pytest.raises(CatalogueError, match="views: events, kpis"):
        cat.query("SELECT nope FROM kpis")


def test_cli_query_and_runs(swept: tuple[Path, Path, list]) -> None:
    store, sweep_dir, runs = swept
    runner = CliRunner()
    result = runner.invoke(app, ["query", "--store", str(store), "--format", "csv",
                                 "SELECT run_id, seed FROM runs ORDER BY run_id"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["run_id", "seed"]
    assert [r[0] for r in rows[1:]] == sorted(r.run_id for r in runs)

    result = runner.invoke(app, ["runs", "--store", str(store), "--sweep", str(sweep_dir),
                                 "--where", "seed = 2", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {r["run_id"] for r in listed} == {r.run_id for r in runs if r.seed == 2}
    assert all("energy_import_mwh" in r for r in listed)

    bad = runner.invoke(app, ["query", "--store", str(store), "SELEC 1"])
    assert bad.exit_code == 2
    assert "query error" in bad.output
    bad = runner.invoke(app, ["runs", "--store", str(store), "--kpi", "nosuch_kpi"])
    assert bad.exit_code == 2
    assert "unknown KPI 'nosuch_kpi'" in bad.output
