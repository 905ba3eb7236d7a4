"""Memory that does not grow with the horizon: the streamed timeseries writer, the
profile window, the chunked derivation, and a run's peak RSS against its horizon."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.profiles import (
    ELEMENT_PROFILE_COLUMNS,
    resample_rows,
    simbench_element_profiles,
    simbench_element_window,
    window_rows,
)
from twin.recorder import Series, timeseries_table, write_timeseries

MV = "1-MV-rural--0-sw"


def _series(rng: np.random.Generator, n: int) -> list[Series]:
    return [
        Series("bus", "vm_pu", "pu", ("bus/0", "bus/1", "bus/2"), rng.random((n, 3))),
        Series("grid", "import_p_mw", "MW", ("grid/total",), rng.random((n, 1))),
        Series("line", "loading_percent", "%", (), np.zeros((n, 0))),
        Series("element", "p_mw", "MW", ("load/0", "bus/1"), rng.random((n, 2))),
        Series("bus", "va_degree", "degree", ("bus/2", "bus/0"), rng.random((n, 2))),
    ]


@pytest.mark.parametrize("group_rows", [1, 7, 64, 10_000])
def test_streamed_timeseries_is_the_table_row_for_row(tmp_path, group_rows):
    rng = np.random.default_rng(3)
    n = 37
    series = _series(rng, n)
    time_s = np.arange(n, dtype=np.int64) * 900
    path = tmp_path / "t.parquet"
    rows = write_timeseries(path, time_s, series, row_group_rows=group_rows)
    whole = timeseries_table(time_s, series)
    read = pq.read_table(path)
    assert rows == whole.num_rows == read.num_rows == n * 8
    assert read.schema == whole.schema
    assert read.to_pandas().equals(whole.to_pandas())
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-rows // group_rows)
    assert all(meta.row_group(i).num_rows <= group_rows for i in range(meta.num_row_groups))


def test_streamed_timeseries_without_rows_matches_the_empty_table(tmp_path):
    path = tmp_path / "t.parquet"
    assert write_timeseries(path, np.zeros(0, np.int64), _series(np.random.default_rng(0), 0)) == 0
    assert pq.read_table(path).equals(timeseries_table(np.zeros(0, np.int64), []))


@pytest.mark.parametrize(
    ("offset", "n_steps", "step_s"),
    [(0, 96, 900), (35_000, 300, 900), (100, 50, 3600), (35_130, 40, 300), (7, 10, 1800),
     (5, 35_136 + 97, 900)],
)
def test_profile_window_equals_the_year_resampled(offset, n_steps, step_s):
    year = simbench_element_profiles(MV)
    for table, column in ELEMENT_PROFILE_COLUMNS:
        full = year[(table, column)]
        window = simbench_element_window(MV, table, column, offset, n_steps, step_s)
        if full.shape[0] == 0:  # simbench returns no rows for an empty table
            assert window is not None
            assert window.shape == (n_steps, 0)
            continue
        expected = resample_rows(full, offset, n_steps, step_s)
        assert window is not None
        assert np.array_equal(window, expected, equal_nan=True)


def test_window_rows_are_the_rows_the_steps_read():
    table = np.arange(10.0)
    for offset, n, step in [(3, 4, 1800), (9, 5, 900), (2, 7, 300), (8, 3, 2700)]:
        rows = window_rows(offset, n, step, 10)
        assert np.array_equal(resample_rows(table[rows], 0, n, step),
                              resample_rows(table, offset, n, step))


def test_chunked_derivation_is_row_for_row_the_whole(monkeypatch):
    import twin.grid as grid
    from twin import engine
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "chunks", "time": {"start": "2016-03-01T00:00:00", "duration": "1d",
                                   "step": "15min"},
        "grid": {"source": "simbench", "code": MV, "backend": "lightsim2grid"},
        "control": {"mode": "off"},
    })
    sim = engine.build(scenario)
    out = engine.simulate(sim)
    iv = out.recording.intervals
    monkeypatch.setattr(grid, "DERIVE_CHUNK_BYTES", 16 * (sim.model.yf.shape[0] + 200) * 5)
    assert sim.model.derive_chunk_rows() < iv.n
    chunked = sim.model.derive(iv.v, iv.p_mw, iv.q_mvar)
    for name in grid.DerivedResults.__dataclass_fields__:
        assert np.array_equal(getattr(chunked, name), getattr(out.derived_intervals, name),
                              equal_nan=True), name


_CHILD = textwrap.dedent(
    """
    import json, resource, sys, tempfile
    from twin import engine
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "horizon", "time": {"start": "2016-01-04T00:00:00",
                                    "duration": sys.argv[1], "step": "15min"},
        "grid": {"source": "simbench", "code": sys.argv[2], "backend": "lightsim2grid"},
        "control": {"mode": "off"},
    })
    with tempfile.TemporaryDirectory() as store:
        result = engine.run(scenario, store=store)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sim = engine.build(scenario)  # after the peak was taken
    estimate = engine.memory_estimate(scenario, sim.model, sim.families["network"])
    print(json.dumps({"peak_bytes": peak, "n_steps": result.kpis["n_steps"],
                      "estimate_per_step": sum(estimate.per_step.values())}))
    """
)


def _peak_rss(duration: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, duration, MV], capture_output=True,
                          text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_horizon():
    """A 4-week run of the SimBench MV grid peaks within 10 % of a 1-week run (each in
    its own process): profiles are read for the window, the timeseries is streamed one
    row group at a time and branch results are derived in chunks, so what grows is the
    outputs buffer (about 14 kB a step here)."""
    week = _peak_rss("7d")
    month = _peak_rss("28d")
    assert (week["n_steps"], month["n_steps"]) == (672, 2688)
    growth = month["peak_bytes"] / week["peak_bytes"] - 1.0
    assert growth < 0.10, (week, month)
    # the refusal's estimate covers what the run really grows by per step
    per_step = (month["peak_bytes"] - week["peak_bytes"]) / (2688 - 672)
    assert per_step <= month["estimate_per_step"], (per_step, month)


_REFUSE = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    sys.argv = ["twin", "run", sys.argv[1], "-o", sys.argv[2]]
    from twin.cli import main
    main()
    """
)


