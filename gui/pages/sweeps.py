"""Sweeps page: how KPIs respond to the parameters a sweep varied.

Works from the store alone: runs of one scenario name are compared, the scenario
fields whose values differ between them are the swept parameters.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from gui import charts, common

st.title("Sweeps")
listing = common.store_listing()
common.show_damaged(listing)
groups: dict[str, list] = {}
for meta in listing.runs:
    groups.setdefault(meta.scenario_name, []).append(meta)
candidates = sorted(name for name, runs in groups.items() if len(runs) >= 2)
if not candidates:
    st.info("No sweep results yet: a sweep (`twin sweep`) makes several runs of one "
            "scenario with different parameters; they appear here.")
    st.stop()
name = st.selectbox("Scenario swept", candidates, key="sweep_scenario")
runs = groups[name]
rows = []
for meta in runs:
    row = charts.flatten(meta.scenario)
    row["seed"] = meta.manifest.get("seed")
    rows.append(row)
params = charts.varying_parameters(rows)
if not params:
    st.info(f"The {len(runs)} runs of {name} share every parameter.")
    st.stop()
table = pd.DataFrame([{p: row.get(p) for p in params} for row in rows])
kpi_names = sorted({k for meta in runs for k in meta.kpis})
for kpi in kpi_names:
    table[kpi] = [meta.kpis.get(kpi) for meta in runs]
table.insert(0, "run", [meta.run_id for meta in runs])
st.caption(f"{len(runs)} runs; parameters that vary: {', '.join(params)}")
st.dataframe(table, hide_index=True, key="sweep_table")
if not kpi_names:
    st.stop()
kpi = st.selectbox("KPI", kpi_names, key="sweep_kpi")
x_param = st.selectbox("x parameter", params, key="sweep_x")
y_options = [p for p in params if p != x_param]
if y_options:
    y_param = st.selectbox("y parameter", y_options, key="sweep_y")
    pivot = table.assign(**{kpi: pd.to_numeric(table[kpi], errors="coerce")}).pivot_table(
        index=y_param, columns=x_param, values=kpi, aggfunc="mean")
    fig = go.Figure(go.Heatmap(z=pivot.to_numpy(), x=[str(c) for c in pivot.columns],
                               y=[str(i) for i in pivot.index], colorbar={"title": kpi}))
    fig.update_layout(title=f"{charts.kpi_label(kpi)} (mean over other parameters)",
                      xaxis_title=x_param, yaxis_title=y_param, height=420)
    st.plotly_chart(fig, key="chart_sweep_heatmap", width="stretch")
else:
    line = table.groupby(x_param)[kpi].apply(lambda s: pd.to_numeric(s, errors="coerce").mean())
    fig = px.line(x=line.index.astype(str), y=line.to_numpy(), markers=True,
                  labels={"x": x_param, "y": charts.kpi_label(kpi)})
    st.plotly_chart(fig, key="chart_sweep_heatmap", width="stretch")
numeric = {}
for column in [*params, kpi]:
    values = pd.to_numeric(table[column], errors="coerce")
    if values.notna().all():
        numeric[column] = values
    else:
        numeric[column] = table[column].astype(str).astype("category").cat.codes
frame = pd.DataFrame(numeric)
fig = px.parallel_coordinates(frame, color=kpi, labels={c: c.split(".")[-1] for c in frame})
fig.update_layout(height=420)
st.plotly_chart(fig, key="chart_sweep_parallel", width="stretch")
