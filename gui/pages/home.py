"""Landing page: what GridTwin answers, the default run's headline, where to go next.

Shows three sentences on the tool, then the default scenario's run (or the newest run of
the store): four KPI cards, the network map with its assets and the power balance of its
first day, each with text while it loads, and links to the other pages.
"""

from __future__ import annotations

import streamlit as st

st.title("GridTwin: what happens on this feeder if...?")
st.markdown(
    "GridTwin is a digital twin of a distribution grid: it replays a feeder's loads, PV, "
    "batteries, EVs and buildings step by step on a real network model and reports "
    "voltages, loadings, energy and reliability. It answers what-if questions a "
    "planner asks (more PV, a battery, an outage, another controller or solver) by "
    "running each case and comparing the KPIs side by side. It also measures when a "
    "quantum optimiser (QAOA) is worth its latency and cost against a classical MILP.")

placeholder = st.empty()
placeholder.info("Loading the default run's headline...")

from gui import charts, common, settings  # noqa: E402  (text first: nothing blank)

LINKS = [("gui/pages/scenario.py", "Pick a scenario", ":material/edit_document:"),
         ("gui/pages/run.py", "Run it", ":material/play_arrow:"),
         ("gui/pages/compare.py", "Compare runs", ":material/compare_arrows:"),
         ("gui/pages/results.py", "All results of a run", ":material/monitoring:")]
value_page = common.value_page_path()
if value_page is not None:
    LINKS.append((value_page, "Quantum value", ":material/science:"))
columns = st.columns(len(LINKS))
for column, (page, label, icon) in zip(columns, LINKS, strict=True):
    column.page_link(page, label=label, icon=icon)
if value_page is None:
    st.caption("Quantum value: the page lands with the quantum workload; until then the "
               "Results page's Solvers tab shows QAOA against MILP per call.")

listing = common.store_listing()
common.show_damaged(listing)
default_job = common.registry().get(common.default_job_key())
meta = common.headline_run(listing, default_job)
if meta is None:
    if default_job is not None and default_job.running:
        placeholder.empty()

        @st.fragment(run_every=1.0)
        def _progress() -> None:
            common.show_job(default_job)
            if not default_job.running:
                st.rerun()

        _progress()
    else:
        placeholder.info(f"The results store `{settings.store_dir()}` has no runs yet: "
                         "run a scenario on the Run page (or `twin run "
                         "scenarios/default.yaml`).")
    st.stop()

placeholder.empty()
st.subheader(f"Headline: {meta.scenario_name}")
description = meta.scenario.get("description")
if description:
    st.caption(str(description))
cards = charts.headline_cards(meta.kpis, 4)
for column, (label, value, help_text) in zip(st.columns(4), cards, strict=True):
    column.metric(label, value, help=help_text, border=True)

left, right = st.columns([1, 1.4])
with left, st.spinner("Drawing the network map..."):
    figure, problem = common.network_map_figure(meta, 0)
    if figure is None:
        st.info(problem)
    else:
        st.plotly_chart(figure, key="home_network_map", width="stretch")
with right, st.spinner("Aggregating the first day..."):
    day_s = min(86400, meta.duration_s or 86400)
    if meta.timeseries_path is None:
        st.info("This run recorded no time series.")
    else:
        agg = common.cached_aggregate(meta.timeseries_path, 0, day_s, meta.step_s)
        intervals = charts.event_intervals(common.cached_events(meta.events_path))
        figure = charts.power_balance(agg, charts.asset_kinds(meta.scenario),
                                      meta.sim_start, intervals,
                                      title="Power balance, first day")
        if figure is None:
            st.info("This run recorded no power series.")
        else:
            st.plotly_chart(figure, key="home_power_balance", width="stretch")
st.caption(f"Run `{meta.run_id}`; all its charts are on the Results page.")
