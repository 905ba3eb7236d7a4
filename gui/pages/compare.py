"""Compare page: runs overlaid, a KPI delta table, solvers' quality against latency and cost."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from gui import charts, common, settings
from gui.series import bucket_size_s

st.title("Compare runs")
listing = common.store_listing()
common.show_damaged(listing)
if len(listing.runs) < 2:
    st.info("Comparing needs at least two runs in the store; make another on the Run "
            "page (e.g. with another seed or control mode).")
    st.stop()
by_id = {meta.run_id: meta for meta in listing.runs}
run_ids = list(by_id)
if "compare_runs" in st.session_state:
    st.session_state["compare_runs"] = [r for r in st.session_state["compare_runs"]
                                        if r in by_id]
chosen = st.multiselect("Runs (the first is the reference)", run_ids, default=run_ids[:2],
                        key="compare_runs", format_func=lambda r: common.run_label(by_id[r]))
if len(chosen) < 2:
    st.info("Pick two or more runs.")
    st.stop()
metas = [by_id[r] for r in chosen]

st.subheader("KPIs and their change against the reference")
table = charts.kpi_delta_table({m.run_id: m.kpis for m in metas})
table.index = [charts.kpi_label(k) for k in table.index]
st.dataframe(table, key="compare_kpi_table")

st.subheader("Time series overlaid")
DERIVED = {"Highest line/trafo loading [%]": ("loading_percent", "max"),
           "Lowest bus voltage [pu]": ("vm_pu", "min"),
           "Highest bus voltage [pu]": ("vm_pu", "max")}
frames = {}
for meta in metas:
    if meta.timeseries_path is None:
        continue
    bucket = bucket_size_s(meta.duration_s, meta.step_s, settings.MAX_POINTS_PER_SERIES)
    frames[meta.run_id] = common.cached_aggregate(meta.timeseries_path, 0, meta.duration_s,
                                                  bucket)
pairs: set[str] = set()
for agg in frames.values():
    sub = agg[agg["entity"].str.match(r"^(grid|asset)/")][["entity", "quantity"]]
    pairs |= {f"{e} · {q}" for e, q in sub.drop_duplicates().itertuples(index=False)}
options = list(DERIVED) + sorted(pairs)
quantity = st.selectbox("Quantity", options, key="compare_quantity")
fig = go.Figure()
for run_id, agg in frames.items():
    if quantity in DERIVED:
        name, how = DERIVED[quantity]
        rows = agg[agg["quantity"] == name]
        line = rows.groupby("t_s")[how].agg(how) if not rows.empty else pd.Series(dtype=float)
    else:
        entity, name = quantity.split(" · ", 1)
        line = agg[(agg["entity"] == entity) & (agg["quantity"] == name)].set_index("t_s")["mean"]
    if not line.empty:
        fig.add_trace(go.Scatter(x=line.index / 86400.0, y=line.to_numpy(), mode="lines",
                                 name=run_id))
if fig.data:
    fig.update_layout(height=380, xaxis_title="Simulated time [d]", yaxis_title=quantity,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    st.plotly_chart(fig, key="chart_compare_overlay", width="stretch")
else:
    st.info(f"None of the chosen runs recorded {quantity}.")

st.subheader("Solvers: quality against latency against cost")
calls = []
for meta in metas:
    part = charts.solver_calls(common.cached_events(meta.events_path))
    if not part.empty:
        calls.append(part.assign(run=meta.run_id))
if not calls:
    st.info("None of the chosen runs made solver calls.")
else:
    merged = pd.concat(calls, ignore_index=True)
    st.dataframe(charts.solver_summary(merged), hide_index=True, key="compare_solver_table")
    fig = charts.solver_tradeoff(merged)
    if fig is None:
        st.info("The calls carry no latency and cost to compare.")
    else:
        st.plotly_chart(fig, key="chart_compare_solvers", width="stretch")
