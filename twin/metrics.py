"""KPI definitions: from a run's recording and derived grid results to ``kpis.json``.

Every KPI name carries its unit. Energies integrate power over the step
(``sum(p) * step_h``); steps whose power flow did not converge have no grid results and
count in ``nonconverged_steps`` only.

Public names: :func:`grid_kpis`, :func:`merge_kpis`, :data:`KPI_UNITS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.grid import DerivedResults
    from twin.recorder import Recording

KPI_DESCRIPTIONS: dict[str, str] = {
    "energy_import_mwh": "Energy drawn from the upstream grid (slack)",
    "energy_export_mwh": "Energy fed back to the upstream grid",
    "losses_mwh": "Active losses in lines, transformers and shunts",
    "load_energy_mwh": "Energy consumed by all loads",
    "generation_energy_mwh": "Energy produced by all static generators",
    "min_bus_voltage_pu": "Lowest bus voltage over all buses and steps",
    "max_bus_voltage_pu": "Highest bus voltage over all buses and steps",
    "voltage_violation_bus_steps": "Bus-steps outside the voltage band",
    "max_line_loading_percent": "Highest line loading",
    "line_overload_steps": "Steps with at least one line above the loading limit",
    "max_trafo_loading_percent": "Highest transformer loading",
    "trafo_overload_steps": "Steps with at least one transformer above the loading limit",
    "pv_energy_mwh": "Energy delivered by PV (scenario PV and the network's PV sgens)",
    "pv_available_mwh": "Energy PV could have delivered",
    "pv_curtailed_mwh": "PV energy curtailed by control",
    "battery_charge_mwh": "Energy charged into batteries (grid side)",
    "battery_discharge_mwh": "Energy discharged from batteries (grid side)",
    "battery_throughput_mwh": "Battery charge plus discharge energy",
    "nonconverged_steps": "Steps whose power flow did not converge",
    "n_steps": "Steps simulated",
}
"""KPI name -> one-line description (``twin show`` prints these)."""


def _nan_or(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def grid_kpis(
    recording: Recording,
    derived: DerivedResults,
    *,
    injection_weight: np.ndarray,
    element_slices: dict[str, slice],
    voltage_band_pu: tuple[float, float],
    loading_limit_percent: float,
) -> dict[str, float | None]:
    """Grid KPIs of a run (see :data:`KPI_DESCRIPTIONS`)."""
    step_h = recording.step_s / 3600.0
    ok = recording.converged
    slack = derived.slack_p_mw.sum(axis=1)
    flows = injection_weight * recording.p_mw  # injection, generation positive

    def total(table: str, sign: float) -> float:
        sl = element_slices[table]
        return float(sign * np.nansum(flows[:, sl]) * step_h)

    vm = derived.vm_pu[ok]
    low, high = voltage_band_pu
    with np.errstate(invalid="ignore"):
        outside = int(np.count_nonzero((vm < low - 1e-12) | (vm > high + 1e-12)))
    line = derived.line_loading_percent[ok]
    trafo = derived.trafo_loading_percent[ok]

    def peak(a: np.ndarray) -> float | None:
        return _nan_or(float(np.nanmax(a))) if a.size and np.isfinite(a).any() else None

    def low_of(a: np.ndarray) -> float | None:
        return _nan_or(float(np.nanmin(a))) if a.size and np.isfinite(a).any() else None

    def overloaded_steps(a: np.ndarray) -> int:
        if a.size == 0:
            return 0
        return int(np.count_nonzero((a > loading_limit_percent).any(axis=1)))

    return {
        "energy_import_mwh": float(np.nansum(np.clip(slack[ok], 0, None)) * step_h),
        "energy_export_mwh": float(-np.nansum(np.clip(slack[ok], None, 0)) * step_h),
        "losses_mwh": float(np.nansum(derived.losses_p_mw[ok]) * step_h),
        "load_energy_mwh": total("load", -1.0),
        "generation_energy_mwh": total("sgen", 1.0),
        "min_bus_voltage_pu": low_of(vm),
        "max_bus_voltage_pu": peak(vm),
        "voltage_violation_bus_steps": outside,
        "max_line_loading_percent": peak(line),
        "line_overload_steps": overloaded_steps(line),
        "max_trafo_loading_percent": peak(trafo),
        "trafo_overload_steps": overloaded_steps(trafo),
        "pv_energy_mwh": 0.0,
        "pv_available_mwh": 0.0,
        "pv_curtailed_mwh": 0.0,
        "battery_charge_mwh": 0.0,
        "battery_discharge_mwh": 0.0,
        "battery_throughput_mwh": 0.0,
        "nonconverged_steps": int(np.count_nonzero(~ok)),
        "n_steps": int(recording.n_steps),
    }


def merge_kpis(
    base: dict[str, float | None], parts: Iterable[dict[str, float | None]]
) -> dict[str, float | None]:
    """Add family KPIs into ``base``: the same name from several families is summed.

    A None value (nothing to report) keeps the name in the output as None unless
    another part gives it a number.
    """
    out = dict(base)
    for part in parts:
        for name, value in part.items():
            current = out.get(name)
            if value is None:
                out.setdefault(name, None)
            else:
                out[name] = float(value) if current is None else float(current) + float(value)
    return out
