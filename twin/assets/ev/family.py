"""The ``ev_fleet`` asset family: vehicles of all fleets as arrays, one pandapower
load row per fleet (net charging power at its bus).

Public names: :class:`EvFleetFamily`, :class:`EvSnapshot`,
:data:`FULLY_SERVED_TOL_KWH`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import (
    Channel,
    FamilyContext,
    ProcessGen,
    StepPosition,
    add_element_rows,
)
from twin.assets.ev.charging import EvFleetState, ev_step
from twin.assets.ev.sessions import draw_sessions, read_sessions
from twin.clock import Phase

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import EvFleetAssetSpec

logger = logging.getLogger(__name__)

FULLY_SERVED_TOL_KWH = 0.1
"""A session counts as fully served when less than this is missing at departure. [kWh]"""


@dataclass(frozen=True)
class EvSnapshot:
    """What a controller may read of all EV fleets at CONTROL (one entry per vehicle).

    Attributes
    ----------
    fleet : numpy.ndarray
        Index of each vehicle's fleet (into ``names``).
    names : tuple of str
        Fleet names.
    bus : numpy.ndarray
        Bus of each fleet.
    plugged : numpy.ndarray
        Plugged in now.
    e_kwh, capacity_kwh, target_kwh : numpy.ndarray
        Stored energy, battery size and energy wanted at departure. [kWh]
    departure_s : numpy.ndarray
        Announced departure of the current session (NaN when away). [s]
    charger_kw, efficiency : numpy.ndarray
        Charger limit [kW] and efficiency [-].
    v2g : numpy.ndarray
        May discharge.
    degradation_eur_per_kwh : numpy.ndarray
        Wear cost of discharged energy. [EUR/kWh]
    """

    fleet: np.ndarray
    names: tuple[str, ...]
    bus: np.ndarray
    plugged: np.ndarray
    e_kwh: np.ndarray
    capacity_kwh: np.ndarray
    target_kwh: np.ndarray
    departure_s: np.ndarray
    charger_kw: np.ndarray
    efficiency: np.ndarray
    v2g: np.ndarray
    degradation_eur_per_kwh: np.ndarray


class EvFleetFamily:
    """All ``ev_fleet`` assets: vehicles as arrays, one load row per fleet.

    Without a command a plugged vehicle charges at full power until it holds its target
    energy (plug and charge). :meth:`command` sets per-vehicle power until the next
    command; ``command(None)`` returns to plug and charge.
    """

    kind: ClassVar[str] = "ev_fleet"

    def __init__(self, specs: list[EvFleetAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.rows = rows
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.fleet = np.concatenate([np.full(s.vehicles, j) for j, s in enumerate(specs)]
                                    ).astype(np.int64)
        per = lambda attr: np.concatenate(  # noqa: E731
            [np.full(s.vehicles, float(getattr(s, attr))) for s in specs]
        )
        self.charger_kw = per("charger_kw")
        self.efficiency = per("charge_efficiency")
        self.target_frac = per("target_soc_frac")
        self.v2g = per("v2g").astype(bool)
        self.degradation_eur_per_kwh = per("v2g_degradation_eur_per_kwh")
        self.capacity_kwh = per("capacity_kwh")
        n = self.fleet.size
        self.n_vehicles = n
        self.state = EvFleetState(np.zeros(n, bool), np.zeros(n), np.full(n, -1), np.zeros(n))
        self.fleet_p_mw = np.zeros(len(specs))
        self.fleet_plugged = np.zeros(len(specs))
        # recorded per fleet after ACT (see :meth:`channels`)
        self.fleet_soc_frac = np.full(len(specs), np.nan)
        self.fleet_e_kwh = np.zeros(len(specs))
        self.fleet_need_kwh = np.zeros(len(specs))
        self.fleet_requested_kwh = np.zeros(len(specs))
        self.fleet_charged_kwh = np.zeros(len(specs))
        self._command: np.ndarray | None = None
        self._expected: tuple[np.ndarray | None, np.ndarray, np.ndarray] | None = None
        """(command or None for plug and charge, p, e_new) of the last
        :meth:`expected_p_kw`, valid until the state or the command changes."""
        self._departure_s = np.full(n, np.nan)
        self._actual_departure_s = np.full(n, np.nan)
        self._target_kwh = np.zeros(n)
        self.delivered_kwh = 0.0
        self.discharged_kwh = 0.0
        self.session_unmet_kwh: list[float] = []
        self.session_requested_kwh: list[float] = []
        self.position = StepPosition()
        # partial steps (act_from): the running segment's start offset [s], vehicle
        # energy there [kWh] and power [kW]; kW s of the step's finished segments per fleet
        self._fresh = False
        self._seg_off = 0.0
        self._seg_e0 = np.zeros(n)
        self._seg_p = np.zeros(n)
        self._done_kws = np.zeros(len(specs))

    @classmethod
    def add_to_network(cls, specs: list[EvFleetAssetSpec], net: Any) -> EvFleetFamily:
        """Add one load row per fleet (net charging power at its bus)."""
        rows = add_element_rows(
            net, "load",
            [{"bus": s.bus, "p_mw": 0.0, "q_mvar": 0.0, "name": f"asset/{s.name}"} for s in specs],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Draw (or read) the sessions and map them onto the step grid."""
        scenario = ctx.scenario
        self.step_s = ctx.step_s
        self.n_steps = ctx.n_steps
        vehicle_offset = 0
        arrivals: list[np.ndarray] = []
        for spec in self.specs:
            index = next(i for i, a in enumerate(scenario.assets) if a.name == spec.name)
            if spec.sessions_file is not None:
                path = Path(spec.sessions_file)
                if not path.is_absolute():
                    path = Path(scenario.source).parent / path
                sessions = read_sessions(
                    path, scenario.source, f"assets.{index}.sessions_file", spec.capacity_kwh,
                    spec.vehicles,
                )
            else:
                sessions = draw_sessions(
                    spec.site, spec.vehicles, scenario.time.start, scenario.time.duration_s,
                    ctx.rng, spec.capacity_kwh, spec.early_departure_prob,
                )
            self.capacity_kwh[vehicle_offset + sessions.vehicle] = sessions.capacity_kwh
            arrivals.append(np.column_stack([
                sessions.vehicle + vehicle_offset, sessions.arrival_s, sessions.departure_s,
                sessions.actual_departure_s, sessions.arrival_soc_frac,
            ]))
            vehicle_offset += spec.vehicles
        table = np.concatenate(arrivals) if arrivals else np.zeros((0, 5))
        table = table[np.lexsort((table[:, 0], table[:, 1]))]
        # plug in at the first step start at or after arrival; leave at the step start at
        # or before the actual departure (sessions shorter than a step are dropped)
        step = float(ctx.step_s)
        k_in = np.ceil(table[:, 1] / step).clip(min=0)
        k_out = np.floor(table[:, 3] / step)
        keep = k_out > k_in
        self.sessions = table[keep]
        self._k_in = k_in[keep].astype(np.int64)
        self._k_out = k_out[keep].astype(np.int64)
        self._p_view, self._q_view = ctx.injections.rows("load", *self.rows)
        self._next_session = 0
        self._recorder = ctx.recorder

    # -- control --------------------------------------------------------------------

    def command(self, p_kw: np.ndarray | None) -> None:
        """Per-vehicle power requests (charging positive) until the next command, or
        None for plug and charge. Applied within limits at ACT. [kW]"""
        self._command = None if p_kw is None else np.asarray(p_kw, dtype=float).copy()
        self._expected = None
        self._fresh = True

    def requested_p_kw(self) -> np.ndarray:
        """Per-vehicle request in force: the standing command, else plug and charge
        (:meth:`default_request_kw`); applied within the limits at ACT. [kW]"""
        return self._command if self._command is not None else self.default_request_kw()

    def scale_flexible(self, buses: set[int] | list[int], share: float) -> None:
        """Serve only ``share`` of the charging requested by the vehicles of fleets at
        ``buses`` this step (an island short of power), the others unchanged: the
        request in force times ``share`` becomes the command. [-]"""
        in_buses = np.isin(self.bus[self.fleet], list(buses))
        base = self.requested_p_kw()
        self.command(np.where(in_buses, base * share, base))

    def default_request_kw(self) -> np.ndarray:
        """Plug and charge: full power while below target (inside a step whose ACT ran:
        to reach it by the step end from the energy now). [kW]"""
        s = self.state
        offset = self.position.offset_s()
        if offset is not None:
            need = np.maximum(self._target_kwh - self._energy_now(offset), 0.0)
            dt_h = (self.step_s - offset) / 3600.0
            return np.minimum(self.charger_kw, need / (self.efficiency * dt_h))
        need = np.maximum(self._target_kwh - s.e_kwh, 0.0)
        dt_h = self.step_s / 3600.0
        return np.minimum(self.charger_kw, need / (self.efficiency * dt_h))

    # -- process --------------------------------------------------------------------

    def _arrive_and_leave(self, k: int) -> None:
        self._expected = None
        s = self.state
        leaving = s.plugged & (self._leave_k <= k)
        for v in np.flatnonzero(leaving):
            unmet = max(0.0, self._target_kwh[v] - s.e_kwh[v])
            self.session_unmet_kwh.append(float(unmet))
            self.session_requested_kwh.append(float(self._requested_kwh[v]))
            s.plugged[v] = False
            s.session[v] = -1
            self._departure_s[v] = np.nan
        while self._next_session < len(self.sessions) and self._k_in[self._next_session] <= k:
            i = self._next_session
            v = int(self.sessions[i, 0])
            if not s.plugged[v]:
                s.plugged[v] = True
                s.session[v] = i
                s.e_kwh[v] = self.sessions[i, 4] * self.capacity_kwh[v]
                self._departure_s[v] = self.sessions[i, 2]
                self._leave_k[v] = self._k_out[i]
                self._target_kwh[v] = self.target_frac[v] * self.capacity_kwh[v]
                self._requested_kwh[v] = max(0.0, self._target_kwh[v] - s.e_kwh[v])
                self.fleet_requested_kwh[self.fleet[v]] += self._requested_kwh[v]
            self._next_session += 1

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """SENSE: arrivals and departures, expected power written; ACT: apply requests
        within limits."""
        n = self.n_vehicles
        self._leave_k = np.full(n, np.iinfo(np.int64).max)
        self._requested_kwh = np.zeros(n)
        n_fleets = len(self.specs)
        self.position.start(env, clock)
        while True:
            k = yield clock.wait(Phase.SENSE)
            self._arrive_and_leave(k)
            self.fleet_plugged[:] = np.bincount(self.fleet, self.state.plugged, n_fleets)
            # what the standing command (or plug and charge) will draw: controllers read it
            self._p_view[:] = self.expected_p_kw() / 1000.0
            yield clock.wait(Phase.ACT)
            self.position.acted_step = k
            self._fresh = False
            self._seg_off = 0.0
            np.copyto(self._seg_e0, self.state.e_kwh)
            self._done_kws[:] = 0.0
            expected = self._expected
            if expected is not None and expected[0] is self._command:
                # the standing command's step was already computed this step (by a
                # controller's expected_p_kw, or at SENSE) on the same state: reuse it
                self._commit(expected[1], expected[2])
            else:
                self.apply(self.requested_p_kw())

    def expected_p_kw(self) -> np.ndarray:
        """Per-fleet power the current command (or plug and charge) will draw this step,
        within the limits (what :meth:`apply` will do at ACT; inside a step whose ACT
        ran, what :meth:`act_from` would draw over the rest of it). [kW]"""
        offset = self.position.offset_s()
        if offset is not None:
            s = self.state
            p, _e = ev_step(self.requested_p_kw(), s.plugged, self._energy_now(offset),
                            self.capacity_kwh, self.charger_kw, self.efficiency, self.v2g,
                            self.step_s - offset)
            return np.bincount(self.fleet, p, len(self.specs))
        expected = self._expected
        if expected is not None and expected[0] is self._command:
            p = expected[1]
        else:
            command = self._command
            request = command if command is not None else self.default_request_kw()
            s = self.state
            p, e_new = ev_step(request, s.plugged, s.e_kwh, self.capacity_kwh,
                               self.charger_kw, self.efficiency, self.v2g, self.step_s)
            self._expected = (command, p, e_new)
        return np.bincount(self.fleet, p, len(self.specs))

    def apply(self, request_kw: np.ndarray) -> None:
        """Apply a request for the current step (within limits) and write injections."""
        s = self.state
        p, e_new = ev_step(request_kw, s.plugged, s.e_kwh, self.capacity_kwh, self.charger_kw,
                           self.efficiency, self.v2g, self.step_s)
        self._commit(p, e_new)

    def _commit(self, p: np.ndarray, e_new: np.ndarray) -> None:
        """Take the step's power and energy (from :func:`ev_step`) and write injections."""
        self._expected = None
        s = self.state
        n_fleets = len(self.specs)
        self.fleet_charged_kwh += np.bincount(self.fleet, e_new - s.e_kwh, n_fleets)
        s.p_kw = p
        self._seg_p = p
        s.e_kwh = e_new
        self._state_channels(e_new)
        dt_h = self.step_s / 3600.0
        # np.clip(p, 0, None) and np.clip(p, None, 0) are these ufuncs in numpy
        self.delivered_kwh += float(np.maximum(p, 0).sum() * dt_h)
        self.discharged_kwh += float(-np.minimum(p, 0).sum() * dt_h)
        self.fleet_p_mw[:] = np.bincount(self.fleet, p, len(self.specs)) / 1000.0
        self._p_view[:] = self.fleet_p_mw

    def _state_channels(self, e_new: np.ndarray) -> None:
        """Per fleet: stored energy, state of charge and need of the plugged vehicles
        at the step end."""
        n_fleets = len(self.specs)
        plugged = self.state.plugged
        stored = np.bincount(self.fleet, np.where(plugged, e_new, 0.0), n_fleets)
        capacity = np.bincount(self.fleet, np.where(plugged, self.capacity_kwh, 0.0), n_fleets)
        self.fleet_e_kwh[:] = stored
        with np.errstate(invalid="ignore", divide="ignore"):
            self.fleet_soc_frac[:] = np.where(capacity > 0, stored / capacity, np.nan)
        self.fleet_need_kwh[:] = np.bincount(
            self.fleet, np.where(plugged, np.maximum(self._target_kwh - e_new, 0.0), 0.0),
            n_fleets)

    def _energy_now(self, offset_s: float) -> np.ndarray:
        """Vehicle energy ``offset_s`` into the step (the running segment integrated
        from its start). [kWh]"""
        dt = offset_s - self._seg_off
        if dt <= 0.0:
            return self._seg_e0.copy()
        s = self.state
        return ev_step(self._seg_p, s.plugged, self._seg_e0, self.capacity_kwh, self.charger_kw,
                       self.efficiency, self.v2g, dt)[1]

    def act_from(self, offset_s: float) -> None:
        """Partial-step hook (:mod:`twin.assets.base`): the vehicles charged at their
        step's power up to ``offset_s``; the request commanded since applies from there
        to the step end (within the limits over that rest). The power channel becomes
        the step's mean; delivered and discharged energy integrate both parts. Without a
        command since ACT nothing changes."""
        if not self._fresh:
            return
        self._fresh = False
        s = self.state
        e_now = self._energy_now(offset_s)
        n_fleets = len(self.specs)
        self._done_kws += np.bincount(self.fleet, self._seg_p, n_fleets) * (offset_s - self._seg_off)
        rest = float(self.step_s) - offset_s
        p, e_new = ev_step(self.requested_p_kw(), s.plugged, e_now, self.capacity_kwh,
                           self.charger_kw, self.efficiency, self.v2g, rest)
        rest_h = rest / 3600.0  # the old power was booked to the step end at ACT
        self.delivered_kwh += float((np.maximum(p, 0).sum() - np.maximum(self._seg_p, 0).sum())
                                    * rest_h)
        self.discharged_kwh += float((np.minimum(self._seg_p, 0).sum() - np.minimum(p, 0).sum())
                                     * rest_h)
        self._expected = None
        self._seg_off, self._seg_p = float(offset_s), p
        self._seg_e0 = e_now
        self.fleet_charged_kwh += np.bincount(self.fleet, e_new - s.e_kwh, n_fleets)
        s.p_kw = p
        s.e_kwh = e_new
        self._state_channels(e_new)
        fleet_now = np.bincount(self.fleet, p, n_fleets)
        self.fleet_p_mw[:] = (self._done_kws + fleet_now * rest) / float(self.step_s) / 1000.0
        self._p_view[:] = fleet_now / 1000.0

    def snapshot(self) -> EvSnapshot:
        """Per-vehicle state (valid from CONTROL on; inside a step whose ACT ran, the
        energy now)."""
        s = self.state
        offset = self.position.offset_s()
        return EvSnapshot(
            fleet=self.fleet, names=self.names, bus=self.bus, plugged=s.plugged.copy(),
            e_kwh=s.e_kwh.copy() if offset is None else self._energy_now(offset), capacity_kwh=self.capacity_kwh.copy(),
            target_kwh=self._target_kwh.copy(), departure_s=self._departure_s.copy(),
            charger_kw=self.charger_kw, efficiency=self.efficiency, v2g=self.v2g,
            degradation_eur_per_kwh=self.degradation_eur_per_kwh,
        )

    def channels(self) -> list[Channel]:
        """Per fleet: net charging power [MW], plugged vehicles [-], and over the plugged
        vehicles their state of charge (stored over battery size; NaN when none is
        plugged) [1], stored energy [kWh] and energy still missing to their departure
        targets [kWh]; and since the start, the energy requested by the sessions that
        arrived (target minus arrival energy) [kWh] and the net energy put into the
        batteries (battery side, discharge counted negative) [kWh].

        ``requested_kwh - charged_kwh`` is the energy still missing to the targets of the
        sessions so far: ``need_kwh`` plus the unmet energy of the sessions that left
        (while no vehicle is charged above its target).
        """
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.fleet_p_mw),
            Channel("asset", "plugged_count", "-", entities, self.fleet_plugged),
            Channel("asset", "soc_frac", "1", entities, self.fleet_soc_frac),
            Channel("asset", "e_kwh", "kWh", entities, self.fleet_e_kwh),
            Channel("asset", "need_kwh", "kWh", entities, self.fleet_need_kwh),
            Channel("asset", "requested_kwh", "kWh", entities, self.fleet_requested_kwh),
            Channel("asset", "charged_kwh", "kWh", entities, self.fleet_charged_kwh),
        ]

    def session_kpis(self) -> dict[str, float]:
        """Session KPIs so far (sessions still plugged in at the end are not counted)."""
        unmet = np.asarray(self.session_unmet_kwh)
        served = float(np.mean(unmet < FULLY_SERVED_TOL_KWH)) if unmet.size else 1.0
        return {
            "ev_energy_delivered_mwh": self.delivered_kwh / 1000.0,
            "ev_energy_discharged_mwh": self.discharged_kwh / 1000.0,
            "ev_unmet_at_departure_mwh": float(unmet.sum()) / 1000.0,
            "ev_sessions_completed": float(unmet.size),
            "ev_sessions_fully_served_frac": served,
        }

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Delivered and unmet energy, fully-served share, peak charging power."""
        out = self.session_kpis()
        total = np.nansum(values[0], axis=1) if values[0].ndim == 2 else values[0]
        out["ev_peak_charging_mw"] = float(np.nanmax(total)) if total.size else 0.0
        return out
