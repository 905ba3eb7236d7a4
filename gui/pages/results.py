"""Results page: KPI cards and charts of one run, read from the results store.

Charts aggregate the chosen time window into a few hundred buckets with DuckDB (mean,
min, max), so a full-year run draws as fast as a day; results are cached per run file
version, window and bucket. The tabs are lazy: only the open tab's content runs and is
sent to the browser, and the open tab is in the address (``/results?tab=Grid``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util

import pandas as pd
import streamlit as st

from gui import charts, common, settings
from gui.series import bucket_size_s

st.title("Results")

listing = common.store_listing()
common.show_damaged(listing)

default_job = common.registry().get(common.default_job_key())
if default_job is not None and default_job.running:
    @st.fragment(run_every=1.0)
    def _default_progress() -> None:
        common.show_job(default_job)
        if not default_job.running:
            st.rerun()

    _default_progress()
elif default_job is not None and default_job.state == "failed":
    common.show_job(default_job)

if not listing.runs:
    st.info(f"The results store `{settings.store_dir()}` has no runs yet. Run a scenario "
            "on the Run page (or with `twin run scenarios/<file>.yaml`).")
    st.stop()

run_ids = [meta.run_id for meta in listing.runs]
by_id = {meta.run_id: meta for meta in listing.runs}
if st.session_state.get("results_run") not in run_ids:
    preferred = st.session_state.get("selected_run")
    if preferred not in run_ids and default_job is not None and default_job.run_id:
        preferred = default_job.run_id
    st.session_state["results_run"] = preferred if preferred in run_ids else run_ids[0]
run_id = st.selectbox("Run", run_ids, key="results_run",
                      format_func=lambda rid: common.run_label(by_id[rid]))
meta = by_id[run_id]
st.session_state["selected_run"] = run_id
st.caption(f"Scenario **{meta.scenario_name}** · seed {meta.manifest.get('seed')} · "
           f"{meta.n_steps} steps of {meta.step_s} s · made {meta.started_at[:19]} · "
           f"wall time {charts.format_kpi(meta.manifest.get('wall_time_s'))} s · "
           f"`{meta.path}`")
for warning in meta.warnings:
    st.warning(warning)

# ------------------------------------------------------------------------- KPIs
st.subheader("Key performance indicators")
kpis = meta.kpis
if not kpis:
    st.info("This run recorded no KPIs.")
cards = charts.headline_cards(kpis, 8) if kpis else []
for first in range(0, len(cards), 4):
    columns = st.columns(4)
    for column, (label, value, help_text) in zip(columns, cards[first:first + 4],
                                                 strict=False):
        column.metric(label, value, help=help_text, border=True)
if len(kpis) > len(cards):
    # lazy: the table (and the data grid's script in the browser) only when opened
    all_kpis = st.expander(f"All {len(kpis)} KPIs", key="results_all_kpis",
                           on_change="rerun")
    if all_kpis.open:
        all_kpis.dataframe(
            pd.DataFrame({"KPI": [charts.kpi_label(k) for k in kpis], "name": list(kpis),
                          "value": [charts.format_kpi(v) for v in kpis.values()]}),
            hide_index=True, key="results_kpi_table")

if meta.timeseries_path is None:
    st.stop()

# ----------------------------------------------------------------------- window
start_stamp = pd.Timestamp(meta.sim_start)
if start_stamp.tzinfo is not None:
    start_stamp = start_stamp.tz_convert(None)
start = start_stamp.to_pydatetime()
duration_s = meta.duration_s
if duration_s <= 0:  # a manifest without n_steps: the recorded times tell
    catalogue = common.cached_catalogue(meta.timeseries_path)
    duration_s = int(catalogue["t_max_s"].max()) + meta.step_s if not catalogue.empty else 0
if duration_s <= 0:
    st.info("This run recorded no time steps.")
    st.stop()
end = start + dt.timedelta(seconds=duration_s)
if st.session_state.get("results_window_run") != run_id:
    for key in ("results_window", "results_map_time", "results_event_categories",
                "results_event_colour"):
        st.session_state.pop(key, None)
    st.session_state["results_window_run"] = run_id
window = st.slider("Time window (zoom)", min_value=start, max_value=end, value=(start, end),
                   step=dt.timedelta(seconds=meta.step_s), key="results_window",
                   format="YYYY-MM-DD HH:mm")
t0_s = int((window[0] - start).total_seconds())
t1_s = max(int((window[1] - start).total_seconds()), t0_s + meta.step_s)
bucket_s = bucket_size_s(t1_s - t0_s, meta.step_s, settings.MAX_POINTS_PER_SERIES)
with st.spinner("Aggregating the time series..."):
    agg = common.cached_aggregate(meta.timeseries_path, t0_s, t1_s, bucket_s)
st.caption(f"{len(agg):,} points: one per {bucket_s / 60:g} min bucket and series "
           "(mean; min and max kept for limits).")

outputs = meta.scenario.get("outputs", {})
band = tuple(outputs.get("voltage_band_pu", (0.95, 1.05)))
limit = float(outputs.get("loading_limit_percent", 100.0))
kinds = charts.asset_kinds(meta.scenario)
sim_start = meta.sim_start


def _show(fig, key: str, missing: str) -> None:
    if fig is None:
        st.info(missing)
    else:
        st.plotly_chart(fig, key=key, width="stretch")


TABS = ["Power", "Storage & EVs", "Buildings", "Grid", "Network map", "Events", "Solvers"]
# lazy tabs: only the open tab's content runs and is sent (the year run's first paint
# is the cards and the power balance, not seven tabs of figures); the open tab is in the
# URL (?tab=...), so every tab is reachable by its own address
tabs = st.tabs(TABS, key="tab", on_change="rerun", bind="query-params")
events = common.cached_events(meta.events_path)
intervals = charts.event_intervals(events)
if tabs[0].open:
    with tabs[0]:
        raw = st.toggle("Show every power series as recorded (lines)", key="results_power_raw")
        if raw:
            _show(charts.power_lines(agg, kinds, sim_start), "chart_power_lines",
                  "This run recorded no power (p_mw) series.")
        else:
            _show(charts.power_balance(agg, kinds, sim_start, intervals), "chart_power_balance",
                  "This run recorded no power (p_mw) series.")
assets = agg[charts.family(agg) == "asset"]
if tabs[1].open:
    with tabs[1]:
        soc = charts.select_series(assets, quantity_contains=("soc",))
        _show(charts.state_of_charge(soc, sim_start, kinds), "chart_soc",
              "This run has no battery or EV state of charge (no battery or EV assets).")
        _show(charts.ev_charging(assets, kinds, kpis, sim_start, meta.step_s), "chart_ev",
              "This run has no EV fleet series.")
if tabs[2].open:
    with tabs[2]:
        temps = charts.select_series(assets, quantity_contains=("t_air", "comfort"))
        zones = sorted(temps["entity"].unique()) if not temps.empty else []
        if len(zones) > 4:
            shown_zones = st.multiselect("Buildings", zones, default=zones[:4],
                                         key="results_zones",
                                         format_func=lambda e: e.partition("/")[2])
            temps = temps[temps["entity"].isin(shown_zones)]
        _show(charts.zone_temperatures(temps, sim_start), "chart_temperatures",
              "This run has no building zone temperatures.")
if tabs[3].open:
    with tabs[3]:
        try:
            feeder = common.cached_layout(meta)
        except Exception:  # an old run whose grid cannot be rebuilt: no profile
            feeder = None
        _show(charts.voltage_profile(agg, feeder, band), "chart_voltage_profile",
              "This run recorded no bus voltages.")
        statistic = st.segmented_control("Voltage per bucket", ["mean", "min", "max"],
                                         default="mean", key="results_heatmap_stat") or "mean"
        _show(charts.voltage_heatmap(agg, sim_start, band, statistic), "chart_voltage_heatmap",
              "This run recorded no bus voltages.")
        _show(charts.line_loading(agg, sim_start, limit), "chart_line_loading",
              "This run recorded no line loadings.")
if tabs[4].open:
    with tabs[4]:
        map_time = st.slider("Time shown on the map", min_value=window[0], max_value=window[1],
                             value=window[0], step=dt.timedelta(seconds=meta.step_s),
                             key="results_map_time", format="YYYY-MM-DD HH:mm")
        map_s = int((map_time - start).total_seconds()) // meta.step_s * meta.step_s
        figure, problem = common.network_map_figure(meta, map_s)
        if figure is None:
            st.info(problem)
        else:
            st.plotly_chart(figure, key="chart_network_map", width="stretch")
            st.caption("Buses are coloured by voltage (blue low, red high, white 1.0 pu), lines "
                       "by loading; a dark bus had no voltage at that time (not supplied: an "
                       "outage or an island without supply). Icons mark the assets.")
in_window = events[(events["time_s"] >= t0_s) & (events["time_s"] < t1_s)] \
    if not events.empty else events
if tabs[5].open:
    with tabs[5]:
        categories = sorted(events["category"].dropna().unique()) if not events.empty else []
        chosen = st.multiselect("Categories", categories, default=categories,
                                key="results_event_categories")
        shown = in_window[in_window["category"].isin(chosen)] if not in_window.empty else in_window
        colourings = charts.event_colourings(events) if not events.empty else []
        colour_by = st.segmented_control("Colour by", colourings or ["kind"],
                                         default=(colourings or ["kind"])[0],
                                         key="results_event_colour") or "kind"
        shown_intervals = intervals[(intervals["end_s"].fillna(t1_s) >= t0_s)
                                    & (intervals["start_s"] < t1_s)] if not intervals.empty \
            else intervals
        _show(charts.events_timeline(shown, sim_start, colour_by, intervals=shown_intervals,
                                     t_end_s=t1_s),
              "chart_events",
              "No events in this window." if not events.empty else "This run recorded no events.")
        if not shown.empty:
            table = shown[["time_s", "category", "kind", "entity", "message"]].head(1000)
            table.insert(0, "time", charts.times(table["time_s"], sim_start).strftime(
                "%Y-%m-%d %H:%M:%S"))
            st.dataframe(table.rename(columns={"time_s": "simulated [s]"}), hide_index=True,
                         key="results_events_table")
if tabs[6].open:
    with tabs[6]:
        calls = common.solver_calls_of(meta)
        if calls.empty:
            st.info("This run made no solver calls (its controller does not optimise).")
        else:
            if charts.is_direct(calls).all():
                st.caption("Every call was a direct call: the controller called the solver "
                           "in-process, without modelled comms, so there is no modelled "
                           "latency (a call takes no simulated time). Solve wall times are "
                           "measured on the machine that ran the run.")
            st.dataframe(charts.solver_summary(calls), hide_index=True,
                         key="results_solver_summary")
            _show(charts.latency_breakdown(calls), "chart_latency",
                  "No call went over the modelled comms: no latency breakdown.")
            _show(charts.solver_tradeoff(calls), "chart_solver_tradeoff",
                  "The calls carry no quality, latency or cost to compare.")
        with st.expander("QAOA p=1 energy landscape", expanded=False):
            if importlib.util.find_spec("solvers.qaoa") is None:
                st.caption("The QAOA solver is not installed (pip install -e '.[quantum]').")
            else:
                stored = sorted((meta.path / "problems").glob("*.lp")) \
                    if (meta.path / "problems").is_dir() else []
                st.caption("The expected objective of the p=1 QAOA state over (gamma, beta), "
                           "exact (statevector), for a problem this run stored under "
                           "`problems/` or an LP file you upload (at most 20 binaries).")
                problem_file = None
                if stored:
                    chosen_problem = st.selectbox("Stored problem", [p.name for p in stored],
                                                  key="results_qaoa_problem")
                    problem_file = meta.path / "problems" / chosen_problem
                lp_upload = st.file_uploader(
                    f"or upload a problem (.lp, at most {settings.MAX_UPLOAD_BYTES // 1024} KiB)",
                    type=["lp"], key="results_qaoa_upload", max_upload_size=1)
                if st.button("Compute the landscape", key="results_qaoa_go"):
                    landscape, problem_msg = common.landscape_from(problem_file, lp_upload)
                    if landscape is None:
                        st.error(problem_msg)
                    else:
                        st.plotly_chart(landscape, key="chart_qaoa_landscape", width="stretch")
                        st.caption(problem_msg)
