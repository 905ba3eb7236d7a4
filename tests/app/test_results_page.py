"""AppTest of the Results page (the app's first page) on real runs."""

from __future__ import annotations

import json
import time

from gui.charts import format_kpi, kpi_label


def _kpis(store, run_id):
    return json.loads((store / run_id / "kpis.json").read_text())


def test_results_page_shows_kpis_of_the_default_run_and_charts(app, app_env,
                                                               reference_store):
    app.run()
    assert not app.exception
    default_run = reference_store["runs"][0]
    # the user's first view is the default scenario's run
    app.selectbox(key="results_run").set_value(default_run.run_id).run()
    kpis = _kpis(app_env["store"], default_run.run_id)
    cards = {m.label: m.value for m in app.metric}
    assert len(cards) >= 4
    for name in ("energy_import_mwh", "max_line_loading_percent"):
        assert cards[kpi_label(name)] == format_kpi(kpis[name])
    charts = app.get("plotly_chart")
    assert len(charts) >= 4  # power balance, SoC, voltage heat map, line loading, map
    power = json.loads(charts[0].proto.spec)
    names = {trace["name"] for trace in power["data"]}
    assert any(name.startswith("Grid:") for name in names)
    assert "Battery" in names
    assert "PV" in names


def test_zooming_the_window_aggregates_fewer_points_per_bucket(app, reference_store):
    app.run()
    caption_all = next(c.value for c in app.caption if "points" in c.value)
    start, end = app.slider(key="results_window").value
    app.slider(key="results_window").set_value((start, start + (end - start) / 3)).run()
    assert not app.exception
    caption_zoom = next(c.value for c in app.caption if "points" in c.value)
    count = int(caption_all.split(" points")[0].replace(",", ""))
    count_zoom = int(caption_zoom.split(" points")[0].replace(",", ""))
    assert count_zoom < count


def test_network_map_follows_the_time_slider(app):
    app.run()
    slider = app.slider(key="results_map_time")
    first = slider.value
    slider.set_value(first + (app.slider(key="results_window").value[1] - first) / 2).run()
    assert not app.exception
    maps = [c for c in app.get("plotly_chart") if "Network at" in c.proto.spec]
    assert len(maps) == 1
    spec = json.loads(maps[0].proto.spec)
    bus_trace = spec["data"][-1]
    colours = [v for v in bus_trace["marker"]["color"] if v is not None]
    assert colours
    assert all(0.8 < v < 1.2 for v in colours)


def test_first_start_runs_the_default_scenario_itself(app, app_env):
    for child in app_env["store"].iterdir():  # an empty store: a new user's first start
        import shutil

        shutil.rmtree(child)
    app.run()
    assert not app.exception
    deadline = time.monotonic() + 90
    while not app.metric and time.monotonic() < deadline:
        time.sleep(0.5)
        app.run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    assert kpi_label("energy_import_mwh") in labels
    runs = [p for p in app_env["store"].iterdir() if (p / "manifest.json").exists()]
    assert len(runs) == 1
    assert runs[0].name.startswith("default-")
