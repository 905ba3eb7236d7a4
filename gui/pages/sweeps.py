"""Sweeps page: how KPIs respond to the parameters a sweep varied.

Reads the sweep directories ``twin sweep`` records (``sweeps/<name>/sweep.json``: the
varied parameters of each run) and the runs' KPIs from the store. Without a sweep
directory, runs of one scenario in the store are compared, the scenario fields whose
values differ between them taken as the swept parameters.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from gui import charts, common, settings
from gui.store import RunLoadError, load_run_meta

st.title("Sweeps")
listing = common.store_listing()
common.show_damaged(listing)

sweep_root = settings.sweeps_dir()
sweep_dirs = sorted(p.name for p in sweep_root.iterdir()
                    if (p / "sweep.json").is_file()) if sweep_root.is_dir() else []
groups: dict[str, list] = {}
for meta in listing.runs:
    groups.setdefault(meta.scenario_name, []).append(meta)
candidates = sorted(name for name, runs in groups.items() if len(runs) >= 2)
SOURCES = {"sweep": f"A recorded sweep (`{sweep_root}/`)", "store": "Runs of one scenario"}
sources = [k for k, ok in (("sweep", bool(sweep_dirs)), ("store", bool(candidates))) if ok]
if not sources:
    st.info("No sweep results yet: `twin sweep scenarios/sweeps/<file>.yaml` runs a sweep "
            "and records it under sweeps/; its runs then appear here.")
    st.stop()
source = st.radio("Show", sources, format_func=SOURCES.get, key="sweep_source",
                  horizontal=True)

rows: list[dict] = []
if source == "sweep":
    from twin.errors import TwinError
    from twin.study.sweepdir import read_sweep_dir

    name = st.selectbox("Sweep", sweep_dirs, key="sweep_dir")
    try:
        sweep = read_sweep_dir(sweep_root / name)
    except TwinError as exc:
        st.error(f"Cannot read the sweep {name}: {exc}")
        st.stop()
    if sweep.record.get("description"):
        st.caption(sweep.record["description"])
    params = [p for axis in sweep.axes for p in axis]
    missing = []
    for planned in sweep.runs:
        path = Path(sweep.store) / planned.run_id
        try:
            meta = load_run_meta(path)
        except RunLoadError as exc:
            missing.append(f"{planned.run_id}: {exc}")
            continue
        rows.append({"run": planned.run_id, **{p: planned.params.get(p) for p in params},
                     **meta.kpis})
    if missing:
        st.warning(f"{len(missing)} of {len(sweep.runs)} runs of the sweep are not in the "
                   "store (not run yet, or damaged):\n" + "\n".join(f"- {m}" for m in missing))
else:
    name = st.selectbox("Scenario", candidates, key="sweep_scenario")
    flat = []
    for meta in groups[name]:
        row = charts.flatten(meta.scenario)
        row["seed"] = meta.manifest.get("seed")
        flat.append(row)
    params = charts.varying_parameters(flat)
    rows = [{"run": meta.run_id, **{p: row.get(p) for p in params}, **meta.kpis}
            for meta, row in zip(groups[name], flat, strict=True)]

if not rows or not params:
    st.info("These runs share every parameter, or none of them is in the store.")
    st.stop()
table = pd.DataFrame(rows)
kpi_names = [c for c in table.columns if c not in {"run", *params}
             and pd.to_numeric(table[c], errors="coerce").notna().any()]
st.caption(f"{len(table)} runs; parameters that vary: {', '.join(params)}")
st.dataframe(table, hide_index=True, key="sweep_table")
if not kpi_names:
    st.stop()
kpi = st.selectbox("KPI", kpi_names, key="sweep_kpi", format_func=charts.kpi_label)
values = pd.to_numeric(table[kpi], errors="coerce")
x_param = st.selectbox("x parameter", params, key="sweep_x")
y_options = [p for p in params if p != x_param]
if y_options:
    y_param = st.selectbox("y parameter", y_options, key="sweep_y")
    pivot = table.assign(**{kpi: values}).pivot_table(
        index=table[y_param].astype(str), columns=table[x_param].astype(str), values=kpi,
        aggfunc="mean")
    fig = go.Figure(go.Heatmap(z=pivot.to_numpy(), x=list(pivot.columns), y=list(pivot.index),
                               colorbar={"title": charts.kpi_label(kpi)},
                               texttemplate="%{z:.3g}"))
    fig.update_layout(title=f"{charts.kpi_label(kpi)} (mean over the other parameters)",
                      xaxis_title=x_param, yaxis_title=y_param, height=420)
else:
    line = values.groupby(table[x_param].astype(str)).mean()
    fig = px.line(x=line.index, y=line.to_numpy(), markers=True,
                  labels={"x": x_param, "y": charts.kpi_label(kpi)})
st.plotly_chart(fig, key="chart_sweep_heatmap", width="stretch")
numeric = {}
for column in [*params, kpi]:
    as_number = pd.to_numeric(table[column], errors="coerce")
    numeric[column] = as_number if as_number.notna().all() else \
        table[column].astype(str).astype("category").cat.codes
fig = px.parallel_coordinates(pd.DataFrame(numeric), color=kpi,
                              labels={c: c.split(".")[-1] for c in numeric})
fig.update_layout(height=420)
st.plotly_chart(fig, key="chart_sweep_parallel", width="stretch")
