"""Plotly figures for the Results, Compare and Sweeps pages, from tidy frames.

Every builder takes already aggregated data (see :mod:`gui.series`) and returns a
figure, or None when the run did not record the quantity, so pages can say so instead
of drawing an empty chart.

Public names: :func:`kpi_label`, :func:`format_kpi`, :func:`asset_kinds`,
:func:`times`, :func:`power_balance`, :func:`select_series`, :func:`series_figure`,
:func:`comfort_band_c`, :func:`voltage_heatmap`, :func:`line_loading`,
:func:`network_map`, :func:`events_timeline`, :func:`latency_breakdown`,
:func:`solver_tradeoff`, :func:`kpi_delta_table`, :func:`flatten`,
:func:`varying_parameters`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

_UNIT_SUFFIXES = {
    "_mwh": "MWh", "_kwh": "kWh", "_mw": "MW", "_kw": "kW", "_percent": "%", "_pu": "pu",
    "_frac": "fraction", "_s": "s", "_ms": "ms", "_eur": "EUR", "_c": "°C", "_h": "h",
    "_count": "", "_steps": "steps", "_kg": "kg", "_t": "t",
}
_KIND_LABELS = {"pv": "PV", "battery": "Battery", "ev": "EV", "ev_fleet": "EV",
                "building": "Buildings", "hvac": "HVAC", "generator": "Generator",
                "load": "Asset loads", "chp": "Generator", "diesel": "Generator"}


_ACRONYMS = {"pv": "PV", "ev": "EV", "evs": "EVs", "soc": "SoC", "hvac": "HVAC",
             "qaoa": "QAOA", "milp": "MILP", "pcc": "PCC", "kpi": "KPI", "saidi": "SAIDI",
             "saifi": "SAIFI", "caidi": "CAIDI", "ens": "ENS", "asai": "ASAI",
             "p50": "p50", "p95": "p95", "p99": "p99"}


def _words(snake: str) -> str:
    words = [w for w in snake.split("_") if w]
    out = [_ACRONYMS.get(w, w) for w in words]
    if out and out[0] == words[0]:
        out[0] = out[0].capitalize()
    return " ".join(out)


def kpi_label(name: str) -> str:
    """A readable label with its unit: ``energy_import_mwh`` -> ``Energy import [MWh]``.

    Examples
    --------
    >>> kpi_label("pv_energy_mwh")
    'PV energy [MWh]'
    """
    if name.startswith("n_"):
        return "Number of " + _words(name[2:]).lower()
    for suffix, unit in sorted(_UNIT_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix) and len(name) > len(suffix):
            words = _words(name[: -len(suffix)])
            return f"{words} [{unit}]" if unit else words
    return _words(name)


def _quantity_words(quantity: str) -> str:
    """``generation_p_mw`` -> ``generation``; ``curtailed_p_mw`` -> ``curtailed``."""
    core = quantity.removesuffix("_mw").removesuffix("_p").removeprefix("p_")
    if core in {"p", ""}:
        return "power"
    return " ".join(_ACRONYMS.get(w, w) for w in core.split("_"))


def format_kpi(value: Any) -> str:
    """A KPI value for a card: 3 significant digits, thousands separated; ``n/a`` for None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3g}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def asset_kinds(scenario: dict[str, Any]) -> dict[str, str]:
    """Asset name -> kind, from a resolved scenario (manifest ``scenario``)."""
    return {str(a.get("name")): str(a.get("kind")) for a in scenario.get("assets", ())
            if isinstance(a, dict)}


def times(t_s: Iterable[float], sim_start: str) -> pd.DatetimeIndex:
    """Calendar times of simulated seconds."""
    start = pd.Timestamp(sim_start)
    if start.tzinfo is not None:
        start = start.tz_convert(None)
    return start + pd.to_timedelta(np.asarray(list(t_s), dtype=float), unit="s")


def matching(values: pd.Series, predicate: Any) -> pd.Series:
    """Boolean mask of ``predicate(value)``, evaluated once per distinct value (fast on
    long frames with few distinct entity or quantity names)."""
    return values.isin([v for v in values.unique() if predicate(v)])


def family(agg: pd.DataFrame) -> pd.Series:
    """The entity family of each row (``bus``, ``line``, ``asset``...)."""
    if "family" in agg:
        return agg["family"]
    return agg["entity"].str.partition("/")[0]


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      yaxis_title=y_title, legend={"orientation": "h", "y": -0.15},
                      hovermode="x unified")
    return fig


