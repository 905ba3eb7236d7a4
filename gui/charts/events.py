"""Events: the timeline (instants as markers, outages and islands as bars, clock times)
and the periods (islands, outages, faults) other charts shade.

Public names: :func:`event_intervals`, :func:`shade_intervals`, :func:`event_colourings`,
:func:`events_timeline`, :data:`INTERVAL_STYLES`, :data:`EVENT_COLOURINGS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import apply_layout, times

INTERVAL_STYLES = {"island": ("rgba(42,157,143,0.15)", "island"),
                   "outage": ("rgba(193,18,31,0.15)", "outage"),
                   "fault": ("rgba(244,162,97,0.18)", "fault")}
"""Fill colour and legend word of the shaded periods (islands, outages, other faults)."""


def event_intervals(events: pd.DataFrame) -> pd.DataFrame:
    """Periods events open and close: islands, outages, other faults.

    Pairs ``<x>_start``/``<x>_end`` (and ``islanded``/``reconnected``,
    ``link_down``/``link_up``) of the same entity; a period still open at the end of the
    run ends at the last event time (or stays open, ``end_s`` NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``start_s``, ``end_s``, ``kind`` (``island``, ``outage``, ``fault``),
        ``label`` (e.g. ``line_outage line/1``).
    """
    columns = ["start_s", "end_s", "kind", "label"]
    if events.empty or "kind" not in events:
        return pd.DataFrame(columns=columns)
    pairs = {"islanded": ("island", "reconnected"), "link_down": ("link_down", "link_up")}
    open_at: dict[tuple[str, str], float] = {}
    rows = []
    for time_s, kind, entity in events[["time_s", "kind", "entity"]].itertuples(index=False):
        kind, entity = str(kind), str(entity)
        if kind in pairs:
            open_at[(pairs[kind][0], entity)] = float(time_s)
            continue
        closing = next((k for k, (n, end) in pairs.items() if end == kind), None)
        if closing is not None:
            name = pairs[closing][0]
        elif kind.endswith("_start"):
            open_at[(kind.removesuffix("_start"), entity)] = float(time_s)
            continue
        elif kind.endswith("_end"):
            name = kind.removesuffix("_end")
        else:
            continue
        start = open_at.pop((name, entity), None)
        if start is not None:
            rows.append((start, float(time_s), name, entity))
    for (name, entity), start in open_at.items():
        rows.append((start, float("nan"), name, entity))
    out = pd.DataFrame(rows, columns=["start_s", "end_s", "name", "entity"])
    if out.empty:
        return pd.DataFrame(columns=columns)
    out["kind"] = ["island" if n == "island" else "outage" if "outage" in n or
                   n == "link_down" else "fault" for n in out["name"]]
    out["label"] = out["name"] + " " + out["entity"]
    return out[columns].sort_values("start_s", ignore_index=True)


def shade_intervals(fig: go.Figure, intervals: pd.DataFrame, sim_start: str,
                    t_end_s: float) -> None:
    """Shade islands, outages and faults on a time chart (one legend entry per kind)."""
    if intervals is None or intervals.empty:
        return
    for kind, part in intervals.groupby("kind"):
        colour, word = INTERVAL_STYLES.get(str(kind), INTERVAL_STYLES["fault"])
        for start, end, _label in part[["start_s", "end_s", "label"]].itertuples(index=False):
            end = t_end_s if not np.isfinite(end) else end
            x0, x1 = times([start, max(end, start + 60)], sim_start)
            fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, line_width=0, layer="below")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{word} period",
                                 marker={"symbol": "square", "size": 12, "color": colour},
                                 hoverinfo="skip"))


EVENT_COLOURINGS = ("outcome", "route", "status", "pattern", "kind")
"""What the events timeline can colour by: ``data`` fields of the events, or their kind."""


def event_colourings(events: pd.DataFrame) -> list[str]:
    """The colourings of :data:`EVENT_COLOURINGS` this run's events carry."""
    found = []
    for name in EVENT_COLOURINGS:
        columns = [c for c in (f"data.{name}", f"data.x_{name}", name) if c in events]
        if any(events[c].notna().any() for c in columns):
            found.append(name)
    return found


def events_timeline(events: pd.DataFrame, sim_start: str, colour_by: str | None = None,
                    max_points: int = 5000, intervals: pd.DataFrame | None = None,
                    t_end_s: float | None = None) -> go.Figure | None:
    """Events on a clock-time line, one row per category, coloured by a ``data`` field
    (outcome, route...) or by kind; events without that field show as ``-``. Periods
    (:func:`event_intervals`: outages, islands, faults) are drawn as bars on rows of
    their own."""
    if events.empty and (intervals is None or intervals.empty):
        return None
    if events.empty:
        fig = go.Figure()
        _interval_bars(fig, intervals, sim_start, t_end_s)
        fig = apply_layout(fig, "Events", "", height=320)
        fig.update_layout(hovermode="closest")
        return fig
    frame = events
    if len(frame) > max_points:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_points).astype(int)]
    colour_by = colour_by or next(iter(event_colourings(frame)), "kind")
    candidates = [c for c in (f"data.{colour_by}", f"data.x_{colour_by}", colour_by)
                  if c in frame]
    if candidates:
        colour = frame[candidates[0]].copy()
        for column in candidates[1:]:
            colour = colour.fillna(frame[column])
    else:
        colour = frame["kind"]
    colour_column = f"data.{colour_by}"
    frame = frame.assign(**{colour_column: colour})
    fig = go.Figure()
    for value, part in frame.groupby(frame[colour_column].fillna("-").astype(str), sort=True):
        fig.add_trace(go.Scatter(
            x=times(part["time_s"], sim_start), y=part["category"], mode="markers",
            name=str(value), text=part["message"], hovertemplate="%{x}<br>%{text}<extra></extra>",
            marker={"size": 8, "symbol": "line-ns-open", "line": {"width": 2}}))
    n_bars = _interval_bars(fig, intervals, sim_start, t_end_s)
    title = f"Events (colour: {colour_column.removeprefix('data.')})"
    if len(frame) < len(events):
        title += f"; {len(frame)} of {len(events)} shown"
    fig = apply_layout(fig, title, "", height=max(320, 140 + 22 * (
        frame["category"].nunique() + n_bars)))
    fig.update_layout(hovermode="closest")
    return fig


def _interval_bars(fig: go.Figure, intervals: pd.DataFrame | None, sim_start: str,
                   t_end_s: float | None) -> int:
    """Draw periods as horizontal bars, one row per period label; returns the rows."""
    if intervals is None or intervals.empty:
        return 0
    rows = 0
    for kind, part in intervals.groupby("kind", sort=True):
        colour = INTERVAL_STYLES.get(str(kind), INTERVAL_STYLES["fault"])[0].replace(
            "0.15", "0.8").replace("0.18", "0.8")
        ends = part["end_s"].fillna(t_end_s if t_end_s is not None else part["start_s"])
        start = times(part["start_s"], sim_start)
        stop = times(ends, sim_start)
        duration_ms = (stop - start).total_seconds() * 1000.0
        labels = [f"{k}" for k in part["label"]]
        fig.add_trace(go.Bar(
            base=start, x=duration_ms, y=labels, orientation="h", name=f"{kind} (period)",
            marker={"color": colour},
            customdata=np.column_stack([start.strftime("%H:%M"), stop.strftime("%H:%M")]),
            hovertemplate="%{y}<br>%{customdata[0]} to %{customdata[1]}<extra></extra>"))
        rows += len(set(labels))
    fig.update_xaxes(type="date")
    return rows
