"""KPIs: the headline cards, which direction is better, the comparison table (% change,
worse flags) and the warnings for runs that are not like for like.

Public names: :func:`kpi_direction`, :func:`kpi_delta_table`, :func:`run_mismatches`,
:func:`unserved_energy_kwh`, :func:`headline_cards`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gui.charts.base import format_kpi

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
