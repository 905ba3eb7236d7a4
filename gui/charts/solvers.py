"""Solver calls: one row per call, the latency breakdown per way of serving a call, the
summary table, quality against latency against cost, and the QAOA p=1 landscape.

Public names: :func:`solver_calls`, :func:`call_group_column`, :func:`numeric_columns`,
:func:`add_wall_times`, :func:`is_direct`, :func:`call_quality`, :func:`solver_stats`,
:func:`latency_breakdown`, :func:`solver_summary`, :func:`log_ticks`,
:func:`solver_tradeoff`, :func:`qaoa_landscape_figure`, :data:`LATENCY_PARTS`,
:data:`DIRECT_CALL`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import apply_layout
from twin.tables import format_number


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


DIRECT_CALL = "direct call, no modelled latency"
"""How the app names a call made in-process (no modelled network, no simulated time)."""

_COMMS_COLUMNS = ("data.x_route", "data.route", "data.x_pattern", "data.pattern")


def add_wall_times(calls: pd.DataFrame, wall_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The calls with the measured ``data.solve_wall_s`` of each (from the run folder's
    ``wall_clock.json`` ``calls``, joined on ``call_id``; NaN where it has none).

    Wall times measure the machine that ran the run, not the twin: they are kept out of
    ``events.parquet`` so that runs repeat bit for bit. [s]
    """
    if calls.empty or "data.call_id" not in calls:
        return calls
    wall = {str(r.get("call_id")): r.get("solve_wall_s") for r in wall_rows
            if isinstance(r, dict)}
    values = pd.to_numeric(calls["data.call_id"].astype(str).map(wall), errors="coerce")
    return calls.assign(**{"data.solve_wall_s": values.astype(float)})


def is_direct(calls: pd.DataFrame) -> pd.Series:
    """Per call: made in-process (no route, no pattern of the modelled comms)."""
    present = [c for c in _COMMS_COLUMNS if c in calls]
    if not present:
        return pd.Series(True, index=calls.index)
    return calls[present].isna().all(axis=1)


