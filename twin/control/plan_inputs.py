"""The EMS's plan inputs: the families' public state, snapshots and forecasts turned
into the :class:`~twin.control.problems.DispatchInputs` of one plan.

One function per asset family (:func:`battery_inputs`, :func:`generator_inputs`,
:func:`ev_inputs`, :func:`building_inputs`, :func:`run_inputs`), the uncontrolled
demand forecast (:func:`uncontrolled_forecast_kw`) and the PCC limit per slot
(:func:`pcc_limit_kw`), on the plan's time grid (:class:`PlanGrid`). Perfect forecasts
of profiles, weather and occupancy; plugged vehicles' announced departures, no
knowledge of future arrivals.

Imports: numpy, :mod:`twin.control.problems` (the input types); reads families only
through their public methods and attributes.

Public names: :class:`PlanGrid`, :func:`uncontrolled_forecast_kw`, :func:`slot_mean`,
:func:`pcc_limit_kw`, :func:`battery_inputs`, :func:`generator_inputs`,
:func:`ev_inputs`, :func:`building_inputs`, :func:`run_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.control.problems import (
    BatteryInputs,
    BuildingInputs,
    EvInputs,
    GeneratorInputs,
    RunInputs,
)

if TYPE_CHECKING:
    from twin.control import ControlContext


@dataclass(frozen=True)
class PlanGrid:
    """The time grid of one plan.

    Attributes
    ----------
    k : int
        Grid step the plan starts at.
    step_s : int
        Grid step length. [s]
    per : int
        Grid steps per plan slot.
    t_len : int
        Slots in the horizon.
    dt_h : float
        Slot length. [h]
    """

    k: int
    step_s: int
    per: int
    t_len: int
    dt_h: float

    @property
    def n(self) -> int:
        """Grid steps in the horizon."""
        return self.t_len * self.per

    @property
    def now_s(self) -> int:
        """Simulated time of the plan's start. [s]"""
        return self.k * self.step_s

    def slot_start_s(self) -> np.ndarray:
        """Start of each slot. [s]"""
        return self.now_s + np.arange(self.t_len) * self.dt_h * 3600


def uncontrolled_forecast_kw(ctx: ControlContext, k0: int, n: int) -> np.ndarray:
    """Uncontrolled net demand of steps ``k0 .. k0+n-1``: network loads and sgens, load
    and PV assets, buildings' plug loads (perfect forecast; wraps past the run). [kW]"""
    model = ctx.model
    fams = ctx.families
    steps = np.arange(k0, k0 + n) % ctx.n_steps
    total = np.zeros(n)
    weight = np.asarray(model.injection_weight, float)
    net = fams.get("network")
    if net is not None:
        for table, p in net.forecast_p_mw(steps).items():
            sl = model.element_slices[table]
            w = weight[sl][: p.shape[1]]
            total += -(p @ w) * 1000.0
    load = fams.get("load")
    if load is not None:
        total += load.forecast_p_mw(steps).sum(axis=1) * 1000.0
    pv = fams.get("pv")
    if pv is not None:
        total -= pv.forecast_available_p_mw(steps).sum(axis=1) * 1000.0
    bld = fams.get("building")
    if bld is not None:
        total += bld.forecast_plug_load_kw(k0, n)
    return total


def slot_mean(values: np.ndarray, per: int) -> np.ndarray:
    """Mean over each run of ``per`` rows: ``reshape(-1, per, ...).mean(axis=1)``, as
    numpy's mean computes it (a float64 sum divided by the count) without its wrapper.

    Examples
    --------
    >>> slot_mean(np.arange(6.0), 3)
    array([1., 4.])
    """
    grouped = values.reshape(-1, per, *values.shape[1:])
    kind = grouped.dtype.kind
    if kind != "f" or grouped.dtype.itemsize != 8:  # ints, bools, other floats: numpy's mean
        return grouped.mean(axis=1)
    return np.add.reduce(grouped, axis=1) / per


def pcc_limit_kw(steps_kw: np.ndarray, base_kw: np.ndarray, per: int, limit_kw: float,
                 loss_reserve: float) -> np.ndarray:
    """The plan's PCC limit per slot: room is kept in each slot for the uncontrolled
    demand's peak inside the slot and for losses (the limit holds at the PCC, losses
    included). [kW]"""
    peak = np.maximum.reduce(steps_kw.reshape(-1, per), axis=1)  # .max(axis=1)
    return np.maximum((1.0 - loss_reserve) * limit_kw - (peak - base_kw), 0.0)


def battery_inputs(bat: Any) -> BatteryInputs:
    """The batteries' stored energy now and their limits (kWh, kW)."""
    p = bat.params
    return BatteryInputs(bat.energy_mwh * 1000.0, p.e_min_mwh * 1000.0, p.e_max_mwh * 1000.0,
                         p.power_mw * 1000.0, p.charge_efficiency, p.discharge_efficiency)


