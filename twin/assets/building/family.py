"""The ``building`` asset family: a :class:`BuildingFleet` of zones, its deferrable
runs and plug loads, one pandapower load row per building.

Public names: :class:`BuildingFamily`, :class:`BuildingSnapshot`,
:data:`PLUG_LOAD_FRAC`, :data:`WEATHER_MARGIN_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from twin.assets.base import Channel, FamilyContext, ProcessGen, add_element_rows
from twin.assets.building.deferrable import (
    ApplianceRun,
    DeferrableLoads,
    DeferrableState,
    daily_runs,
    start_as_soon_as_allowed,
)
from twin.assets.building.fleet import BuildingFleet, finite_or_zero
from twin.assets.building.kpis import comfort_violation_kh
from twin.assets.building.presets import params_from_spec
from twin.assets.building.thermostat import ThermostatState, thermostat_setpoints
from twin.clock import Phase
from twin.weather import load_scenario_weather

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import BuildingAssetSpec

PLUG_LOAD_FRAC = 0.8
"""Share of internal gains that is electrical plug and lighting load drawn from the
grid (the rest is occupants' metabolic heat; assumption). [-]"""

WEATHER_MARGIN_S = 3 * 86400
"""Weather is loaded this far beyond the run so a controller can look ahead. [s]"""


@dataclass(frozen=True)
class BuildingSnapshot:
    """What a controller reads of the buildings at CONTROL.

    Attributes
    ----------
    names : tuple of str
    bus : numpy.ndarray
    t_air_c, t_mass_c : numpy.ndarray
        Zone temperatures now. [degC]
    run_owner : numpy.ndarray
        Building of each deferrable run.
    run_started : numpy.ndarray
        Whether each run has started.
    """

    names: tuple[str, ...]
    bus: np.ndarray
    t_air_c: np.ndarray
    t_mass_c: np.ndarray
    run_owner: np.ndarray
    run_started: np.ndarray


class BuildingFamily:
    """All ``building`` assets: a :class:`BuildingFleet`, its deferrable runs, one load
    row per building (HVAC + deferrable + plug load).

    Without a command the ideal thermostat (:func:`thermostat_setpoints`) runs the HVAC
    and each deferrable run starts as soon as its window opens. A controller sets HVAC
    electrical power per zone and starts runs with :meth:`command` (held until the next
    command); the fleet applies them within the unit limits.
    """

    kind: ClassVar[str] = "building"

    def __init__(self, specs: list[BuildingAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.rows = rows
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.fleet = BuildingFleet([params_from_spec(s) for s in specs])
        self.state = self.fleet.initial_state(np.array([s.initial_temp_c for s in specs], float))
        n = len(specs)
        self.p_mw = np.zeros(n)
        self.p_hvac_kw = np.zeros(n)
        self.t_air_c = self.state.t_air_c.copy()
        self.lower_c = np.zeros(n)
        self.upper_c = np.zeros(n)
        self._command: tuple[np.ndarray, np.ndarray] | None = None
        self._start_requests: np.ndarray | None = None
        self._thermostat = ThermostatState.off(n)
        self._k = 0
        self.violation_kh = 0.0
        self.hvac_kwh = 0.0
        self.deferrable_kwh = 0.0
        self.plug_kwh = 0.0

    @classmethod
    def add_to_network(cls, specs: list[BuildingAssetSpec], net: Any) -> BuildingFamily:
        """Add one load row per building."""
        rows = add_element_rows(
            net, "load",
            [{"bus": s.bus, "p_mw": 0.0, "q_mvar": 0.0, "name": f"asset/{s.name}"} for s in specs],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Load the weather, occupancy and deferrable runs on the step grid.

        Raises
        ------
        twin.errors.ScenarioError
            When the weather file cannot be read (field ``weather.file``).
        """
        scenario = ctx.scenario
        self.step_s = int(ctx.step_s)
        self.n_steps = int(ctx.n_steps)
        self.weather = load_scenario_weather(scenario, self.n_steps * self.step_s + WEATHER_MARGIN_S,
                                             self.step_s)
        self.times = self.weather.times
        self.occupied_table = self.fleet.occupied(self.times)
        self._cop_eer_table: tuple[np.ndarray, np.ndarray] | None = None
        self._plug_table: tuple[Any, np.ndarray, np.ndarray] | None = None
        self._gains_sum_table: tuple[Any, np.ndarray, np.ndarray] | None = None
        start = pd.Timestamp(scenario.time.start)
        offset_s = (start - start.normalize()).total_seconds()
        n_days = int(np.ceil((self.n_steps * self.step_s + offset_s) / 86400.0))
        runs: list[tuple[int, ApplianceRun]] = []
        for i, spec in enumerate(self.specs):
            runs.extend(daily_runs(spec, i, n_days, offset_s))
        self.run_owner = np.array([r[0] for r in runs], dtype=np.int64)
        self.loads = DeferrableLoads([r[1] for r in runs])
        self.loads_state = self.loads.initial_state()
        self._p_view, self._q_view = ctx.injections.rows("load", *self.rows)

    def command(self, p_heat_el_kw: np.ndarray | None, p_cool_el_kw: np.ndarray | None = None,
                start_runs: np.ndarray | None = None) -> None:
        """HVAC electrical power per zone (None: thermostat) and runs to start now. [kW]"""
        if p_heat_el_kw is None:
            self._command = None
        else:
            cool = np.zeros(self.fleet.n) if p_cool_el_kw is None else p_cool_el_kw
            self._command = (np.asarray(p_heat_el_kw, float).copy(), np.asarray(cool, float).copy())
        self._start_requests = None if start_runs is None else np.asarray(start_runs, bool).copy()

    def _default_hvac(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return thermostat_setpoints(
            self.fleet, self.state, self._thermostat, self.occupied_table[k],
            self.weather.temp_air_c[k], self.weather.ghi_w_per_m2[k], self.step_s,
        )

    def hvac_request_kw(self) -> tuple[np.ndarray, np.ndarray]:
        """HVAC electrical requests ``(heat, cool)`` per zone in force this step: the
        standing command, else the thermostat's (:func:`thermostat_setpoints`, from the
        state now); applied within the unit limits at ACT. [kW]"""
        if self._command is not None:
            return self._command
        return self._default_hvac(self._k)

    def scale_flexible(self, buses: set[int] | list[int], share: float) -> None:
        """Serve only ``share`` of the HVAC power requested by the buildings at
        ``buses`` this step (an island short of power), the others unchanged; runs
        already asked to start stay asked. [-]"""
        in_buses = np.isin(self.bus, list(buses))
        heat, cool = self.hvac_request_kw()
        self.command(np.where(in_buses, heat * share, heat),
                     np.where(in_buses, cool * share, cool), self._start_requests)

    def forecast_plug_load_kw(self, k0: int, n: int) -> np.ndarray:
        """Plug and lighting load of all buildings together at grid steps
        ``k0 .. k0+n-1`` (perfect forecast of occupancy; wraps past the table), what
        the buildings will draw besides HVAC and deferrable runs. [kW]"""
        rows = np.arange(k0, k0 + n) % len(self.occupied_table)
        # = PLUG_LOAD_FRAC * fleet.internal_gains_kw(occupied_table[rows]).sum(axis=1)
        return PLUG_LOAD_FRAC * self.gains_sum_kw()[rows]

    def gains_sum_kw(self) -> np.ndarray:
        """Internal gains summed over the buildings, per row of the occupancy table:
        ``fleet.internal_gains_kw(occupied_table).sum(axis=1)``, computed once (a row sum
        of the table is the sum numpy makes of that row alone), rebuilt if the fleet or
        the table is replaced. Read-only. [kW]"""
        cached = self._gains_sum_table
        if cached is None or cached[0] is not self.fleet or cached[1] is not self.occupied_table:
            table = self.fleet.internal_gains_kw(self.occupied_table).sum(axis=1)
            table.flags.writeable = False
            cached = self._gains_sum_table = (self.fleet, self.occupied_table, table)
        return cached[2]

    def _plug_kw(self, k: int) -> np.ndarray:
        """Plug loads of step ``k``: a row of a table computed once for the occupancy table
        (element by element as ``PLUG_LOAD_FRAC * fleet.internal_gains_kw(occupied_table[k])``,
        so the same values), rebuilt if the fleet or the table is replaced."""
        cached = self._plug_table
        if cached is None or cached[0] is not self.fleet or cached[1] is not self.occupied_table:
            table = PLUG_LOAD_FRAC * self.fleet.internal_gains_kw(self.occupied_table)
            table.flags.writeable = False
            cached = self._plug_table = (self.fleet, self.occupied_table, table)
        return cached[2][k]

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """SENSE: write the expected load; ACT: step the zones and the runs."""
        while True:
            k = yield clock.wait(Phase.SENSE)
            self._k = k
            heat, cool = self._default_hvac(k) if self._command is None else self._command
            t_s = k * self.step_s
            expected_runs = self.loads.power_kw(self.loads_state, t_s, self.step_s)
            self._write(heat + cool, expected_runs, self._plug_kw(k))
            yield clock.wait(Phase.ACT)
            self.act(k)

    def act(self, k: int) -> None:
        """Apply this step's commands (or the defaults) and advance the zones."""
        heat, cool = self._default_hvac(k) if self._command is None else self._command
        occ = self.occupied_table[k]
        if self._cop_eer_table is None:
            # COP/EER of every weather step, computed once (element by element as
            # fleet.step would per step, so bit-identical)
            t_out = np.asarray(self.weather.temp_air_c, dtype=float)
            self._cop_eer_table = self.fleet.cop_eer(
                np.ascontiguousarray(np.broadcast_to(t_out[:, None], (t_out.size, self.fleet.n))))
        cop_table, eer_table = self._cop_eer_table
        result = self.fleet.step(self.state, heat, cool, self.weather.temp_air_c[k],
                                 self.weather.ghi_w_per_m2[k], occ, self.step_s,
                                 cop_eer=(cop_table[k], eer_table[k]))
        t_s = k * self.step_s
        if self._start_requests is None:
            requests = start_as_soon_as_allowed(self.loads, self.loads_state, t_s)
        else:
            requests = self._start_requests
            self._start_requests = None
        runs_kw = self.loads.step(self.loads_state, t_s, requests, self.step_s)
        plug = self._plug_kw(k)
        dt_h = self.step_s / 3600.0
        lower, upper = self.fleet.comfort_bounds(occ)
        self.lower_c[:] = lower
        self.upper_c[:] = upper
        self.violation_kh += float(comfort_violation_kh(result.t_air_c, lower, upper, self.step_s).sum())
        self.hvac_kwh += float(result.p_el_kw.sum() * dt_h)
        self.deferrable_kwh += float(runs_kw.sum() * dt_h)
        self.plug_kwh += float(plug.sum() * dt_h)
        self.p_hvac_kw[:] = result.p_el_kw
        self.t_air_c[:] = result.t_air_c
        self._write(result.p_el_kw, runs_kw, plug)

    def expected_p_kw(self) -> np.ndarray:
        """Per-building power the current commands (or defaults) will draw this step,
        within the HVAC limits and run windows (what :meth:`act` will do). [kW]"""
        k = self._k
        heat, cool = self._default_hvac(k) if self._command is None else self._command
        fleet = self.fleet
        heat = np.where(fleet.can_heat, np.maximum(finite_or_zero(heat), 0.0), 0.0)
        cool = np.where(fleet.can_cool, np.maximum(finite_or_zero(cool), 0.0), 0.0)
        total = heat + cool
        hvac = np.minimum(total, fleet.p_el_max_kw)
        t_s = k * self.step_s
        state = DeferrableState(self.loads_state.start_s.copy())
        requests = (start_as_soon_as_allowed(self.loads, state, t_s)
                    if self._start_requests is None else self._start_requests)
        runs_kw = self.loads.step(state, t_s, requests, self.step_s)
        runs = np.bincount(self.run_owner, runs_kw, fleet.n) if runs_kw.size else 0.0
        return hvac + runs + self._plug_kw(k)

    def _write(self, hvac_kw: np.ndarray, runs_kw: np.ndarray, plug_kw: np.ndarray) -> None:
        per_building = np.bincount(self.run_owner, runs_kw, self.fleet.n) if runs_kw.size else 0.0
        self.p_mw[:] = (hvac_kw + per_building + plug_kw) / 1000.0
        self._p_view[:] = self.p_mw

    def snapshot(self) -> BuildingSnapshot:
        """Zone temperatures and run status now."""
        return BuildingSnapshot(self.names, self.bus, self.state.t_air_c.copy(),
                                self.state.t_mass_c.copy(), self.run_owner,
                                self.loads_state.started.copy())

    def channels(self) -> list[Channel]:
        """Electrical load, HVAC power, air temperature and comfort band per building."""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.p_mw),
            Channel("asset", "p_hvac_kw", "kW", entities, self.p_hvac_kw),
            Channel("asset", "t_air_c", "degC", entities, self.t_air_c),
            Channel("asset", "comfort_lower_c", "degC", entities, self.lower_c),
            Channel("asset", "comfort_upper_c", "degC", entities, self.upper_c),
        ]

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Comfort violation, HVAC energy, peak demand of the buildings."""
        total = np.nansum(values[0], axis=1) if values[0].size else np.zeros(1)
        late = self.loads.lateness_s(self.loads_state) if self.loads.n else np.zeros(0)
        return {
            "building_comfort_violation_kh": self.violation_kh,
            "building_hvac_energy_mwh": self.hvac_kwh / 1000.0,
            "building_energy_mwh": (self.hvac_kwh + self.deferrable_kwh + self.plug_kwh) / 1000.0,
            "building_peak_demand_mw": float(total.max()) if total.size else 0.0,
            "deferrable_late_runs": float((late > 0).sum()),
        }

