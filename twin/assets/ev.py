"""EV fleets (``kind: ev_fleet``): charging sessions, chargers, smart-charging setpoints.

Each fleet is one site at one bus (one pandapower load row, net charging power).
Vehicles arrive and leave in *sessions*, drawn from seeded distributions for the site
type and weekday (:func:`draw_sessions`) or replayed from a CSV file
(:func:`read_sessions`). A vehicle with no command charges at full power until it reaches
its target (the rule-based "plug and charge" policy); a controller sets per-vehicle
power with :meth:`EvFleetFamily.command`, applied within the charger, battery and
plug-in limits.

Public names: :class:`EvSessions`, :func:`draw_sessions`, :func:`read_sessions`,
:class:`EvFleetState`, :class:`EvFleetFamily`, :class:`EvSnapshot`, :func:`ev_step`,
:data:`SITE_PROFILES`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import Channel, FamilyContext, ProcessGen, add_element_rows
from twin.clock import Phase
from twin.errors import ScenarioError
from twin.simtime import parse_duration_s

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import EvFleetAssetSpec

logger = logging.getLogger(__name__)

FULLY_SERVED_TOL_KWH = 0.1
"""A session counts as fully served when less than this is missing at departure. [kWh]"""

SITE_PROFILES: dict[str, dict[str, tuple[float, float, float, float, float, float]]] = {
    # (arrival mean h, arrival sd h, stay mean h, stay sd h, arrival soc mean, sd)
    "home": {"weekday": (18.0, 1.5, 13.5, 1.5, 0.40, 0.12),
             "weekend": (16.0, 3.0, 16.0, 3.0, 0.50, 0.15)},
    "workplace": {"weekday": (8.5, 1.0, 8.5, 1.0, 0.45, 0.12),
                  "weekend": (10.0, 2.0, 4.0, 1.5, 0.50, 0.15)},
    "depot": {"weekday": (18.5, 1.0, 11.0, 0.75, 0.25, 0.08),
              "weekend": (17.0, 1.5, 14.0, 1.0, 0.30, 0.10)},
}
"""Session distributions per site type and day kind (assumptions in the range of
published charging-session data: ElaadNL, Dundee and workplace studies). Times in hours,
normal distributions truncated to sensible ranges; weekend workplace sessions happen for
20 % of vehicles."""


@dataclass(frozen=True)
class EvSessions:
    """Charging sessions of one fleet, sorted by arrival; times in seconds since start.

    Attributes
    ----------
    vehicle : numpy.ndarray
        Vehicle index of each session.
    arrival_s, departure_s : numpy.ndarray
        Plug-in time and announced departure. [s]
    actual_departure_s : numpy.ndarray
        When the vehicle really leaves (earlier than announced for early leavers). [s]
    arrival_soc_frac : numpy.ndarray
        State of charge at plug-in. [-]
    capacity_kwh : numpy.ndarray
        Battery size of the vehicle of each session. [kWh]
    """

    vehicle: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    actual_departure_s: np.ndarray
    arrival_soc_frac: np.ndarray
    capacity_kwh: np.ndarray

    @property
    def n(self) -> int:
        """Number of sessions."""
        return int(self.vehicle.size)


def draw_sessions(
    site: str,
    vehicles: int,
    start: dt.datetime,
    duration_s: int,
    rng: np.random.Generator,
    capacity_kwh: float,
    early_departure_prob: float = 0.0,
) -> EvSessions:
    """Draw one session per vehicle and day from the site's distributions.

    Parameters
    ----------
    site : {"home", "workplace", "depot"}
        Site type (:data:`SITE_PROFILES`).
    vehicles : int
        Fleet size.
    start : datetime.datetime
        Calendar time of second 0 (sets weekdays and time of day).
    duration_s : int
        Horizon; sessions arriving after it are dropped. [s]
    rng : numpy.random.Generator
        The run's generator (a fixed number of draws per day and vehicle).
    capacity_kwh : float
        Battery size. [kWh]
    early_departure_prob : float
        Chance a vehicle leaves up to 2 h before its announced departure.

    Returns
    -------
    EvSessions
        A vehicle's next session never starts before it has left.
    """
    midnight = dt.datetime.combine(start.date(), dt.time())
    offset_s = (start - midnight).total_seconds()
    n_days = int(np.ceil((duration_s + offset_s) / 86400.0)) + 1
    rows: list[tuple[int, float, float, float, float]] = []
    free_from = np.full(vehicles, -np.inf)
    for day in range(-1, n_days):
        date = midnight + dt.timedelta(days=day)
        kind = "weekend" if date.weekday() >= 5 else "weekday"
        a_mu, a_sd, s_mu, s_sd, soc_mu, soc_sd = SITE_PROFILES[site][kind]
        draws = rng.standard_normal((vehicles, 3))
        early = rng.random((vehicles, 2))
        show = rng.random(vehicles)
        for v in range(vehicles):
            if site == "workplace" and kind == "weekend" and show[v] > 0.2:
                continue
            arrival_h = float(np.clip(a_mu + a_sd * draws[v, 0], 0.0, 23.75))
            stay_h = float(np.clip(s_mu + s_sd * draws[v, 1], 1.0, 36.0))
            soc = float(np.clip(soc_mu + soc_sd * draws[v, 2], 0.05, 0.9))
            arrival = day * 86400.0 + arrival_h * 3600.0 - offset_s
            arrival = max(arrival, free_from[v] + 900.0)
            departure = arrival + stay_h * 3600.0
            actual = departure
            if early[v, 0] < early_departure_prob:
                actual = max(arrival + 900.0, departure - early[v, 1] * 7200.0)
            free_from[v] = actual
            if departure <= 0 or arrival >= duration_s:
                continue
            rows.append((v, arrival, departure, actual, soc))
    rows.sort(key=lambda r: (r[1], r[0]))
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return EvSessions(
        vehicle=arr[:, 0].astype(np.int64),
        arrival_s=arr[:, 1],
        departure_s=arr[:, 2],
        actual_departure_s=arr[:, 3],
        arrival_soc_frac=arr[:, 4],
        capacity_kwh=np.full(len(arr), float(capacity_kwh)),
    )


def _time_value(text: Any) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = str(text).strip()
    try:
        return float(value)
    except ValueError:
        return float(parse_duration_s(value))


def read_sessions(
    path: str | Path, label: str, field: str, default_capacity_kwh: float, vehicles: int
) -> EvSessions:
    """Read a sessions CSV (columns ``vehicle, arrival, departure, arrival_soc_frac``
    and optionally ``capacity_kwh``, ``actual_departure``).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    label, field : str
        Scenario file and field path for error messages.
    default_capacity_kwh : float
        Battery size when the file has no ``capacity_kwh`` column. [kWh]
    vehicles : int
        Fleet size; vehicle indices must lie in ``0 .. vehicles-1``.

    Raises
    ------
    ScenarioError
        For an unreadable file, a missing column, a departure not after its arrival, a
        state of charge outside [0, 1] or overlapping sessions of one vehicle, naming the
        row and column.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ScenarioError.single(
            label, field, f"sessions file {path} cannot be read ({exc}); expected a CSV with "
            "columns vehicle, arrival, departure, arrival_soc_frac"
        ) from None
    missing = [c for c in ("vehicle", "arrival", "departure", "arrival_soc_frac")
               if c not in frame.columns]
    if missing:
        raise ScenarioError.single(
            label, field, f"sessions file {path} lacks column(s) {', '.join(missing)}"
        )
    problems = []
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        where = f"{field} (row {i + 2} of {Path(path).name})"
        try:
            vehicle = int(rec["vehicle"])
            arrival = _time_value(rec["arrival"])
            departure = _time_value(rec["departure"])
            actual = _time_value(rec.get("actual_departure", departure)
                                 if pd.notna(rec.get("actual_departure", departure)) else departure)
            soc = float(rec["arrival_soc_frac"])
            cap = float(rec.get("capacity_kwh", default_capacity_kwh))
        except (ValueError, TypeError) as exc:
            problems.append((where, f"unreadable value ({exc})"))
            continue
        if not 0 <= vehicle < vehicles:
            problems.append((where, f"vehicle {vehicle}: expected 0 .. {vehicles - 1}"))
        if departure <= arrival:
            problems.append((where, f"departure {rec['departure']} is not after arrival "
                             f"{rec['arrival']}; expected departure > arrival"))
        if not 0.0 <= soc <= 1.0:
            problems.append((where, f"arrival_soc_frac {soc}: expected within [0, 1]"))
        if not cap > 0:
            problems.append((where, f"capacity_kwh {cap}: expected > 0"))
        rows.append((vehicle, arrival, departure, min(actual, departure), soc, cap))
    if problems:
        from twin.errors import Problem

        raise ScenarioError([Problem(label, w, m) for w, m in problems])
    rows.sort(key=lambda r: (r[1], r[0]))
    arr = np.array(rows, dtype=float).reshape(-1, 6)
    last_end: dict[int, float] = {}
    for vehicle, arrival, _dep, actual, _soc, _cap in rows:
        if arrival < last_end.get(int(vehicle), -np.inf):
            raise ScenarioError.single(
                label, field, f"sessions of vehicle {int(vehicle)} overlap at {arrival} s; "
                "expected a vehicle to leave before it arrives again"
            )
        last_end[int(vehicle)] = actual
    return EvSessions(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4],
                      arr[:, 5])


