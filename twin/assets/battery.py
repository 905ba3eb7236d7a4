"""Batteries added by a scenario (``kind: battery``): efficiencies, power and energy
limits, state-of-charge bounds and self-discharge.

Public names: :class:`BatteryParams`, :func:`battery_limits`, :func:`battery_step`,
:class:`BatteryFamily`, :class:`BatterySnapshot`.

Notes
-----
Power is grid-side and follows pandapower's storage convention: positive when
charging. Over a step of ``dt`` hours, with stored energy ``E``:

1. self-discharge: ``E' = E (1 - s)^(dt / 24)``, not below ``min(E, E_min)`` (the
   battery management keeps a cell that sits at its floor there);
2. limits: ``P_ch,max = min(P_max, (E_max - E') / (eta_ch dt))`` and
   ``P_dis,max = min(P_max, (E' - E_min) eta_dis / dt)``;
3. the setpoint is clipped to ``[-P_dis,max, P_ch,max]`` and
   ``E_new = E' + eta_ch P dt`` when charging, ``E' + P dt / eta_dis`` when discharging.

So the state of charge stays within ``[soc_min, soc_max]`` whatever the setpoints.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import (
    Channel,
    FamilyContext,
    ProcessGen,
    StepPosition,
    add_element_rows,
)
from twin.clock import Phase

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import BatteryAssetSpec


@dataclass(frozen=True)
class BatteryParams:
    """Vectorised battery parameters (one entry per battery).

    Attributes
    ----------
    capacity_mwh, power_mw : numpy.ndarray
        Usable capacity [MWh] and grid-side power limit [MW].
    charge_efficiency, discharge_efficiency : numpy.ndarray
        Grid to cell and cell to grid. [-]
    soc_min_frac, soc_max_frac : numpy.ndarray
        State-of-charge bounds. [-]
    self_discharge_frac_per_day : numpy.ndarray
        Share of the stored energy lost per day. [1/d]
    """

    capacity_mwh: np.ndarray
    power_mw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    soc_min_frac: np.ndarray
    soc_max_frac: np.ndarray
    self_discharge_frac_per_day: np.ndarray

    @classmethod
    def from_specs(cls, specs: list[BatteryAssetSpec]) -> BatteryParams:
        """Build from scenario specs (kW, kWh -> MW, MWh)."""

        def arr(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=float)

        return cls(
            capacity_mwh=arr([s.capacity_kwh / 1000.0 for s in specs]),
            power_mw=arr([s.power_kw / 1000.0 for s in specs]),
            charge_efficiency=arr([s.charge_efficiency for s in specs]),
            discharge_efficiency=arr([s.discharge_efficiency for s in specs]),
            soc_min_frac=arr([s.soc_min_frac for s in specs]),
            soc_max_frac=arr([s.soc_max_frac for s in specs]),
            self_discharge_frac_per_day=arr([s.self_discharge_frac_per_day for s in specs]),
        )

    @functools.cached_property
    def e_min_mwh(self) -> np.ndarray:
        """Lowest allowed stored energy (computed once: the parameters are frozen). [MWh]"""
        return self.capacity_mwh * self.soc_min_frac

    @functools.cached_property
    def e_max_mwh(self) -> np.ndarray:
        """Highest allowed stored energy (computed once: the parameters are frozen). [MWh]"""
        return self.capacity_mwh * self.soc_max_frac


def _after_self_discharge(energy_mwh: np.ndarray, params: BatteryParams, dt_s: float) -> np.ndarray:
    kept = (1.0 - params.self_discharge_frac_per_day) ** (dt_s / 86400.0)
    floor = np.minimum(energy_mwh, params.e_min_mwh)
    return np.maximum(energy_mwh * kept, floor)


def battery_limits(
    energy_mwh: np.ndarray, params: BatteryParams, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Largest charge and discharge power over the next step. [MW, MW] (both >= 0)"""
    _e, charge, discharge = _step_limits(energy_mwh, params, dt_s)
    return charge, discharge


