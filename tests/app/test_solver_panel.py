"""The Results page on a real run with solver calls, EVs, a generator and faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def calls_app(calls_store, monkeypatch):
    monkeypatch.setenv("GRIDTWIN_STORE", str(calls_store["store"]))
    monkeypatch.setenv("GRIDTWIN_SCENARIOS", str(SCENARIOS))
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "0")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page("gui/pages/results.py")
    return at


def _specs(at) -> dict[str, dict]:
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def _titled(specs: dict[str, dict], start: str) -> dict:
    return next(spec for title, spec in specs.items() if title.startswith(start))


def test_solver_panel_events_and_ev_charts_show_what_the_run_recorded(calls_app,
                                                                      calls_store,
                                                                      open_tab):
    calls_app.run()
    assert not calls_app.exception
    power = _titled(_specs(calls_app), "Power balance")
    names = {trace["name"] for trace in power["data"]}
    assert {"Generator", "Battery discharging", "PV", "EV"} <= names
    assert {"outage period", "island period"} <= names  # shaded periods, explained

    open_tab(calls_app, "Solvers")
    assert not calls_app.exception
    kpis = calls_store["run"].kpis
    summary = next(df.value for df in calls_app.dataframe if "calls" in df.value.columns)
    assert summary["calls"].sum() == kpis["comms.calls"]
    ways = set(summary.iloc[:, 0])
    assert any(w.startswith("qaoa@") for w in ways)
    assert any(w.startswith("milp@") for w in ways)
    assert "mean cost per query [EUR]" in summary.columns
    latency = _titled(_specs(calls_app), "Mean modelled latency")
    assert {"queue", "execution"} <= {trace["name"] for trace in latency["data"]}

    open_tab(calls_app, "Events")
    events = _titled(_specs(calls_app), "Events")
    categories = {y for trace in events["data"] for y in trace["y"]}
    assert {"call", "fault", "grid"} <= categories

    open_tab(calls_app, "Storage & EVs")
    ev = _specs(calls_app)["EV charging"]
    ev_names = {trace["name"] for trace in ev["data"]}
    assert any(n.endswith("charging power [kW]") for n in ev_names)
    assert any(n.endswith("energy delivered to batteries [kWh]") for n in ev_names)
    assert any(n.endswith("energy requested [kWh]") for n in ev_names)


def test_events_can_be_coloured_by_route(calls_app, open_tab):
    calls_app.run()
    open_tab(calls_app, "Events")
    control = calls_app.segmented_control(key="results_event_colour")
    assert {"outcome", "route"} <= set(control.options)
    control.set_value("route").run()
    assert not calls_app.exception
    spec = next(json.loads(c.proto.spec) for c in calls_app.get("plotly_chart")
                if '"Events (colour: route)' in c.proto.spec)
    names = {trace["name"] for trace in spec["data"]}
    assert {"local", "to_qpu"} <= names


@pytest.mark.slow
def test_buildings_show_zone_temperatures_with_comfort_limits_and_hvac_power(
        tmp_path, monkeypatch, open_tab):
    import twin
    from twin.scenario import apply_overrides

    scenario = apply_overrides(twin.load_scenario(SCENARIOS / "building_campus_summer.yaml"),
                               {"time.duration": "1d"})
    twin.run(scenario, store=tmp_path)
    monkeypatch.setenv("GRIDTWIN_STORE", str(tmp_path))
    monkeypatch.setenv("GRIDTWIN_SCENARIOS", str(SCENARIOS))
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "0")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page("gui/pages/results.py").run()
    assert not app.exception
    power = _specs(app)["Power balance"]
    open_tab(app, "Buildings")
    specs = _specs(app)
    zones = specs["Zone temperatures against each zone's comfort band"]["data"]
    buildings = [a.name for a in scenario.assets if a.kind == "building"]
    shown = app.multiselect(key="results_zones").value
    assert set(shown) < {f"asset/{b}" for b in buildings}
    names = {trace.get("name") for trace in zones}
    for entity in shown:  # each zone against its own band, not one fixed band
        name = entity.partition("/")[2]
        assert {f"{name}: air temperature", f"{name}: comfort band"} <= names
    assert "Buildings" in {t.get("name") for t in power["data"]}


def test_qaoa_landscape_of_an_uploaded_problem_and_a_bad_file(calls_app, tmp_path, open_tab):
    pytest.importorskip("solvers.qaoa")
    from solvers import Problem
    from solvers.lpfile import write_lp

    write_lp(Problem(objective=[1.0, -2.0, 0.5], kinds="binary", upper=1.0),
             tmp_path / "p.lp")
    calls_app.run()
    open_tab(calls_app, "Solvers")
    calls_app.file_uploader(key="results_qaoa_upload").set_value(
        ("p.lp", (tmp_path / "p.lp").read_bytes(), "text/plain")).run()
    calls_app.button(key="results_qaoa_go").click().run()
    assert not calls_app.exception
    spec = next(json.loads(c.proto.spec) for c in calls_app.get("plotly_chart")
                if "QAOA p=1 landscape" in c.proto.spec)
    assert spec["data"][0]["type"] == "heatmap"
    assert any("3 variables" in c.value for c in calls_app.caption)
    calls_app.file_uploader(key="results_qaoa_upload").set_value(
        ("bad.lp", b"this is not an LP file {", "text/plain")).run()
    calls_app.button(key="results_qaoa_go").click().run()
    assert not calls_app.exception
    assert any("bad.lp" in e.value for e in calls_app.error)


def _values(raw):
    if isinstance(raw, dict):  # plotly's binary encoding of a numpy array
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(raw["bdata"]), dtype=raw["dtype"]).tolist()
    return list(raw)


def _tradeoff_points(spec: dict) -> dict[str, tuple[float, float]]:
    return {label: (x, y) for trace in spec["data"]
            for label, x, y in zip(_values(trace["text"]), _values(trace["x"]),
                                   _values(trace["y"]), strict=True)}


def test_solvers_tab_of_a_comms_run_places_every_solver_with_its_latency(calls_app,
                                                                         calls_store,
                                                                         open_tab):
    """Regression: MILP was missing from the quality plot; latency means mixed tasks.
    Every (way of serving, task) is a point at its own mean modelled latency."""

    from gui import charts, series

    calls_app.run()
    open_tab(calls_app, "Solvers")
    summary = next(df.value for df in calls_app.dataframe if "calls" in df.value.columns)
    assert "task" in summary.columns
    assert charts.DIRECT_CALL not in set(summary["mean latency"])
    assert all(v.endswith((" s", " ms")) for v in summary["mean latency"])
    spec = next(json.loads(c.proto.spec) for c in calls_app.get("plotly_chart")
                if "vs time to answer" in c.proto.spec)
    points = _tradeoff_points(spec)
    assert len(points) == len(summary)
    assert any(p.startswith("milp@") for p in points)
    assert any(p.startswith("qaoa@") for p in points)
    run = calls_store["run"]
    calls = charts.solver_calls(series.expand_event_data(
        series.read_events(run.path / "events.parquet")))
    means = calls.groupby(["data.x_used_step", "data.task"])["data.latency_s"].mean()
    for (way, task), latency in means.items():
        assert points[f"{way} · {task}"][0] == pytest.approx(latency)
    # a log axis with a few labelled ticks, not a cluttered one
    axis = spec["layout"]["xaxis"]
    if axis.get("type") == "log":
        assert 2 <= len(axis["tickvals"]) <= 10
        assert all(t.endswith((" s", " ms")) for t in axis["ticktext"])


@pytest.mark.quantum
def test_solvers_tab_of_direct_calls_says_so_and_shows_milp(tmp_path, monkeypatch,
                                                           open_tab):
    """Regression: a direct-call run showed "mean latency 0" and no MILP in the quality
    plot. Now: the latency says it is a direct call; MILP's proved optimum is at ratio
    1 next to QAOA's measured ratio, at each one's measured solve wall time."""
    pytest.importorskip("solvers.qaoa")
    import twin
    from gui import charts

    run = twin.run(twin.load_scenario(SCENARIOS / "qaoa_vs_milp_ev.yaml"), store=tmp_path)
    monkeypatch.setenv("GRIDTWIN_STORE", str(tmp_path))
    monkeypatch.setenv("GRIDTWIN_SCENARIOS", str(SCENARIOS))
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "0")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page("gui/pages/results.py").run()
    open_tab(app, "Solvers")
    assert not app.exception
    summary = next(df.value for df in app.dataframe if "calls" in df.value.columns)
    assert set(summary["mean latency"]) == {charts.DIRECT_CALL}
    assert any("direct call" in c.value for c in app.caption)
    assert any("no latency breakdown" in i.value for i in app.info)
    spec = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                if "Solver quality vs time to answer" in c.proto.spec)
    points = _tradeoff_points(spec)
    milp = next(v for k, v in points.items() if k.startswith("milp"))
    qaoa = next(v for k, v in points.items() if k.startswith("qaoa"))
    assert milp[1] == 1.0  # proved optimal
    ratios = [c["approximation_ratio"] for c in _solver_call_rows(run.path)
              if c["solver_used"] == "qaoa"]
    assert qaoa[1] == pytest.approx(sum(ratios) / len(ratios))
    wall = json.loads((run.path / "wall_clock.json").read_text())["calls"]
    milp_wall = [w["solve_wall_s"] for w in wall if w["task"] == "dispatch"]
    assert milp[0] == pytest.approx(sum(milp_wall) / len(milp_wall))


def _solver_call_rows(run_dir: Path) -> list[dict]:
    import pandas as pd

    events = pd.read_parquet(run_dir / "events.parquet")
    return [json.loads(d) for d in events.loc[events["kind"] == "solver_call", "data"]]


def test_log_ticks_stay_few_and_inside_the_range():
    from gui.charts import log_ticks

    for low, high in ((0.003, 0.2), (0.3, 40.0), (1e-4, 500.0), (2.0, 3.0)):
        values, labels = log_ticks(low, high)
        assert 2 <= len(values) <= 10
        assert values == sorted(values)
        assert len(labels) == len(values)
        assert all(low * 0.9 <= v <= high * 1.1 for v in values)