def test_a_run_that_would_not_fit_is_refused_before_it_allocates(tmp_path):
    """~2 million one-minute steps of the MV grid (~30 GiB estimated) under a 3 GiB
    address-space limit: exit 2 with the estimate on one line, no MemoryError or
    traceback (the per-step arrays would not even fit the limit)."""
    path = tmp_path / "huge.yaml"
    path.write_text(
        'name: huge\ntime: {start: "2016-01-01T00:00:00", duration: 1380d, step: 1min}\n'
        f"grid: {{source: simbench, code: {MV}}}\ncontrol: {{mode: \"off\"}}\n"
    )
    done = subprocess.run([sys.executable, "-c", _REFUSE, str(path), str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: time.duration: the run needs an estimated ")
    assert "1,987,200 steps" in lines[0]
    assert "GiB is available" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_estimate_names_the_output_group_to_drop_when_that_is_enough():
    from twin.limits import check_run_memory, estimate_run_memory

    estimate = estimate_run_memory(
        n_steps=35_040, n_bus_internal=100, n_bus=100, n_injections=12_000,
        n_network_elements=12_000, n_recorded_elements=12_000, n_lines=100, n_trafos=1,
        n_ext_grids=1, n_assets=0,
    )
    need = estimate.total_bytes
    saved = estimate.droppable_bytes()["element"]
    assert saved == 35_040 * 8 * 12_000
    assert check_run_memory(estimate, "s.yaml", ("bus", "element"), available=need) == []
    [problem] = check_run_memory(estimate, "s.yaml", ("bus", "element"), available=need - 1)
    assert problem.path == "outputs.groups"
    assert "'element' (saves 3.1 GiB)" in problem.message
    [problem] = check_run_memory(estimate, "s.yaml", ("bus",), available=need - 1)
    assert problem.path == "time.duration"
    [problem] = check_run_memory(estimate, "s.yaml", ("element",), available=need - saved - 1)
    assert problem.path == "time.duration"
    assert "saves only 3.1 GiB" in problem.message
