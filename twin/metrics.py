"""KPI definitions: from a run's recording and derived grid results to ``kpis.json``.

Every KPI name carries its unit. Energies integrate the power-flow results over the
run's intervals of constant network state (:class:`twin.recorder.Intervals`:
``sum(p * duration_h)``; with one interval per step, ``sum(p) * step_h`` as in
fixed-step QSTS); intervals whose power flow did not converge have no grid results and
count in ``nonconverged_steps`` only. Load on buses without supply is not served: it is
``load_unserved_mwh``, never ``load_energy_mwh``. Voltage and loading extremes cover
every interval that lasted.

Public names: :func:`grid_kpis`, :func:`merge_kpis`, :data:`KPI_UNITS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.grid import DerivedResults
    from twin.recorder import Recording

KPI_DESCRIPTIONS: dict[str, str] = {
    "energy_import_mwh": "Energy drawn from the upstream grid (slack)",
    "energy_export_mwh": "Energy fed back to the upstream grid",
    "losses_mwh": "Active losses in lines, transformers and shunts",
    "load_energy_mwh": "Energy consumed by all loads (served load)",
    "load_unserved_mwh": "Load demanded on buses without supply (not served)",
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


@dataclass(frozen=True)
class _Rows:
    """The recorded rows KPIs integrate over: the steps (fixed-step, ``weight_h`` None)
    or the intervals (``weight_h`` their durations). [h]"""

    ok: np.ndarray
    lasting: np.ndarray
    weight_h: np.ndarray | None
    step_h: float
    first: np.ndarray | None
    unserved_mw: np.ndarray
    p_mw: np.ndarray

    @classmethod
    def of(cls, recording: Recording) -> _Rows:
        step_h = recording.step_s / 3600.0
        iv = recording.intervals
        if iv is None or iv.fixed_step:  # fixed-step: one interval per step
            ok = recording.converged if iv is None else iv.converged
            return cls(ok, ok, None, step_h, None,
                       np.zeros(0) if iv is None else iv.unserved_mw,
                       recording.p_mw if iv is None else iv.p_mw)
        return cls(iv.converged, iv.converged & (iv.duration_s > 0), iv.duration_s / 3600.0,
                   step_h, iv.first, iv.unserved_mw, iv.p_mw)

    @property
    def usable(self) -> np.ndarray:
        """Rows whose state counts for extremes: converged (and lasting, with intervals)."""
        return self.ok if self.weight_h is None else self.lasting

    def integral(self, values: np.ndarray) -> float:
        """Energy of a power series over the recorded rows. [MWh]"""
        if self.weight_h is None:
            return float(np.nansum(values) * self.step_h)
        w = self.weight_h if values.ndim == 1 else self.weight_h[:, None]
        return float(np.nansum(values * w))

    def steps_with(self, mask: np.ndarray) -> np.ndarray:
        """Rows -> steps: a step counts when any of its intervals does."""
        if self.weight_h is None:
            return mask
        return np.logical_or.reduceat(mask, self.first, axis=0)


def _peak(a: np.ndarray) -> float | None:
    return _nan_or(float(np.nanmax(a))) if a.size and np.isfinite(a).any() else None


def _low(a: np.ndarray) -> float | None:
    return _nan_or(float(np.nanmin(a))) if a.size and np.isfinite(a).any() else None


def _energy_kpis(rows: _Rows, derived: DerivedResults, injection_weight: np.ndarray,
                 element_slices: dict[str, slice]) -> dict[str, float]:
    """Import, export, losses, load, unserved load and generation. [MWh]"""
    ok, step_h = rows.ok, rows.step_h
    slack = derived.slack_p_mw.sum(axis=1)
    flows = injection_weight * rows.p_mw  # injection, generation positive

    def total(table: str, sign: float) -> float:
        sl = element_slices[table]
        if rows.weight_h is None:
            return float(sign * np.nansum(flows[:, sl]) * step_h)
        return float(sign * np.nansum(flows[:, sl] * rows.weight_h[:, None]))

    if rows.weight_h is None:
        energy_import = float(np.nansum(np.clip(slack[ok], 0, None)) * step_h)
        energy_export = float(-np.nansum(np.clip(slack[ok], None, 0)) * step_h)
        losses = float(np.nansum(derived.losses_p_mw[ok]) * step_h)
    else:
        energy_import = rows.integral(np.where(ok, np.clip(slack, 0, None), 0.0))
        energy_export = -rows.integral(np.where(ok, np.clip(slack, None, 0), 0.0))
        losses = rows.integral(np.where(ok, derived.losses_p_mw, 0.0))
    return {
        "energy_import_mwh": energy_import,
        "energy_export_mwh": energy_export,
        "losses_mwh": losses,
        "load_energy_mwh": total("load", -1.0),
        "load_unserved_mwh": rows.integral(rows.unserved_mw) if rows.unserved_mw.size else 0.0,
        "generation_energy_mwh": total("sgen", 1.0),
    }


def _voltage_kpis(rows: _Rows, derived: DerivedResults,
                  voltage_band_pu: tuple[float, float]) -> dict[str, float | None]:
    """Lowest and highest bus voltage, bus-steps outside the band."""
    rows_ok = rows.usable
    vm = derived.vm_pu[rows_ok]
    low, high = voltage_band_pu
    if rows.weight_h is None:
        with np.errstate(invalid="ignore"):
            outside = int(np.count_nonzero((vm < low - 1e-12) | (vm > high + 1e-12)))
    else:
        with np.errstate(invalid="ignore"):
            bad = (derived.vm_pu < low - 1e-12) | (derived.vm_pu > high + 1e-12)
        outside = int(np.count_nonzero(rows.steps_with(bad & rows_ok[:, None])))
    return {"min_bus_voltage_pu": _low(vm), "max_bus_voltage_pu": _peak(vm),
            "voltage_violation_bus_steps": outside}


def _loading_kpis(rows: _Rows, derived: DerivedResults,
                  loading_limit_percent: float) -> dict[str, float | None]:
    """Highest line and trafo loading, steps with an overloaded branch."""
    rows_ok = rows.usable

    def overloaded_steps(table: np.ndarray) -> int:
        if table.shape[1] == 0:
            return 0
        if rows.weight_h is None:
            a = table[rows_ok]
            return int(np.count_nonzero((a > loading_limit_percent).any(axis=1)))
        with np.errstate(invalid="ignore"):
            over = (table > loading_limit_percent).any(axis=1) & rows_ok
        return int(np.count_nonzero(rows.steps_with(over)))

    return {
        "max_line_loading_percent": _peak(derived.line_loading_percent[rows_ok]),
        "line_overload_steps": overloaded_steps(derived.line_loading_percent),
        "max_trafo_loading_percent": _peak(derived.trafo_loading_percent[rows_ok]),
        "trafo_overload_steps": overloaded_steps(derived.trafo_loading_percent),
    }


def grid_kpis(
    recording: Recording,
    derived: DerivedResults,
    *,
    injection_weight: np.ndarray,
    element_slices: dict[str, slice],
    voltage_band_pu: tuple[float, float],
    loading_limit_percent: float,
) -> dict[str, float | None]:
    """Grid KPIs of a run (see :data:`KPI_DESCRIPTIONS`): energies integrated over the
    recorded rows (:func:`_energy_kpis`), voltage (:func:`_voltage_kpis`) and loading
    (:func:`_loading_kpis`) extremes and violations, zeros for the family KPIs a run
    without those families reports.

    ``derived`` holds the results of every interval of ``recording.intervals`` (of
    every step when the recording has no intervals).
    """
    rows = _Rows.of(recording)
    return {
        **_energy_kpis(rows, derived, injection_weight, element_slices),
        **_voltage_kpis(rows, derived, voltage_band_pu),
        **_loading_kpis(rows, derived, loading_limit_percent),
        "pv_energy_mwh": 0.0,
        "pv_available_mwh": 0.0,
        "pv_curtailed_mwh": 0.0,
        "battery_charge_mwh": 0.0,
        "battery_discharge_mwh": 0.0,
        "battery_throughput_mwh": 0.0,
        "nonconverged_steps": int(np.count_nonzero(~recording.converged)),
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
