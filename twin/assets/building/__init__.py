"""Buildings: thermal zones (3R2C/2R2C RC network), HVAC, occupancy, deferrable loads,
and the ``building`` asset family. One sub-domain per module:

- :mod:`~twin.assets.building.params`: frozen, validated parameters
  (:class:`ThermalParams`, :class:`HvacParams`, :class:`ComfortBand`,
  :class:`OccupancySchedule`, :class:`BuildingParams`);
- :mod:`~twin.assets.building.presets`: :data:`BUILDING_TYPES`,
  :func:`building_preset`, :func:`params_from_spec` (a scenario's building spec);
- :mod:`~twin.assets.building.hvac`: the COP/EER curves (:func:`heating_cop`,
  :func:`cooling_eer`, :func:`air_source_cop`, :func:`air_cooled_eer`);
- :mod:`~twin.assets.building.rc`: the RC model as pure functions
  (:func:`continuous_matrices`, :func:`discretise` to a :class:`ThermalStateSpace`,
  the linear model a MILP/LP uses, and one step :func:`rc_step`);
- :mod:`~twin.assets.building.fleet`: N zones as arrays (:class:`BuildingFleet`,
  :class:`BuildingState`, :class:`HvacStepResult`, :func:`limit_hvac_kw`);
- :mod:`~twin.assets.building.thermostat`: the rule-based thermostat as pure functions
  (:func:`thermostat_setpoints` with :class:`ThermostatParams` /
  :class:`ThermostatState`; :func:`ideal_hvac_kw`, the one ideal-thermostat decision
  the EMS comfort guard also calls);
- :mod:`~twin.assets.building.deferrable`: :class:`ApplianceRun`,
  :class:`DeferrableLoads`, :class:`DeferrableState`,
  :func:`start_as_soon_as_allowed`, :func:`daily_runs`;
- :mod:`~twin.assets.building.kpis`: :func:`comfort_violation_kh`,
  :func:`energy_kwh`, :func:`peak_kw`;
- :mod:`~twin.assets.building.family`: :class:`BuildingFamily` (the SimPy process,
  one load row per building) and :class:`BuildingSnapshot`.

The weather comes in as arrays on the step grid (:func:`twin.weather.load_scenario_weather`).

Sign and unit conventions: temperatures in degC; thermal and electrical powers in kW;
energies in kWh; thermal capacities in kWh/K; conductances in kW/K; time in seconds
(the continuous-time matrices are per hour). HVAC thermal power is positive when it
heats the zone and negative when it cools; electrical power is always consumption
(>= 0).

How the family steps the physics each grid step ``k`` (see
:meth:`BuildingFamily.act`)::

    occupied = fleet.occupied(times)[k]
    heat, cool = thermostat_setpoints(fleet, state, memory, occupied, t_out_c[k],
                                      ghi_w_per_m2[k], step_s)  # or a controller's command
    result = fleet.step(state, heat, cool, t_out_c[k], ghi_w_per_m2[k], occupied, step_s)

Imports: numpy, scipy, pandas, :mod:`twin.assets.base`, :mod:`twin.clock`,
:mod:`twin.simtime`, :mod:`twin.weather` (and :mod:`twin.scenario` for types); never the
engine, the controllers or another family. This ``__init__`` re-exports the public
names of the sub-modules.
"""

from __future__ import annotations

from twin.assets.building.deferrable import (
    NOT_STARTED_S,
    ApplianceRun,
    DeferrableLoads,
    DeferrableState,
    daily_runs,
    start_as_soon_as_allowed,
)
from twin.assets.building.family import (
    PLUG_LOAD_FRAC,
    WEATHER_MARGIN_S,
    BuildingFamily,
    BuildingSnapshot,
)
from twin.assets.building.fleet import (
    BuildingFleet,
    BuildingState,
    HvacStepResult,
    finite_or_zero,
    limit_hvac_kw,
)
from twin.assets.building.hvac import (
    air_cooled_eer,
    air_source_cop,
    cooling_eer,
    heating_cop,
)
from twin.assets.building.kpis import comfort_violation_kh, energy_kwh, peak_kw
from twin.assets.building.params import (
    WEEKDAY_NAMES,
    BuildingParams,
    ComfortBand,
    HvacMode,
    HvacParams,
    OccupancySchedule,
    ThermalParams,
)
from twin.assets.building.presets import (
    BUILDING_TYPES,
    building_preset,
    params_from_spec,
)
from twin.assets.building.rc import (
    DISTURBANCE_NAMES,
    STATE_NAMES,
    ThermalStateSpace,
    continuous_matrices,
    discretise,
    rc_step,
)
from twin.assets.building.thermostat import (
    ThermostatKind,
    ThermostatParams,
    ThermostatState,
    free_air_temperature_c,
    hysteresis_hvac_kw,
    ideal_hvac_kw,
    proportional_hvac_kw,
    thermostat_setpoints,
)

__all__ = [
    "BUILDING_TYPES",
    "DISTURBANCE_NAMES",
    "NOT_STARTED_S",
    "PLUG_LOAD_FRAC",
    "STATE_NAMES",
    "WEATHER_MARGIN_S",
    "WEEKDAY_NAMES",
    "ApplianceRun",
    "BuildingFamily",
    "BuildingFleet",
    "BuildingParams",
    "BuildingSnapshot",
    "BuildingState",
    "ComfortBand",
    "DeferrableLoads",
    "DeferrableState",
    "HvacMode",
    "HvacParams",
    "HvacStepResult",
    "OccupancySchedule",
    "ThermalParams",
    "ThermalStateSpace",
    "ThermostatKind",
    "ThermostatParams",
    "ThermostatState",
    "air_cooled_eer",
    "air_source_cop",
    "building_preset",
    "comfort_violation_kh",
    "continuous_matrices",
    "cooling_eer",
    "daily_runs",
    "discretise",
    "energy_kwh",
    "finite_or_zero",
    "free_air_temperature_c",
    "heating_cop",
    "hysteresis_hvac_kw",
    "ideal_hvac_kw",
    "limit_hvac_kw",
    "params_from_spec",
    "peak_kw",
    "proportional_hvac_kw",
    "rc_step",
    "start_as_soon_as_allowed",
    "thermostat_setpoints",
]
