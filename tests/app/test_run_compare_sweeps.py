"""AppTest of the Run, Compare and Sweeps pages on real runs."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from gui.common import registry


def _array(value):
    """A plotly array from a figure's JSON (plotly 6 writes typed arrays as base64)."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        import numpy as np

        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return data.reshape([int(n) for n in str(shape).split(",")]) if shape else data
    return value


def _page(app: AppTest, name: str) -> AppTest:
    app.run()
    app.switch_page(f"gui/pages/{name}.py").run()
    assert not app.exception
    return app


def _job(app: AppTest):
    return registry().get(app.session_state["run_job_key"])


def test_run_page_runs_the_chosen_scenario_into_the_store(app, app_env, reference_store):
    _page(app, "run")
    assert app.selectbox(key="run_source").value == "default.yaml"
    seed = reference_store["default"].seed + 40
    app.number_input(key="run_seed").set_value(seed).run()
    app.button(key="run_start").click().run()
    assert not app.exception
    job = _job(app)
    # the progress bar, in simulated days, as the page polls the job
    seen = [p.proto.text for p in app.get("progress")]
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        app.run()
        seen += [p.proto.text for p in app.get("progress")]
        time.sleep(0.2)
    assert job.wait(120)
    app.run()
    assert job.state == "done", job.error
    assert any("Simulated day" in text and "of 3 (" in text for text in seen)
    assert any("finished" in s.value for s in app.success)
    manifest = json.loads((app_env["store"] / job.run_id / "manifest.json").read_text())
    assert manifest["seed"] == seed
    assert manifest["scenario_name"] == "default"
    # the Results page opens on the new run
    app.switch_page("gui/pages/results.py").run()
    assert app.selectbox(key="results_run").value == job.run_id


def test_cancel_stops_the_run_and_writes_nothing(app, app_env):
    _page(app, "run")
    before = sorted(p.name for p in app_env["store"].iterdir())
    app.number_input(key="run_seed").set_value(977).run()
    app.button(key="run_start").click().run()
    assert app.button(key="run_cancel")  # shown while running
    app.button(key="run_cancel").click().run()
    job = _job(app)
    assert job.wait(120)
    app.run()
    assert job.state == "cancelled"
    assert any("cancelled" in w.value for w in app.warning)
    assert sorted(p.name for p in app_env["store"].iterdir()) == before


def test_compare_page_overlays_runs_and_tabulates_kpi_deltas(app, reference_store):
    _page(app, "compare")
    runs = reference_store["runs"]
    app.multiselect(key="compare_runs").set_value([runs[0].run_id, runs[2].run_id]).run()
    assert not app.exception
    table = app.dataframe[0].value
    delta = table[f"Δ {runs[2].run_id}"]
    expected = runs[2].kpis["load_energy_mwh"] - runs[0].kpis["load_energy_mwh"]
    assert abs(delta.loc["Load energy [MWh]"] - expected) < 1e-9
    assert expected > 0  # a 1.3 load scale draws more energy
    options = app.selectbox(key="compare_quantity").options
    pick = next(o for o in options if o.startswith("grid/") and "import_p_mw" in o)
    app.selectbox(key="compare_quantity").set_value(pick).run()
    overlay = [c for c in app.get("plotly_chart") if "Clock time" in c.proto.spec]
    assert len(json.loads(overlay[0].proto.spec)["data"]) == 2
    # same grid, dates and horizon: no warning; a worse KPI is flagged
    assert not any("not like for like" in w.value for w in app.warning)
    assert table.loc["Energy import [MWh]", f"worse {runs[2].run_id}"] == "worse"
    assert table.loc["Energy import [MWh]", f"% {runs[2].run_id}"] > 0


def test_compare_a_direct_run_with_a_comms_run_warns_and_does_not_crash(
        app, app_env, reference_store, calls_store):
    """Regression: NaN marker sizes in solver_tradeoff crashed Compare (direct-call runs
    have no cost per query), and runs of other dates were aligned silently."""
    import shutil

    calls_run = calls_store["run"]
    shutil.copytree(calls_run.path, app_env["store"] / calls_run.run_id)
    _page(app, "compare")
    app.multiselect(key="compare_runs").set_value(
        [reference_store["runs"][0].run_id, calls_run.run_id]).run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "not like for like" in warning
    table = app.dataframe[0].value
    assert f"% {calls_run.run_id}" in table.columns


