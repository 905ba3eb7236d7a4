"""Sweeps page: how KPIs respond to the parameters a sweep varied.

Reads the sweep directories ``twin sweep`` records (``sweeps/<name>/sweep.json``: the
varied parameters of each run) and the runs' KPIs from the store. Without a sweep
directory, runs of one scenario in the store are compared, the scenario fields whose
values differ between them taken as the swept parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from gui import charts, common, settings
from gui.store import RunLoadError, load_run_meta
from twin.errors import TwinError

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
                     "horizon [h]": meta.duration_s / 3600, **meta.kpis})
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
    rows = [{"run": meta.run_id, **{p: row.get(p) for p in params},
             "horizon [h]": meta.duration_s / 3600, **meta.kpis}
            for meta, row in zip(groups[name], flat, strict=True)]

if not rows or not params:
    st.info("These runs share every parameter, or none of them is in the store.")
    st.stop()
table = pd.DataFrame(rows)
horizons = sorted(table["horizon [h]"].dropna().unique())
if len(horizons) > 1:  # never average energy totals over different horizons
    horizon = st.selectbox("Horizon (runs of different horizons are never averaged "
                           "together)", horizons, key="sweep_horizon",
                           format_func=lambda h: f"{h:g} h")
    st.warning(f"These runs cover {len(horizons)} different horizons "
               f"({', '.join(f'{h:g} h' for h in horizons)}); only the "
               f"{horizon:g} h runs are plotted.")
    table = table[table["horizon [h]"] == horizon].reset_index(drop=True)
params = [p for p in params if table[p].astype(str).nunique() > 1] or params
kpi_names = [c for c in table.columns if c not in {"run", "horizon [h]", *params}
             and pd.to_numeric(table[c], errors="coerce").notna().any()]
categorical = [p for p in params if charts.is_categorical(p, table[p])]
st.caption(f"{len(table)} runs; parameters that vary: {', '.join(params)}"
           + (f" (categories, not numbers: {', '.join(categorical)})" if categorical
              else ""))
st.dataframe(table, hide_index=True, key="sweep_table")

if source == "sweep" and sweep.spec.checks:
    from twin.study.gates import evaluate_sweep_dir

    st.subheader("KPI gates")
    try:
        results = evaluate_sweep_dir(sweep)
    except TwinError as exc:
        st.error(f"The gates cannot be evaluated: {exc}")
    else:
        n_failed = sum(not r.passed for r in results)
        gate_table = pd.DataFrame({
            "gate": [r.name for r in results],
            "result": ["pass" if r.passed else r.status.replace("failed", "FAIL")
                       for r in results],
            "detail": [r.message for r in results]})
        (st.error if n_failed else st.success)(
            f"{len(results) - n_failed} of {len(results)} gates pass"
            + (f"; {n_failed} fail (`twin check` exits 1)" if n_failed else "."))
        st.dataframe(gate_table.style.map(
            lambda v: "color: #c1121f; font-weight: bold" if v in {"FAIL", "error"} else
            ("color: #2a9d8f" if v == "pass" else ""), subset=["result"]),
            hide_index=True, key="sweep_gates", width="stretch")

if not kpi_names:
    st.stop()
kpi = st.selectbox("KPI", kpi_names, key="sweep_kpi", format_func=charts.kpi_label)
values = pd.to_numeric(table[kpi], errors="coerce")
x_param = st.selectbox("x parameter", params, key="sweep_x")
y_options = [p for p in params if p != x_param]


def _order(column: str) -> list[str]:
    raw = table[column].drop_duplicates()
    numbers = pd.to_numeric(raw, errors="coerce")
    ordered = raw.iloc[numbers.argsort()] if numbers.notna().all() else raw.astype(str).sort_values()
    return [str(v) for v in ordered]


if y_options:
    y_param = st.selectbox("y parameter", y_options, key="sweep_y")
    others = [p for p in params if p not in {x_param, y_param}]
    frame = table.assign(**{kpi: values, "_x": table[x_param].astype(str),
                            "_y": table[y_param].astype(str)})
    stats = frame.groupby(["_y", "_x"])[kpi].agg(["mean", "min", "max", "count"])
    xs, ys = _order(x_param), _order(y_param)
    grid = {stat: stats[stat].unstack("_x").reindex(index=ys, columns=xs)
            for stat in ("mean", "min", "max", "count")}
    fig = go.Figure(go.Heatmap(
        z=grid["mean"].to_numpy(), x=xs, y=ys, colorbar={"title": charts.kpi_label(kpi)},
        texttemplate="%{z:.3g}",
        customdata=np.dstack([grid["min"].to_numpy(), grid["max"].to_numpy(),
                              grid["count"].to_numpy()]),
        hovertemplate=f"{x_param} %{{x}}<br>{y_param} %{{y}}<br>mean %{{z:.4g}}<br>"
        "min %{customdata[0]:.4g}, max %{customdata[1]:.4g}, n = %{customdata[2]}"
        "<extra></extra>"))
    title = charts.kpi_label(kpi)
    if others:
        title += f" (mean over {', '.join(o.split('.')[-1] for o in others)}; hover: min/max, n)"
    fig.update_layout(title=title, xaxis_title=x_param, yaxis_title=y_param, height=420,
                      xaxis={"type": "category"}, yaxis={"type": "category"})
else:
    line = values.groupby(table[x_param].astype(str)).agg(["mean", "min", "max", "count"])
    line = line.reindex(_order(x_param))
    fig = go.Figure(go.Scatter(
        x=list(line.index), y=line["mean"], mode="lines+markers",
        error_y={"type": "data", "symmetric": False,
                 "array": (line["max"] - line["mean"]).to_numpy(),
                 "arrayminus": (line["mean"] - line["min"]).to_numpy()},
        name=charts.kpi_label(kpi)))
    fig.update_layout(title=f"{charts.kpi_label(kpi)} (mean; bars: min-max over runs)",
                      xaxis_title=x_param, yaxis_title=charts.kpi_label(kpi), height=420,
                      xaxis={"type": "category" if x_param in categorical else "-"})
st.plotly_chart(fig, key="chart_sweep_heatmap", width="stretch")
dimensions = []
for column in [*params, kpi]:
    as_number = pd.to_numeric(table[column], errors="coerce")
    label = column.split(".")[-1]
    if column in categorical or as_number.isna().any():
        order = _order(column)
        codes = table[column].astype(str).map({v: i for i, v in enumerate(order)})
        dimensions.append({"label": label, "values": codes, "tickvals": list(range(len(order))),
                           "ticktext": order})
    else:
        dimensions.append({"label": label, "values": as_number})
fig = go.Figure(go.Parcoords(line={"color": values, "colorscale": "Viridis",
                                   "showscale": True,
                                   "colorbar": {"title": charts.kpi_label(kpi)}},
                             dimensions=dimensions, labelangle=0, labelside="bottom"))
fig.update_layout(title="Every run across the parameters", height=440,
                  margin={"l": 60, "r": 60, "t": 60, "b": 60})
st.plotly_chart(fig, key="chart_sweep_parallel", width="stretch")