def _step_limits(
    energy_mwh: np.ndarray, params: BatteryParams, dt_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy after self-discharge [MWh] and the step's charge and discharge limits
    [MW] (:func:`battery_limits`; what :func:`battery_step` applies the setpoint within)."""
    dt_h = dt_s / 3600.0
    e = _after_self_discharge(energy_mwh, params, dt_s)
    # ndarray.clip is np.clip without its dispatch wrapper (same ufunc, same values)
    charge = ((params.e_max_mwh - e) / (params.charge_efficiency * dt_h)).clip(0.0, params.power_mw)
    discharge = ((e - params.e_min_mwh) * params.discharge_efficiency / dt_h).clip(0.0, params.power_mw)
    return e, charge, discharge


def battery_step(
    energy_mwh: np.ndarray, p_set_mw: np.ndarray, params: BatteryParams, dt_s: float,
    *, limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply setpoints for one step within the battery's limits.

    Parameters
    ----------
    energy_mwh : numpy.ndarray
        Stored energy at the start of the step. [MWh]
    p_set_mw : numpy.ndarray
        Requested grid-side power, positive when charging. [MW]
    params : BatteryParams
        The batteries.
    dt_s : float
        Step length. [s]
    limits : (numpy.ndarray, numpy.ndarray, numpy.ndarray), optional
        ``_step_limits(energy_mwh, params, dt_s)`` when the caller has them already
        (the family's snapshot of this step); computed here otherwise.

    Returns
    -------
    p_mw, energy_mwh : numpy.ndarray
        Power actually applied [MW] and stored energy at the end of the step [MWh].

    Examples
    --------
    >>> one = lambda x: np.array([x], dtype=float)
    >>> params = BatteryParams(one(0.01), one(0.005), one(1.0), one(1.0), one(0.0),
    ...                        one(1.0), one(0.0))
    >>> battery_step(one(0.0), one(0.02), params, 3600)
    (array([0.005]), array([0.005]))
    """
    dt_h = dt_s / 3600.0
    e, charge_max, discharge_max = (
        _step_limits(energy_mwh, params, dt_s) if limits is None else limits
    )
    request = np.asarray(p_set_mw, dtype=float)
    if not np.isfinite(request).all():  # nan_to_num only when needed (same values)
        request = np.nan_to_num(request)
    p = request.clip(-discharge_max, charge_max)
    cell = np.where(p > 0, p * params.charge_efficiency, p / params.discharge_efficiency)
    e_new = (e + cell * dt_h).clip(np.minimum(e, params.e_min_mwh), np.maximum(e, params.e_max_mwh))
    return p, e_new


@dataclass(frozen=True)
class BatterySnapshot:
    """What a controller may read of the batteries at CONTROL.

    Attributes
    ----------
    names : tuple of str
        Asset names.
    bus : numpy.ndarray
        pandapower bus of each battery.
    power_mw : numpy.ndarray
        Power rating. [MW]
    soc_frac : numpy.ndarray
        State of charge at the start of the step. [-]
    p_charge_max_mw, p_discharge_max_mw : numpy.ndarray
        Feasible charge and discharge power over this step (>= 0). [MW]
    """

    names: tuple[str, ...]
    bus: np.ndarray
    power_mw: np.ndarray
    soc_frac: np.ndarray
    p_charge_max_mw: np.ndarray
    p_discharge_max_mw: np.ndarray


class BatteryFamily:
    """All ``battery`` assets of a scenario: one pandapower storage row each.

    A controller sets this step's power with :meth:`command` (positive charging); without
    a command a battery idles. The setpoint is applied within the limits at ACT.
    """

    kind: ClassVar[str] = "battery"

    def __init__(self, specs: list[BatteryAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.params = BatteryParams.from_specs(specs)
        self.rows = rows
        n = len(specs)
        self.energy_mwh = self.params.capacity_mwh * np.array(
            [s.soc_initial_frac for s in specs], dtype=float
        )
        self.soc_frac = self.energy_mwh / self.params.capacity_mwh
        self.p_mw = np.zeros(n)
        self._setpoint_mw = np.zeros(n)
        self._step_s = 0
        self.tripped = np.zeros(n, dtype=bool)
        """Per battery: tripped by a fault (no power exchanged, only self-discharge)."""
        self._limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """This step's :func:`_step_limits` from :meth:`snapshot` (None after ACT)."""
        self.position = StepPosition()
        # partial steps (act_from): the running segment's start offset [s], stored
        # energy there [MWh] and power [MW]; MW s of the step's finished segments (net,
        # charging, discharging); KPI corrections of steps split by new set points [MWh]
        self._fresh = False
        self._seg_off = 0.0
        self._seg_e0 = self.energy_mwh.copy()
        self._seg_p = np.zeros(n)
        self._done_ms = np.zeros((3, n))
        self._kpi_corr: dict[int, tuple[float, float]] = {}
        self._carried_mw = np.zeros(n)
        """Island slack carried on top of the running segment's power (:meth:`carry_island_power`). [MW]"""
        self._slack_e_mwh = np.zeros(n)
        """Stored-energy change booked for the island slack this step (to its end). [MWh]"""

    @classmethod
    def add_to_network(cls, specs: list[BatteryAssetSpec], net: Any) -> BatteryFamily:
        """Add one storage row per spec and build the family."""
        rows = add_element_rows(
            net,
            "storage",
            [
                {
                    "bus": s.bus,
                    "p_mw": 0.0,
                    "max_e_mwh": s.capacity_kwh / 1000.0,
                    "soc_percent": 100.0 * s.soc_initial_frac,
                    "name": f"asset/{s.name}",
                }
                for s in specs
            ],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Take the storage rows of the injection buffer."""
        self._step_s = ctx.step_s
        self._p_view, self._q_view = ctx.injections.rows("storage", *self.rows)

    def command(self, p_mw: np.ndarray) -> None:
        """Set this step's grid-side power, positive when charging (inside a step whose
        ACT ran: from :meth:`act_from` on). [MW]"""
        np.copyto(self._setpoint_mw, np.asarray(p_mw, dtype=float))
        self._fresh = True

    def commanded_p_mw(self) -> np.ndarray:
        """This step's setpoint per battery as commanded so far (0 without a command;
        applied within the limits at ACT), positive when charging. A read-only view.
        [MW]"""
        view = self._setpoint_mw.view()
        view.flags.writeable = False
        return view

    def set_tripped(self, name: str, tripped: bool) -> None:
        """A fault trips battery ``name`` off (or restores it): while tripped it
        exchanges no power whatever its setpoint, and its stored energy only
        self-discharges."""
        self.tripped[self.names.index(name)] = bool(tripped)

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """ACT: apply the setpoint within limits, integrate the stored energy."""
        self.position.start(env, clock)
        while True:
            k = yield clock.wait(Phase.ACT)
            self.position.acted_step = k
            self._fresh = False
            self._seg_off = 0.0
            np.copyto(self._seg_e0, self.energy_mwh)
            self._done_ms[:] = 0.0
            if self.tripped.any():
                self._setpoint_mw[self.tripped] = 0.0
            # the limits of this step's snapshot, if a controller took one: the energy has
            # not changed since (it changes only here)
            p, energy = battery_step(self.energy_mwh, self._setpoint_mw, self.params, self._step_s,
                                     limits=self._limits)
            self._limits = None
            self.p_mw[:] = p
            self._seg_p[:] = p
            self._carried_mw[:] = 0.0
            self._slack_e_mwh[:] = 0.0
            self.energy_mwh[:] = energy
            np.divide(self.energy_mwh, self.params.capacity_mwh, out=self.soc_frac)
            # E <= capacity * soc_max holds exactly; the division may round one ulp above
            self.soc_frac.clip(self.params.soc_min_frac, self.params.soc_max_frac,
                               out=self.soc_frac)
            self._setpoint_mw[:] = 0.0
            self._p_view[:] = self.p_mw

    def _energy_now(self, offset_s: float) -> np.ndarray:
        """Stored energy ``offset_s`` into the step: the running segment integrated
        from its start. [MWh]"""
        dt = offset_s - self._seg_off
        if dt <= 0.0:
            return self._seg_e0.copy()
        return battery_step(self._seg_e0, self._seg_p, self.params, dt)[1]

    def act_from(self, offset_s: float) -> None:
        """Partial-step hook (:mod:`twin.assets.base`): the batteries ran their
        set points up to ``offset_s`` into the step; the power commanded since applies
        from there to the step end, within the limits over that rest. The power channel
        becomes the step's mean. Without a command since ACT nothing changes."""
        if not self._fresh:
            return
        self._fresh = False
        step_s = float(self._step_s)
        e_now = self._energy_now(offset_s)
        ran = offset_s - self._seg_off
        self._done_ms += np.stack([self._seg_p, self._seg_p.clip(0.0, None),
                                   -self._seg_p.clip(None, 0.0)]) * ran
        if self.tripped.any():
            self._setpoint_mw[self.tripped] = 0.0
        rest = step_s - offset_s
        p, energy = battery_step(e_now, self._setpoint_mw, self.params, rest)
        self._setpoint_mw[:] = 0.0
        self._seg_off, self._seg_p[:] = float(offset_s), p
        np.copyto(self._seg_e0, e_now)
        self.energy_mwh[:] = (energy + self._slack_e_mwh).clip(  # island slack booked (islands)
            np.minimum(energy, self.params.e_min_mwh), np.maximum(energy, self.params.e_max_mwh))
        np.divide(self.energy_mwh, self.params.capacity_mwh, out=self.soc_frac)
        self.soc_frac.clip(self.params.soc_min_frac, self.params.soc_max_frac, out=self.soc_frac)
        mean = (self._done_ms[0] + p * rest) / step_s
        self.p_mw[:] = mean
        self._p_view[:] = p
        # exact charge / discharge energy of the step against what the mean gives
        charge = (self._done_ms[1] + p.clip(0.0, None) * rest).sum() / 3600.0
        discharge = (self._done_ms[2] - p.clip(None, 0.0) * rest).sum() / 3600.0
        step_h = step_s / 3600.0
        self._kpi_corr[self.position.acted_step] = (
            float(charge - mean.clip(0.0, None).sum() * step_h),
            float(discharge + mean.clip(None, 0.0).sum() * step_h))

    def carry_island_power(self, extra_mw: np.ndarray, remaining_s: float) -> None:
        """As an island's grid-forming unit, carry ``extra_mw`` (the island's slack) on
        top of the running segment's power from now to the step's end: the stored energy
        moves by the change against what was carried before, through the efficiencies
        (the microgrid keeps the total within the step's limits, so the state of
        charge stays in its bounds). The injection buffer keeps the set point; the
        power channel shows the total. [MW, s]"""
        extra = np.asarray(extra_mw, dtype=float)
        if np.array_equal(extra, self._carried_mw):
            return
        prm = self.params

        def cell(p: np.ndarray) -> np.ndarray:
            return np.where(p > 0, p * prm.charge_efficiency, p / prm.discharge_efficiency)

        new = self._seg_p + extra
        change = (cell(new) - cell(self._seg_p + self._carried_mw)) * (remaining_s / 3600.0)
        e = self.energy_mwh + change
        self._slack_e_mwh += change
        self.energy_mwh[:] = e.clip(np.minimum(self.energy_mwh, prm.e_min_mwh),
                                    np.maximum(self.energy_mwh, prm.e_max_mwh))
        self.p_mw[:] = new
        self._carried_mw[:] = extra
        np.divide(self.energy_mwh, prm.capacity_mwh, out=self.soc_frac)
        self.soc_frac.clip(prm.soc_min_frac, prm.soc_max_frac, out=self.soc_frac)

    def channels(self) -> list[Channel]:
        """Grid-side power (the step's mean when set points changed inside it) [MW]
        and state of charge at the end of the step [-]."""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.p_mw),
            Channel("asset", "soc_frac", "1", entities, self.soc_frac),
        ]

    def snapshot(self) -> BatterySnapshot:
        """State of charge and feasible power for the coming step (inside a step whose
        ACT ran: now, and over the rest of the step)."""
        offset = self.position.offset_s()
        if offset is not None:
            now = self._energy_now(offset)
            _e, charge, discharge = _step_limits(now, self.params, self._step_s - offset)
            if self.tripped.any():
                charge[self.tripped] = 0.0
                discharge[self.tripped] = 0.0
            soc = (now / self.params.capacity_mwh).clip(self.params.soc_min_frac,
                                                         self.params.soc_max_frac)
            return BatterySnapshot(self.names, self.bus, self.params.power_mw, soc, charge,
                                   discharge)
        e, charge, discharge = _step_limits(self.energy_mwh, self.params, self._step_s)
        self._limits = (e, charge.copy(), discharge.copy())
        if self.tripped.any():
            charge[self.tripped] = 0.0
            discharge[self.tripped] = 0.0
        return BatterySnapshot(
            self.names, self.bus, self.params.power_mw, self.soc_frac.copy(), charge, discharge
        )

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Energy charged, discharged and their sum (throughput), grid side. [MWh]"""
        p = np.nan_to_num(values[0])
        step_h = step_s / 3600.0
        charge = float(np.clip(p, 0, None).sum() * step_h)
        discharge = float(-np.clip(p, None, 0).sum() * step_h)
        if self._kpi_corr:  # steps split by set points arriving inside them
            charge += sum(c for c, _d in self._kpi_corr.values())
            discharge += sum(d for _c, d in self._kpi_corr.values())
        return {
            "battery_charge_mwh": charge,
            "battery_discharge_mwh": discharge,
            "battery_throughput_mwh": charge + discharge,
        }
