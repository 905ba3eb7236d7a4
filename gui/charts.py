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
    seconds = np.asarray(list(t_s), dtype=float)
    millis = np.round(np.nan_to_num(seconds) * 1000.0).astype("int64")  # whole ms: no ns
    return start + pd.to_timedelta(millis, unit="ms")


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
                      yaxis_title=y_title, legend={"orientation": "h", "y": -0.22,
                                                   "yanchor": "top"},
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


KIND_COLOURS = {
    "Grid import": "#1f3b73", "Grid export": "#6f8fc9", "Network PV": "#f2b705",
    "PV": "#ffd84d", "Battery": "#2a9d8f", "Battery charging": "#2a9d8f",
    "Battery discharging": "#8fd3c7", "EV": "#8e44ad", "Buildings": "#d35400",
    "HVAC": "#d35400", "Generator": "#7f5539", "Asset loads": "#9c6644",
    "Network loads": "#8d99ae", "Losses": "#c1121f", "Other assets": "#adb5bd",
    "Net import": "#000000", "Not supplied": "#e63946",
}
"""One colour per asset kind (and grid quantity), the same on every page."""

_PRODUCERS = {"pv", "generator", "chp", "diesel"}
_STORAGE = {"battery"}

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


def _asset_kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind.capitalize() or "Other assets")


