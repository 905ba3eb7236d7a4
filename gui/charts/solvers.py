"""Solver calls: one row per call, the latency breakdown per way of serving a call, the
summary table, quality against latency against cost, and the QAOA p=1 landscape.

Public names: :func:`solver_calls`, :func:`call_group_column`, :func:`numeric_columns`,
:func:`latency_breakdown`, :func:`solver_summary`, :func:`solver_tradeoff`,
:func:`qaoa_landscape_figure`, :data:`LATENCY_PARTS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import apply_layout


def numeric_columns(frame: pd.DataFrame, words: Iterable[str]) -> list[str]:
    """Numeric ``data.*`` columns whose name contains one of the words."""
    words = tuple(words)
    return [c for c in frame.columns if c.startswith("data.") and any(w in c for w in words)
            and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any()]


LATENCY_PARTS = ("connect", "serialisation", "network", "queue", "execution", "return",
                 "lost")
"""Parts of a solver call's latency, in the order a request meets them."""


def solver_calls(events: pd.DataFrame) -> pd.DataFrame:
    """One row per solver call: the ``solver_call`` events when the run has them (they
    carry solver, pattern, latency parts, cost and approximation ratio), else the
    ``call`` events."""
    if events.empty:
        return events
    calls = events[events["category"] == "call"]
    detailed = calls[calls["kind"] == "solver_call"]
    if not detailed.empty:
        return detailed
    return calls[calls["kind"] == "call"] if (calls["kind"] == "call").any() else calls


def call_group_column(calls: pd.DataFrame) -> str:
    """The column that names how a call was served (``qaoa@to_qpu``, ``milp@local``)."""
    for column in ("data.x_used_step", "data.used_step", "data.solver_used", "data.solver",
                   "data.x_route", "data.route", "data.pattern"):
        if column in calls and calls[column].notna().any():
            return column
    return "kind"


def _column(calls: pd.DataFrame, *names: str) -> str | None:
    for name in names:
        for column in (f"data.{name}", f"data.x_{name}"):
            if column in calls and pd.api.types.is_numeric_dtype(calls[column]) \
                    and calls[column].notna().any():
                return column
    return None


def latency_breakdown(calls: pd.DataFrame) -> go.Figure | None:
    """Mean latency parts (connect, serialisation, network, queue, execution, return,
    time lost to failed attempts) per way of serving a call, stacked. [s]"""
    parts = [(part, _column(calls, f"{part}_s")) for part in LATENCY_PARTS]
    parts = [(part, column) for part, column in parts if column is not None]
    if not parts:
        return None
    by = call_group_column(calls)
    groups = calls[by].fillna("-").astype(str)
    fig = go.Figure()
    for part, column in parts:
        means = calls[column].groupby(groups).mean()
        fig.add_trace(go.Bar(x=means.index, y=means.to_numpy(), name=part))
    fig.update_layout(barmode="stack")
    fig = apply_layout(fig, f"Mean latency per call by {by.removeprefix('data.')}", "Latency [s]")
    fig.update_layout(hovermode="closest")
    return fig


def solver_summary(calls: pd.DataFrame) -> pd.DataFrame:
    """Per way of serving a call (and run, when several): calls, mean latency, mean
    cost per query, mean approximation ratio, fallbacks."""
    if calls.empty:
        return pd.DataFrame()
    by = [call_group_column(calls)] + (["run"] if "run" in calls else [])
    table = calls.groupby(by, dropna=False).size().rename("calls").to_frame()
    for label, names in (("mean latency [s]", ("latency_s",)),
                         ("mean cost per query [EUR]", ("cost_eur",)),
                         ("mean approximation ratio", ("approximation_ratio",)),
                         ("mean solve wall time [s]", ("solve_wall_s",))):
        column = _column(calls, *names)
        if column is not None:
            table[label] = calls.groupby(by, dropna=False)[column].mean()
    fell = next((c for c in ("data.x_fell_back", "data.fell_back") if c in calls), None)
    if fell is not None:
        table["fell back"] = calls.groupby(by, dropna=False)[fell].apply(
            lambda s: sum(1 for v in s if v is True or v == 1))
    table = table.reset_index()
    table.columns = [str(c).removeprefix("data.") for c in table.columns]
    return table


def solver_tradeoff(calls: pd.DataFrame) -> go.Figure | None:
    """Quality against latency against cost, one point per way of serving calls (and run).

    y is the mean approximation ratio when the run recorded one (a reference solver
    was configured), else the mean cost per query; marker size is the cost per query.
    """
    summary = solver_summary(calls)
    if summary.empty:
        return None
    latency = "mean latency [s]"
    if latency not in summary or not (summary[latency] > 0).any():
        latency = "mean solve wall time [s]"  # direct calls: no modelled latency
    if latency not in summary:
        return None
    quality = "mean approximation ratio"
    cost = "mean cost per query [EUR]"
    has_quality = quality in summary and summary[quality].notna().any()
    y = quality if has_quality else (cost if cost in summary else None)
    if y is None:
        return None
    keys = [c for c in summary.columns if c not in {"calls", "fell back"}
            and not c.startswith("mean ")]
    way = keys[0] if keys else None
    labels = summary[way].astype(str) if way else pd.Series([""] * len(summary))
    hover = summary[keys].astype(str).agg(" / ".join, axis=1) if keys else labels
    if cost in summary:  # a run without modelled comms has no cost: NaN -> smallest
        costs = pd.to_numeric(summary[cost], errors="coerce").fillna(0.0).clip(lower=0)
        size = (12 + 30 * costs / max(float(costs.max()), 1e-12)).tolist()
    else:
        size = 14
    summary = summary.assign(**{latency: pd.to_numeric(summary[latency], errors="coerce"),
                                y: pd.to_numeric(summary[y], errors="coerce")})
    fig = go.Figure(go.Scatter(
        x=summary[latency], y=summary[y], mode="markers+text", text=labels,
        textposition="middle right", marker={"size": size},
        customdata=np.column_stack([hover.to_numpy(), summary[cost].to_numpy()
                                    if cost in summary else np.zeros(len(summary))]),
        hovertemplate="%{customdata[0]}<br>latency %{x:.3g} s<br>" + y + " %{y:.4g}"
        + ("<br>cost %{customdata[1]:.3g} EUR" if cost in summary else "") + "<extra></extra>"))
    fig.update_xaxes(title=latency.replace("mean", "mean per call"),
                     type="log" if (summary[latency] > 0).all()
                     and summary[latency].max() > 20 * summary[latency].min() else "linear")
    title = ("Solver quality vs latency" + (" (size: cost per query)" if cost in summary
                                            else "") if has_quality else
             "Cost per query vs latency (no approximation ratio recorded: the scenario "
             "set no reference solver)")
    fig = apply_layout(fig, title, y)
    fig.update_layout(hovermode="closest")
    return fig


def qaoa_landscape_figure(landscape: Any) -> go.Figure:
    """Heat map of a QAOA p=1 landscape (:class:`twin.landscape.Landscape`): expected
    objective over (gamma, beta)."""
    fig = go.Figure(go.Heatmap(z=np.asarray(landscape.values), x=list(landscape.gammas_rad),
                               y=list(landscape.betas_rad), colorscale="Viridis",
                               colorbar={"title": "<f>"},
                               hovertemplate="gamma %{x:.3f} rad<br>beta %{y:.3f} rad<br>"
                               "<f> %{z:.4g}<extra></extra>"))
    fig.update_layout(title="QAOA p=1 landscape (expected objective)", height=420,
                      xaxis_title="gamma [rad]", yaxis_title="beta [rad]",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