def _power_group(entity: str, quantity: str, kinds: dict[str, str]) -> str | None:
    family, _, name = entity.partition("/")
    if quantity.endswith("_kw") and family == "asset" and quantity != "p_kw":
        label = _KIND_LABELS.get(kinds.get(name, ""), kinds.get(name, name))
        return f"{label}: {_quantity_words(quantity.removesuffix('_kw') + '_mw')}"
    if not quantity.endswith("_mw"):
        return None
    if family == "grid":
        return f"Grid: {_quantity_words(quantity)}"
    if quantity != "p_mw":
        if family == "asset":
            label = _KIND_LABELS.get(kinds.get(name, ""), kinds.get(name, name))
            return f"{label}: {_quantity_words(quantity)}"
        return None
    if family == "load":
        return "Network loads"
    if family == "sgen":
        return "Network generation"
    if family == "storage":
        return "Network storage"
    if family == "asset":
        kind = kinds.get(name, "")
        return _KIND_LABELS.get(kind, kind.capitalize() or "Other assets")
    return None


def power_balance(agg: pd.DataFrame, kinds: dict[str, str], sim_start: str) -> go.Figure | None:
    """Power over time by group: network loads and generation, each asset family, grid.

    Values are as recorded (pandapower's sign: loads and storage positive when
    consuming, generation positive when producing); each group sums its members'
    bucket means. [MW]
    """
    if agg.empty:
        return None
    frame = agg[matching(agg["quantity"], lambda q: q.endswith(("_mw", "_kw")))]
    if frame.empty:
        return None
    in_kw = matching(frame["quantity"], lambda q: q.endswith("_kw"))
    if in_kw.any():  # asset powers recorded in kW (e.g. p_hvac_kw) are drawn in MW
        frame = frame.assign(mean=frame["mean"].where(~in_kw, frame["mean"] / 1000.0))
    families = family(frame)
    if (families == "grid").any():  # the grid totals already sum the network's own loads
        frame = frame[~families.isin(["load", "sgen", "storage"])]
    pairs = frame[["entity", "quantity"]].drop_duplicates()
    groups = {(e, q): _power_group(e, q, kinds) for e, q in pairs.itertuples(index=False)}
    frame = frame.assign(group=[groups[(e, q)] for e, q in
                                zip(frame["entity"], frame["quantity"], strict=True)])
    frame = frame.dropna(subset=["group"])
    if frame.empty:
        return None
    grouped = frame.groupby(["group", "t_s"], as_index=False)["mean"].sum()
    fig = go.Figure()
    for group, part in grouped.groupby("group", sort=True):
        fig.add_trace(go.Scatter(x=times(part["t_s"], sim_start), y=part["mean"],
                                 mode="lines", name=str(group)))
    return _layout(fig, "Power balance", "Power [MW]")


def select_series(agg: pd.DataFrame, *, quantity_contains: Iterable[str] = (),
                  entity_kinds: Iterable[str] = (), kinds: dict[str, str] | None = None,
                  exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Rows of asset series whose quantity contains one of the words, or whose asset kind
    is one of ``entity_kinds`` (e.g. all series of EV fleets)."""
    if agg.empty:
        return agg
    words = tuple(quantity_contains)
    wanted_kinds = set(entity_kinds)
    kinds = kinds or {}
    pairs = agg[["entity", "quantity"]].drop_duplicates()
    keep = set()
    for entity, quantity in pairs.itertuples(index=False):
        name = entity.partition("/")[2]
        hit = any(w in quantity for w in words) or kinds.get(name, "") in wanted_kinds
        if hit and not any(w in quantity for w in exclude):
            keep.add((entity, quantity))
    if not keep:
        return agg.iloc[0:0]
    index = pd.MultiIndex.from_frame(agg[["entity", "quantity"]])
    return agg[index.isin(list(keep))]


def series_figure(rows: pd.DataFrame, sim_start: str, title: str, y_title: str,
                  band: tuple[float, float] | None = None,
                  dashed_words: tuple[str, ...] = ()) -> go.Figure | None:
    """One line per (entity, quantity), optional shaded band (e.g. comfort limits)."""
    if rows.empty:
        return None
    fig = go.Figure()
    for (entity, quantity), part in rows.groupby(["entity", "quantity"], sort=True):
        dashed = any(w in quantity for w in dashed_words)
        fig.add_trace(go.Scatter(
            x=times(part["t_s"], sim_start), y=part["mean"], mode="lines",
            name=f"{entity.partition('/')[2] or entity} {quantity}",
            line={"dash": "dash"} if dashed else None))
    if band is not None:
        fig.add_hrect(y0=band[0], y1=band[1], fillcolor="green", opacity=0.1, line_width=0,
                      annotation_text="comfort band", annotation_position="top left")
    return _layout(fig, title, y_title)


def comfort_band_c(scenario: dict[str, Any]) -> tuple[float, float] | None:
    """The comfort band of the scenario's buildings, if their specs declare one. [°C]"""
    lows, highs = [], []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if "comfort" in key and isinstance(value, list | tuple) and len(value) == 2 \
                        and all(isinstance(v, int | float) for v in value):
                    lows.append(float(min(value)))
                    highs.append(float(max(value)))
                elif isinstance(value, int | float) and not isinstance(value, bool) and (
                        "comfort" in key or "setpoint" in key):
                    if any(w in key for w in ("min", "low", "lower", "heat")):
                        lows.append(float(value))
                    elif any(w in key for w in ("max", "high", "upper", "cool")):
                        highs.append(float(value))
                else:
                    walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(scenario.get("assets", ()))
    if lows and highs:
        return min(lows), max(highs)
    return None


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
    span = max(abs(1 - low), abs(high - 1)) * 1.5
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=times(grid.columns, sim_start), y=[f"bus {b}" for b in grid.index],
        colorscale="RdBu_r", zmin=1 - span, zmax=1 + span, colorbar={"title": "vm [pu]"},
        hovertemplate="%{y}<br>%{x}<br>%{z:.4f} pu<extra></extra>"))
    return _layout(fig, f"Bus voltage ({statistic} per time bucket)", "",
                   height=max(300, min(900, 18 * len(grid) + 120)))


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
    return _layout(fig, "Line and transformer loading", "Loading [%]")


