"""The store never loses a run; the catalogue survives damage and is read-only (#16).

Each reproducer of the audit is a fixture here: a real store of two runs, copied, with
one folder damaged the way the audit found it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import twin
from twin.cli import app
from twin.errors import ResultsError
from twin.store import (
    FORMAT_VERSION,
    is_complete,
    list_runs,
    open_run,
    recover,
    write_run,
)
from twin.store.catalogue import Catalogue, CatalogueError
from twin.store.write import STEPS, FolderLock

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two real runs (seeds 1 and 2 of the tiny scenario)."""
    store = tmp_path_factory.mktemp("good") / "runs"
    scenario = twin.load_scenario(DATA / "tiny_base.yaml")
    for seed in (1, 2):
        twin.run(scenario, store=store, seed=seed)
    return store


def _copy(good_store: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of the good store and a third run folder in it (a copy of the first run)
    to damage."""
    store = dest / "runs"
    shutil.copytree(good_store, store)
    first = sorted(p for p in store.iterdir() if not p.name.startswith("."))[0]
    victim = store / "victim-run"
    shutil.copytree(first, victim)
    manifest = json.loads((victim / "manifest.json").read_text())
    manifest["run_id"] = victim.name
    (victim / "manifest.json").write_text(json.dumps(manifest))
    return store, victim


def _edit_manifest(**fields: object) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        for key, value in fields.items():
            if value is _DROP:
                manifest.pop(key, None)
            else:
                manifest[key] = value
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return damage


_DROP = object()


def _truncate(name: str, keep: int) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[:keep])

    return damage


def _directory_instead(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()
        (folder / name / "part-0.parquet").write_bytes(b"not parquet")

    return damage


def _foreign_parquet(folder: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), folder / "timeseries.parquet")


def _no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def _fifo_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")


def _kpis_text(text: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        (folder / "kpis.json").write_text(text)

    return damage


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated timeseries": (_truncate("timeseries.parquet", 300), "timeseries.parquet"),
    "0-byte events": (_truncate("events.parquet", 0), "events.parquet"),
    "directory named timeseries.parquet": (
        _directory_instead("timeseries.parquet"), "timeseries.parquet is not a regular file"),
    "foreign-schema parquet": (_foreign_parquet, "not a GridTwin run file"),
    "folder without manifest": (_no_manifest, "no manifest.json"),
    "manifest.json a FIFO": (_fifo_manifest, "manifest.json is not a regular file"),
    "kpis Infinity": (_kpis_text('{"energy_import_mwh": Infinity}'),
                      "KPI 'energy_import_mwh' is inf"),
    "kpis NaN": (_kpis_text('{"energy_import_mwh": NaN}'), "KPI 'energy_import_mwh' is nan"),
    "seed 2^64": (_edit_manifest(seed=2**64), "seed 18446744073709551616 does not fit"),
    "step_s abc": (_edit_manifest(step_s="abc"), 'step_s is "abc"'),
    "newer format": (_edit_manifest(format_version=FORMAT_VERSION + 1), "is newer"),
    "no format_version": (_edit_manifest(format_version=_DROP), "format_version is absent"),
}


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_a_damaged_run_is_skipped_with_one_warning_and_never_breaks_a_query(
    good_store: Path, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    damage, reason = DAMAGES[kind]
    store, victim = _copy(good_store, tmp_path)
    damage(victim)
    caplog.set_level(logging.WARNING, logger="twin.store.catalogue")
    with Catalogue(store) as cat:
        assert cat.query("select count(*) from runs").rows == ((2,),)
        assert cat.query("select count(distinct run_id) from timeseries").rows == ((2,),)
        assert cat.query("select count(distinct run_id) from events").rows[0][0] <= 2
        assert cat.query("select count(*) from kpis").rows == ((2,),)
        assert list(cat.damaged) == [victim.name]
        assert reason in cat.damaged[victim.name]
    warnings = [r for r in caplog.records if victim.name in r.getMessage()]
    assert len(warnings) == 1
    # the CLI: a query works, and --damaged lists the folder with its reason
    runner = CliRunner()
    result = runner.invoke(app, ["query", "--store", str(store), "--format", "csv",
                                 "select count(*) AS n from runs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2"
    result = runner.invoke(app, ["runs", "--store", str(store), "--damaged", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output[result.output.index("["):])
    assert [r["folder"] for r in listed] == [victim.name]
    assert reason in listed[0]["reason"]
    # the one reader refuses the folder with a clear message, never a traceback
    if kind != "folder without manifest":
        with pytest.raises(ResultsError, match=r"victim-run"):
            open_run(victim)
    # the other readers agree: list_runs, twin show, the app's store listing
    assert {r.run_id for r in list_runs(store)} == {p.name for p in good_store.iterdir()
                                                    if not p.name.startswith(".")}
    shown = runner.invoke(app, ["show", str(victim)])
    assert shown.exit_code == 2
    assert "victim-run" in shown.output
    assert "Traceback" not in shown.output


def test_show_and_compare_of_a_run_with_infinite_kpis_exit_2(good_store: Path,
                                                             tmp_path: Path) -> None:
    store, victim = _copy(good_store, tmp_path)
    (victim / "kpis.json").write_text('{"energy_import_mwh": Infinity, "losses_mwh": NaN}')
    good = next(p for p in store.iterdir() if p.name != victim.name)
    runner = CliRunner()
    for args in (["show", str(victim)], ["compare", str(good), str(victim)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "kpis.json" in result.output
        assert "energy_import_mwh" in result.output


def test_the_app_reports_a_manifest_with_a_bad_step(good_store: Path, tmp_path: Path) -> None:
    """gui/store.py:72 raised ValueError on Results and Compare for step_s "abc"."""
    from gui import store as gui_store

    store, victim = _copy(good_store, tmp_path)
    _edit_manifest(step_s="abc")(victim)
    listing = gui_store.list_store_runs(store)
    assert len(listing.runs) == 2
    assert 'step_s is "abc"; expected an integer' in listing.damaged[victim.name]
    with pytest.raises(gui_store.RunLoadError, match="step_s"):
        gui_store.load_run_meta(victim)


def test_format_version_is_written_and_other_versions_are_refused_by_name(
    good_store: Path, tmp_path: Path
) -> None:
    run = next(p for p in good_store.iterdir() if not p.name.startswith("."))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    _store, victim = _copy(good_store, tmp_path)
    _edit_manifest(format_version=FORMAT_VERSION + 1)(victim)
    with pytest.raises(ResultsError, match=f"format_version {FORMAT_VERSION + 1} is newer"):
        open_run(victim)
    _edit_manifest(format_version=_DROP)(victim)
    with pytest.raises(ResultsError, match=f"reads format {FORMAT_VERSION}"):
        open_run(victim)


def test_manifest_names_the_solver_stack_and_the_tree_state(good_store: Path) -> None:
    import importlib.metadata

    run = next(p for p in good_store.iterdir() if not p.name.startswith("."))
    manifest = json.loads((run / "manifest.json").read_text())
    for name in ("highspy", "qiskit", "qiskit-aer", "qiskit-optimization",
                 "qiskit-ibm-runtime", "dwave-samplers", "duckdb", "pandapower"):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        assert manifest["versions"][name] == installed
    assert "git_dirty" in manifest
    if manifest["git_commit"] is not None:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=ROOT, capture_output=True, text=True, check=True)
        assert manifest["git_dirty"] == bool(status.stdout.strip())


def test_a_store_path_with_glob_characters_is_queried_literally(good_store: Path,
                                                                tmp_path: Path) -> None:
    store = tmp_path / "st[1]" / "ru*s?"
    shutil.copytree(good_store, store)
    shutil.copytree(good_store, tmp_path / "st1" / "runs")  # what a glob would also match
    with Catalogue(store) as cat:
        assert cat.query("select count(*) from runs").rows == ((2,),)
        n = cat.query("select count(*) from timeseries").rows[0][0]
        expected = sum(len(open_run(p).timeseries) for p in store.iterdir()
                       if not p.name.startswith("."))
        assert n == expected


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/passwd')",
        "select * from read_parquet('{store}/*/timeseries.parquet')",
        "COPY (select 1 AS x) TO '{tmp}/out.csv'",
        "COPY (select 1 AS x) TO '{store}/copied.csv'",
        "ATTACH '{tmp}/new.duckdb' AS extra",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "CREATE TABLE kept AS SELECT 1",
    ],
)
def test_query_is_read_only_and_limited_to_the_store(good_store: Path, tmp_path: Path,
                                                     sql: str) -> None:
    text = sql.format(store=good_store, tmp=tmp_path)
    Catalogue(good_store).close()  # the catalogue's own index cache exists from here on
    before = sorted(p.name for p in good_store.iterdir())
    with Catalogue(good_store) as cat:
        with pytest.raises(CatalogueError):
            cat.query(text)
        assert cat.query("select count(*) from runs").rows == ((2,),)  # still usable
    result = CliRunner().invoke(app, ["query", "--store", str(good_store), text])
    assert result.exit_code == 2
    assert "query error" in result.output
    assert "root:" not in result.output  # /etc/passwd was not printed
    assert sorted(p.name for p in good_store.iterdir()) == before
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ the write protocol


_HELPERS = textwrap.dedent("""\
    import pyarrow as pa

    def _tables(marker):
        timeseries = pa.table({"time_s": pa.array([0, 900], pa.int64()),
                               "entity": ["grid/total"] * 2, "quantity": ["import_p_mw"] * 2,
                               "unit": ["MW"] * 2, "value": [marker, marker]})
        events = pa.table({"time_s": pa.array([0.0], pa.float64()), "category": ["grid"],
                           "kind": ["note"], "entity": ["grid"], "message": ["written"],
                           "data": ["{}"]})
        return {"timeseries": timeseries, "events": events}

    def _manifest(run_id, marker):
        return {"run_id": run_id, "scenario_name": "kill", "scenario_hash": "0" * 64,
                "seed": 0, "n_steps": 2, "step_s": 900,
                "started_at": "2026-12-04T00:00:00+00:00", "wall_time_s": marker}
""")
_helpers: dict[str, object] = {}
exec(_HELPERS, _helpers)  # the same helpers here and in the writer subprocesses
_tables: Callable[[float], dict[str, pa.Table]] = _helpers["_tables"]  # type: ignore[assignment]
_manifest: Callable[[str, float], dict[str, object]] = _helpers["_manifest"]  # type: ignore[assignment]

_WRITER = _HELPERS + textwrap.dedent("""\
    import os, signal, sys
    from twin.store import write, write_run

    store, run_id, marker, kill_at = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

    def hook(step, folder):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    write.on_step = hook
    write_run(store, run_id, manifest=_manifest(run_id, marker),
              kpis={"marker": marker}, **_tables(marker))
""")


def _write_in_subprocess(store: Path, run_id: str, marker: float, kill_at: str) -> int:
    code = _WRITER
    proc = subprocess.run([sys.executable, "-c", code, str(store), run_id, str(marker),
                           kill_at], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode in (0, -9), proc.stderr
    return proc.returncode


@pytest.mark.parametrize("step", STEPS)
def test_a_rewrite_killed_at_any_step_keeps_a_complete_run(tmp_path: Path, step: str) -> None:
    """SIGKILL at each named point of the write protocol over an existing run: after
    recovery (the next writer's first act) the complete run is there, old or new."""
    store = tmp_path / "store"
    write_run(store, "r1", manifest=_manifest("r1", 1.0), kpis={"marker": 1.0},
              **_tables(1.0))
    code = _write_in_subprocess(store, "r1", 2.0, step)
    assert code == -9
    recover(store)
    assert is_complete(store / "r1")
    run = open_run(store / "r1")
    new_in_place = STEPS.index(step) >= STEPS.index("new-in-place")
    assert run.kpis["marker"] == (2.0 if new_in_place else 1.0)
    assert [p.name for p in store.iterdir()] == ["r1"]  # nothing left behind
    # and the next write of the same run works as usual
    write_run(store, "r1", manifest=_manifest("r1", 3.0), kpis={"marker": 3.0},
              **_tables(3.0))
    assert open_run(store / "r1").kpis["marker"] == 3.0


@pytest.mark.parametrize("step", STEPS[:3])
def test_a_first_write_killed_at_any_step_leaves_a_complete_run_or_none(
    tmp_path: Path, step: str
) -> None:
    store = tmp_path / "store"
    assert _write_in_subprocess(store, "r1", 2.0, step) == -9
    recover(store)
    names = [p.name for p in store.iterdir()]
    if step == "tmp-complete":  # complete but not in place: recovery puts it there
        assert names == ["r1"]
        assert open_run(store / "r1").kpis["marker"] == 2.0
    else:
        assert names == []


def test_recovery_never_deletes_the_only_complete_copy(tmp_path: Path) -> None:
    """The audit's case: killed between the two renames, then another run is written;
    its clean-up used to delete the .old-* folder, the only copy of the run."""
    store = tmp_path / "store"
    write_run(store, "r1", manifest=_manifest("r1", 1.0), kpis={"marker": 1.0},
              **_tables(1.0))
    assert _write_in_subprocess(store, "r1", 2.0, "old-moved") == -9
    assert not (store / "r1").exists()
    write_run(store, "other", manifest=_manifest("other", 5.0), kpis={"marker": 5.0},
              **_tables(5.0))
    assert open_run(store / "r1").kpis["marker"] == 1.0
    assert sorted(p.name for p in store.iterdir()) == ["other", "r1"]


def test_two_writers_of_the_same_run_id_both_succeed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code = _HELPERS + textwrap.dedent("""\
        import sys
        from twin.store import write_run
        for i in range(25):
            write_run(sys.argv[1], "same", manifest=_manifest("same", 1.0),
                      kpis={"marker": 1.0}, **_tables(1.0))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store)], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert open_run(store / "same").kpis["marker"] == 1.0
    assert [p.name for p in store.iterdir()] == ["same"]


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    from twin.study import SweepInputError, load_sweep, run_sweep

    (tmp_path / "base.yaml").write_text((DATA / "tiny_base.yaml").read_text())
    (tmp_path / "sweep.yaml").write_text(textwrap.dedent("""\
        name: locked
        scenario: base.yaml
        vary: {grid: {seed: [1, 2]}}
        """))
    sweep = load_sweep(tmp_path / "sweep.yaml")
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    with (FolderLock(sweep_dir / ".sweep.lock", blocking=False),  # another sweep runs
          pytest.raises(SweepInputError, match="in use by process")):
        run_sweep(sweep, store=tmp_path / "runs", sweep_dir=sweep_dir)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    assert not (sweep_dir / "outcomes.jsonl").exists()