@dataclass
class EvFleetState:
    """Mutable per-vehicle state of all fleets (arrays over all vehicles).

    Attributes
    ----------
    plugged : numpy.ndarray
        Vehicle is at its charger.
    e_kwh : numpy.ndarray
        Energy in the battery. [kWh]
    session : numpy.ndarray
        Index of the current session (-1 when away).
    p_kw : numpy.ndarray
        Charging power of the last step (negative when discharging). [kW]
    """

    plugged: np.ndarray
    e_kwh: np.ndarray
    session: np.ndarray
    p_kw: np.ndarray


def ev_step(
    p_request_kw: np.ndarray,
    plugged: np.ndarray,
    e_kwh: np.ndarray,
    capacity_kwh: np.ndarray,
    charger_kw: np.ndarray,
    efficiency: np.ndarray,
    v2g: np.ndarray,
    step_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply charging requests within the physical limits; return power and new energy.

    Parameters
    ----------
    p_request_kw : numpy.ndarray
        Requested grid-side power per vehicle (charging positive). [kW]
    plugged : numpy.ndarray
        Whether each vehicle is plugged in.
    e_kwh, capacity_kwh : numpy.ndarray
        Stored energy and battery size. [kWh]
    charger_kw, efficiency : numpy.ndarray
        Charger limit [kW] and one-way efficiency [-] (grid to battery; the same on
        discharge, battery to grid).
    v2g : numpy.ndarray
        Whether each vehicle may discharge.
    step_s : int
        Step length. [s]

    Returns
    -------
    p_kw, e_new_kwh : numpy.ndarray
        Grid-side power applied [kW] and energy after the step [kWh].

    Notes
    -----
    ``p = clip(request, -P_dis, P_ch)`` with
    ``P_ch = min(P_charger, (E_cap - E) / (eta dt))`` and
    ``P_dis = min(P_charger, E eta / dt)`` for V2G vehicles (0 otherwise), and 0 when
    unplugged; ``E+ = E + eta p dt`` when charging, ``E + p dt / eta`` when discharging,
    so ``0 <= E+ <= E_cap`` always.
    """
    dt_h = step_s / 3600.0
    request = np.asarray(p_request_kw, dtype=float)
    if not np.isfinite(request).all():  # nan_to_num only when needed (same values)
        request = np.nan_to_num(request)
    p_ch = np.minimum(charger_kw, np.maximum(capacity_kwh - e_kwh, 0.0) / (efficiency * dt_h))
    p_dis = np.where(v2g, np.minimum(charger_kw, np.maximum(e_kwh, 0.0) * efficiency / dt_h), 0.0)
    # ndarray.clip is np.clip without its dispatch wrapper (same ufunc, same values)
    p = np.where(plugged, request.clip(-p_dis, p_ch), 0.0)
    e_new = e_kwh + np.where(p >= 0, efficiency * p, p / efficiency) * dt_h
    return p, np.asarray(e_new).clip(0.0, capacity_kwh)


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
        """Plug and charge: full power while below target. [kW]"""
        s = self.state
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
            self._next_session += 1

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """SENSE: arrivals and departures, expected power written; ACT: apply requests
        within limits."""
        n = self.n_vehicles
        self._leave_k = np.full(n, np.iinfo(np.int64).max)
        self._requested_kwh = np.zeros(n)
        n_fleets = len(self.specs)
        while True:
            k = yield clock.wait(Phase.SENSE)
            self._arrive_and_leave(k)
            self.fleet_plugged[:] = np.bincount(self.fleet, self.state.plugged, n_fleets)
            # what the standing command (or plug and charge) will draw: controllers read it
            self._p_view[:] = self.expected_p_kw() / 1000.0
            yield clock.wait(Phase.ACT)
            expected = self._expected
            if expected is not None and expected[0] is self._command:
                # the standing command's step was already computed this step (by a
                # controller's expected_p_kw, or at SENSE) on the same state: reuse it
                self._commit(expected[1], expected[2])
            else:
                self.apply(self.requested_p_kw())

    def expected_p_kw(self) -> np.ndarray:
        """Per-fleet power the current command (or plug and charge) will draw this step,
        within the limits (what :meth:`apply` will do at ACT). [kW]"""
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
        s.p_kw = p
        s.e_kwh = e_new
        dt_h = self.step_s / 3600.0
        # np.clip(p, 0, None) and np.clip(p, None, 0) are these ufuncs in numpy
        self.delivered_kwh += float(np.maximum(p, 0).sum() * dt_h)
        self.discharged_kwh += float(-np.minimum(p, 0).sum() * dt_h)
        self.fleet_p_mw[:] = np.bincount(self.fleet, p, len(self.specs)) / 1000.0
        self._p_view[:] = self.fleet_p_mw

    def snapshot(self) -> EvSnapshot:
        """Per-vehicle state (valid from CONTROL on)."""
        s = self.state
        return EvSnapshot(
            fleet=self.fleet, names=self.names, bus=self.bus, plugged=s.plugged.copy(),
            e_kwh=s.e_kwh.copy(), capacity_kwh=self.capacity_kwh.copy(),
            target_kwh=self._target_kwh.copy(), departure_s=self._departure_s.copy(),
            charger_kw=self.charger_kw, efficiency=self.efficiency, v2g=self.v2g,
            degradation_eur_per_kwh=self.degradation_eur_per_kwh,
        )

    def channels(self) -> list[Channel]:
        """Net charging power and plugged vehicles per fleet. [MW, -]"""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.fleet_p_mw),
            Channel("asset", "plugged_count", "-", entities, self.fleet_plugged),
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