def _bins(values: np.ndarray, low: float, high: float, n_bins: int) -> np.ndarray:
    share = np.clip((values - low) / (high - low), 0.0, 1.0) if high > low else \
        np.full_like(values, 0.5)
    return np.minimum((share * n_bins).astype(int), n_bins - 1)


def network_map(layout: Any, values: pd.DataFrame, band_pu: tuple[float, float],
                limit_percent: float, title: str, n_bins: int = 10) -> go.Figure:
    """Buses coloured by voltage and lines by loading at one time.

    Branches are drawn as one trace per loading band (``n_bins`` colours from 0 to the
    limit, grey when not recorded), so a network of hundreds of lines draws as fast as
    a small one.

    Parameters
    ----------
    layout : gui.network.Layout
        Bus positions and branches.
    values : pandas.DataFrame
        ``entity, quantity, value`` at the chosen time (``vm_pu`` of buses,
        ``loading_percent`` of lines and trafos).
    band_pu : tuple of float
        Allowed voltage band (colour range is centred on 1 pu). [pu]
    limit_percent : float
        Loading limit (full red). [%]
    """
    import plotly.colors as pc

    vm = values[values["quantity"] == "vm_pu"].set_index("entity")["value"]
    loading = values[values["quantity"] == "loading_percent"].set_index("entity")["value"]
    pos = layout.buses.set_index("bus")[["x", "y"]]
    branches = layout.branches[layout.branches["from_bus"].isin(pos.index)
                               & layout.branches["to_bus"].isin(pos.index)]
    x0 = pos.loc[branches["from_bus"], "x"].to_numpy()
    y0 = pos.loc[branches["from_bus"], "y"].to_numpy()
    x1 = pos.loc[branches["to_bus"], "x"].to_numpy()
    y1 = pos.loc[branches["to_bus"], "y"].to_numpy()
    load = branches["entity"].map(loading).to_numpy(dtype=float)
    bins = _bins(np.nan_to_num(load), 0.0, limit_percent, n_bins)
    bins[np.isnan(load)] = -1
    colours = pc.sample_colorscale("YlOrRd", [(b + 0.5) / n_bins for b in range(n_bins)])
    fig = go.Figure()
    for b in sorted(set(bins.tolist())):
        sel = bins == b
        xs = np.column_stack([x0[sel], x1[sel], np.full(sel.sum(), np.nan)]).ravel()
        ys = np.column_stack([y0[sel], y1[sel], np.full(sel.sum(), np.nan)]).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": "lightgrey" if b < 0 else colours[b],
                                       "width": 3}))
    text = [f"{e}: " + ("n/a" if np.isnan(v) else f"{v:.1f} %")
            for e, v in zip(branches["entity"], load, strict=True)]
    fig.add_trace(go.Scatter(
        x=(x0 + x1) / 2, y=(y0 + y1) / 2, mode="markers", text=text, hoverinfo="text",
        marker={"size": 6, "opacity": 0.3, "color": np.nan_to_num(load), "cmin": 0,
                "cmax": limit_percent, "colorscale": "YlOrRd",
                "colorbar": {"title": "loading [%]", "x": 1.12}},
        name="loading", showlegend=False))
    low, high = band_pu
    span = max(abs(1 - low), abs(high - 1)) * 1.5
    bus_vm = [vm.get(f"bus/{b}", np.nan) for b in layout.buses["bus"]]
    fig.add_trace(go.Scatter(
        x=layout.buses["x"], y=layout.buses["y"], mode="markers",
        text=[f"bus {b} ({n}): " + ("n/a" if pd.isna(v) else f"{v:.4f} pu")
              for b, n, v in zip(layout.buses["bus"], layout.buses["name"], bus_vm,
                                 strict=True)],
        hoverinfo="text",
        marker={"size": 11 if len(bus_vm) < 200 else 7, "color": bus_vm, "cmin": 1 - span,
                "cmax": 1 + span, "colorscale": "RdBu_r",
                "line": {"width": 1, "color": "black"}, "colorbar": {"title": "vm [pu]"}},
        name="buses", showlegend=False))
    fig.update_layout(title=title, height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"})
    return fig


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
                    max_points: int = 5000) -> go.Figure | None:
    """Events as points on a time line, one row per category, coloured by a ``data``
    field (outcome, route...) or by kind; events without that field show as ``-``."""
    if events.empty:
        return None
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
    title = f"Events (colour: {colour_column.removeprefix('data.')})"
    if len(frame) < len(events):
        title += f"; {len(frame)} of {len(events)} shown"
    fig = _layout(fig, title, "", height=320)
    fig.update_layout(hovermode="closest")
    return fig


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
    fig = _layout(fig, f"Mean latency per call by {by.removeprefix('data.')}", "Latency [s]")
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
    labels = summary[keys].astype(str).agg(" / ".join, axis=1)
    size = (12 + 30 * summary[cost] / max(float(summary[cost].max()), 1e-12)) \
        if cost in summary else 14
    fig = go.Figure(go.Scatter(
        x=summary[latency], y=summary[y], mode="markers+text", text=labels,
        textposition="top center", marker={"size": size},
        customdata=summary[[cost]].to_numpy() if cost in summary else None,
        hovertemplate="%{text}<br>latency %{x:.3g} s<br>" + y + " %{y:.4g}"
        + ("<br>cost %{customdata[0]:.3g} EUR" if cost in summary else "") + "<extra></extra>"))
    fig.update_xaxes(title=latency.replace("mean", "mean per call"),
                     type="log" if (summary[latency] > 0).all() else "linear")
    title = ("Solver quality vs latency" + (" (size: cost per query)" if cost in summary
                                            else "") if has_quality else
             "Cost per query vs latency (no approximation ratio recorded: the scenario "
             "set no reference solver)")
    fig = _layout(fig, title, y)
    fig.update_layout(hovermode="closest")
    return fig


