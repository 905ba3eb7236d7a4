"""AppTest of the landing page and the Results page on real runs."""

from __future__ import annotations

import json
import time

import pytest

from gui.charts import headline_cards


def _kpis(store, run_id):
    return json.loads((store / run_id / "kpis.json").read_text())


def test_results_page_shows_kpis_of_the_default_run_and_charts(app, app_env,
                                                               reference_store, open_tab):
    app.run()
    assert not app.exception
    default_run = reference_store["runs"][0]
    # the user's first view is the default scenario's run
    app.selectbox(key="results_run").set_value(default_run.run_id).run()
    kpis = _kpis(app_env["store"], default_run.run_id)
    cards = {m.label: m.value for m in app.metric}
    assert len(cards) >= 4
    assert cards == {label: value for label, value, _ in headline_cards(kpis, 8)}
    assert cards["Energy import"] == f"{kpis['energy_import_mwh'] * 1000:.3g} kWh"
    charts = app.get("plotly_chart")
    assert len(charts) == 1  # lazy tabs: the open tab (Power) only
    power = json.loads(charts[0].proto.spec)
    names = {trace["name"] for trace in power["data"]}
    assert {"Grid import", "Grid export", "Network loads", "PV", "Battery charging",
            "Battery discharging", "Net import (export < 0)"} <= names
    stacks = {trace.get("stackgroup") for trace in power["data"]}
    assert {"sources", "sinks"} <= stacks
    assert not app.dataframe  # the table of all KPIs is drawn only when opened
    app.session_state["results_all_kpis"] = True
    app.run()
    table = app.dataframe[0].value
    assert list(table["name"]) == list(kpis)
    for tab, titles in (("Storage & EVs", ["Battery state of charge"]),
                        ("Grid", ["Voltage profile", "Bus voltage", "Line and transformer"]),
                        ("Network map", ["Network at"])):
        open_tab(app, tab)
        assert not app.exception
        shown = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
        for title in titles:
            spec = next(s for s in shown if s["layout"]["title"]["text"].startswith(title))
            assert spec["data"], title
        assert not any(s["layout"]["title"]["text"].startswith("Power balance")
                       for s in shown)


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


def test_network_map_follows_the_time_slider(app, open_tab):
    app.run()
    open_tab(app, "Network map")
    slider = app.slider(key="results_map_time")
    first = slider.value
    slider.set_value(first + (app.slider(key="results_window").value[1] - first) / 2).run()
    assert not app.exception
    maps = [c for c in app.get("plotly_chart") if "Network at" in c.proto.spec]
    assert len(maps) == 1
    spec = json.loads(maps[0].proto.spec)
    bus_trace = next(t for t in spec["data"] if t.get("name") == "buses (colour: voltage)")
    raw = bus_trace["marker"]["color"]
    if isinstance(raw, dict):  # plotly's binary encoding of a numpy array
        import base64

        import numpy as np

        raw = np.frombuffer(base64.b64decode(raw["bdata"]), dtype=raw["dtype"]).tolist()
    colours = [v for v in raw if v is not None]
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
    assert "Energy import" in labels
    runs = [p for p in app_env["store"].iterdir() if (p / "manifest.json").exists()]
    assert len(runs) == 1
    assert runs[0].name.startswith("default-")


