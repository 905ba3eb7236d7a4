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
mismatches = charts.run_mismatches(metas)
if mismatches:
    st.warning("**These runs are not like for like**; their KPIs and time series differ "
               "for reasons other than what you changed:\n"
               + "\n".join(f"- {m}" for m in mismatches), icon=":material/warning:")

st.subheader("KPIs and their change against the reference")
table = charts.kpi_delta_table({m.run_id: m.kpis for m in metas})
table.index = [charts.kpi_label(k) for k in table.index]
worse_columns = [c for c in table.columns if str(c).startswith("worse ")]
n_worse = int(sum((table[c] == "worse").sum() for c in worse_columns))
if n_worse:
    st.caption(f"{n_worse} KPI value(s) got worse than the reference (marked `worse`; "
               "lower is better for imports, losses, costs, violations and unserved "
               "energy, higher for PV energy and self-consumption).")


def _mark(value: object) -> str:
    return "color: #c1121f; font-weight: bold" if value == "worse" else (
        "color: #2a9d8f" if value == "better" else "")


st.dataframe(table.style.map(_mark, subset=worse_columns).format(
    lambda v: v if isinstance(v, str) else "-" if v is None or (
        isinstance(v, float) and v != v) else charts.format_kpi(v)),
    key="compare_kpi_table", width="stretch")

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
same_start = len({m.sim_start[:19] for m in metas}) == 1
elapsed = st.toggle("Align by time since each run's start", value=not same_start,
                    key="compare_elapsed",
                    help="Off: every run at its own clock time (runs of the same dates "
                    "overlay hour by hour). On: each run from its own start.")
starts = {m.run_id: m.sim_start for m in metas}
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
        x = (line.index / 86400.0) if elapsed else charts.times(line.index,
                                                                  starts[run_id])
        fig.add_trace(go.Scatter(x=x, y=line.to_numpy(), mode="lines", name=run_id))
if fig.data:
    fig.update_layout(height=380, yaxis_title=quantity,
                      xaxis_title="Time since the run's start [d]" if elapsed else
                      "Clock time",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    st.plotly_chart(fig, key="chart_compare_overlay", width="stretch")
else:
    st.info(f"None of the chosen runs recorded {quantity}.")

st.subheader("Solvers: quality against latency against cost")
calls = []
for meta in metas:
    part = common.solver_calls_of(meta)
    if not part.empty:
        calls.append(part.assign(run=meta.run_id))
if not calls:
    st.info("None of the chosen runs made solver calls.")
else:
    merged = pd.concat(calls, ignore_index=True)
    st.dataframe(charts.solver_summary(merged), hide_index=True, key="compare_solver_table")
    fig = charts.solver_tradeoff(merged)
    if fig is None:
        st.info("The calls carry no quality, latency or cost to compare.")
    else:
        st.plotly_chart(fig, key="chart_compare_solvers", width="stretch")