def kpi_delta_table(kpis_by_run: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """KPIs of several runs side by side, with the change against the first run.

    Columns: one per run, then ``Δ <run>`` for each other run (value minus the
    reference's). Rows: KPI names.
    """
    runs = list(kpis_by_run)
    table = pd.DataFrame({run: pd.Series(kpis_by_run[run], dtype=object) for run in runs})
    if not runs:
        return table
    reference = pd.to_numeric(table[runs[0]], errors="coerce")
    for run in runs[1:]:
        table[f"Δ {run}"] = pd.to_numeric(table[run], errors="coerce") - reference
    return table


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists as dotted paths to scalars (lists by index, or by item name)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            label = value.get("name", index) if isinstance(value, dict) else index
            out.update(flatten(value, f"{prefix}{label}."))
    else:
        out[prefix.rstrip(".")] = data
    return out


def varying_parameters(rows: list[dict[str, Any]]) -> list[str]:
    """Dotted parameters whose value differs between runs (the swept ones)."""
    if len(rows) < 2:
        return []
    keys = sorted(set().union(*rows))
    varying = []
    for key in keys:
        values = {repr(row.get(key)) for row in rows}
        if len(values) > 1:
            varying.append(key)
    return varying


def qaoa_landscape(problem: Any, n_gamma: int = 21, n_beta: int = 21) -> go.Figure | None:
    """The QAOA p=1 energy landscape of a problem: expected objective over (gamma, beta).

    Uses :func:`solvers.qaoa.expectation` (exact statevector), so only small problems
    (about 20 binaries) are drawn; returns None when the QAOA back end is missing or
    the problem is unsupported.

    Parameters
    ----------
    problem : solvers.Problem
        A binary (or small integer) problem.
    n_gamma, n_beta : int
        Grid points over gamma in [0, pi] and beta in [0, pi/2]. [-]
    """
    try:
        from solvers.qaoa import expectation
    except ImportError:
        return None
    gammas = np.linspace(0.0, np.pi, n_gamma)
    betas = np.linspace(0.0, np.pi / 2, n_beta)
    try:
        values = np.array([[expectation(problem, [g], [b]) for g in gammas] for b in betas])
    except Exception:  # unsupported problem (too large, continuous variables)
        return None
    fig = go.Figure(go.Heatmap(z=values, x=gammas, y=betas, colorscale="Viridis",
                               colorbar={"title": "<f>"}))
    fig.update_layout(title="QAOA p=1 landscape (expected objective)", height=420,
                      xaxis_title="gamma [rad]", yaxis_title="beta [rad]",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
