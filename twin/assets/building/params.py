"""Building parameters: the thermal zone, the HVAC unit, comfort bands, occupancy.

Frozen, validated dataclasses (a bad value raises ``ValueError`` naming the field);
the presets built from them are in :mod:`twin.assets.building.presets`.

Public names: :class:`ThermalParams`, :class:`HvacParams`, :class:`ComfortBand`,
:class:`OccupancySchedule`, :class:`BuildingParams`, :data:`HvacMode`,
:data:`WEEKDAY_NAMES`, :func:`require`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

HvacMode = Literal["heat_pump", "chiller", "reversible"]
"""What the HVAC unit can do: heat only, cool only, or both (reversible heat pump)."""

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as :meth:`OccupancySchedule.from_text` reads them (Monday first)."""


def require(condition: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``condition``: the parameter checks of the
    building package's dataclasses."""
    if not condition:
        raise ValueError(message)


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
        require(self.c_air_kwh_per_k > 0, f"c_air_kwh_per_k must be positive, got {self.c_air_kwh_per_k}")
        require(self.c_mass_kwh_per_k > 0, f"c_mass_kwh_per_k must be positive, got {self.c_mass_kwh_per_k}")
        for name in ("h_air_mass_kw_per_k", "h_mass_out_kw_per_k", "h_air_out_kw_per_k", "solar_aperture_m2"):
            value = getattr(self, name)
            require(bool(np.isfinite(value)) and value >= 0, f"{name} must be >= 0, got {value}")
        for name in ("solar_frac_air", "internal_frac_air"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value}")

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
        require(
            self.mode in ("heat_pump", "chiller", "reversible"),
            f"mode must be 'heat_pump', 'chiller' or 'reversible', got {self.mode!r}",
        )
        require(self.p_el_max_kw >= 0, f"p_el_max_kw must be >= 0, got {self.p_el_max_kw}")
        require(0 < self.cop_correction_frac <= 1, f"cop_correction_frac must be in (0, 1], got {self.cop_correction_frac}")
        require(0 < self.carnot_frac_cooling <= 1, f"carnot_frac_cooling must be in (0, 1], got {self.carnot_frac_cooling}")
        require(self.condenser_approach_k >= 0, f"condenser_approach_k must be >= 0, got {self.condenser_approach_k}")
        require(0 < self.cop_min < self.cop_max, f"cop_min must be positive and below cop_max, got {self.cop_min}, {self.cop_max}")

    @property
    def can_heat(self) -> bool:
        """Whether the unit can heat."""
        return self.mode in ("heat_pump", "reversible")

    @property
    def can_cool(self) -> bool:
        """Whether the unit can cool."""
        return self.mode in ("chiller", "reversible")


@dataclass(frozen=True, slots=True)
class ComfortBand:
    """Allowed indoor air temperature range."""

    lower_c: float
    """Lower bound (heating setpoint side). [degC]"""
    upper_c: float
    """Upper bound (cooling setpoint side). [degC]"""

    def __post_init__(self) -> None:
        require(
            bool(np.isfinite(self.lower_c) and np.isfinite(self.upper_c)),
            f"comfort band bounds must be finite, got [{self.lower_c}, {self.upper_c}]",
        )
        require(
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
            require(
                len(days) > 0 and all(0 <= d <= 6 for d in days),
                f"periods[{i}].weekdays must be integers 0 (Monday) .. 6 (Sunday), got {days}",
            )
            require(
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
                idx = [WEEKDAY_NAMES.index(n.strip()[:3]) for n in names]
            except ValueError:
                raise ValueError(
                    f"occupancy key {key!r}: expected a weekday {WEEKDAY_NAMES} or a "
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
        require(self.gains_occupied_kw >= 0, f"gains_occupied_kw must be >= 0, got {self.gains_occupied_kw}")
        require(self.gains_unoccupied_kw >= 0, f"gains_unoccupied_kw must be >= 0, got {self.gains_unoccupied_kw}")

