"""Plotly figures for the Results, Compare and Sweeps pages, from tidy frames.

Every builder takes already aggregated data (see :mod:`gui.series`) and returns a
figure, or None when the run did not record the quantity, so pages can say so instead
of drawing an empty chart.

One sub-domain per module: :mod:`~gui.charts.base` (labels, number formatting, colours
per asset kind, layout), :mod:`~gui.charts.power` (power balance),
:mod:`~gui.charts.assets` (state of charge, EVs, zone temperatures),
:mod:`~gui.charts.grid` (voltages, loading), :mod:`~gui.charts.network` (the map),
:mod:`~gui.charts.events` (timeline, shaded periods), :mod:`~gui.charts.solvers`
(solver calls), :mod:`~gui.charts.kpis` (cards, comparisons), :mod:`~gui.charts.sweeps`
(swept parameters). This ``__init__`` re-exports their public names, so pages write
``charts.power_balance(...)``.
"""

from __future__ import annotations

from gui.charts.assets import (
    comfort_band_c,
    ev_charging,
    state_of_charge,
    zone_temperatures,
)
from gui.charts.base import (
    KIND_COLOURS,
    KIND_LABELS,
    apply_layout,
    asset_kind_label,
    asset_kinds,
    family,
    format_kpi,
    kpi_label,
    matching,
    quantity_words,
    rgba,
    select_series,
    series_figure,
    times,
)
from gui.charts.events import (
    EVENT_COLOURINGS,
    INTERVAL_STYLES,
    event_colourings,
    event_intervals,
    events_timeline,
    shade_intervals,
)
from gui.charts.grid import line_loading, voltage_heatmap, voltage_profile
from gui.charts.kpis import (
    headline_cards,
    kpi_delta_table,
    kpi_direction,
    run_mismatches,
    unserved_energy_kwh,
)
from gui.charts.network import DARK_BUS_PU, network_map
from gui.charts.power import balance_terms, power_balance, power_lines
from gui.charts.solvers import (
    DIRECT_CALL,
    LATENCY_PARTS,
    add_wall_times,
    call_group_column,
    call_quality,
    is_direct,
    latency_breakdown,
    log_ticks,
    numeric_columns,
    qaoa_landscape_figure,
    solver_calls,
    solver_stats,
    solver_summary,
    solver_tradeoff,
)
from gui.charts.sweeps import (
    CATEGORICAL_PARAMETERS,
    flatten,
    is_categorical,
    varying_parameters,
)

__all__ = [
    "CATEGORICAL_PARAMETERS",
    "DARK_BUS_PU",
    "DIRECT_CALL",
    "EVENT_COLOURINGS",
    "INTERVAL_STYLES",
    "KIND_COLOURS",
    "KIND_LABELS",
    "LATENCY_PARTS",
    "add_wall_times",
    "apply_layout",
    "asset_kind_label",
    "asset_kinds",
    "balance_terms",
    "call_group_column",
    "call_quality",
    "comfort_band_c",
    "ev_charging",
    "event_colourings",
    "event_intervals",
    "events_timeline",
    "family",
    "flatten",
    "format_kpi",
    "headline_cards",
    "is_categorical",
    "is_direct",
    "kpi_delta_table",
    "kpi_direction",
    "kpi_label",
    "latency_breakdown",
    "line_loading",
    "log_ticks",
    "matching",
    "network_map",
    "numeric_columns",
    "power_balance",
    "power_lines",
    "qaoa_landscape_figure",
    "quantity_words",
    "rgba",
    "run_mismatches",
    "select_series",
    "series_figure",
    "shade_intervals",
    "solver_calls",
    "solver_stats",
    "solver_summary",
    "solver_tradeoff",
    "state_of_charge",
    "times",
    "unserved_energy_kwh",
    "varying_parameters",
    "voltage_heatmap",
    "voltage_profile",
    "zone_temperatures",
]
