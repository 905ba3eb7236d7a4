"""The network map at one time: lines coloured by loading, buses by voltage, dark
(unsupplied) buses named, assets as icons next to their bus.

Public names: :func:`network_map`, :data:`DARK_BUS_PU`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import asset_kind_label


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
    vm = values[values["quantity"] == "vm_pu"].set_index("entity")["value"]
    loading = values[values["quantity"] == "loading_percent"].set_index("entity")["value"]
    pos = layout.buses.set_index("bus")[["x", "y"]]
    fig = go.Figure()
    _add_branches(fig, layout.branches, pos, loading, limit_percent, n_bins)
    _add_buses(fig, layout.buses, vm, band_pu)
    assets = getattr(layout, "assets", None)
    if assets is not None and len(assets):
        _add_assets(fig, assets, pos, float(np.ptp(layout.buses["x"])) or 1.0)
    fig.update_layout(title={"text": title, "y": 0.99, "yanchor": "top"}, height=560,
                      margin={"l": 10, "r": 10, "t": 80, "b": 60},
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
                      hovermode="closest")
    return fig


def _add_branches(fig: go.Figure, branches: pd.DataFrame, pos: pd.DataFrame,
                  loading: pd.Series, limit_percent: float, n_bins: int) -> None:
    """Lines and trafos, one trace per loading band, and a hover marker at each middle
    carrying the loading colour bar. [%]"""
    import plotly.colors as pc

    branches = branches[branches["from_bus"].isin(pos.index)
                        & branches["to_bus"].isin(pos.index)]
    x0 = pos.loc[branches["from_bus"], "x"].to_numpy(dtype=float)
    y0 = pos.loc[branches["from_bus"], "y"].to_numpy(dtype=float)
    x1 = pos.loc[branches["to_bus"], "x"].to_numpy(dtype=float)
    y1 = pos.loc[branches["to_bus"], "y"].to_numpy(dtype=float)
    load = pd.to_numeric(branches["entity"].map(loading), errors="coerce").to_numpy(
        dtype=float)
    bins = _bins(np.nan_to_num(load), 0.0, limit_percent, n_bins)
    bins[np.isnan(load)] = -1
    colours = pc.sample_colorscale("YlOrRd", [(b + 0.5) / n_bins for b in range(n_bins)])
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


def _add_buses(fig: go.Figure, buses: pd.DataFrame, vm: pd.Series,
               band_pu: tuple[float, float]) -> None:
    """Supplied buses coloured by voltage around 1 pu; dark buses (no voltage) in their
    own named trace. [pu]"""
    low, high = band_pu
    span = max(abs(1 - low), abs(high - 1)) * 1.5
    bus_vm = np.array([vm.get(f"bus/{b}", np.nan) for b in buses["bus"]], dtype=float)
    dark = np.isnan(bus_vm) | (bus_vm < DARK_BUS_PU)
    labels = [f"bus {b} ({n}): " + ("no voltage: not supplied" if d else f"{v:.4f} pu")
              for b, n, v, d in zip(buses["bus"], buses["name"], bus_vm, dark, strict=True)]
    size = 11 if len(bus_vm) < 200 else 7
    lit = ~dark
    fig.add_trace(go.Scatter(
        x=buses["x"][lit], y=buses["y"][lit], mode="markers",
        text=[t for t, keep in zip(labels, lit, strict=True) if keep], hoverinfo="text",
        marker={"size": size, "color": bus_vm[lit], "cmin": 1 - span, "cmax": 1 + span,
                "colorscale": "RdBu_r", "line": {"width": 1, "color": "black"},
                "colorbar": {"title": "vm [pu]"}},
        name="buses (colour: voltage)", showlegend=True))
    if dark.any():
        fig.add_trace(go.Scatter(
            x=buses["x"][dark], y=buses["y"][dark], mode="markers",
            text=[t for t, keep in zip(labels, dark, strict=True) if keep],
            hoverinfo="text", marker={"size": size, "color": "#222222",
                                      "line": {"width": 1, "color": "black"}},
            name=f"dark: not supplied ({int(dark.sum())} buses)"))


def _add_assets(fig: go.Figure, assets: pd.DataFrame, pos: pd.DataFrame,
                span_x: float) -> None:
    """One icon trace per asset kind; several assets at a bus sit side by side."""
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
            x=xs, y=ys, mode="markers", name=asset_kind_label(str(kind)),
            text=[f"{n} ({kind}) at bus {b}" for n, b in
                  zip(part["name"], part["bus"], strict=True)], hoverinfo="text",
            marker={"symbol": symbol, "size": 14, "color": colour,
                    "line": {"width": 1, "color": "black"}}))
