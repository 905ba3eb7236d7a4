"""The ``assets:`` section: one spec model per asset kind and their union.

Public names: :data:`AssetSpec` (discriminated on ``kind``), :class:`LoadAssetSpec`,
:class:`PvAssetSpec`, :class:`BatteryAssetSpec`, :class:`EvFleetAssetSpec`,
:class:`BuildingAssetSpec` (with :class:`DeferrableRunSpec`), :class:`GeneratorAssetSpec`.

Adding an asset kind: write a spec model here with ``kind: Literal["<kind>"]``, add it to
:data:`AssetSpec`, and map the kind to its family class in ``twin/assets/registry.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin.scenario.fields import (
    MAX_ENERGY_KWH,
    MAX_NAME_CHARS,
    MAX_POWER_KW,
    NAME_PATTERN,
    SpecModel,
    check_duration,
)
from twin.simtime import parse_duration_s


class LoadAssetSpec(SpecModel):
    """An extra consumer at a bus, following a named profile (or constant)."""

    kind: Literal["load"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    peak_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Power at profile value 1. [kW]")
    profile: str | None = Field(
        None, description="SimBench load profile, e.g. 'H0-A'; none means constant."
    )
    power_factor: float = Field(
        0.95, gt=0, le=1, description="Inductive power factor (q = p tan(acos(pf)))."
    )


class PvAssetSpec(SpecModel):
    """A PV system at a bus: available power from a named profile, curtailable."""

    kind: Literal["pv"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    peak_kw: float = Field(
        gt=0, le=MAX_POWER_KW, description="Power at profile value 1 (kWp). [kW]"
    )
    profile: str = Field(description="SimBench renewables profile, e.g. 'PV3'.")


class BatteryAssetSpec(SpecModel):
    """A battery at a bus with efficiencies, power and energy limits, self-discharge."""

    kind: Literal["battery"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    capacity_kwh: float = Field(
        gt=0, le=MAX_ENERGY_KWH, description="Usable energy capacity. [kWh]"
    )
    power_kw: float = Field(
        gt=0, le=MAX_POWER_KW, description="Charge and discharge power limit (grid side). [kW]"
    )
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="Grid to cell. [fraction]")
    discharge_efficiency: float = Field(
        0.95, gt=0, le=1, description="Cell to grid. [fraction]"
    )
    soc_min_frac: float = Field(0.1, ge=0, lt=1, description="Lowest state of charge.")
    soc_max_frac: float = Field(0.9, gt=0, le=1, description="Highest state of charge.")
    soc_initial_frac: float = Field(0.5, ge=0, le=1, description="State of charge at t=0.")
    self_discharge_frac_per_day: float = Field(
        0.0, ge=0, le=0.5, description="Share of stored energy lost per day. [1/d]"
    )

    @model_validator(mode="after")
    def _soc_bounds(self) -> BatteryAssetSpec:
        if self.soc_min_frac >= self.soc_max_frac:
            raise ValueError("soc_min_frac must be below soc_max_frac")
        if not self.soc_min_frac <= self.soc_initial_frac <= self.soc_max_frac:
            raise ValueError("soc_initial_frac must lie between soc_min_frac and soc_max_frac")
        return self


class EvFleetAssetSpec(SpecModel):
    """Electric vehicles charging at one site (one bus): sessions drawn or replayed.

    Sessions are drawn per day from seeded distributions for the site type and weekday
    (see :mod:`twin.assets.ev`), or replayed from a CSV file with columns ``vehicle``,
    ``arrival`` and ``departure`` (durations since the scenario start, e.g. "7h30min",
    or seconds), ``arrival_soc_frac`` and optionally ``capacity_kwh``.
    """

    kind: Literal["ev_fleet"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the chargers connect to.")
    site: Literal["home", "workplace", "depot"] = Field(
        "workplace", description="Site type: sets when vehicles arrive and leave."
    )
    vehicles: int = Field(10, ge=1, le=5000, description="Number of vehicles (one charger each).")
    charger_kw: float = Field(
        11.0, gt=0, le=1000, description="Charger power limit (AC up to 22, DC above). [kW]"
    )
    capacity_kwh: float = Field(60.0, gt=0, le=2000, description="Battery size. [kWh]")
    charge_efficiency: float = Field(0.92, gt=0, le=1, description="Grid to battery. [fraction]")
    target_soc_frac: float = Field(
        0.9, gt=0, le=1, description="State of charge wanted at departure. [fraction]"
    )
    early_departure_prob: float = Field(
        0.0, ge=0, le=1,
        description="Chance that a vehicle leaves earlier than announced (up to 2 h). [-]",
    )
    v2g: bool = Field(False, description="Vehicles may discharge into the grid.")
    v2g_degradation_eur_per_kwh: float = Field(
        0.05, ge=0, le=10, description="Battery wear cost of energy discharged. [EUR/kWh]"
    )
    sessions_file: str | None = Field(
        None, description="CSV of sessions to replay instead of drawing them (relative to "
        "the scenario file)."
    )


class DeferrableRunSpec(SpecModel):
    """An appliance run that must happen every day inside a time window."""

    power_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Power while running. [kW]")
    duration: str = Field(description="Run length, e.g. '2h'. [duration string]")
    earliest_h: float = Field(ge=0, le=24, description="Earliest start, hour of day. [h]")
    latest_end_h: float = Field(gt=0, le=24, description="Latest end, hour of day. [h]")

    _check_duration = field_validator("duration")(check_duration)

    @model_validator(mode="after")
    def _window(self) -> DeferrableRunSpec:
        if self.latest_end_h - self.earliest_h < parse_duration_s(self.duration) / 3600.0:
            raise ValueError(
                "window from earliest_h to latest_end_h is shorter than duration; expected "
                "earliest_h + duration <= latest_end_h"
            )
        return self


class BuildingAssetSpec(SpecModel):
    """A building: one RC thermal zone, HVAC, occupancy, comfort bands, deferrable loads.

    Parameters default to the preset of ``building_type`` (see
    ``twin.assets.building.BUILDING_TYPES``); outdoor conditions come from ``weather``.
    """

    kind: Literal["building"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the building connects to.")
    building_type: Literal["residential", "office", "retail"] = Field(
        "office", description="Preset for the thermal zone, HVAC, occupancy and gains."
    )
    scale: float = Field(
        1.0, gt=0, le=100,
        description="Size relative to the preset (floor area, capacities, conductances, "
        "gains and HVAC power scale together). [-]",
    )
    hvac_kw: float | None = Field(
        None, gt=0, le=MAX_POWER_KW, description="HVAC electrical power limit (default: "
        "preset x scale). [kW]"
    )
    comfort_band_c: tuple[float, float] | None = Field(
        None, description="Comfort band while occupied, [lower, upper] (default: preset). [degC]"
    )
    setback_band_c: tuple[float, float] | None = Field(
        None, description="Band while unoccupied, [lower, upper] (default: preset). [degC]"
    )
    initial_temp_c: float = Field(22.0, ge=-20, le=50, description="Air and mass at t=0. [degC]")
    deferrable: tuple[DeferrableRunSpec, ...] = Field(
        (), description="Appliance runs due every day inside their window."
    )

    @field_validator("comfort_band_c", "setback_band_c")
    @classmethod
    def _band(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(
                f"band [{value[0]}, {value[1]}] is inverted or empty; expected [lower, upper] "
                "with lower < upper"
            )
        return value


class GeneratorAssetSpec(SpecModel):
    """A dispatchable generator (diesel, gas engine, CHP) with unit-commitment limits."""

    kind: Literal["generator"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the generator connects to.")
    p_min_kw: float = Field(ge=0, le=MAX_POWER_KW, description="Lowest output when on. [kW]")
    p_max_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Highest output. [kW]")
    min_up: str = Field("1h", description="Minimum time on once started. [duration string]")
    min_down: str = Field("1h", description="Minimum time off once stopped. [duration string]")
    startup_time: str = Field(
        "0s", description="Time from a black start in an island until the unit runs and "
        "can form the island (meanwhile it produces nothing). [duration string]")
    startup_cost_eur: float = Field(5.0, ge=0, le=1e6, description="Cost of a start. [EUR]")
    fuel_cost_eur_per_kwh: float = Field(
        0.30, ge=0, le=100, description="Fuel cost of energy produced. [EUR/kWh]"
    )
    grid_forming: bool = Field(
        True, description="Can form an island (set voltage and balance) when islanded."
    )
    initially_on: bool = Field(False, description="Running at t=0.")

    _check_up = field_validator("min_up", "min_down", "startup_time")(check_duration)

    @field_validator("p_max_kw")
    @classmethod
    def _limits(cls, value: float, info: ValidationInfo) -> float:
        p_min = info.data.get("p_min_kw")
        if p_min is not None and p_min > value:
            raise ValueError(
                f"p_min_kw {p_min} is above p_max_kw {value}; expected p_min_kw <= p_max_kw"
            )
        return value


AssetSpec = Annotated[
    LoadAssetSpec
    | PvAssetSpec
    | BatteryAssetSpec
    | EvFleetAssetSpec
    | BuildingAssetSpec
    | GeneratorAssetSpec,
    Field(discriminator="kind"),
]
"""Union of all asset specs, discriminated on ``kind``."""