def test_sweeps_page_finds_the_varied_parameters(app, reference_store):
    _page(app, "sweeps")
    table = app.dataframe[0].value
    assert len(table) == len(reference_store["runs"])
    assert {"seed", "profiles.load_scale"} <= set(table.columns)
    app.selectbox(key="sweep_kpi").set_value("load_energy_mwh").run()
    assert not app.exception
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    assert any(s["data"][0]["type"] == "heatmap" for s in specs)
    assert any(s["data"][0]["type"] == "parcoords" for s in specs)


def test_sweeps_page_reads_a_recorded_sweep(app, sweep_dir, monkeypatch):
    monkeypatch.setenv("GRIDTWIN_STORE", str(sweep_dir["root"] / "runs"))
    monkeypatch.setenv("GRIDTWIN_SWEEPS", str(sweep_dir["root"] / "sweeps"))
    _page(app, "sweeps")
    assert app.radio(key="sweep_source").value == "sweep"
    assert app.selectbox(key="sweep_dir").value == "ci_smoke"
    table = app.dataframe[0].value
    assert len(table) == len(sweep_dir["sweep"].runs)
    assert {"control.mode", "seed"} <= set(table.columns)
    app.selectbox(key="sweep_kpi").set_value("energy_export_mwh").run()
    app.selectbox(key="sweep_x").set_value("control.mode").run()
    assert not app.exception
    heatmap = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                   if '"heatmap"' in c.proto.spec)["data"][0]
    assert sorted(heatmap["x"]) == ["off", "self_consumption"]
    # each cell is the KPI of the run with those parameters
    runs = {tuple(r.params[p] for p in ("control.mode", "seed")): r.run_id
            for r in sweep_dir["sweep"].runs}
    store = sweep_dir["root"] / "runs"
    mode, seed = heatmap["x"][0], int(heatmap["y"][0])
    kpis = json.loads((store / runs[(mode, seed)] / "kpis.json").read_text())
    assert _array(heatmap["z"])[0][0] == pytest.approx(kpis["energy_export_mwh"])
    layout = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                  if '"heatmap"' in c.proto.spec)["layout"]
    assert layout["yaxis"]["type"] == "category"  # the seed is a label, not a number line
    # the gates, each with pass/fail, as twin check evaluates them
    from twin.study.gates import evaluate_sweep_dir

    gates = next(df.value for df in app.dataframe if "gate" in df.value.columns)
    expected = {r.name: r.passed for r in evaluate_sweep_dir(
        sweep_dir["root"] / "sweeps" / "ci_smoke")}
    assert dict(zip(gates["gate"], gates["result"] == "pass", strict=True)) == expected
    assert "the battery does not raise import" in expected


def test_sweeps_never_average_runs_of_different_horizons(app, app_env, reference_store):
    import twin
    from twin.scenario import apply_overrides

    short = apply_overrides(reference_store["default"], {"time.duration": "1d"})
    twin.run(short, store=app_env["store"], seed=reference_store["default"].seed + 7)
    _page(app, "sweeps")
    assert any("different horizons" in w.value for w in app.warning)
    table = app.dataframe[0].value
    assert table["horizon [h]"].nunique() == 1


def test_edited_scenario_that_fails_to_build_reports_why(app, app_env):
    app.run()
    app.switch_page("gui/pages/scenario.py").run()
    text = app.text_area(key="scenario_yaml").value
    app.text_area(key="scenario_yaml").input(text.replace("bus: 13", "bus: 999", 1)).run()
    assert any("Valid scenario" in s.value for s in app.success)  # the schema allows it
    app.switch_page("gui/pages/run.py").run()
    options = app.selectbox(key="run_source").options
    edited = next(o for o in options if o.startswith("Edited scenario"))
    app.selectbox(key="run_source").set_value(edited).run()
    before = sorted(p.name for p in app_env["store"].iterdir())
    app.button(key="run_start").click().run()
    assert _job(app).wait(120)
    app.run()
    assert not app.exception
    assert any("failed" in e.value and "999" in e.value for e in app.error)
    assert sorted(p.name for p in app_env["store"].iterdir()) == before
