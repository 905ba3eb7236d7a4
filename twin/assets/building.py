"""Buildings: thermal zones (3R2C/2R2C RC network), HVAC, occupancy, deferrable loads.

This module owns the physics of building automation as vectorised numpy blocks: many
zones are stepped at once. Weather comes in as arrays (see :mod:`twin.weather`).

Public names
------------
- Parameters (frozen, validated): :class:`ThermalParams`, :class:`HvacParams`,
  :class:`ComfortBand`, :class:`OccupancySchedule`, :class:`BuildingParams`,
  :class:`ThermostatParams`, :class:`ApplianceRun`; presets :data:`BUILDING_TYPES`
  and :func:`building_preset`.
- Physics: :func:`continuous_matrices`, :func:`discretise`,
  :class:`ThermalStateSpace` (the linear model a MILP/LP uses),
  :func:`heating_cop`, :func:`cooling_eer`.
- Simulation: :class:`BuildingFleet` (arrays for N zones), :class:`BuildingState`,
  :class:`HvacStepResult`, :meth:`BuildingFleet.step`, :func:`thermostat_setpoints`
  with :class:`ThermostatState` (the rule-based reference controller).
- Deferrable loads: :class:`DeferrableLoads`, :class:`DeferrableState`,
  :func:`start_as_soon_as_allowed` (the rule-based reference policy).
- KPIs: :func:`comfort_violation_kh`, :func:`energy_kwh`, :func:`peak_kw`.

Sign and unit conventions: temperatures in degC; thermal and electrical powers in kW;
energies in kWh; thermal capacities in kWh/K; conductances in kW/K; time in seconds
(the continuous-time matrices are per hour). HVAC thermal power is positive when it
heats the zone and negative when it cools; electrical power is always consumption
(>= 0).

Intended SimPy process shape (the engine owns the real one)::

    def building_process(env, fleet, state, weather, controller, recorder):
        while True:
            k = env.now // step_s
            occupied = fleet.occupied(times[k])
            p_heat, p_cool = controller.setpoints(state, k)   # or thermostat_setpoints
            result = fleet.step(state, p_heat, p_cool, weather.temp_air_c[k],
                                weather.ghi_w_per_m2[k], occupied, step_s)
            recorder.record(env.now, result)
            yield env.timeout(step_s)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.linalg

if TYPE_CHECKING:
    import simpy

    from twin.assets.base import Channel, FamilyContext, ProcessGen
    from twin.clock import StepClock
    from twin.scenario import BuildingAssetSpec, Scenario
    from twin.weather import Weather

logger = logging.getLogger(__name__)

HvacMode = Literal["heat_pump", "chiller", "reversible"]
"""What the HVAC unit can do: heat only, cool only, or both (reversible heat pump)."""

ThermostatKind = Literal["ideal", "hysteresis", "proportional"]

_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KELVIN = 273.15


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThermalParams:
    """Parameters of the 3R2C thermal zone network (2R2C when ``h_air_out_kw_per_k=0``).

    See :func:`continuous_matrices` for the equations.
    """

    c_air_kwh_per_k: float
    """Heat capacity of the air node: room air, furniture, light partitions. [kWh/K]"""
    c_mass_kwh_per_k: float
    """Heat capacity of the envelope/mass node: walls, floors, ceilings. [kWh/K]"""
    h_air_mass_kw_per_k: float
    """Conductance between air and mass node (internal surface coupling, 1/R_am). [kW/K]"""
    h_mass_out_kw_per_k: float
    """Conductance between mass node and outdoors (opaque envelope, 1/R_mo). [kW/K]"""
    h_air_out_kw_per_k: float = 0.0
    """Conductance between air and outdoors (windows, ventilation, 1/R_ao); 0 gives the
    pure 2R2C model. [kW/K]"""
    solar_aperture_m2: float = 0.0
    """Effective solar aperture: solar gain = aperture x global horizontal irradiance.
    [m2]"""
    solar_frac_air: float = 0.1
    """Share of solar gains going to the air node (the rest heats the mass). [-]"""
    internal_frac_air: float = 0.5
    """Share of internal gains going to the air node (convective part). [-]"""

    def __post_init__(self) -> None:
        _require(self.c_air_kwh_per_k > 0, f"c_air_kwh_per_k must be positive, got {self.c_air_kwh_per_k}")
        _require(self.c_mass_kwh_per_k > 0, f"c_mass_kwh_per_k must be positive, got {self.c_mass_kwh_per_k}")
        for name in ("h_air_mass_kw_per_k", "h_mass_out_kw_per_k", "h_air_out_kw_per_k", "solar_aperture_m2"):
            value = getattr(self, name)
            _require(bool(np.isfinite(value)) and value >= 0, f"{name} must be >= 0, got {value}")
        for name in ("solar_frac_air", "internal_frac_air"):
            value = getattr(self, name)
            _require(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value}")

    @property
    def h_total_kw_per_k(self) -> float:
        """Steady-state heat loss coefficient to outdoors. [kW/K]"""
        h_series = (
            0.0
            if self.h_air_mass_kw_per_k == 0 or self.h_mass_out_kw_per_k == 0
            else 1.0 / (1.0 / self.h_air_mass_kw_per_k + 1.0 / self.h_mass_out_kw_per_k)
        )
        return self.h_air_out_kw_per_k + h_series


@dataclass(frozen=True, slots=True)
class HvacParams:
    """An air-source heat pump, chiller or reversible unit with a temperature-dependent COP.

    See :func:`heating_cop` and :func:`cooling_eer` for the curves.
    """

    mode: HvacMode
    """``"heat_pump"`` (heats), ``"chiller"`` (cools) or ``"reversible"`` (both)."""
    p_el_max_kw: float
    """Electrical power limit. [kW]"""
    sink_c_at_0c: float = 30.0
    """Heating supply (sink) temperature at 0 degC outdoors (floor heating curve). [degC]"""
    sink_slope: float = -0.5
    """Change of supply temperature per degC outdoor temperature (heating curve). [-]"""
    cop_correction_frac: float = 0.85
    """Field correction applied to the heating COP regression. [-]"""
    t_chilled_water_c: float = 7.0
    """Chilled-water (evaporator) supply temperature when cooling. [degC]"""
    condenser_approach_k: float = 10.0
    """Condensing temperature above outdoor air when cooling. [K]"""
    carnot_frac_cooling: float = 0.4
    """Fraction of the Carnot EER an air-cooled chiller achieves. [-]"""
    cop_min: float = 1.0
    """Lower clip of COP and EER. [-]"""
    cop_max: float = 6.0
    """Upper clip of COP and EER. [-]"""

    def __post_init__(self) -> None:
        _require(
            self.mode in ("heat_pump", "chiller", "reversible"),
            f"mode must be 'heat_pump', 'chiller' or 'reversible', got {self.mode!r}",
        )
        _require(self.p_el_max_kw >= 0, f"p_el_max_kw must be >= 0, got {self.p_el_max_kw}")
        _require(0 < self.cop_correction_frac <= 1, f"cop_correction_frac must be in (0, 1], got {self.cop_correction_frac}")
        _require(0 < self.carnot_frac_cooling <= 1, f"carnot_frac_cooling must be in (0, 1], got {self.carnot_frac_cooling}")
        _require(self.condenser_approach_k >= 0, f"condenser_approach_k must be >= 0, got {self.condenser_approach_k}")
        _require(0 < self.cop_min < self.cop_max, f"cop_min must be positive and below cop_max, got {self.cop_min}, {self.cop_max}")

    @property
    def can_heat(self) -> bool:
        """Whether the unit can heat."""
        return self.mode in ("heat_pump", "reversible")

    @property
    def can_cool(self) -> bool:
        """Whether the unit can cool."""
        return self.mode in ("chiller", "reversible")


def heating_cop(t_out_c: np.ndarray | float, hvac: HvacParams) -> np.ndarray:
    """Heating coefficient of performance of an air-source heat pump.

    Parameters
    ----------
    t_out_c : array_like
        Outdoor (source) air temperature. [degC]
    hvac : HvacParams
        The unit (heating curve, correction, clips).

    Returns
    -------
    numpy.ndarray
        Heat delivered per electrical energy. [-]

    Notes
    -----
    The regression of Ruhnau et al. [1]_ for air-source heat pumps,

    .. math:: COP = f (6.08 - 0.09 \\Delta T + 0.0005 \\Delta T^2), \\quad
              \\Delta T = T_{sink} - T_{out}, \\quad
              T_{sink} = T_{sink,0} + s\\, T_{out}

    with a floor-heating curve (``T_sink,0 = 30 degC``, ``s = -0.5``) and the field
    correction ``f = 0.85`` of [1]_ by default, ``Delta T`` floored at 15 K (the
    regression's data range starts there) and the result clipped to
    ``[cop_min, cop_max]``. At -5/+2/+10 degC outdoors it gives about 2.9/3.4/4.1.

    References
    ----------
    .. [1] O. Ruhnau, L. Hirth, A. Praktiknjo, "Time series of heat demand and heat
       pump efficiency for energy system modeling", Scientific Data 6, 189 (2019).

    Examples
    --------
    >>> hp = HvacParams(mode="heat_pump", p_el_max_kw=3.0)
    >>> round(float(heating_cop(2.0, hp)), 2)
    3.41
    """
    return _heating_cop(
        np.asarray(t_out_c, dtype=float), hvac.sink_c_at_0c, hvac.sink_slope,
        hvac.cop_correction_frac, hvac.cop_min, hvac.cop_max,
    )


def _finite(values: np.ndarray | float) -> np.ndarray:
    """``np.nan_to_num(np.asarray(values, dtype=float))``, skipped when all are finite."""
    out = np.asarray(values, dtype=float)
    return out if np.isfinite(out).all() else np.nan_to_num(out)


def _heating_cop(
    t_out_c: np.ndarray, sink_c_at_0c: np.ndarray | float, sink_slope: np.ndarray | float,
    correction: np.ndarray | float, cop_min: np.ndarray | float, cop_max: np.ndarray | float,
) -> np.ndarray:
    """Vectorised kernel of :func:`heating_cop` (parameters broadcast with ``t_out_c``)."""
    t_sink = sink_c_at_0c + sink_slope * t_out_c
    delta_k = np.maximum(t_sink - t_out_c, 15.0)
    cop = correction * (6.08 - 0.09 * delta_k + 0.0005 * delta_k**2)
    return np.clip(cop, cop_min, cop_max)


def cooling_eer(t_out_c: np.ndarray | float, hvac: HvacParams) -> np.ndarray:
    """Cooling energy efficiency ratio of an air-cooled chiller.

    Parameters
    ----------
    t_out_c : array_like
        Outdoor air temperature (condenser side). [degC]
    hvac : HvacParams
        The unit.

    Returns
    -------
    numpy.ndarray
        Heat removed per electrical energy. [-]

    Notes
    -----
    A fixed fraction ``eta`` of the Carnot refrigeration EER between the chilled-water
    temperature and a condensing temperature ``approach`` above outdoor air:

    .. math:: EER = \\eta \\frac{T_{cw} + 273.15}{(T_{out} + a) - T_{cw}}

    with ``eta = 0.4``, ``T_cw = 7 degC`` and ``a = 10 K`` by default (assumptions in
    the range of air-cooled chillers: about 3.0 at 35 degC and 4.0 at 25 degC), the
    temperature lift floored at 5 K and the result clipped to ``[cop_min, cop_max]``.

    Examples
    --------
    >>> ch = HvacParams(mode="chiller", p_el_max_kw=10.0)
    >>> round(float(cooling_eer(35.0, ch)), 2)
    2.95
    """
    return _cooling_eer(
        np.asarray(t_out_c, dtype=float), hvac.t_chilled_water_c, hvac.condenser_approach_k,
        hvac.carnot_frac_cooling, hvac.cop_min, hvac.cop_max,
    )


def _cooling_eer(
    t_out_c: np.ndarray, t_chilled_water_c: np.ndarray | float, approach_k: np.ndarray | float,
    carnot_frac: np.ndarray | float, cop_min: np.ndarray | float, cop_max: np.ndarray | float,
) -> np.ndarray:
    """Vectorised kernel of :func:`cooling_eer` (parameters broadcast with ``t_out_c``)."""
    lift_k = np.maximum(t_out_c + approach_k - t_chilled_water_c, 5.0)
    eer = carnot_frac * (t_chilled_water_c + _KELVIN) / lift_k
    return np.clip(eer, cop_min, cop_max)


@dataclass(frozen=True, slots=True)
class ComfortBand:
    """Allowed indoor air temperature range."""

    lower_c: float
    """Lower bound (heating setpoint side). [degC]"""
    upper_c: float
    """Upper bound (cooling setpoint side). [degC]"""

    def __post_init__(self) -> None:
        _require(
            bool(np.isfinite(self.lower_c) and np.isfinite(self.upper_c)),
            f"comfort band bounds must be finite, got [{self.lower_c}, {self.upper_c}]",
        )
        _require(
            self.lower_c < self.upper_c,
            "comfort band lower bound must be below upper, got "
            f"lower_c={self.lower_c}, upper_c={self.upper_c}",
        )


@dataclass(frozen=True, slots=True)
class OccupancySchedule:
    """Weekly occupancy as periods ``(weekdays, start_h, end_h)`` in local time.

    ``weekdays`` uses 0 = Monday ... 6 = Sunday. A period covers
    ``start_h <= hour < end_h``; use two periods for one that spans midnight.
    """

    periods: tuple[tuple[tuple[int, ...], float, float], ...]
    """Occupied periods: (weekdays, start hour, end hour). [-, h, h]"""

    def __post_init__(self) -> None:
        for i, (days, start_h, end_h) in enumerate(self.periods):
            _require(
                len(days) > 0 and all(0 <= d <= 6 for d in days),
                f"periods[{i}].weekdays must be integers 0 (Monday) .. 6 (Sunday), got {days}",
            )
            _require(
                0.0 <= start_h < end_h <= 24.0,
                f"periods[{i}] needs 0 <= start_h < end_h <= 24, got {start_h}, {end_h}",
            )

    @classmethod
    def from_text(cls, spec: dict[str, tuple[float, float] | list[tuple[float, float]]]) -> OccupancySchedule:
        """Build from ``{"mon-fri": (7, 19), "sat": (9, 13)}``-style text.

        Parameters
        ----------
        spec : dict
            Keys: a weekday (``mon`` .. ``sun``) or a range ``"mon-fri"``; values: one
            ``(start_h, end_h)`` or a list of them. [h]

        Returns
        -------
        OccupancySchedule

        Examples
        --------
        >>> OccupancySchedule.from_text({"mon-fri": (7, 19)}).periods[0]
        ((0, 1, 2, 3, 4), 7.0, 19.0)
        """
        periods = []
        for key, value in spec.items():
            names = key.lower().split("-")
            try:
                idx = [_WEEKDAY_NAMES.index(n.strip()[:3]) for n in names]
            except ValueError:
                raise ValueError(
                    f"occupancy key {key!r}: expected a weekday {_WEEKDAY_NAMES} or a "
                    "range like 'mon-fri'"
                ) from None
            days = tuple(range(idx[0], idx[-1] + 1)) if len(idx) == 2 else tuple(idx)
            if not days:
                raise ValueError(f"occupancy key {key!r}: empty weekday range")
            ranges = value if isinstance(value, list) else [value]
            for start_h, end_h in ranges:
                periods.append((days, float(start_h), float(end_h)))
        return cls(tuple(periods))

    def occupied(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Whether each time stamp (local time) falls in an occupied period.

        Parameters
        ----------
        times : pandas.DatetimeIndex
            Time stamps (e.g. step starts) in the building's local time.

        Returns
        -------
        numpy.ndarray
            Boolean mask, one per time stamp.
        """
        weekday = np.asarray(times.weekday)
        hour = np.asarray(times.hour + times.minute / 60.0 + times.second / 3600.0)
        mask = np.zeros(len(times), dtype=bool)
        for days, start_h, end_h in self.periods:
            mask |= np.isin(weekday, days) & (hour >= start_h) & (hour < end_h)
        return mask


@dataclass(frozen=True, slots=True)
class BuildingParams:
    """One building (one thermal zone) with its HVAC, occupancy and comfort bands."""

    thermal: ThermalParams
    """Thermal network."""
    hvac: HvacParams
    """HVAC unit."""
    occupancy: OccupancySchedule
    """When the building is occupied."""
    gains_occupied_kw: float
    """Internal gains (people, equipment, lighting) while occupied. [kW]"""
    gains_unoccupied_kw: float
    """Internal gains while unoccupied (standby, refrigeration). [kW]"""
    comfort_occupied: ComfortBand
    """Comfort band while occupied."""
    comfort_unoccupied: ComfortBand
    """Comfort band while unoccupied (set-back)."""
    kind: str = "custom"
    """Building type name, for reports."""
    floor_area_m2: float = 0.0
    """Conditioned floor area, for reports. [m2]"""

    def __post_init__(self) -> None:
        _require(self.gains_occupied_kw >= 0, f"gains_occupied_kw must be >= 0, got {self.gains_occupied_kw}")
        _require(self.gains_unoccupied_kw >= 0, f"gains_unoccupied_kw must be >= 0, got {self.gains_unoccupied_kw}")


def _iso13790_zone(
    floor_area_m2: float,
    c_mass_kj_per_m2k: float,
    mass_area_factor: float,
    h_envelope_opaque_kw_per_k: float,
    h_windows_vent_kw_per_k: float,
    solar_aperture_m2: float,
) -> ThermalParams:
    """RC parameters from building descriptors following ISO 13790 conventions."""
    c_air_kwh_per_k = 10.0 * floor_area_m2 / 3600.0  # 10 kJ/(m2 K): air and furnishings
    c_mass_kwh_per_k = c_mass_kj_per_m2k * floor_area_m2 / 3600.0
    h_air_mass_kw_per_k = 9.1 * mass_area_factor * floor_area_m2 / 1000.0  # h_ms A_m
    return ThermalParams(
        c_air_kwh_per_k=c_air_kwh_per_k,
        c_mass_kwh_per_k=c_mass_kwh_per_k,
        h_air_mass_kw_per_k=h_air_mass_kw_per_k,
        h_mass_out_kw_per_k=h_envelope_opaque_kw_per_k,
        h_air_out_kw_per_k=h_windows_vent_kw_per_k,
        solar_aperture_m2=solar_aperture_m2,
    )


BUILDING_TYPES: dict[str, BuildingParams] = {
    "residential": BuildingParams(
        kind="residential",
        floor_area_m2=150.0,
        thermal=_iso13790_zone(150.0, 165.0, 2.5, 0.105, 0.103, 5.0),
        hvac=HvacParams(mode="reversible", p_el_max_kw=3.0),
        occupancy=OccupancySchedule.from_text(
            {"mon-fri": [(0.0, 7.5), (17.0, 24.0)], "sat-sun": (0.0, 24.0)}
        ),
        gains_occupied_kw=0.6,
        gains_unoccupied_kw=0.225,
        comfort_occupied=ComfortBand(20.0, 26.0),
        comfort_unoccupied=ComfortBand(16.0, 30.0),
    ),
    "office": BuildingParams(
        kind="office",
        floor_area_m2=1000.0,
        thermal=_iso13790_zone(1000.0, 165.0, 2.5, 0.42, 0.95, 40.0),
        hvac=HvacParams(mode="reversible", p_el_max_kw=30.0),
        occupancy=OccupancySchedule.from_text({"mon-fri": (7.0, 19.0)}),
        gains_occupied_kw=25.0,
        gains_unoccupied_kw=3.0,
        comfort_occupied=ComfortBand(20.0, 26.0),
        comfort_unoccupied=ComfortBand(15.0, 30.0),
    ),
    "retail": BuildingParams(
        kind="retail",
        floor_area_m2=500.0,
        thermal=_iso13790_zone(500.0, 110.0, 2.5, 0.315, 0.71, 15.0),
        hvac=HvacParams(mode="reversible", p_el_max_kw=15.0),
        occupancy=OccupancySchedule.from_text({"mon-sat": (9.0, 20.0)}),
        gains_occupied_kw=15.0,
        gains_unoccupied_kw=2.0,
        comfort_occupied=ComfortBand(20.0, 25.0),
        comfort_unoccupied=ComfortBand(15.0, 30.0),
    ),
}
"""Building presets. Sources and assumptions (all per conditioned floor area A_f):

- Mass node: ISO 13790:2008 simple hourly method, Table 12: C_m = 165 kJ/(m2 K)
  ("medium") for residential and office, 110 kJ/(m2 K) ("light") for retail; the
  air-mass coupling is ISO 13790's h_ms A_m = 9.1 W/(m2 K) x 2.5 A_f.
- Air node: 10 kJ/(m2 K) for air plus furnishings (assumption; air alone is about
  3 kJ/(m2 K) at 2.5 m ceiling height).
- Envelope (assumptions for buildings of the 2000s): residential 150 m2, opaque
  350 m2 at U = 0.3 W/(m2 K), windows 30 m2 at U = 1.3, 0.5 air changes per hour;
  office 1000 m2, opaque 1400 m2 at U = 0.3, windows 400 m2 at U = 1.1, mechanical
  ventilation 1.4 l/(s m2) (EN 16798-1 category II) with 70 % heat recovery;
  retail 500 m2, opaque 900 m2 at U = 0.35, glazing 80 m2 at U = 1.4,
  2 l/(s m2) with 50 % heat recovery.
- Solar aperture relative to global horizontal irradiance: about half the ISO 13790
  effective collecting area of the glazing (mixed orientations; assumption).
- Internal gains: residential 4 / 1.5 W/m2, office 25 / 3 W/m2, retail 30 / 4 W/m2
  (occupied / unoccupied; assumptions in the range of EN 16798-1 and ISO 17772 tables).
- Comfort bands: EN 16798-1 category II design values (heating 20 degC, cooling
  26 degC; retail 25 degC), set-back bands when unoccupied (assumption).
- HVAC: reversible air-source heat pumps sized to cover about the design heating
  load at -10 degC (assumption).
"""


def building_preset(kind: str, **overrides: object) -> BuildingParams:
    """A preset from :data:`BUILDING_TYPES` with some fields replaced.

    Parameters
    ----------
    kind : str
        ``"residential"``, ``"office"`` or ``"retail"``.
    **overrides
        Fields of :class:`BuildingParams` to replace.

    Returns
    -------
    BuildingParams

    Raises
    ------
    ValueError
        If ``kind`` is unknown (the message lists the known ones).

    Examples
    --------
    >>> building_preset("office").hvac.p_el_max_kw
    30.0
    """
    import dataclasses

    if kind not in BUILDING_TYPES:
        raise ValueError(f"unknown building type {kind!r}; known: {sorted(BUILDING_TYPES)}")
    return dataclasses.replace(BUILDING_TYPES[kind], **overrides)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Linear model
# ---------------------------------------------------------------------------------------

STATE_NAMES = ("t_air_c", "t_mass_c")
"""Order of the state vector."""
DISTURBANCE_NAMES = ("t_out_c", "ghi_w_per_m2", "q_internal_kw")
"""Order of the disturbance vector."""


def continuous_matrices(thermal: ThermalParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous-time state-space matrices of the RC thermal zone.

    Parameters
    ----------
    thermal : ThermalParams
        The zone.

    Returns
    -------
    a : numpy.ndarray
        State matrix, shape (2, 2). [1/h]
    b : numpy.ndarray
        Input vector for the HVAC thermal power, shape (2,). [K/(kWh)]
    e : numpy.ndarray
        Disturbance matrix, shape (2, 3), columns ``DISTURBANCE_NAMES``.
        [1/h, K m2/(kWh)... per unit of each disturbance per hour]

    Notes
    -----
    Two nodes: the indoor air (with furnishings) at :math:`T_a` and the building
    envelope/mass at :math:`T_m`, with three conductances (a 3R2C network; with
    :math:`H_{ao}=0` it is the 2R2C "TiTe" model of Bacher and Madsen [1]_):

    .. math::

        C_a \\dot T_a &= H_{am}(T_m - T_a) + H_{ao}(T_o - T_a)
                        + f_i \\Phi_{int} + f_s A_{sol} I + \\Phi_{hvac} \\\\
        C_m \\dot T_m &= H_{am}(T_a - T_m) + H_{mo}(T_o - T_m)
                        + (1 - f_i) \\Phi_{int} + (1 - f_s) A_{sol} I

    :math:`C` heat capacities [kWh/K], :math:`H` conductances [kW/K] (:math:`R=1/H`),
    :math:`T_o` outdoor temperature, :math:`I` global horizontal irradiance [kW/m2]
    on the effective aperture :math:`A_{sol}`, :math:`\\Phi_{int}` internal gains and
    :math:`\\Phi_{hvac}` HVAC heat [kW]. In matrix form
    :math:`\\dot x = A x + B \\Phi_{hvac} + E d` with :math:`x = (T_a, T_m)` and
    :math:`d = (T_o, I_{W/m2}, \\Phi_{int})`. The node layout follows the ISO 13790
    simple hourly method [2]_ (mass node coupled to the air node through the internal
    surfaces) reduced to two capacities.

    References
    ----------
    .. [1] P. Bacher, H. Madsen, "Identifying suitable models for the heat dynamics of
       buildings", Energy and Buildings 43(7), 1511-1522 (2011).
    .. [2] ISO 13790:2008, Energy performance of buildings -- Calculation of energy use
       for space heating and cooling, section C.2 (5R1C simple hourly method).
    """
    ca, cm = thermal.c_air_kwh_per_k, thermal.c_mass_kwh_per_k
    ham, hmo, hao = thermal.h_air_mass_kw_per_k, thermal.h_mass_out_kw_per_k, thermal.h_air_out_kw_per_k
    fs, fi, asol = thermal.solar_frac_air, thermal.internal_frac_air, thermal.solar_aperture_m2
    a = np.array([[-(ham + hao) / ca, ham / ca], [ham / cm, -(ham + hmo) / cm]])
    b = np.array([1.0 / ca, 0.0])
    e = np.array(
        [
            [hao / ca, fs * asol / 1000.0 / ca, fi / ca],
            [hmo / cm, (1.0 - fs) * asol / 1000.0 / cm, (1.0 - fi) / cm],
        ]
    )
    return a, b, e


@dataclass(frozen=True)
class ThermalStateSpace:
    """Exact discrete-time linear model of N zones for one step length.

    ``x[k+1] = a @ x[k] + b * q_hvac_kw[k] + e @ d[k]`` per zone, with
    ``x = (t_air_c, t_mass_c)`` and ``d = (t_out_c, ghi_w_per_m2, q_internal_kw)``
    held constant over the step (zero-order hold). With the HVAC electrical powers
    of a MILP, ``q_hvac_kw[k] = cop[k] * p_heat_kw[k] - eer[k] * p_cool_kw[k]`` where
    ``cop``/``eer`` come from the outdoor temperature forecast
    (:meth:`BuildingFleet.cop_eer`), which keeps the model linear.
    """

    step_s: int
    """Step length the matrices are for. [s]"""
    a: np.ndarray
    """State transition, shape (N, 2, 2). [-]"""
    b: np.ndarray
    """HVAC thermal power input, shape (N, 2). [K/kW]"""
    e: np.ndarray
    """Disturbance input, shape (N, 2, 3), columns ``DISTURBANCE_NAMES``. [K per unit]"""

    @property
    def n_zones(self) -> int:
        """Number of zones N."""
        return int(self.a.shape[0])

    def predict(self, x0: np.ndarray, q_hvac_kw: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Roll the model forward.

        Parameters
        ----------
        x0 : numpy.ndarray
            Initial state, shape (N, 2). [degC]
        q_hvac_kw : numpy.ndarray
            HVAC thermal power, shape (T, N). [kW]
        d : numpy.ndarray
            Disturbances, shape (T, N, 3) or (T, 3) (same for all zones).

        Returns
        -------
        numpy.ndarray
            States after each step, shape (T, N, 2). [degC]
        """
        q = np.asarray(q_hvac_kw, dtype=float)
        d = np.asarray(d, dtype=float)
        if d.ndim == 2:
            d = np.broadcast_to(d[:, None, :], (d.shape[0], self.n_zones, 3))
        x = np.array(x0, dtype=float)
        out = np.empty((q.shape[0], self.n_zones, 2))
        for k in range(q.shape[0]):
            x = (
                np.einsum("nij,nj->ni", self.a, x)
                + self.b * q[k][:, None]
                + np.einsum("nij,nj->ni", self.e, d[k])
            )
            out[k] = x
        return out


def discretise(thermal: Sequence[ThermalParams], step_s: int) -> ThermalStateSpace:
    """Exact zero-order-hold discretisation of N zones.

    Parameters
    ----------
    thermal : sequence of ThermalParams
        The zones.
    step_s : int
        Step length. [s]

    Returns
    -------
    ThermalStateSpace

    Notes
    -----
    With inputs held over the step, the exact solution of
    :math:`\\dot x = A x + [B\\ E] u` is :math:`x_{k+1} = A_d x_k + [B_d\\ E_d] u_k`
    with

    .. math:: \\exp\\left(\\begin{bmatrix} A & [B\\ E] \\\\ 0 & 0 \\end{bmatrix}
              \\Delta t\\right) = \\begin{bmatrix} A_d & [B_d\\ E_d] \\\\ 0 & I
              \\end{bmatrix}

    (Van Loan's block matrix exponential), computed batched with
    ``scipy.linalg.expm``. It matches the analytic step response for any step length.

    Examples
    --------
    >>> ss = discretise([BUILDING_TYPES["office"].thermal], 3600)
    >>> ss.a.shape, ss.b.shape, ss.e.shape
    ((1, 2, 2), (1, 2), (1, 2, 3))
    """
    _require(int(step_s) > 0, f"step_s must be positive, got {step_s}")
    n = len(thermal)
    dt_h = int(step_s) / 3600.0
    m = np.zeros((n, 6, 6))
    for i, th in enumerate(thermal):
        a, b, e = continuous_matrices(th)
        m[i, :2, :2] = a
        m[i, :2, 2] = b
        m[i, :2, 3:] = e
    phi = scipy.linalg.expm(m * dt_h) if n else m
    return ThermalStateSpace(
        step_s=int(step_s), a=phi[:, :2, :2].copy(), b=phi[:, :2, 2].copy(), e=phi[:, :2, 3:].copy()
    )


# ---------------------------------------------------------------------------------------
# Fleet of zones
# ---------------------------------------------------------------------------------------


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
        cop = _heating_cop(t, h["sink_c_at_0c"], h["sink_slope"], h["cop_correction_frac"], h["cop_min"], h["cop_max"])
        eer = _cooling_eer(t, h["t_chilled_water_c"], h["condenser_approach_k"], h["carnot_frac_cooling"], h["cop_min"], h["cop_max"])
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
        Limits: requests are clipped at 0 from below and NaN counts as 0; heating is
        zero for units that cannot heat, cooling zero for units that cannot cool; if
        heating plus cooling exceeds ``p_el_max_kw`` both are scaled down by the same
        factor. Heat delivered is ``COP * p_heat - EER * p_cool`` at the step's
        outdoor temperature, so grid energy times COP/EER equals delivered heat
        exactly. The zone then moves by the exact ZOH model.
        """
        # x.clip(min=0.0) is np.maximum(x, 0.0) in numpy, without its wrapper
        heat = np.where(self.can_heat, np.maximum(_finite(p_heat_el_kw), 0.0), 0.0)
        cool = np.where(self.can_cool, np.maximum(_finite(p_cool_el_kw), 0.0), 0.0)
        total = heat + cool
        scale = np.where(total > self.p_el_max_kw, self.p_el_max_kw / np.where(total > 0, total, 1.0), 1.0)
        heat, cool = heat * scale, cool * scale
        if cop_eer is None:
            t_out = np.broadcast_to(np.asarray(t_out_c, dtype=float), (self.n,))
            cop, eer = self.cop_eer(t_out[None, :])
            cop, eer = cop[0], eer[0]
        else:
            cop, eer = cop_eer
        q_hvac = cop * heat - eer * cool
        q_int = self.internal_gains_kw(np.asarray(occupied, dtype=bool))
        model = self.model(step_s)
        # the state and disturbances as (N, 2) and (N, 3) columns: the arrays np.stack
        # makes, filled column by column (fewer numpy calls)
        x = np.empty((self.n, 2))
        x[:, 0] = state.t_air_c
        x[:, 1] = state.t_mass_c
        d = np.empty((self.n, 3))
        d[:, 0] = t_out_c
        d[:, 1] = ghi_w_per_m2
        d[:, 2] = q_int
        x_new = np.einsum("nij,nj->ni", model.a, x) + model.b * q_hvac[:, None] + np.einsum("nij,nj->ni", model.e, d)
        state.t_air_c = x_new[:, 0].copy()
        state.t_mass_c = x_new[:, 1].copy()
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

    def stored_heat_kwh(self, state: BuildingState) -> np.ndarray:
        """Heat stored relative to 0 degC, ``C_a T_a + C_m T_m``, per zone. [kWh]"""
        return self.c_air_kwh_per_k * state.t_air_c + self.c_mass_kwh_per_k * state.t_mass_c


# ---------------------------------------------------------------------------------------
# Thermostat (rule-based reference controller)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThermostatParams:
    """Rule-based thermostat acting on the air temperature (no look-ahead)."""

    kind: ThermostatKind = "ideal"
    """``"ideal"`` (modulating unit holding the band edge, ISO 13790 style),
    ``"hysteresis"`` (on/off at full power) or ``"proportional"``."""
    margin_k: float = 0.3
    """Distance inside the comfort band the thermostat aims for (ideal) or where
    heating (cooling) switches on (hysteresis, proportional). [K]"""
    deadband_k: float = 1.0
    """Hysteresis width: heating switches off ``margin + deadband`` above the lower
    bound (cooling below the upper bound). Also the proportional band. [K]"""

    def __post_init__(self) -> None:
        _require(
            self.kind in ("ideal", "hysteresis", "proportional"),
            f"kind must be 'ideal', 'hysteresis' or 'proportional', got {self.kind!r}",
        )
        _require(self.margin_k >= 0, f"margin_k must be >= 0, got {self.margin_k}")
        _require(self.deadband_k > 0, f"deadband_k must be positive, got {self.deadband_k}")


@dataclass
class ThermostatState:
    """Which units are currently running (the hysteresis memory), shape (N,)."""

    heating_on: np.ndarray
    """Heating running after the last decision."""
    cooling_on: np.ndarray
    """Cooling running after the last decision."""

    @classmethod
    def off(cls, n: int) -> ThermostatState:
        """All units off."""
        return cls(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))


def thermostat_setpoints(
    fleet: BuildingFleet,
    building_state: BuildingState,
    thermostat_state: ThermostatState,
    occupied: np.ndarray,
    t_out_c: float | np.ndarray,
    ghi_w_per_m2: float | np.ndarray,
    step_s: int,
    params: ThermostatParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Rule-based HVAC requests from the current state; updates the memory.

    Parameters
    ----------
    fleet : BuildingFleet
        The zones.
    building_state : BuildingState
        Current temperatures.
    thermostat_state : ThermostatState
        Updated in place (hysteresis memory; also set by the other kinds).
    occupied : numpy.ndarray
        Occupancy per zone now, boolean shape (N,).
    t_out_c, ghi_w_per_m2 : float or numpy.ndarray
        Outdoor temperature [degC] and irradiance [W/m2] of the coming step (used by
        the ``"ideal"`` kind only: a room sensor plus an outdoor sensor).
    step_s : int
        Step length. [s]
    params : ThermostatParams, optional
        Defaults to ``ThermostatParams()`` (ideal).

    Returns
    -------
    p_heat_el_kw, p_cool_el_kw : numpy.ndarray
        Requests for :meth:`BuildingFleet.step`, shape (N,). [kW]

    Notes
    -----
    The comfort band in force now is :math:`[T_{lo}, T_{hi}]` and :math:`m` the margin.

    - Ideal (default): the heat that brings the air temperature at the end of the step
      exactly to :math:`T_{lo} + m` if it would otherwise end below it, or to
      :math:`T_{hi} - m` if above, from the exact discrete model
      (:math:`T_a^{+} = (A_d x)_0 + (E_d d)_0 + B_{d,0} \\Phi`), converted to
      electrical power with the step's COP/EER and clipped by :meth:`BuildingFleet.step`.
      This is the "ideal heating/cooling" of ISO 13790 and stands for a modulating
      unit whose fast inner loop holds the setpoint. It does not look ahead, so it
      misses the band when it jumps (set-back recovery) or capacity runs out: that is
      what an optimising controller can improve on by pre-heating or pre-cooling.
    - Hysteresis: heating switches on when :math:`T_a < T_{lo} + m` and off when
      :math:`T_a > T_{lo} + m + \delta`; cooling on when :math:`T_a > T_{hi} - m`,
      off when :math:`T_a < T_{hi} - m - \delta`; running units draw
      ``p_el_max_kw``. At steps of several minutes and more this overshoots.
    - Proportional: heating power
      ``p_max * clip((T_lo + m + delta - T_a) / delta, 0, 1)`` and symmetrically for
      cooling.

    Heating wins if both would run.
    """
    p = params or ThermostatParams()
    occ = np.asarray(occupied, dtype=bool)
    lower, upper = fleet.comfort_bounds(occ)
    t = building_state.t_air_c
    if p.kind == "ideal":
        model = fleet.model(step_s)
        t_out = np.broadcast_to(np.asarray(t_out_c, dtype=float), (fleet.n,))
        ghi = np.broadcast_to(np.asarray(ghi_w_per_m2, dtype=float), (fleet.n,))
        x = np.stack([t, building_state.t_mass_c], axis=1)
        d = np.stack([t_out, ghi, fleet.internal_gains_kw(occ)], axis=1)
        free = (model.a[:, 0, :] * x).sum(axis=1) + (model.e[:, 0, :] * d).sum(axis=1)
        gain = model.b[:, 0]
        cop, eer = fleet.cop_eer(t_out[None, :])
        cop, eer = cop[0], eer[0]
        q_heat = np.clip((lower + p.margin_k - free) / gain, 0.0, None)
        q_cool = np.clip((free - (upper - p.margin_k)) / gain, 0.0, None)
        heat = np.where(fleet.can_heat & (cop > 0), q_heat / np.where(cop > 0, cop, 1.0), 0.0)
        cool = np.where(fleet.can_cool & (eer > 0) & (heat == 0), q_cool / np.where(eer > 0, eer, 1.0), 0.0)
        heat = np.minimum(heat, fleet.p_el_max_kw)
        cool = np.minimum(cool, fleet.p_el_max_kw)
        thermostat_state.heating_on = heat > 0
        thermostat_state.cooling_on = cool > 0
        return heat, cool
    if p.kind == "hysteresis":
        heat_on = np.where(
            thermostat_state.heating_on, t <= lower + p.margin_k + p.deadband_k, t < lower + p.margin_k
        )
        cool_on = np.where(
            thermostat_state.cooling_on, t >= upper - p.margin_k - p.deadband_k, t > upper - p.margin_k
        )
        heat_on &= fleet.can_heat
        cool_on &= fleet.can_cool & ~heat_on
        thermostat_state.heating_on = heat_on
        thermostat_state.cooling_on = cool_on
        return np.where(heat_on, fleet.p_el_max_kw, 0.0), np.where(cool_on, fleet.p_el_max_kw, 0.0)
    heat_frac = np.clip((lower + p.margin_k + p.deadband_k - t) / p.deadband_k, 0.0, 1.0) * fleet.can_heat
    cool_frac = np.clip((t - (upper - p.margin_k - p.deadband_k)) / p.deadband_k, 0.0, 1.0) * fleet.can_cool
    cool_frac = np.where(heat_frac > 0, 0.0, cool_frac)
    thermostat_state.heating_on = heat_frac > 0
    thermostat_state.cooling_on = cool_frac > 0
    return heat_frac * fleet.p_el_max_kw, cool_frac * fleet.p_el_max_kw


# ---------------------------------------------------------------------------------------
# Deferrable loads
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplianceRun:
    """One run of a deferrable appliance (washing machine, dishwasher, pump, ...)."""

    p_kw: float
    """Power while running (constant). [kW]"""
    duration_s: int
    """Run length. [s]"""
    earliest_start_s: int
    """Earliest allowed start, seconds since scenario start. [s]"""
    latest_end_s: int
    """Latest allowed end, seconds since scenario start. [s]"""
    name: str = ""
    """Label for reports."""

    def __post_init__(self) -> None:
        _require(self.p_kw > 0, f"p_kw must be positive, got {self.p_kw}")
        _require(self.duration_s > 0, f"duration_s must be positive, got {self.duration_s}")
        _require(
            self.latest_end_s - self.earliest_start_s >= self.duration_s,
            "allowed window must be at least duration_s long: latest_end_s - "
            f"earliest_start_s = {self.latest_end_s - self.earliest_start_s} < duration_s = {self.duration_s}",
        )


@dataclass
class DeferrableState:
    """Start times of the runs (-1 = not started), shape (R,). [s]"""

    start_s: np.ndarray

    @property
    def started(self) -> np.ndarray:
        """Boolean mask of started runs."""
        return self.start_s >= 0


_NOT_STARTED_S = np.iinfo(np.int64).max // 2
"""Start time standing for "not started" in :meth:`DeferrableLoads.power_kw`. [s]"""


class DeferrableLoads:
    """R appliance runs as arrays, with a step function that enforces their windows.

    Parameters
    ----------
    runs : sequence of ApplianceRun
    """

    def __init__(self, runs: Sequence[ApplianceRun]) -> None:
        self.runs = tuple(runs)
        self.p_kw = np.array([r.p_kw for r in self.runs], dtype=float)
        self.duration_s = np.array([r.duration_s for r in self.runs], dtype=np.int64)
        self.earliest_start_s = np.array([r.earliest_start_s for r in self.runs], dtype=np.int64)
        self.latest_end_s = np.array([r.latest_end_s for r in self.runs], dtype=np.int64)

    @property
    def n(self) -> int:
        """Number of runs R."""
        return len(self.runs)

    @property
    def latest_start_s(self) -> np.ndarray:
        """Latest start that still ends in the window. [s]"""
        return self.latest_end_s - self.duration_s

    def initial_state(self) -> DeferrableState:
        """No run started."""
        return DeferrableState(np.full(self.n, -1, dtype=np.int64))

    def step(self, state: DeferrableState, t_s: int, start_now: np.ndarray, step_s: int) -> np.ndarray:
        """Start requested runs at ``t_s`` and return the mean power over the step.

        Parameters
        ----------
        state : DeferrableState
            Updated in place.
        t_s : int
            Start of the step. [s]
        start_now : numpy.ndarray
            Boolean requests, shape (R,).
        step_s : int
            Step length. [s]

        Returns
        -------
        numpy.ndarray
            Mean power of each run over ``[t_s, t_s + step_s)``, shape (R,). [kW]

        Notes
        -----
        A run starts at a step start when requested and ``t_s >= earliest_start_s``.
        It is started without a request at the last step start that lets it finish in
        its window (``t_s + step_s > latest_start_s``), and, if the window was missed
        already, at the first allowed step start (it then ends late; see
        :meth:`lateness_s`). Once started, a run cannot be stopped.
        """
        not_started = state.start_s < 0
        allowed = not_started & (t_s >= self.earliest_start_s)
        forced = allowed & (t_s + step_s > self.latest_start_s)
        start = allowed & (np.asarray(start_now, dtype=bool) | forced)
        state.start_s = np.where(start, t_s, state.start_s)
        return self.power_kw(state, t_s, step_s)

    def power_kw(self, state: DeferrableState, t_s: int, step_s: int) -> np.ndarray:
        """Mean power of each run over ``[t_s, t_s + step_s)`` given its start. [kW]"""
        begin = np.where(state.start_s >= 0, state.start_s, _NOT_STARTED_S)
        end = begin + self.duration_s
        # np.clip(x, 0, None) of an int64 array is np.maximum(x, 0), without the wrapper
        overlap = np.maximum(np.minimum(end, t_s + step_s) - np.maximum(begin, t_s), 0)
        return self.p_kw * overlap / step_s

    def lateness_s(self, state: DeferrableState) -> np.ndarray:
        """How far each started run ends after its latest end (0 if on time). [s]"""
        end = np.where(state.start_s >= 0, state.start_s + self.duration_s, self.latest_end_s)
        return np.clip(end - self.latest_end_s, 0, None)

    def energy_kwh(self) -> np.ndarray:
        """Energy of each run. [kWh]"""
        return self.p_kw * self.duration_s / 3600.0


def start_as_soon_as_allowed(loads: DeferrableLoads, state: DeferrableState, t_s: int) -> np.ndarray:
    """Rule-based reference policy: request a start as soon as the window opens.

    Parameters
    ----------
    loads : DeferrableLoads
    state : DeferrableState
    t_s : int
        Current time. [s]

    Returns
    -------
    numpy.ndarray
        Boolean start requests, shape (R,).
    """
    return (state.start_s < 0) & (t_s >= loads.earliest_start_s)


# ---------------------------------------------------------------------------------------
# KPIs
# ---------------------------------------------------------------------------------------


def comfort_violation_kh(t_air_c: np.ndarray, lower_c: np.ndarray, upper_c: np.ndarray, step_s: int) -> np.ndarray:
    """Comfort violation in degree-hours per zone.

    Parameters
    ----------
    t_air_c : numpy.ndarray
        Air temperature series, shape (T, N) (or (T,)). [degC]
    lower_c, upper_c : numpy.ndarray
        Comfort bounds, broadcastable to ``t_air_c``. [degC]
    step_s : int
        Step length; every sample stands for one step. [s]

    Returns
    -------
    numpy.ndarray
        :math:`\\sum_k (\\max(0, T_{lo} - T_k) + \\max(0, T_k - T_{hi}))\\,\\Delta t`,
        shape (N,) (or scalar). [K h]

    Examples
    --------
    >>> float(comfort_violation_kh(np.array([19.0, 21.0, 27.0]), 20.0, 26.0, 1800))
    1.0
    """
    t = np.asarray(t_air_c, dtype=float)
    # np.clip(x, 0, None) is np.maximum(x, 0) in numpy, without its wrapper
    excess = np.maximum(np.asarray(lower_c) - t, 0) + np.maximum(t - np.asarray(upper_c), 0)
    return excess.sum(axis=0) * int(step_s) / 3600.0


def energy_kwh(p_kw: np.ndarray, step_s: int) -> np.ndarray:
    """Energy of a mean-power series, summed over time (axis 0). [kWh]"""
    return np.asarray(p_kw, dtype=float).sum(axis=0) * int(step_s) / 3600.0


def peak_kw(p_kw: np.ndarray) -> float:
    """Peak demand of a power series, summed over zones first if 2-D. [kW]"""
    p = np.asarray(p_kw, dtype=float)
    total = p.sum(axis=1) if p.ndim == 2 else p
    return float(total.max()) if total.size else 0.0


# ---------------------------------------------------------------------------------------
# Asset family (``kind: building``)
# ---------------------------------------------------------------------------------------

PLUG_LOAD_FRAC = 0.8
"""Share of internal gains that is electrical plug and lighting load drawn from the
grid (the rest is occupants' metabolic heat; assumption). [-]"""

WEATHER_MARGIN_S = 3 * 86400
"""Weather is loaded this far beyond the run so a controller can look ahead. [s]"""


def params_from_spec(spec: BuildingAssetSpec) -> BuildingParams:
    """:class:`BuildingParams` of a ``building`` asset spec (preset, scaled, overridden).

    Parameters
    ----------
    spec : twin.scenario.BuildingAssetSpec
        The scenario's building.

    Returns
    -------
    BuildingParams
        Capacities, conductances, aperture, gains and HVAC power scale with ``scale``.
    """
    import dataclasses

    base = BUILDING_TYPES[spec.building_type]
    f = float(spec.scale)
    th = base.thermal
    thermal = dataclasses.replace(
        th,
        c_air_kwh_per_k=th.c_air_kwh_per_k * f,
        c_mass_kwh_per_k=th.c_mass_kwh_per_k * f,
        h_air_mass_kw_per_k=th.h_air_mass_kw_per_k * f,
        h_mass_out_kw_per_k=th.h_mass_out_kw_per_k * f,
        h_air_out_kw_per_k=th.h_air_out_kw_per_k * f,
        solar_aperture_m2=th.solar_aperture_m2 * f,
    )
    hvac_kw = spec.hvac_kw if spec.hvac_kw is not None else base.hvac.p_el_max_kw * f
    comfort = base.comfort_occupied
    setback = base.comfort_unoccupied
    if spec.comfort_band_c is not None:
        comfort = ComfortBand(*spec.comfort_band_c)
    if spec.setback_band_c is not None:
        setback = ComfortBand(*spec.setback_band_c)
    return dataclasses.replace(
        base,
        thermal=thermal,
        hvac=dataclasses.replace(base.hvac, p_el_max_kw=float(hvac_kw)),
        gains_occupied_kw=base.gains_occupied_kw * f,
        gains_unoccupied_kw=base.gains_unoccupied_kw * f,
        comfort_occupied=comfort,
        comfort_unoccupied=setback,
        floor_area_m2=base.floor_area_m2 * f,
    )


def daily_runs(
    spec: BuildingAssetSpec, owner: int, n_days: int, offset_s: float
) -> list[tuple[int, ApplianceRun]]:
    """The deferrable runs of one building for every day of the run.

    Parameters
    ----------
    spec : twin.scenario.BuildingAssetSpec
        The building.
    owner : int
        Index of the building (returned with each run).
    n_days : int
        Days to cover.
    offset_s : float
        Seconds from local midnight of day 0 to the scenario start. [s]
    """
    from twin.simtime import parse_duration_s

    out = []
    for day in range(n_days):
        for j, run in enumerate(spec.deferrable):
            base = day * 86400 - offset_s
            earliest = int(base + run.earliest_h * 3600)
            latest = int(base + run.latest_end_h * 3600)
            duration = parse_duration_s(run.duration)
            if latest - duration < 0:
                continue
            earliest = max(earliest, 0)
            if latest - earliest < duration:
                continue
            out.append((owner, ApplianceRun(run.power_kw, duration, earliest, latest,
                                            name=f"{spec.name}/{j}/d{day}")))
    return out


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
        from twin.assets.base import add_element_rows

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
        from twin.clock import Phase

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
        heat = np.where(fleet.can_heat, np.maximum(_finite(heat), 0.0), 0.0)
        cool = np.where(fleet.can_cool, np.maximum(_finite(cool), 0.0), 0.0)
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
        from twin.assets.base import Channel

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


def load_scenario_weather(scenario: Scenario, duration_s: int, step_s: int) -> Weather:
    """The scenario's weather on its step grid over ``duration_s``.

    Raises
    ------
    twin.errors.ScenarioError
        Naming ``weather.file`` when it cannot be found or read.
    """
    from pathlib import Path

    from twin.errors import ScenarioError
    from twin.weather import WeatherFileError, load_weather, pvlib_weather_file

    name = scenario.weather.file
    source = scenario.source
    path = Path(name)
    if not path.is_absolute():
        candidate = Path(source).parent / path
        if candidate.exists():
            path = candidate
        else:
            try:
                path = pvlib_weather_file(name)
            except (FileNotFoundError, ValueError, WeatherFileError):
                raise ScenarioError.single(
                    source, "weather.file", f"weather file {name!r} not found next to the "
                    "scenario nor in pvlib/data; expected a TMY3 CSV, TMY2 .tm2 or EPW file"
                ) from None
    duration = int(np.ceil(duration_s / step_s)) * step_s
    try:
        return load_weather(path, scenario.time.start, duration, step_s)
    except (WeatherFileError, OSError, ValueError, KeyError) as exc:
        raise ScenarioError.single(
            source, "weather.file", f"weather file {path} cannot be read ({exc}); expected a "
            "TMY3 CSV, TMY2 .tm2 or EPW file"
        ) from None
