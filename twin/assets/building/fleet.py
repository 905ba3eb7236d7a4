"""A fleet of N building zones as arrays: parameters, the exact discrete model per
step length, HVAC limits and COP/EER, and the step that advances all zones at once.

Public names: :class:`BuildingState`, :class:`HvacStepResult`, :class:`BuildingFleet`,
:func:`limit_hvac_kw`, :func:`finite_or_zero`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from twin.assets.building.hvac import air_cooled_eer, air_source_cop
from twin.assets.building.params import BuildingParams
from twin.assets.building.rc import ThermalStateSpace, discretise, rc_step

if TYPE_CHECKING:
    import pandas as pd


def finite_or_zero(values: np.ndarray | float) -> np.ndarray:
    """``np.nan_to_num(np.asarray(values, dtype=float))``, skipped when all are finite."""
    out = np.asarray(values, dtype=float)
    return out if np.isfinite(out).all() else np.nan_to_num(out)


def limit_hvac_kw(
    p_heat_el_kw: np.ndarray,
    p_cool_el_kw: np.ndarray,
    can_heat: np.ndarray,
    can_cool: np.ndarray,
    p_el_max_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """HVAC requests within the units' limits.

    Parameters
    ----------
    p_heat_el_kw, p_cool_el_kw : numpy.ndarray
        Requested electrical power for heating / cooling, shape (N,). [kW]
    can_heat, can_cool : numpy.ndarray
        What each unit can do, boolean shape (N,).
    p_el_max_kw : numpy.ndarray
        Electrical power limit of each unit. [kW]

    Returns
    -------
    p_heat_el_kw, p_cool_el_kw : numpy.ndarray
        Applied electrical power. [kW]

    Notes
    -----
    Requests are clipped at 0 from below and NaN counts as 0; heating is zero for
    units that cannot heat, cooling zero for units that cannot cool; if heating plus
    cooling exceeds ``p_el_max_kw`` both are scaled down by the same factor.

    Examples
    --------
    >>> on = np.array([True])
    >>> limit_hvac_kw(np.array([4.0]), np.array([np.nan]), on, on, np.array([3.0]))
    (array([3.]), array([0.]))
    """
    # x.clip(min=0.0) is np.maximum(x, 0.0) in numpy, without its wrapper
    heat = np.where(can_heat, np.maximum(finite_or_zero(p_heat_el_kw), 0.0), 0.0)
    cool = np.where(can_cool, np.maximum(finite_or_zero(p_cool_el_kw), 0.0), 0.0)
    total = heat + cool
    scale = np.where(total > p_el_max_kw, p_el_max_kw / np.where(total > 0, total, 1.0), 1.0)
    return heat * scale, cool * scale



@dataclass
class BuildingState:
    """Mutable state of N zones, with energy counters since the start."""

    t_air_c: np.ndarray
    """Indoor air temperature, shape (N,). [degC]"""
    t_mass_c: np.ndarray
    """Envelope/mass temperature, shape (N,). [degC]"""
    e_hvac_el_kwh: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Electrical energy used by HVAC, shape (N,). [kWh]"""
    e_hvac_heat_kwh: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Net heat delivered by HVAC (cooling negative), shape (N,). [kWh]"""

    def __post_init__(self) -> None:
        self.t_air_c = np.array(self.t_air_c, dtype=float)
        self.t_mass_c = np.array(self.t_mass_c, dtype=float)
        n = self.t_air_c.shape[0]
        if self.e_hvac_el_kwh is None:
            self.e_hvac_el_kwh = np.zeros(n)
        if self.e_hvac_heat_kwh is None:
            self.e_hvac_heat_kwh = np.zeros(n)

    def copy(self) -> BuildingState:
        """Independent copy."""
        return BuildingState(
            self.t_air_c.copy(), self.t_mass_c.copy(), self.e_hvac_el_kwh.copy(), self.e_hvac_heat_kwh.copy()
        )


@dataclass(frozen=True)
class HvacStepResult:
    """What one step did, per zone."""

    p_el_kw: np.ndarray
    """HVAC electrical power actually drawn, mean over the step. [kW]"""
    p_heat_el_kw: np.ndarray
    """Electrical power used for heating. [kW]"""
    p_cool_el_kw: np.ndarray
    """Electrical power used for cooling. [kW]"""
    q_hvac_kw: np.ndarray
    """Heat delivered to the zone (cooling negative). [kW]"""
    q_internal_kw: np.ndarray
    """Internal gains applied. [kW]"""
    t_air_c: np.ndarray
    """Air temperature at the end of the step. [degC]"""


class BuildingFleet:
    """N buildings as arrays: parameters, exact discrete model, HVAC limits, step.

    Parameters
    ----------
    buildings : sequence of BuildingParams
        The zones, one per building.

    Examples
    --------
    >>> from twin.assets.building.presets import building_preset
    >>> fleet = BuildingFleet([building_preset("residential"), building_preset("office")])
    >>> state = fleet.initial_state(t_air_c=21.0)
    >>> r = fleet.step(state, np.array([1.0, 0.0]), np.zeros(2), 0.0, 0.0,
    ...                np.array([True, False]), 900)
    >>> bool(r.q_hvac_kw[0] > 2.0)
    True
    """

    def __init__(self, buildings: Sequence[BuildingParams]) -> None:
        self.buildings: tuple[BuildingParams, ...] = tuple(buildings)
        b = self.buildings
        self.c_air_kwh_per_k = np.array([x.thermal.c_air_kwh_per_k for x in b])
        self.c_mass_kwh_per_k = np.array([x.thermal.c_mass_kwh_per_k for x in b])
        self.p_el_max_kw = np.array([x.hvac.p_el_max_kw for x in b])
        self.can_heat = np.array([x.hvac.can_heat for x in b], dtype=bool)
        self.can_cool = np.array([x.hvac.can_cool for x in b], dtype=bool)
        self.gains_occupied_kw = np.array([x.gains_occupied_kw for x in b])
        self.gains_unoccupied_kw = np.array([x.gains_unoccupied_kw for x in b])
        self._hvac_arrays = {
            name: np.array([getattr(x.hvac, name) for x in b], dtype=float)
            for name in (
                "sink_c_at_0c", "sink_slope", "cop_correction_frac", "t_chilled_water_c",
                "condenser_approach_k", "carnot_frac_cooling", "cop_min", "cop_max",
            )
        }
        self._models: dict[int, ThermalStateSpace] = {}
        self._comfort_edges = tuple(
            np.array([getattr(getattr(x, band), edge) for x in b])
            for band, edge in (("comfort_occupied", "lower_c"), ("comfort_occupied", "upper_c"),
                               ("comfort_unoccupied", "lower_c"), ("comfort_unoccupied", "upper_c"))
        )

    @property
    def n(self) -> int:
        """Number of zones."""
        return len(self.buildings)

    def initial_state(self, t_air_c: float | np.ndarray = 21.0, t_mass_c: float | np.ndarray | None = None) -> BuildingState:
        """A state with given temperatures (mass defaults to the air temperature). [degC]"""
        t_air = np.broadcast_to(np.asarray(t_air_c, dtype=float), (self.n,)).copy()
        t_mass = t_air.copy() if t_mass_c is None else np.broadcast_to(np.asarray(t_mass_c, dtype=float), (self.n,)).copy()
        return BuildingState(t_air, t_mass)

    def model(self, step_s: int) -> ThermalStateSpace:
        """Exact discrete model for a step length (cached). See :func:`discretise`."""
        step_s = int(step_s)
        if step_s not in self._models:
            self._models[step_s] = discretise([x.thermal for x in self.buildings], step_s)
        return self._models[step_s]

    def occupied(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Occupancy of every zone at every time stamp, shape (T, N), boolean."""
        return np.stack([x.occupancy.occupied(times) for x in self.buildings], axis=1) if self.n else np.zeros((len(times), 0), bool)

    def comfort_bounds(self, occupied: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Comfort band per zone and time.

        Parameters
        ----------
        occupied : numpy.ndarray
            Boolean, shape (N,) or (T, N).

        Returns
        -------
        lower_c, upper_c : numpy.ndarray
            Same shape as ``occupied``. [degC]
        """
        occ = np.asarray(occupied, dtype=bool)
        lo_occ, hi_occ, lo_un, hi_un = self._comfort_edges  # built once from the buildings
        return np.where(occ, lo_occ, lo_un), np.where(occ, hi_occ, hi_un)

    def internal_gains_kw(self, occupied: np.ndarray) -> np.ndarray:
        """Internal gains per zone (and time), same shape as ``occupied``. [kW]"""
        return np.where(np.asarray(occupied, dtype=bool), self.gains_occupied_kw, self.gains_unoccupied_kw)

    def cop_eer(self, t_out_c: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Heating COP and cooling EER per zone (0 where the unit cannot).

        Parameters
        ----------
        t_out_c : float or numpy.ndarray
            Outdoor temperature: a scalar, a series of shape (T,) shared by all zones,
            or shape (T, N). [degC]

        Returns
        -------
        cop, eer : numpy.ndarray
            Shape (N,) for a scalar, (T, N) otherwise. [-]
        """
        t = np.asarray(t_out_c, dtype=float)
        if t.ndim == 1:
            t = t[:, None]
        h = self._hvac_arrays
        cop = air_source_cop(t, h["sink_c_at_0c"], h["sink_slope"], h["cop_correction_frac"], h["cop_min"], h["cop_max"])
        eer = air_cooled_eer(t, h["t_chilled_water_c"], h["condenser_approach_k"], h["carnot_frac_cooling"], h["cop_min"], h["cop_max"])
        cop = np.where(self.can_heat, cop, 0.0)
        eer = np.where(self.can_cool, eer, 0.0)
        return cop, eer

    def step(
        self,
        state: BuildingState,
        p_heat_el_kw: np.ndarray,
        p_cool_el_kw: np.ndarray,
        t_out_c: float | np.ndarray,
        ghi_w_per_m2: float | np.ndarray,
        occupied: np.ndarray,
        step_s: int,
        cop_eer: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> HvacStepResult:
        """Advance all zones by one step, enforcing HVAC limits; updates ``state``.

        Parameters
        ----------
        state : BuildingState
            Updated in place.
        p_heat_el_kw, p_cool_el_kw : numpy.ndarray
            Requested electrical power for heating / cooling, shape (N,). [kW]
        t_out_c : float or numpy.ndarray
            Outdoor temperature, step mean. [degC]
        ghi_w_per_m2 : float or numpy.ndarray
            Global horizontal irradiance, step mean. [W/m2]
        occupied : numpy.ndarray
            Occupancy per zone, boolean shape (N,).
        step_s : int
            Step length. [s]
        cop_eer : (numpy.ndarray, numpy.ndarray), optional
            This step's COP and EER per zone, shape (N,), when the caller has them
            already (:meth:`cop_eer` of ``t_out_c``); computed here otherwise.

        Returns
        -------
        HvacStepResult

        Notes
        -----
        Limits: :func:`limit_hvac_kw`. Heat delivered is ``COP * p_heat - EER * p_cool`` at the step's
        outdoor temperature, so grid energy times COP/EER equals delivered heat
        exactly. The zone then moves by the exact ZOH model (:func:`rc_step`).
        """
        heat, cool = limit_hvac_kw(p_heat_el_kw, p_cool_el_kw, self.can_heat, self.can_cool,
                                   self.p_el_max_kw)
        cop, eer = cop_eer if cop_eer is not None else self.step_cop_eer(t_out_c)
        q_hvac = cop * heat - eer * cool
        q_int = self.internal_gains_kw(np.asarray(occupied, dtype=bool))
        state.t_air_c, state.t_mass_c = rc_step(self.model(step_s), state.t_air_c,
                                                state.t_mass_c, q_hvac, t_out_c, ghi_w_per_m2,
                                                q_int)
        dt_h = int(step_s) / 3600.0
        p_el = heat + cool
        state.e_hvac_el_kwh = state.e_hvac_el_kwh + p_el * dt_h
        state.e_hvac_heat_kwh = state.e_hvac_heat_kwh + q_hvac * dt_h
        return HvacStepResult(
            p_el_kw=p_el,
            p_heat_el_kw=heat,
            p_cool_el_kw=cool,
            q_hvac_kw=q_hvac,
            q_internal_kw=q_int,
            t_air_c=state.t_air_c.copy(),
        )

    def step_cop_eer(self, t_out_c: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """COP and EER per zone, shape (N,), at one step's outdoor temperature(s)."""
        t_out = np.broadcast_to(np.asarray(t_out_c, dtype=float), (self.n,))
        cop, eer = self.cop_eer(t_out[None, :])
        return cop[0], eer[0]

    def stored_heat_kwh(self, state: BuildingState) -> np.ndarray:
        """Heat stored relative to 0 degC, ``C_a T_a + C_m T_m``, per zone. [kWh]"""
        return self.c_air_kwh_per_k * state.t_air_c + self.c_mass_kwh_per_k * state.t_mass_c