def balance_terms(agg: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Power balance terms per bucket: sources positive, sinks negative. [MW]

    From the recorded series (pandapower's sign: loads and storage positive when
    consuming, generation positive when producing): grid import and export at the
    connection point, the network's own loads and PV (``load/*``, ``sgen/*``), each
    asset family (PV and generators produce; batteries charge or discharge; EVs,
    buildings and loads consume) and losses. Bucket means are split into their positive
    and negative parts per bucket.

    Returns
    -------
    pandas.DataFrame
        Columns ``t_s``, ``term``, ``p_mw``.
    """
    rows = agg[agg["quantity"].isin(["p_mw", "import_p_mw", "losses_p_mw"])]
    if rows.empty:
        return pd.DataFrame(columns=["t_s", "term", "p_mw"])
    fam = family(rows)
    parts = []

    def add(term: str, frame: pd.DataFrame, sign: float, clip: str | None = None) -> None:
        if frame.empty:
            return
        value = frame.groupby("t_s")["mean"].sum() * sign
        if clip == "pos":
            value = value.clip(lower=0)
        elif clip == "neg":
            value = value.clip(upper=0)
        parts.append(pd.DataFrame({"t_s": value.index, "term": term,
                                   "p_mw": value.to_numpy()}))

    grid_import = rows[(fam == "grid") & (rows["quantity"] == "import_p_mw")]
    add("Grid import", grid_import, 1.0, "pos")
    add("Grid export", grid_import, 1.0, "neg")
    add("Network PV", rows[(fam == "sgen") & (rows["quantity"] == "p_mw")], 1.0)
    assets = rows[(fam == "asset") & (rows["quantity"] == "p_mw")]
    names = assets["entity"].str.partition("/")[2]
    asset_kind = names.map(lambda n: kinds.get(n, ""))
    for kind in sorted(set(asset_kind)):
        part = assets[asset_kind == kind]
        if kind in _PRODUCERS:
            add(_asset_kind_label(kind), part, 1.0)
        elif kind in _STORAGE:
            add("Battery discharging", part, -1.0, "pos")
            add("Battery charging", part, -1.0, "neg")
        else:
            add(_asset_kind_label(kind), part, -1.0)
    add("Network loads", rows[(fam == "load") & (rows["quantity"] == "p_mw")], -1.0)
    add("Losses", rows[(fam == "grid") & (rows["quantity"] == "losses_p_mw")], -1.0)
    if not parts:
        return pd.DataFrame(columns=["t_s", "term", "p_mw"])
    terms = pd.concat(parts, ignore_index=True)
    # what the recorded terms leave open: load that was not supplied (outages, islands)
    residual = terms.groupby("t_s")["p_mw"].sum()
    gap = (-residual).where(residual.abs() > 1e-6, 0.0)
    if (gap > 0).any():
        terms = pd.concat([terms, pd.DataFrame({"t_s": gap.index, "term": "Not supplied",
                                                "p_mw": gap.clip(lower=0).to_numpy()})],
                          ignore_index=True)
    return terms


def power_balance(agg: pd.DataFrame, kinds: dict[str, str], sim_start: str,
                  intervals: pd.DataFrame | None = None, title: str = "Power balance"
                  ) -> go.Figure | None:
    """Stacked power balance: sources above zero, sinks below, net import as a line. [kW]

    Terms from :func:`balance_terms` (bucket means), one colour per kind
    (:data:`KIND_COLOURS`); when a bucket spans several steps (a year view) the net
    import's lowest and highest step are shaded around its line, so peaks stay visible;
    islands, outages and faults shaded when ``intervals`` (:func:`event_intervals`) is
    given.
    """
    if agg.empty:
        return None
    terms = balance_terms(agg, kinds)
    if terms.empty or not (terms["p_mw"].abs() > 0).any():
        return None
    fig = go.Figure()
    t_values = np.sort(terms["t_s"].unique())
    x = times(t_values, sim_start)
    order = ["Grid import", "Network PV", "PV", "Generator", "Battery discharging",
             "Grid export", "Battery charging", "Network loads", "Buildings", "EV",
             "HVAC", "Asset loads", "Other assets", "Losses", "Not supplied"]
    present = list(dict.fromkeys([t for t in order if t in set(terms["term"])]
                                 + sorted(set(terms["term"]) - set(order))))
    for term in present:
        series = terms[terms["term"] == term].set_index("t_s")["p_mw"].reindex(
            t_values, fill_value=0.0)
        if not (series.abs() > 1e-12).any():
            continue
        positive = term in {"Grid import", "Network PV", "PV", "Generator",
                            "Battery discharging", "Not supplied"}
        colour = KIND_COLOURS.get(term, KIND_COLOURS.get(term.split(" ")[0], "#adb5bd"))
        fig.add_trace(go.Scatter(
            x=x, y=series.to_numpy() * 1000.0, mode="lines", name=term,
            stackgroup="sources" if positive else "sinks", line={"width": 0.5,
                                                                   "color": colour},
            fillcolor=colour, opacity=0.9,
            hovertemplate=f"{term}: %{{y:.1f}} kW<extra></extra>"))
    net = agg[(family(agg) == "grid") & (agg["quantity"] == "import_p_mw")]
    if not net.empty and not (net["min"] == net["max"]).all():  # buckets of many steps
        low = net.groupby("t_s")["min"].sum() * 1000.0
        high = net.groupby("t_s")["max"].sum() * 1000.0
        fig.add_trace(go.Scatter(x=times(low.index, sim_start), y=low.to_numpy(),
                                 mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=times(high.index, sim_start), y=high.to_numpy(),
                                 mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(0,0,0,0.12)",
                                 name="Net import, lowest-highest step in the bucket",
                                 hovertemplate="net import up to %{y:.1f} kW"
                                 "<extra></extra>"))
    if not net.empty:
        line = net.groupby("t_s")["mean"].sum()
        fig.add_trace(go.Scatter(x=times(line.index, sim_start), y=line.to_numpy() * 1000.0,
                                 mode="lines", name="Net import (export < 0)",
                                 line={"color": "black", "width": 1.5, "dash": "dot"},
                                 hovertemplate="net import: %{y:.1f} kW<extra></extra>"))
    if intervals is not None and len(t_values):
        shade_intervals(fig, intervals, sim_start, float(t_values[-1]))
    fig.add_hline(y=0, line_color="grey", line_width=1)
    fig = _layout(fig, title, "Power [kW] (sources > 0, sinks < 0)", height=420)
    return fig


def power_lines(agg: pd.DataFrame, kinds: dict[str, str], sim_start: str
                ) -> go.Figure | None:
    """Every recorded power series as lines, grouped by family (the raw view). [MW]"""
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
    return _layout(fig, "Power by group (as recorded; storage and loads > 0 when "
                   "consuming)", "Power [MW]")


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
    fig = _layout(fig, f"Bus voltage ({statistic} per time bucket; white = 1.0 pu, band "
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
    return _layout(fig, "Line and transformer loading", "Loading [%]")


def _bins(values: np.ndarray, low: float, high: float, n_bins: int) -> np.ndarray:
    share = np.clip((values - low) / (high - low), 0.0, 1.0) if high > low else \
        np.full_like(values, 0.5)
    return np.minimum((share * n_bins).astype(int), n_bins - 1)


_ASSET_SYMBOLS = {"pv": ("star", "#f2b705"), "battery": ("square", "#2a9d8f"),
                  "ev_fleet": ("diamond", "#8e44ad"), "ev": ("diamond", "#8e44ad"),
                  "building": ("triangle-up", "#d35400"), "generator": ("hexagon", "#7f5539"),
                  "load": ("circle-open", "#9c6644")}
DARK_BUS_PU = 0.01
"""A bus below this voltage (or without one) is drawn dark: not supplied. [pu]"""


def network_map(layout: Any, values: pd.DataFrame, band_pu: tuple[float, float],
                limit_percent: float, title: str, n_bins: int = 10) -> go.Figure:
    """Buses coloured by voltage, lines by loading, assets as icons, at one time.

    Branches are drawn as one trace per loading band (``n_bins`` colours from 0 to the
    limit, grey when not recorded), so a network of hundreds of lines draws as fast as
    a small one. Buses without voltage (out of service, islanded without supply) are
    drawn dark and named in the legend; each asset is an icon next to its bus.

    Parameters
    ----------
    layout : gui.network.Layout
        Bus positions, branches and assets.
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
    x0 = pos.loc[branches["from_bus"], "x"].to_numpy(dtype=float)
    y0 = pos.loc[branches["from_bus"], "y"].to_numpy(dtype=float)
    x1 = pos.loc[branches["to_bus"], "x"].to_numpy(dtype=float)
    y1 = pos.loc[branches["to_bus"], "y"].to_numpy(dtype=float)
    load = pd.to_numeric(branches["entity"].map(loading), errors="coerce").to_numpy(
        dtype=float)
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
    text = [f"{e}: " + ("not recorded / out of service" if np.isnan(v) else f"{v:.1f} %")
            for e, v in zip(branches["entity"], load, strict=True)]
    fig.add_trace(go.Scatter(
        x=(x0 + x1) / 2, y=(y0 + y1) / 2, mode="markers", text=text, hoverinfo="text",
        marker={"size": 6, "opacity": 0.3, "color": np.nan_to_num(load), "cmin": 0,
                "cmax": limit_percent, "colorscale": "YlOrRd",
                "colorbar": {"title": {"text": "line loading [%]", "side": "right"},
                             "orientation": "h", "y": -0.02, "yanchor": "top",
                             "len": 0.6, "thickness": 12}},
        name="loading", showlegend=False))
    low, high = band_pu
    span = max(abs(1 - low), abs(high - 1)) * 1.5
    bus_vm = np.array([vm.get(f"bus/{b}", np.nan) for b in layout.buses["bus"]], dtype=float)
    dark = np.isnan(bus_vm) | (bus_vm < DARK_BUS_PU)
    labels = [f"bus {b} ({n}): " + ("no voltage: not supplied" if d else f"{v:.4f} pu")
              for b, n, v, d in zip(layout.buses["bus"], layout.buses["name"], bus_vm, dark,
                                    strict=True)]
    size = 11 if len(bus_vm) < 200 else 7
    lit = ~dark
    fig.add_trace(go.Scatter(
        x=layout.buses["x"][lit], y=layout.buses["y"][lit], mode="markers",
        text=[t for t, keep in zip(labels, lit, strict=True) if keep], hoverinfo="text",
        marker={"size": size, "color": bus_vm[lit], "cmin": 1 - span, "cmax": 1 + span,
                "colorscale": "RdBu_r", "line": {"width": 1, "color": "black"},
                "colorbar": {"title": "vm [pu]"}},
        name="buses (colour: voltage)", showlegend=True))
    if dark.any():
        fig.add_trace(go.Scatter(
            x=layout.buses["x"][dark], y=layout.buses["y"][dark], mode="markers",
            text=[t for t, keep in zip(labels, dark, strict=True) if keep],
            hoverinfo="text", marker={"size": size, "color": "#222222",
                                      "line": {"width": 1, "color": "black"}},
            name=f"dark: not supplied ({int(dark.sum())} buses)"))
    assets = getattr(layout, "assets", None)
    if assets is not None and len(assets):
        span_x = float(np.ptp(layout.buses["x"])) or 1.0
        assets = assets.assign(rank=assets.groupby("bus").cumcount())
        for kind, part in assets.groupby("kind", sort=True):
            symbol, colour = _ASSET_SYMBOLS.get(str(kind), ("cross", "#444444"))
            part = part[part["bus"].isin(pos.index)]
            if part.empty:
                continue
            rank = part["rank"].to_numpy()
            xs = pos.loc[part["bus"], "x"].to_numpy(dtype=float) + span_x * 0.035 * (1 + rank)
            ys = pos.loc[part["bus"], "y"].to_numpy(dtype=float) + span_x * 0.025
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="markers", name=_asset_kind_label(str(kind)),
                text=[f"{n} ({kind}) at bus {b}" for n, b in
                      zip(part["name"], part["bus"], strict=True)], hoverinfo="text",
                marker={"symbol": symbol, "size": 14, "color": colour,
                        "line": {"width": 1, "color": "black"}}))
    fig.update_layout(title={"text": title, "y": 0.99, "yanchor": "top"}, height=560,
                      margin={"l": 10, "r": 10, "t": 80, "b": 60},
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
                      hovermode="closest")
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
        fig = _layout(fig, "Events", "", height=320)
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
    fig = _layout(fig, title, "", height=max(320, 140 + 22 * (
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
    fig = _layout(fig, title, y)
    fig.update_layout(hovermode="closest")
    return fig


_LOWER_IS_BETTER = ("import", "losses", "cost", "violation", "unserved", "not_supplied",
                    "unmet", "loading", "latency", "fallback", "saidi", "saifi", "caidi",
                    "curtailed", "overload", "nonconverged", "emission", "co2", "shed",
                    "failed", "time_s", "discomfort", "peak")
_HIGHER_IS_BETTER = ("self_consumption", "self_sufficiency", "pv_energy", "asai",
                     "approximation_ratio", "deadline_met", "served", "comfort_met",
                     "min_bus_voltage")


def kpi_direction(name: str) -> int:
    """-1 when a lower value of the KPI is better, +1 when higher is, 0 when neither is
    clear (e.g. exports, counts of steps)."""
    lowered = name.lower()
    if any(w in lowered for w in _HIGHER_IS_BETTER):
        return 1
    if any(w in lowered for w in _LOWER_IS_BETTER):
        return -1
    return 0


def kpi_delta_table(kpis_by_run: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """KPIs of several runs side by side, with the change against the first run.

    Columns: one per run, then for each other run ``Δ <run>`` (value minus the
    reference's), ``% <run>`` (change in percent of the reference; blank when the
    reference is 0) and ``worse <run>`` (``worse``/``better`` when the KPI has a clear
    direction, see :func:`kpi_direction`). Rows: KPI names. Missing values stay blank.
    """
    runs = list(kpis_by_run)
    table = pd.DataFrame({run: pd.Series(kpis_by_run[run], dtype=object) for run in runs})
    if not runs:
        return table
    reference = pd.to_numeric(table[runs[0]], errors="coerce").astype(float)
    directions = pd.Series([kpi_direction(k) for k in table.index], index=table.index)
    for run in runs[1:]:
        value = pd.to_numeric(table[run], errors="coerce").astype(float)
        delta = value - reference
        noise = delta.abs() <= 1e-12 * np.maximum(1.0, reference.abs())
        delta = delta.mask(noise & delta.notna(), 0.0)
        table[f"Δ {run}"] = delta
        percent = (delta / reference.abs().where(reference != 0)) * 100.0
        table[f"% {run}"] = percent.round(2)
        verdict = np.sign(delta) * directions
        table[f"worse {run}"] = np.where(verdict < 0, "worse",
                                         np.where(verdict > 0, "better", ""))
    return table


def run_mismatches(metas: list[Any]) -> list[str]:
    """Why runs should not be compared bucket by bucket: different grids, start dates,
    durations or steps (one sentence each; empty when they match).

    Parameters
    ----------
    metas : list of gui.store.RunMeta
        The reference run first.
    """
    if len(metas) < 2:
        return []
    ref = metas[0]
    problems = []

    def grid_of(meta: Any) -> str:
        grid = meta.scenario.get("grid", {})
        return str(grid.get("code") or grid.get("path") or grid.get("name")
                   or grid.get("source") or "?")

    for meta in metas[1:]:
        if grid_of(meta) != grid_of(ref):
            problems.append(f"{meta.run_id} is on grid {grid_of(meta)}, the reference "
                            f"{ref.run_id} on {grid_of(ref)}: buses and lines differ.")
        if meta.sim_start[:19] != ref.sim_start[:19]:
            problems.append(f"{meta.run_id} starts {meta.sim_start[:16]}, the reference "
                            f"{ref.sim_start[:16]}: different dates (weather, profiles).")
        if meta.duration_s != ref.duration_s:
            problems.append(f"{meta.run_id} covers {meta.duration_s / 3600:g} h, the "
                            f"reference {ref.duration_s / 3600:g} h: energy KPIs are "
                            "totals over different horizons.")
        if meta.step_s != ref.step_s:
            problems.append(f"{meta.run_id} steps every {meta.step_s} s, the reference "
                            f"every {ref.step_s} s.")
    return problems


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


def unserved_energy_kwh(kpis: dict[str, Any]) -> float | None:
    """Energy not supplied, from the one metering truth the run reports. [kWh]

    ``reliability_energy_not_supplied_mwh`` (the reliability ENS, which meters every
    load that lost supply) when the run has it, else the older ``unserved_energy_kwh``.
    """
    ens = kpis.get("reliability_energy_not_supplied_mwh")
    if isinstance(ens, int | float) and not isinstance(ens, bool) and math.isfinite(ens):
        return float(ens) * 1000.0
    old = kpis.get("unserved_energy_kwh")
    if isinstance(old, int | float) and not isinstance(old, bool) and math.isfinite(old):
        return float(old)
    return None


def headline_cards(kpis: dict[str, Any], n: int = 4) -> list[tuple[str, str, str]]:
    """The ``n`` headline KPI cards of a run: ``(label, value with unit, help)``.

    Energy import, PV energy, unserved energy (:func:`unserved_energy_kwh`, so the card
    and the reliability ENS agree) and the lowest bus voltage, then further KPIs when
    ``n`` is larger.
    """
    cards: list[tuple[str, str, str]] = []

    def number(name: str) -> float | None:
        value = kpis.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) if math.isfinite(value) else None
        return None

    def card(label: str, value: float | None, unit: str, help_text: str,
             scale: float = 1.0) -> None:
        if value is None:
            text = "n/a"
        elif unit == "pu":
            text = f"{value:.3f} pu"
        else:
            text = f"{format_kpi(value * scale)} {unit}".strip()
        cards.append((label, text, help_text))

    card("Energy import", number("energy_import_mwh"), "kWh",
         "Energy drawn from the upstream grid over the run (energy_import_mwh).", 1000.0)
    card("PV energy", number("pv_energy_mwh"), "kWh",
         "Energy the PV systems produced (pv_energy_mwh).", 1000.0)
    if unserved_energy_kwh(kpis) is not None:  # only runs that meter supply losses
        card("Unserved energy", unserved_energy_kwh(kpis), "kWh",
             "Load that lost supply (outages, islands): "
             "reliability_energy_not_supplied_mwh.")
    card("Lowest bus voltage", number("min_bus_voltage_pu"), "pu",
         "Lowest bus voltage of any bus and step (min_bus_voltage_pu).")
    extra = [("Highest line loading", "max_line_loading_percent", "%", 1.0),
             ("Energy export", "energy_export_mwh", "kWh", 1000.0),
             ("Losses", "losses_mwh", "kWh", 1000.0),
             ("Voltage violations", "voltage_violation_bus_steps", "bus-steps", 1.0),
             ("Energy cost", "energy_cost_eur", "EUR", 1.0),
             ("Battery throughput", "battery_throughput_mwh", "kWh", 1000.0),
             ("EV energy unmet at departure", "ev_unmet_at_departure_mwh", "kWh", 1000.0),
             ("Comfort violation", "comfort_violation_kh", "K·h", 1.0)]
    for label, name, unit, scale in extra:
        if len(cards) >= n:
            break
        if name in kpis:
            card(label, number(name), unit, f"{name}", scale)
    return cards[:n]


_ZONE_COLOURS = ("#d35400", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22")


def zone_temperatures(rows: pd.DataFrame, sim_start: str, max_zones: int = 4
                      ) -> go.Figure | None:
    """One panel per building zone: its air temperature inside its own comfort band. [°C]

    The band is the zone's recorded ``comfort_lower_c``/``comfort_upper_c`` (it follows
    the zone's schedule: occupied and set-back hours differ), shaded in the zone's colour;
    the air temperature (``t_air_c``) is the solid line, with the bucket's min/max as a
    lighter envelope when a bucket spans several steps.
    """
    if rows.empty:
        return None
    from plotly.subplots import make_subplots

    zones = [e for e in sorted(rows["entity"].unique())
             if (rows[(rows["entity"] == e)]["quantity"] == "t_air_c").any()][:max_zones]
    if not zones:
        return None
    fig = make_subplots(rows=len(zones), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[z.partition("/")[2] for z in zones])
    for i, zone in enumerate(zones, start=1):
        colour = _ZONE_COLOURS[(i - 1) % len(_ZONE_COLOURS)]
        part = rows[rows["entity"] == zone]
        name = zone.partition("/")[2]

        def series(q: str, stat: str = "mean", part: pd.DataFrame = part) -> pd.Series:
            return part[part["quantity"] == q].set_index("t_s")[stat]

        low, high, air = series("comfort_lower_c"), series("comfort_upper_c"), \
            series("t_air_c")
        if not low.empty and not high.empty:
            fig.add_trace(go.Scatter(x=times(low.index, sim_start), y=low.to_numpy(),
                                     mode="lines", line={"width": 0, "color": colour},
                                     showlegend=False, hoverinfo="skip",
                                     legendgroup=name), row=i, col=1)
            fig.add_trace(go.Scatter(x=times(high.index, sim_start), y=high.to_numpy(),
                                     mode="lines", line={"width": 0, "color": colour},
                                     fill="tonexty", fillcolor=_rgba(colour, 0.15),
                                     name=f"{name}: comfort band", legendgroup=name,
                                     hovertemplate="band top %{y:.1f} °C<extra></extra>"),
                          row=i, col=1)
        if not air.empty:
            lo, hi = series("t_air_c", "min"), series("t_air_c", "max")
            if not (lo == hi).all():
                fig.add_trace(go.Scatter(x=times(lo.index, sim_start), y=lo.to_numpy(),
                                         mode="lines", line={"width": 0}, showlegend=False,
                                         hoverinfo="skip", legendgroup=name), row=i, col=1)
                fig.add_trace(go.Scatter(x=times(hi.index, sim_start), y=hi.to_numpy(),
                                         mode="lines", line={"width": 0}, fill="tonexty",
                                         fillcolor=_rgba(colour, 0.25), showlegend=False,
                                         hoverinfo="skip", legendgroup=name), row=i, col=1)
            fig.add_trace(go.Scatter(x=times(air.index, sim_start), y=air.to_numpy(),
                                     mode="lines", line={"color": colour, "width": 2},
                                     name=f"{name}: air temperature", legendgroup=name,
                                     hovertemplate="%{y:.2f} °C<extra></extra>"),
                          row=i, col=1)
        fig.update_yaxes(title_text="°C", row=i, col=1)
    fig.update_layout(title="Zone temperatures against each zone's comfort band",
                      height=170 * len(zones) + 140, hovermode="x unified",
                      margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": -0.08, "yanchor": "top"})
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def state_of_charge(rows: pd.DataFrame, sim_start: str,
                    kinds: dict[str, str] | None = None) -> go.Figure | None:
    """State of charge of each battery and EV fleet (any asset recording ``soc_frac``)
    with the bucket's min/max envelope. An EV fleet's state of charge is over the
    vehicles plugged in (gaps while none is). [%]"""
    rows = rows[rows["quantity"].str.contains("soc")] if not rows.empty else rows
    if rows.empty:
        return None
    kinds = kinds or {}
    fig = go.Figure()
    n_ev = n_other = 0
    for entity, part in rows.groupby("entity", sort=True):
        name = entity.partition("/")[2]
        is_ev = kinds.get(name, "") in {"ev", "ev_fleet"}
        if is_ev:
            colour = ("#8e44ad", "#c39bd3", "#5b2c6f")[n_ev % 3]
            label, n_ev = f"{name} (EV fleet, plugged vehicles)", n_ev + 1
        else:
            colour = (KIND_COLOURS["Battery"], "#264653", "#e9c46a", "#1b4332")[n_other % 4]
            label, n_other = name, n_other + 1
        x = times(part["t_s"], sim_start)
        if not (part["min"] == part["max"]).all():
            fig.add_trace(go.Scatter(x=x, y=part["min"] * 100, mode="lines",
                                     line={"width": 0}, showlegend=False, hoverinfo="skip",
                                     legendgroup=entity))
            fig.add_trace(go.Scatter(x=x, y=part["max"] * 100, mode="lines",
                                     line={"width": 0}, fill="tonexty",
                                     fillcolor=_rgba(colour, 0.2), legendgroup=entity,
                                     name=f"{name}: min-max per bucket", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=part["mean"] * 100, mode="lines", name=label,
                                 line={"color": colour, "width": 2,
                                       "dash": "dot" if is_ev else "solid"},
                                 legendgroup=entity,
                                 hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>"))
    fig.update_yaxes(range=[0, 100])
    title = ("Battery and EV state of charge" if n_ev and n_other else
             "EV state of charge" if n_ev else "Battery state of charge")
    return _layout(fig, title, "State of charge [%]")


def _fleet_series(part: pd.DataFrame, quantity: str, statistic: str = "mean") -> pd.Series:
    return part[part["quantity"] == quantity].set_index("t_s")[statistic]


def ev_charging(agg: pd.DataFrame, kinds: dict[str, str], kpis: dict[str, Any],
                sim_start: str, step_s: int) -> go.Figure | None:
    """EV fleets: charging power and vehicles plugged in; energy delivered vs requested.

    Charging power is each fleet's ``p_mw`` (bucket mean; discharging to the grid is
    negative). Where the run recorded the fleets' running ``requested_kwh`` (each
    session's target minus its arrival energy, counted when it arrives) and
    ``charged_kwh`` (net energy into the batteries), both are drawn per fleet (bucket
    end values) and the gap is the energy still missing to the targets. Runs recorded
    before those channels existed get the integral of the charging power and one dashed
    line for the whole run's request (delivered plus ``ev_unmet_at_departure_mwh``).
    Plugged-in vehicles on the right axis. [kW], [kWh]
    """
    fleets = [e for e in agg["entity"].unique() if e.startswith("asset/")
              and kinds.get(e.partition("/")[2], "") in {"ev", "ev_fleet"}]
    if not fleets:
        return None
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        specs=[[{"secondary_y": True}], [{}]],
                        subplot_titles=["Charging power and vehicles plugged in",
                                        "Energy delivered vs requested (since the start)"])
    total = None
    recorded = False
    for i, entity in enumerate(sorted(fleets)):
        colour = ("#8e44ad", "#c39bd3", "#5b2c6f")[i % 3]
        name = entity.partition("/")[2]
        part = agg[(agg["entity"] == entity)]
        power = _fleet_series(part, "p_mw")
        if not power.empty:
            x = times(power.index, sim_start)
            fig.add_trace(go.Scatter(x=x, y=power.to_numpy() * 1000, mode="lines",
                                     name=f"{name}: charging power [kW]",
                                     line={"color": colour, "width": 2},
                                     hovertemplate="%{y:,.1f} kW"), row=1, col=1)
        requested = _fleet_series(part, "requested_kwh", "max")
        charged = _fleet_series(part, "charged_kwh", "max")
        if not requested.empty and not charged.empty:
            recorded = True
            fig.add_trace(go.Scatter(x=times(requested.index, sim_start),
                                     y=requested.to_numpy(), mode="lines",
                                     name=f"{name}: energy requested [kWh]",
                                     line={"color": "#c1121f", "dash": "dash",
                                           "shape": "hv"},
                                     hovertemplate="requested %{y:,.1f} kWh"), row=2, col=1)
            fig.add_trace(go.Scatter(x=times(charged.index, sim_start),
                                     y=charged.to_numpy(), mode="lines",
                                     name=f"{name}: energy delivered to batteries [kWh]",
                                     line={"color": colour, "width": 2},
                                     hovertemplate="delivered %{y:,.1f} kWh"), row=2, col=1)
        elif not power.empty:
            widths = np.diff(np.append(power.index.to_numpy(dtype=float),
                                       power.index[-1] + (power.index[-1] - power.index[-2]
                                                          if len(power) > 1 else step_s)))
            energy = np.cumsum(power.clip(lower=0).to_numpy() * 1000 * widths / 3600.0)
            total = energy if total is None else total + energy
            fig.add_trace(go.Scatter(x=times(power.index, sim_start), y=energy,
                                     mode="lines", name=f"{name}: energy delivered [kWh]",
                                     line={"color": colour, "width": 2}), row=2, col=1)
        plugged = _fleet_series(part, "plugged_count")
        if not plugged.empty:
            fig.add_trace(go.Scatter(x=times(plugged.index, sim_start), y=plugged.to_numpy(),
                                     mode="lines", name=f"{name}: plugged in [vehicles]",
                                     line={"color": "grey", "dash": "dot", "shape": "hv"}),
                          row=1, col=1, secondary_y=True)
    delivered = kpis.get("ev_energy_delivered_mwh")
    unmet = kpis.get("ev_unmet_at_departure_mwh")
    if not recorded and isinstance(delivered, int | float) \
            and isinstance(unmet, int | float) and total is not None:
        requested_kwh = (float(delivered) + float(unmet)) * 1000.0
        fig.add_hline(y=requested_kwh, line_dash="dash", line_color="#c1121f", row=2, col=1,
                      annotation_text=f"requested {requested_kwh:,.0f} kWh (delivered "
                      f"{float(delivered) * 1000:,.0f}, unmet {float(unmet) * 1000:,.0f})",
                      annotation_position="top left")
    if recorded and isinstance(unmet, int | float):
        fig.add_annotation(text="unmet when vehicles left (whole run): "
                           f"{float(unmet) * 1000:,.1f} kWh",
                           xref="x2 domain", yref="y3 domain", x=0.01, y=0.98,
                           showarrow=False, xanchor="left", yanchor="top")
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_yaxes(title_text="vehicles", row=1, col=1, secondary_y=True)
    fig.update_yaxes(title_text="kWh", row=2, col=1)
    fig.update_layout(title="EV charging", height=560, hovermode="x unified",
                      margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": -0.08, "yanchor": "top"})
    return fig


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
    fig = _layout(fig, "Voltage profile along the feeder (lowest, mean, highest per bus)",
                  "Voltage [pu]")
    fig.update_layout(hovermode="closest")
    return fig


CATEGORICAL_PARAMETERS = ("seed", "mode", "solver", "pattern", "scope", "source", "kind",
                          "route", "name", "code", "network", "profile", "backend")
"""Parameter names whose values are labels, not quantities (a seed is not a number line)."""


def is_categorical(parameter: str, values: pd.Series) -> bool:
    """Whether a swept parameter is a category: its last name part is a label
    (:data:`CATEGORICAL_PARAMETERS`, e.g. the seed) or its values are not all numbers.

    Examples
    --------
    >>> is_categorical("seed", pd.Series([1, 2])), is_categorical("assets.0.peak_kw",
    ...                                                             pd.Series([10, 20]))
    (True, False)
    """
    last = parameter.split(".")[-1]
    if last in CATEGORICAL_PARAMETERS or any(last.endswith(f"_{w}") for w in
                                             CATEGORICAL_PARAMETERS):
        return True
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.isna().any()) or values.map(lambda v: isinstance(v, bool)).any()