def test_landing_page_explains_and_shows_the_default_runs_headline(home, reference_store):
    home.run()
    assert not home.exception
    assert any("GridTwin is a digital twin" in m.value for m in home.markdown)
    assert [m.label for m in home.metric][:2] == ["Energy import", "PV energy"]
    assert len(home.metric) == 4
    specs = [json.loads(c.proto.spec) for c in home.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert any(t.startswith("Network at") for t in titles)
    assert "Power balance, first day" in titles
    network = specs[[t.startswith("Network at") for t in titles].index(True)]
    assert {"PV", "Battery"} <= {t.get("name") for t in network["data"]}


def test_events_tab_is_not_empty_after_switching_runs(app, reference_store, calls_store,
                                                       app_env, open_tab):
    """Regression: the category filter kept the previous run's (empty) selection."""
    import shutil

    calls_run = calls_store["run"]
    shutil.copytree(calls_run.path, app_env["store"] / calls_run.run_id)
    app.run()
    app.selectbox(key="results_run").set_value(reference_store["runs"][0].run_id).run()
    open_tab(app, "Events")
    assert app.multiselect(key="results_event_categories").value == []
    app.selectbox(key="results_run").set_value(calls_run.run_id).run()
    assert not app.exception
    chosen = app.multiselect(key="results_event_categories").value
    assert {"call", "fault", "grid"} <= set(chosen)
    assert any("Events" in c.proto.spec for c in app.get("plotly_chart"))


def test_storm_day_unserved_energy_card_is_the_reliability_ens(tmp_path, monkeypatch):
    """Regression: the card said 0 kWh while reliability ENS was 0.0413 MWh."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    import twin

    root = Path(__file__).resolve().parents[2]
    run = twin.run(twin.load_scenario(root / "scenarios" / "patterns_storm_day.yaml"),
                   store=tmp_path)
    monkeypatch.setenv("GRIDTWIN_STORE", str(tmp_path))
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "0")
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.switch_page("gui/pages/results.py").run()
    assert not at.exception
    ens_kwh = run.kpis["reliability_energy_not_supplied_mwh"] * 1000
    assert ens_kwh > 1
    card = next(m.value for m in at.metric if m.label == "Unserved energy")
    assert card == f"{ens_kwh:.3g} kWh"


def _spec(app, title: str) -> dict:
    found = [json.loads(c.proto.spec) for c in app.get("plotly_chart")
             if title in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")]
    assert len(found) == 1, title
    return found[0]


def _ys(trace: dict) -> list[float]:
    raw = trace["y"]
    if isinstance(raw, dict):  # plotly's binary encoding of a numpy array
        import base64

        import numpy as np

        raw = np.frombuffer(base64.b64decode(raw["bdata"]), dtype=raw["dtype"]).tolist()
    return [v for v in raw if v is not None and v == v]


def test_storage_tab_charts_battery_and_ev_state_of_charge_and_energy(app, calls_store,
                                                                     app_env, open_tab):
    """A run with a battery and an EV fleet: both states of charge are drawn (in %, the
    fleet's over its plugged vehicles), and the energy requested and delivered per fleet
    end where the run's own channels and its unmet-energy KPI say."""
    import shutil

    import pandas as pd

    run = calls_store["run"]
    shutil.copytree(run.path, app_env["store"] / run.run_id)
    app.run()
    app.selectbox(key="results_run").set_value(run.run_id).run()
    open_tab(app, "Storage & EVs")
    assert not app.exception
    soc = _spec(app, "Battery and EV state of charge")
    lines = {t["name"]: _ys(t) for t in soc["data"] if t.get("mode") == "lines"
             and "min-max" not in t.get("name", "") and t.get("showlegend") is not False}
    ev_names = [n for n in lines if "EV fleet" in n]
    assert ev_names
    assert len(lines) > len(ev_names)
    assert all(lines[n] and min(lines[n]) >= 0 and max(lines[n]) <= 100 for n in lines)

    ev = _spec(app, "EV charging")
    traces = {t["name"]: _ys(t) for t in ev["data"]}
    requested = {n: v for n, v in traces.items() if "energy requested" in n}
    delivered = {n: v for n, v in traces.items() if "delivered to batteries" in n}
    assert requested
    assert delivered
    assert any("charging power" in n for n in traces)
    table = pd.read_parquet(run.path / "timeseries.parquet")
    last = table[table["time_s"] == table["time_s"].max()].set_index(
        ["entity", "quantity"])["value"]
    for name, values in requested.items():
        fleet = "asset/" + name.split(":")[0]
        assert values[-1] == last[(fleet, "requested_kwh")]
    gap = sum(last[("asset/" + n.split(":")[0], "requested_kwh")]
              - last[("asset/" + n.split(":")[0], "charged_kwh")] for n in requested)
    need = sum(last[("asset/" + n.split(":")[0], "need_kwh")] for n in requested)
    unmet = _kpis(app_env["store"], run.run_id)["ev_unmet_at_departure_mwh"] * 1000
    assert gap == pytest.approx(unmet + need, abs=1e-6)
