"""Shared pieces of the chart builders: readable labels for KPIs and quantities, number
formatting for cards, calendar times, one colour per asset kind, the common figure layout.

Public names: :func:`kpi_label`, :func:`quantity_words`, :func:`format_kpi`,
:func:`asset_kinds`, :func:`asset_kind_label`, :func:`times`, :func:`matching`,
:func:`family`, :func:`apply_layout`, :func:`select_series`, :func:`series_figure`,
:func:`rgba`, :data:`KIND_COLOURS`, :data:`KIND_LABELS`.
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


KIND_LABELS = {"pv": "PV", "battery": "Battery", "ev": "EV", "ev_fleet": "EV",
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


def quantity_words(quantity: str) -> str:
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


def apply_layout(fig: go.Figure, title: str, y_title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      yaxis_title=y_title, legend={"orientation": "h", "y": -0.22,
                                                   "yanchor": "top"},
                      hovermode="x unified")
    return fig


KIND_COLOURS = {
    "Grid import": "#1f3b73", "Grid export": "#6f8fc9", "Network PV": "#f2b705",
    "PV": "#ffd84d", "Battery": "#2a9d8f", "Battery charging": "#2a9d8f",
    "Battery discharging": "#8fd3c7", "EV": "#8e44ad", "Buildings": "#d35400",
    "HVAC": "#d35400", "Generator": "#7f5539", "Asset loads": "#9c6644",
    "Network loads": "#8d99ae", "Losses": "#c1121f", "Other assets": "#adb5bd",
    "Net import": "#000000", "Not supplied": "#e63946",
}
"""One colour per asset kind (and grid quantity), the same on every page."""


def asset_kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.capitalize() or "Other assets")


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
    return apply_layout(fig, title, y_title)


def rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
