"""Power balance: sources stacked above zero, sinks below, the net import line, shaded
islands/outages/faults; and every power series as recorded (lines).

Public names: :func:`balance_terms`, :func:`power_balance`, :func:`power_lines`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gui.charts.base import (
    KIND_COLOURS,
    KIND_LABELS,
    apply_layout,
    asset_kind_label,
    family,
    matching,
    quantity_words,
    times,
)
from gui.charts.events import shade_intervals


def _power_group(entity: str, quantity: str, kinds: dict[str, str]) -> str | None:
    family, _, name = entity.partition("/")
    if quantity.endswith("_kw") and family == "asset" and quantity != "p_kw":
        label = KIND_LABELS.get(kinds.get(name, ""), kinds.get(name, name))
        return f"{label}: {quantity_words(quantity.removesuffix('_kw') + '_mw')}"
    if not quantity.endswith("_mw"):
        return None
    if family == "grid":
        return f"Grid: {quantity_words(quantity)}"
    if quantity != "p_mw":
        if family == "asset":
            label = KIND_LABELS.get(kinds.get(name, ""), kinds.get(name, name))
            return f"{label}: {quantity_words(quantity)}"
        return None
    if family == "load":
        return "Network loads"
    if family == "sgen":
        return "Network generation"
    if family == "storage":
        return "Network storage"
    if family == "asset":
        kind = kinds.get(name, "")
        return KIND_LABELS.get(kind, kind.capitalize() or "Other assets")
    return None


_PRODUCERS = {"pv", "generator", "chp", "diesel"}


_STORAGE = {"battery"}


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
            add(asset_kind_label(kind), part, 1.0)
        elif kind in _STORAGE:
            add("Battery discharging", part, -1.0, "pos")
            add("Battery charging", part, -1.0, "neg")
        else:
            add(asset_kind_label(kind), part, -1.0)
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
    fig = apply_layout(fig, title, "Power [kW] (sources > 0, sinks < 0)", height=420)
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
    return apply_layout(fig, "Power by group (as recorded; storage and loads > 0 when "
                   "consuming)", "Power [MW]")
