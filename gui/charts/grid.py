"""Grid charts: bus voltage heat map (diverging around 1.0 pu, band marked), voltage
profile along the feeder, line and transformer loading against the limit.

Public names: :func:`voltage_heatmap`, :func:`line_loading`, :func:`voltage_profile`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import apply_layout, family, times


def voltage_heatmap(agg: pd.DataFrame, sim_start: str, band_pu: tuple[float, float],
                    statistic: str = "mean") -> go.Figure | None:
    """Bus-by-time heat map of voltage magnitude (bucket mean, min or max). [pu]"""
    rows = agg[(agg["quantity"] == "vm_pu") & (family(agg) == "bus")]
    if rows.empty:
        return None
    buses = {e: int(e.partition("/")[2]) for e in rows["entity"].unique()}
    rows = rows.assign(bus=rows["entity"].map(buses))
    grid = rows.pivot_table(index="bus", columns="t_s", values=statistic, aggfunc="mean")
    grid = grid.sort_index()
    low, high = band_pu
    values = grid.to_numpy(dtype=float)
    observed = float(np.nanmax(np.abs(values - 1.0))) if np.isfinite(values).any() else 0.0
    span = max(abs(1 - low), abs(high - 1), observed) * 1.05
    ticks = sorted({low, 1.0, high})
    fig = go.Figure(go.Heatmap(
        z=values, x=times(grid.columns, sim_start), y=[f"bus {b}" for b in grid.index],
        colorscale="RdBu_r", zmid=1.0, zmin=1 - span, zmax=1 + span,
        colorbar={"title": "vm [pu]", "tickvals": ticks,
                  "ticktext": [f"{t:.3f}" + (" (band)" if t in (low, high) else "")
                               for t in ticks]},
        hovertemplate="%{y}<br>%{x}<br>%{z:.4f} pu<extra></extra>"))
    fig = apply_layout(fig, f"Bus voltage ({statistic} per time bucket; white = 1.0 pu, band "
                  f"{low:g}-{high:g} pu marked on the scale; dark grey = not supplied)", "",
                  height=max(300, min(900, 18 * len(grid) + 120)))
    fig.update_layout(plot_bgcolor="#3a3a3a")  # NaN cells (no voltage) show the background
    return fig


def line_loading(agg: pd.DataFrame, sim_start: str, limit_percent: float,
                 top_n: int = 5) -> go.Figure | None:
    """Highest loading over all lines and trafos, and the ``top_n`` most loaded ones. [%]"""
    rows = agg[(agg["quantity"] == "loading_percent") & family(agg).isin(["line", "trafo"])]
    if rows.empty:
        return None
    fig = go.Figure()
    peak = rows.groupby("t_s", as_index=False)["max"].max()
    fig.add_trace(go.Scatter(x=times(peak["t_s"], sim_start), y=peak["max"], mode="lines",
                             name="highest of all", line={"color": "black", "width": 2}))
    top = rows.groupby("entity")["max"].max().nlargest(top_n).index
    for entity in top:
        part = rows[rows["entity"] == entity]
        fig.add_trace(go.Scatter(x=times(part["t_s"], sim_start), y=part["mean"],
                                 mode="lines", name=entity))
    fig.add_hline(y=limit_percent, line_dash="dot", line_color="red",
                  annotation_text="limit")
    return apply_layout(fig, "Line and transformer loading", "Loading [%]")


def voltage_profile(agg: pd.DataFrame, layout: Any, band_pu: tuple[float, float]
                    ) -> go.Figure | None:
    """Voltage along the feeder: each bus's lowest, mean and highest voltage against its
    distance (in branches) from the supply, with the allowed band. [pu]"""
    rows = agg[(agg["quantity"] == "vm_pu") & (family(agg) == "bus")]
    if rows.empty or layout is None:
        return None
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(int(b) for b in layout.buses["bus"])
    graph.add_edges_from(zip(layout.branches["from_bus"].astype(int),
                             layout.branches["to_bus"].astype(int), strict=True))
    per_bus = rows.assign(bus=rows["entity"].str.partition("/")[2].astype(int)).groupby(
        "bus").agg(low=("min", "min"), mean=("mean", "mean"), high=("max", "max"))
    if per_bus.empty:
        return None
    source = int(per_bus["mean"].idxmax())  # the supply point has the highest mean voltage
    if "vn_kv" in layout.buses and layout.buses["vn_kv"].notna().any():
        top = layout.buses.loc[layout.buses["vn_kv"].idxmax(), "bus"]
        source = int(top)
    hops = nx.single_source_shortest_path_length(graph, source) if source in graph else {}
    per_bus["hops"] = [hops.get(int(b), np.nan) for b in per_bus.index]
    per_bus = per_bus.dropna(subset=["hops"]).sort_values(["hops", "mean"])
    if per_bus.empty:
        return None
    fig = go.Figure()
    labels = [f"bus {b}" for b in per_bus.index]
    fig.add_trace(go.Scatter(x=per_bus["hops"], y=per_bus["high"], mode="markers",
                             name="highest", marker={"symbol": "triangle-up",
                                                     "color": "#c1121f"}, text=labels,
                             hovertemplate="%{text}: %{y:.4f} pu<extra>highest</extra>"))
    fig.add_trace(go.Scatter(x=per_bus["hops"], y=per_bus["mean"], mode="markers",
                             name="mean", marker={"color": "black"}, text=labels,
                             hovertemplate="%{text}: %{y:.4f} pu<extra>mean</extra>"))
    fig.add_trace(go.Scatter(x=per_bus["hops"], y=per_bus["low"], mode="markers",
                             name="lowest", marker={"symbol": "triangle-down",
                                                    "color": "#1f3b73"}, text=labels,
                             hovertemplate="%{text}: %{y:.4f} pu<extra>lowest</extra>"))
    low, high = band_pu
    fig.add_hrect(y0=low, y1=high, fillcolor="green", opacity=0.07, line_width=0,
                  annotation_text=f"allowed band {low:g}-{high:g} pu",
                  annotation_position="top left")
    fig.update_xaxes(title="Distance from the supply [branches]", dtick=1)
    fig = apply_layout(fig, "Voltage profile along the feeder (lowest, mean, highest per bus)",
                  "Voltage [pu]")
    fig.update_layout(hovermode="closest")
    return fig
