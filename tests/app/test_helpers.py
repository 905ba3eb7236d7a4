"""The app's pure helpers: names confined to the scenarios folder, upload checks,
aggregation against pandas on a real run, KPI deltas, swept parameters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gui import charts, series, store
from gui import scenario_files as sf


@pytest.mark.parametrize("name", ["../x", "a/../../b.yaml", "/etc/passwd", "a\\b.yaml", "..",
                                  "", "  ", ".env", "x;rm -rf.yaml", "é.yaml", "a" * 81])
def test_names_outside_or_odd_are_refused(tmp_path: Path, name: str):
    with pytest.raises(sf.SaveError):
        sf.safe_scenario_path(tmp_path, name)


def test_plain_names_stay_in_the_folder_and_get_a_suffix(tmp_path: Path):
    assert sf.safe_scenario_path(tmp_path, "my_case-2") == (tmp_path / "my_case-2.yaml").resolve()
    assert sf.safe_scenario_path(tmp_path, "b.yml").parent == tmp_path.resolve()


def test_save_never_overwrites_unless_asked(tmp_path: Path):
    sf.save_scenario_text(tmp_path, "a", "one")
    with pytest.raises(sf.SaveError, match="already exists"):
        sf.save_scenario_text(tmp_path, "a.yaml", "two")
    assert (tmp_path / "a.yaml").read_text() == "one"
    sf.save_scenario_text(tmp_path, "a.yaml", "two", overwrite=True)
    assert (tmp_path / "a.yaml").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]  # no temp file left


def test_upload_size_is_checked_before_reading(tmp_path: Path):
    def never() -> bytes:
        raise AssertionError("content read although the size was too large")

    text, checked = sf.check_upload("big.yaml", 10_000_000, never, tmp_path, 256 * 1024)
    assert text is None
    assert "limit" in checked.problems[0]


def test_base_outside_the_folder_is_refused(tmp_path: Path):
    checked = sf.validate_text("base: ../../secret.yaml\nname: x\n", tmp_path)
    assert not checked.ok
    assert checked.problems[0].startswith("base:")


def test_buckets_match_pandas_on_a_real_run(reference_store):
    run = reference_store["runs"][0]
    path = Path(run.path) / "timeseries.parquet"
    frame = pd.read_parquet(path)
    bucket = 3 * 3600
    agg = series.aggregate_window(path, 3600, 2 * 86400, bucket)
    window = frame[(frame.time_s >= 3600) & (frame.time_s < 2 * 86400)]
    expected = window.assign(t_s=window.time_s // bucket * bucket).groupby(
        ["entity", "quantity", "t_s"], observed=True)["value"].agg(["mean", "min", "max"])
    got = agg.set_index(["entity", "quantity", "t_s"])[["mean", "min", "max"]]
    got.index = got.index.set_levels([lvl.astype(str) if i < 2 else lvl
                                      for i, lvl in enumerate(got.index.levels)])
    expected.index = expected.index.set_levels([lvl.astype(str) if i < 2 else lvl
                                                for i, lvl in enumerate(expected.index.levels)])
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_dtype=False,
                                  check_names=False, check_index_type=False)


def test_bucket_size_keeps_the_point_budget():
    for window_s in (3600, 86400, 30 * 86400, 366 * 86400):
        bucket = series.bucket_size_s(window_s, 900, 600)
        assert bucket % 900 == 0
        assert window_s / bucket <= 600


def test_kpi_delta_table_and_swept_parameters():
    table = charts.kpi_delta_table({"a": {"x_mwh": 1.0, "y": None}, "b": {"x_mwh": 1.5, "y": 2}})
    assert table.loc["x_mwh", "Δ b"] == pytest.approx(0.5)
    assert pd.isna(table.loc["y", "Δ b"])
    rows = [charts.flatten({"time": {"step": "15min"}, "assets": [{"name": "b", "kw": k}]})
            for k in (1, 2)]
    assert charts.varying_parameters(rows) == ["assets.b.kw"]


def test_store_listing_reports_damaged_and_skips_partial(tmp_path: Path, reference_store):
    import shutil

    run = reference_store["runs"][0]
    shutil.copytree(run.path, tmp_path / run.run_id)
    shutil.copytree(run.path, tmp_path / "broken")
    (tmp_path / "broken" / "manifest.json").write_text("")
    (tmp_path / ".tmp-x-1").mkdir()
    listing = store.list_store_runs(tmp_path)
    assert [m.run_id for m in listing.runs] == [run.run_id]
    assert list(listing.damaged) == ["broken"]
    assert "manifest.json" in listing.damaged["broken"]


def test_qaoa_landscape_is_the_exact_p1_expectation(tmp_path):
    qaoa = pytest.importorskip("solvers.qaoa")
    from solvers import Problem
    from solvers.lpfile import write_lp
    from twin.landscape import qaoa_landscape

    problem = Problem(objective=[1.0, -2.0], kinds="binary", upper=1.0)
    write_lp(problem, tmp_path / "p.lp")
    landscape = qaoa_landscape((tmp_path / "p.lp").read_bytes(), n_gamma=4, n_beta=3)
    heat = charts.qaoa_landscape_figure(landscape).data[0]
    assert heat.z.shape == (3, 4)
    # at beta = 0 the mixer does nothing: the uniform superposition's mean objective
    assert heat.z[0][2] == pytest.approx(qaoa.expectation(problem, [heat.x[2]], [0.0]))
    assert heat.z[0][2] == pytest.approx((0 + 1 - 2 - 1) / 4)
    # the same content is computed once (cached by content)
    assert qaoa_landscape((tmp_path / "p.lp").read_bytes(), n_gamma=4, n_beta=3) is landscape


def test_the_apps_duckdb_reads_only_the_run_file(tmp_path, reference_store):
    """The query connection may read the file it was opened for and nothing else: no
    other file, no writing (COPY TO, ATTACH), no extensions, no lifting the settings."""
    import shutil

    import duckdb

    run = Path(reference_store["runs"][0].path)
    path = tmp_path / "timeseries.parquet"
    shutil.copy(run / "timeseries.parquet", path)
    before = path.read_bytes()
    con = series._connect(path)
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    assert n == len(pd.read_parquet(path))
    for sql in (f"SELECT count(*) FROM read_parquet('{run / 'events.parquet'}')",
                f"COPY (SELECT 1 AS a) TO '{tmp_path / 'out.csv'}'",
                f"COPY (SELECT 1 AS a) TO '{path}' (FORMAT parquet)",
                f"ATTACH '{tmp_path / 'x.db'}'",
                "SET enable_external_access = true",
                "LOAD httpfs"):
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    con.close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeseries.parquet"]