def generator_inputs(gen: Any, grid: PlanGrid) -> GeneratorInputs:
    """The units' commitment now and their limits, up and down times in slots."""
    s = gen.snapshot()
    dt = grid.dt_h
    return GeneratorInputs(
        s.on, np.floor(s.steps_in_state / grid.per), s.p_min_kw, s.p_max_kw,
        np.ceil(s.min_up_s / (dt * 3600)), np.ceil(s.min_down_s / (dt * 3600)),
        s.startup_cost_eur, s.fuel_cost_eur_per_kwh,
    )


def ev_inputs(evf: Any, grid: PlanGrid, margin_s: int) -> tuple[EvInputs, np.ndarray]:
    """The plugged vehicles (their indices in the fleet, returned too): share of each
    slot before departure (``margin_s`` earlier than announced), need by departure when
    it falls inside the horizon, free battery room."""
    s = evf.snapshot()
    idx = np.flatnonzero(s.plugged)
    dt = grid.dt_h
    now_s = grid.now_s
    slot_start = grid.slot_start_s()
    dep = np.maximum(s.departure_s[idx] - margin_s, now_s + grid.step_s)
    avail = ((dep[None, :] - slot_start[:, None]) / (dt * 3600)).clip(0.0, 1.0)
    horizon_end = now_s + grid.t_len * dt * 3600
    due = dep <= horizon_end
    need = np.where(due, np.maximum(s.target_kwh[idx] - s.e_kwh[idx], 0.0), 0.0)
    inputs = EvInputs(avail, s.charger_kw[idx], s.efficiency[idx], need,
                      np.maximum(s.target_kwh[idx] - s.e_kwh[idx], 0.0), s.e_kwh[idx],
                      s.v2g[idx], s.degradation_eur_per_kwh[idx])
    return inputs, idx


def building_inputs(bld: Any, grid: PlanGrid, comfort_margin_k: float) -> BuildingInputs:
    """The zones' exact discrete model at the slot length, the forecast weather and
    gains as its drive, COP/EER per slot and the comfort bounds at slot ends (tightened
    by ``comfort_margin_k``, at most a quarter of the narrowest band)."""
    t_len, per, dt, k, n = grid.t_len, grid.per, grid.dt_h, grid.k, grid.n
    fleet = bld.fleet
    model = fleet.model(int(dt * 3600))
    steps = np.arange(k, k + n) % len(bld.occupied_table)
    wsteps = np.arange(k, k + n) % bld.weather.n_steps
    occ = bld.occupied_table[steps]
    t_out = slot_mean(bld.weather.temp_air_c[wsteps], per)
    ghi = slot_mean(bld.weather.ghi_w_per_m2[wsteps], per)
    gains = slot_mean(fleet.internal_gains_kw(occ).astype(float), per)
    # (T, N, 3): what np.stack of the broadcast columns makes, filled in place
    d = np.empty((*gains.shape, 3))
    d[:, :, 0] = t_out[:, None]
    d[:, :, 1] = ghi[:, None]
    d[:, :, 2] = gains
    x0 = np.stack([bld.state.t_air_c, bld.state.t_mass_c], axis=1)
    drive = np.einsum("nij,tnj->tni", model.e, d)
    cop, eer = fleet.cop_eer(t_out)
    # the slot-end temperature must suit every step of this slot and the next
    # (bands tighten when occupancy starts inside a slot)
    lo_k, hi_k = fleet.comfort_bounds(occ)
    # reductions and stacking as ufunc calls (.max/.min/np.vstack/np.min without
    # their wrappers: the same operations)
    lo_s = np.maximum.reduce(lo_k.reshape(t_len, per, -1), axis=1)
    hi_s = np.minimum.reduce(hi_k.reshape(t_len, per, -1), axis=1)
    lower = np.maximum(lo_s, np.concatenate((lo_s[1:], lo_s[-1:])))
    upper = np.minimum(hi_s, np.concatenate((hi_s[1:], hi_s[-1:])))
    margin = min(comfort_margin_k, 0.25 * float(np.minimum.reduce(upper - lower, axis=None)))
    return BuildingInputs(model.a, model.b, drive, x0, cop, eer, lower + margin,
                          upper - margin, fleet.p_el_max_kw)


def run_inputs(loads: Any, state: Any, grid: PlanGrid) -> tuple[RunInputs, np.ndarray]:
    """The deferrable runs not started whose window meets the horizon (their indices,
    returned too): allowed start slots (the current slot also when its window is open
    now), whether each must start inside the horizon, durations in slots."""
    dt = grid.dt_h
    now_s = grid.now_s
    end_s = now_s + grid.n * grid.step_s
    pending = np.flatnonzero(~state.started & (loads.latest_end_s > now_s)
                             & (loads.earliest_start_s < end_s))
    slot_start = grid.slot_start_s()
    allowed = ((slot_start[None, :] >= loads.earliest_start_s[pending, None])
               & (slot_start[None, :] <= loads.latest_start_s[pending, None]))
    allowed[:, 0] |= (now_s >= loads.earliest_start_s[pending]) & (
        now_s <= loads.latest_start_s[pending])
    must = loads.latest_start_s[pending] < end_s
    must &= allowed.any(axis=1)
    dur = np.ceil(loads.duration_s[pending] / (dt * 3600)).astype(int)
    return RunInputs(allowed, must, dur, loads.p_kw[pending]), pending
