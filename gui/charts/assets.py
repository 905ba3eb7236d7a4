"""Asset charts: building zone temperatures against each zone's comfort band, battery and
EV state of charge, EV charging power and energy delivered vs requested.

Public names: :func:`comfort_band_c`, :func:`zone_temperatures`,
:func:`state_of_charge`, :func:`ev_charging`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import KIND_COLOURS, apply_layout, rgba, times


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
                                     fill="tonexty", fillcolor=rgba(colour, 0.15),
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
                                         fillcolor=rgba(colour, 0.25), showlegend=False,
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
        # an EV fleet's gaps (none plugged) are NaN: no envelope across them
        if not ((part["min"] == part["max"]) | part["min"].isna()).all() \
                and part["min"].notna().all():
            fig.add_trace(go.Scatter(x=x, y=part["min"] * 100, mode="lines",
                                     line={"width": 0}, showlegend=False, hoverinfo="skip",
                                     legendgroup=entity))
            fig.add_trace(go.Scatter(x=x, y=part["max"] * 100, mode="lines",
                                     line={"width": 0}, fill="tonexty",
                                     fillcolor=rgba(colour, 0.2), legendgroup=entity,
                                     name=f"{name}: min-max per bucket", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=part["mean"] * 100, mode="lines", name=label,
                                 line={"color": colour, "width": 2,
                                       "dash": "dot" if is_ev else "solid"},
                                 legendgroup=entity,
                                 hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>"))
    fig.update_yaxes(range=[0, 100])
    title = ("Battery and EV state of charge" if n_ev and n_other else
             "EV state of charge" if n_ev else "Battery state of charge")
    return apply_layout(fig, title, "State of charge [%]")


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
        part = agg[(agg["entity"] == entity)]
        fleet_recorded, energy = _add_fleet_traces(fig, part, entity.partition("/")[2],
                                                   colour, sim_start, step_s)
        recorded = recorded or fleet_recorded
        if energy is not None:
            total = energy if total is None else total + energy
    _add_energy_notes(fig, kpis, recorded, total)
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_yaxes(title_text="vehicles", row=1, col=1, secondary_y=True)
    fig.update_yaxes(title_text="kWh", row=2, col=1)
    fig.update_layout(title="EV charging", height=560, hovermode="x unified",
                      margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": -0.08, "yanchor": "top"})
    return fig


def _add_fleet_traces(fig: go.Figure, part: pd.DataFrame, name: str, colour: str,
                      sim_start: str, step_s: int) -> tuple[bool, np.ndarray | None]:
    """One fleet's traces of :func:`ev_charging`: charging power and plugged vehicles
    (top), energy requested and delivered (bottom). Returns whether the run recorded
    the running energies and, when it did not, the integral of the charging power
    [kWh] (else None)."""
    recorded = False
    energy = None
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
                                 line={"color": "#c1121f", "dash": "dash", "shape": "hv"},
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
        fig.add_trace(go.Scatter(x=times(power.index, sim_start), y=energy,
                                 mode="lines", name=f"{name}: energy delivered [kWh]",
                                 line={"color": colour, "width": 2}), row=2, col=1)
    plugged = _fleet_series(part, "plugged_count")
    if not plugged.empty:
        fig.add_trace(go.Scatter(x=times(plugged.index, sim_start), y=plugged.to_numpy(),
                                 mode="lines", name=f"{name}: plugged in [vehicles]",
                                 line={"color": "grey", "dash": "dot", "shape": "hv"}),
                      row=1, col=1, secondary_y=True)
    return recorded, energy


def _add_energy_notes(fig: go.Figure, kpis: dict[str, Any], recorded: bool,
                      total: np.ndarray | None) -> None:
    """The run's request as a line (older runs without the running energies) or the
    unmet energy at departure as a note (runs that recorded them)."""
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