def call_quality(calls: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per call: the approximation ratio against the reference solver and what it rests
    on. A call without a ratio whose status is ``optimal`` was proved optimal by its
    solver (MILP): its ratio is 1 by definition (within the solver's MIP gap).

    Returns ``(ratio, basis)``; ``basis`` is ``"vs <reference>"``, ``"proved optimal"``
    or ``""`` (no quality recorded)."""
    ratio = pd.to_numeric(calls["data.approximation_ratio"], errors="coerce") \
        if "data.approximation_ratio" in calls else pd.Series(np.nan, index=calls.index)
    ratio = ratio.astype(float)
    reference = calls["data.reference_solver"].fillna("reference").astype(str) \
        if "data.reference_solver" in calls else pd.Series("reference", index=calls.index)
    basis = pd.Series("", index=calls.index, dtype=object)
    basis[ratio.notna()] = "vs " + reference[ratio.notna()]
    if "data.status" in calls:
        proved = ratio.isna() & (calls["data.status"].astype(str) == "optimal")
        ratio[proved] = 1.0
        basis[proved] = "proved optimal"
    return ratio, basis


def _group_keys(calls: pd.DataFrame) -> list[str]:
    keys = [call_group_column(calls)]
    if "data.task" in calls and calls["data.task"].notna().any():
        keys.append("data.task")
    return keys + (["run"] if "run" in calls else [])


def solver_stats(calls: pd.DataFrame) -> pd.DataFrame:
    """Per way of serving a call, task (and run, when several), as numbers: ``calls``,
    ``direct`` (every call in-process), ``latency_s`` (mean modelled latency; NaN for
    direct calls), ``wall_s`` (mean measured solve wall time), ``cost_eur`` (mean per
    query), ``ratio`` (mean approximation ratio, see :func:`call_quality`), ``basis``,
    ``fell_back`` (calls served by a fallback)."""
    if calls.empty:
        return pd.DataFrame()
    keys = _group_keys(calls)
    ratio, basis = call_quality(calls)
    frame = calls[keys].fillna("-").astype(str).assign(
        direct=is_direct(calls).to_numpy(), ratio=ratio.to_numpy(), basis=basis.to_numpy())
    for name, columns in (("latency_s", ("latency_s",)), ("wall_s", ("solve_wall_s",)),
                          ("cost_eur", ("cost_eur",))):
        column = _column(calls, *columns)
        frame[name] = calls[column].astype(float).to_numpy() if column else np.nan
    fell = next((c for c in ("data.x_fell_back", "data.fell_back") if c in calls), None)
    frame["fell_back"] = calls[fell].map(lambda v: v is True or v == 1).to_numpy() \
        if fell else False
    grouped = frame.groupby(keys, sort=True)
    stats = grouped.agg(calls=("direct", "size"), direct=("direct", "all"),
                        latency_s=("latency_s", "mean"), wall_s=("wall_s", "mean"),
                        cost_eur=("cost_eur", "mean"), ratio=("ratio", "mean"),
                        fell_back=("fell_back", "sum"))
    stats["basis"] = grouped["basis"].agg(
        lambda b: " / ".join(sorted({x for x in b if x})))
    stats.loc[stats["direct"], "latency_s"] = np.nan
    return stats.reset_index().rename(columns={k: k.removeprefix("data.") for k in keys})


def _seconds(value: float) -> str:
    """``0.0132`` -> ``13.2 ms``; ``44.05`` -> ``44.1 s``."""
    if not np.isfinite(value):
        return "-"
    if value == 0:
        return "0 s"
    if abs(value) < 1:
        return f"{format_number(float(f'{value * 1000:.3g}'))} ms"
    return f"{format_number(float(f'{value:.3g}'))} s"


def solver_summary(calls: pd.DataFrame) -> pd.DataFrame:
    """The table a planner reads: per way of serving a call, task (and run): calls,
    mean modelled latency (or :data:`DIRECT_CALL`), mean measured solve wall time, mean
    cost per query, mean approximation ratio and what it rests on, fallbacks."""
    stats = solver_stats(calls)
    if stats.empty:
        return stats
    keys = [c for c in stats.columns if c not in {"calls", "direct", "latency_s", "wall_s",
                                                  "cost_eur", "ratio", "basis", "fell_back"}]
    table = stats[keys].rename(columns={keys[0]: keys[0].removeprefix("x_")}).copy()
    table["calls"] = stats["calls"].astype(int)
    table["mean latency"] = [DIRECT_CALL if d else _seconds(v)
                             for d, v in zip(stats["direct"], stats["latency_s"], strict=True)]
    if stats["wall_s"].notna().any():
        table["mean solve wall time (this machine)"] = stats["wall_s"].map(_seconds)
    if stats["cost_eur"].notna().any():
        table["mean cost per query [EUR]"] = stats["cost_eur"].map(
            lambda v: format_number(float(f"{v:.4g}")) if np.isfinite(v) else "-")
    table["mean approximation ratio"] = [
        "not recorded" if not np.isfinite(r) else
        f"{format_number(float(f'{r:.4g}'))} ({b})" if b else format_number(float(f"{r:.4g}"))
        for r, b in zip(stats["ratio"], stats["basis"], strict=True)]
    if stats["fell_back"].any():
        table["fell back"] = stats["fell_back"].astype(int)
    return table


def latency_breakdown(calls: pd.DataFrame) -> go.Figure | None:
    """Mean latency parts (connect, serialisation, network, queue, execution, return,
    time lost to failed attempts) per way of serving a call over the modelled comms,
    stacked; None when every call is direct (no modelled latency). [s]"""
    calls = calls[~is_direct(calls)] if not calls.empty else calls
    parts = [(part, _column(calls, f"{part}_s")) for part in LATENCY_PARTS]
    parts = [(part, column) for part, column in parts if column is not None]
    if calls.empty or not parts:
        return None
    by = call_group_column(calls)
    groups = calls[by].fillna("-").astype(str)
    if "data.task" in calls and calls["data.task"].nunique() > 1:
        groups = groups + " · " + calls["data.task"].fillna("-").astype(str)
    fig = go.Figure()
    for part, column in parts:
        means = calls[column].groupby(groups).mean()
        fig.add_trace(go.Bar(x=means.index, y=means.to_numpy(), name=part,
                             hovertemplate=part + " %{y:.3g} s<extra>%{x}</extra>"))
    fig.update_layout(barmode="stack")
    fig = apply_layout(fig, f"Mean modelled latency per call by {by.removeprefix('data.x_')}"
                       .replace("data.", ""), "Latency [s]")
    fig.update_layout(hovermode="closest")
    return fig


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick values and labels of a log time axis from ``low`` to ``high``: 1-2-5 per
    decade over up to three decades, powers of ten beyond. [s]

    Examples
    --------
    >>> log_ticks(0.3, 40)
    ([0.5, 1.0, 2.0, 5.0, 10.0, 20.0], ['500 ms', '1 s', '2 s', '5 s', '10 s', '20 s'])
    """
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    values = [m * 10.0 ** e for e in range(first, last + 1) for m in steps]
    values = [float(f"{v:.3g}") for v in values if low <= v <= high]
    if len(values) < 2:
        values = [float(f"{low:.2g}"), float(f"{high:.2g}")]
    return values, [_seconds(v) for v in values]


def solver_tradeoff(calls: pd.DataFrame) -> go.Figure | None:
    """Quality against time to answer against cost, one point per way of serving a call
    and task (and run).

    x is the mean modelled latency of calls over the comms (circles) and, for direct
    calls, which have none, the mean solve wall time measured on the machine that ran
    the run (diamonds). y is the mean approximation ratio when any call was measured
    against a reference solver (MILP's proved optima then count as 1, see
    :func:`call_quality`), else the mean cost per query;
    marker size is the cost per query. Groups with no x or y are named in a note
    instead of vanishing.
    """
    stats = solver_stats(calls)
    if stats.empty:
        return None
    stats = stats.assign(x=stats["latency_s"].where(~stats["direct"], stats["wall_s"]))
    # quality needs a measured ratio (a reference solver); proved optima alone would
    # leave every other solver without a y
    has_quality = stats["basis"].str.contains("vs ").any()
    y = "ratio" if has_quality else "cost_eur"
    if not stats[y].notna().any():
        return None
    keys = [c for c in stats.columns if c not in {"calls", "direct", "latency_s", "wall_s",
                                                  "cost_eur", "ratio", "basis", "fell_back",
                                                  "x"}]
    labels = stats[keys[0]].astype(str)
    if "task" in stats and stats["task"].nunique() > 1:
        labels = labels + " · " + stats["task"].astype(str)
    shown = stats["x"].notna() & (stats["x"] > 0) & stats[y].notna()
    costs = stats["cost_eur"].fillna(0.0).clip(lower=0)
    size = 12 + 30 * costs / max(float(costs.max()), 1e-12) if (costs > 0).any() \
        else pd.Series(14.0, index=stats.index)
    fig = go.Figure()
    for direct, symbol, what in ((False, "circle", "modelled latency"),
                                 (True, "diamond", "direct call: solve wall time")):
        sel = shown & (stats["direct"] == direct)
        if not sel.any():
            continue
        part = stats[sel]
        hover = [f"{lab} ({'/'.join(str(part.loc[i, k]) for k in keys[1:])})"
                 f"<br>{what} {_seconds(part.loc[i, 'x'])}<br>"
                 + (f"ratio {part.loc[i, 'ratio']:.4g} {part.loc[i, 'basis']}"
                    if has_quality else "")
                 + (f"<br>cost {part.loc[i, 'cost_eur']:.3g} EUR/query"
                    if np.isfinite(part.loc[i, "cost_eur"]) else "")
                 + f"<br>{part.loc[i, 'calls']} calls"
                 for i, lab in zip(part.index, labels[sel], strict=True)]
        fig.add_trace(go.Scatter(
            x=part["x"], y=part[y], mode="markers+text", text=labels[sel],
            textposition="top center", name=what, hovertext=hover, hoverinfo="text",
            marker={"size": size[sel].tolist(), "symbol": symbol,
                    "line": {"width": 1, "color": "black"}}))
    xs = stats.loc[shown, "x"]
    if not xs.empty and xs.max() > 20 * xs.min():
        values, text = log_ticks(float(xs.min()) / 1.5, float(xs.max()) * 1.5)
        fig.update_xaxes(type="log", tickvals=values, ticktext=text)
    else:
        fig.update_xaxes(ticksuffix=" s")
    kinds = set(stats.loc[shown, "direct"])
    fig.update_xaxes(title="mean time to answer per call: " + (
        "modelled latency (circles) or measured solve wall time of direct calls (diamonds)"
        if kinds == {True, False} else "measured solve wall time (direct calls)"
        if kinds == {True} else "modelled latency"))
    missing = labels[~shown].tolist()
    if missing:
        fig.add_annotation(text="not placed (no latency or wall time, or no "
                           f"{'ratio' if has_quality else 'cost'}): " + ", ".join(missing),
                           xref="paper", yref="paper", x=0, y=-0.28, showarrow=False,
                           xanchor="left", font={"size": 11})
    title = ("Solver quality vs time to answer" + (" (size: cost per query)"
                                                   if (costs > 0).any() else "")
             if has_quality else
             "Cost per query vs time to answer (no approximation ratio recorded: the "
             "scenario set no reference solver)")
    fig = apply_layout(fig, title, "mean approximation ratio" if has_quality
                       else "mean cost per query [EUR]")
    fig.update_layout(hovermode="closest", margin={"l": 10, "r": 10, "t": 50, "b": 90})
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
