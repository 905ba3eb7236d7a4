"""Building presets (``building_type`` in a scenario) and the parameters of a
scenario's building spec (preset, scaled, overridden).

Public names: :data:`BUILDING_TYPES`, :func:`building_preset`, :func:`params_from_spec`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from twin.assets.building.params import (
    BuildingParams,
    ComfortBand,
    HvacParams,
    OccupancySchedule,
    ThermalParams,
)

if TYPE_CHECKING:
    from twin.scenario import BuildingAssetSpec


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
    if kind not in BUILDING_TYPES:
        raise ValueError(f"unknown building type {kind!r}; known: {sorted(BUILDING_TYPES)}")
    return dataclasses.replace(BUILDING_TYPES[kind], **overrides)  # type: ignore[arg-type]



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

