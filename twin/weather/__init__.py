"""Outdoor weather for the twin: typical-year files read through pvlib, and PV from weather.

This package owns turning a typical meteorological year (TMY) file into arrays on the
twin's time grid (one value per step), and turning those arrays into PV power with a
PVWatts-style pvlib chain. Buildings (:mod:`twin.assets.building`) read their outdoor
conditions from here.

What lives where
----------------
``files``  finding, reading and checking typical-year files (:func:`read_tmy`)
``steps``  step means on the twin's grid (:func:`load_weather`), a scenario's weather
``pv``     PV AC power from weather (:func:`pv_ac_power_kw`)

Imports: numpy, pandas, pvlib (lazily, inside the functions that need it),
:mod:`twin.errors` and, for the scenario's types only, :mod:`twin.scenario`; nothing
else of the twin.

Public names
------------
- :func:`pvlib_weather_file` -- path of a TMY file shipped in ``pvlib/data``.
- :func:`read_tmy` -- read a TMY3 CSV, TMY2 ``.tm2`` or EnergyPlus ``.epw`` file into an
  hourly frame with canonical columns, and its :class:`Site`.
- :func:`load_weather` -- weather on the twin's grid: start, duration, step.
- :func:`load_scenario_weather` -- a scenario's ``weather.file`` found and loaded, bad
  files reported as :class:`~twin.errors.ScenarioError` naming the field.
- :class:`Site`, :class:`Weather`, :class:`WeatherFileError`.
- :class:`PvSystemParams`, :func:`pv_ac_power_kw` -- PV AC power from weather.

Time conventions
----------------
A TMY file describes one *typical* year in local standard time (no daylight saving).
Row ``k`` (0-based) covers the hour ``[k, k+1)`` counted from 1 January 00:00: the
irradiance columns are the mean over that hour (NSRDB/NREL convention: energy received
in the hour ending at the time stamp) and the instantaneous columns (air temperature,
wind speed) are the values at its end, ``k + 1`` hours.  On the twin's grid, step ``i``
covers ``[start + i*step_s, start + (i+1)*step_s)`` and every returned value is the
**mean over that step** of a piecewise-linear interpolant through the hourly values
(irradiance placed at hour mid-points, instantaneous values at hour ends), evaluated by
the midpoint rule on sub-steps of at most 5 minutes. Step means are what a zero-order
hold discretisation (the building model) needs.

The typical year is periodic: a scenario in any calendar year (or one that crosses New
Year) reads the same typical day of year. In leap years 29 February repeats
28 February. A naive scenario start is read as the site's local standard time; a
time-zone-aware start is converted to it.
"""

from __future__ import annotations

from twin.weather.files import (
    HOURS_PER_TYPICAL_YEAR,
    Site,
    WeatherFileError,
    pvlib_weather_file,
    read_tmy,
)
from twin.weather.pv import PvSystemParams, pv_ac_power_kw
from twin.weather.steps import (
    Weather,
    load_scenario_weather,
    load_weather,
    typical_year_hours,
)

__all__ = [
    "HOURS_PER_TYPICAL_YEAR",
    "PvSystemParams",
    "Site",
    "Weather",
    "WeatherFileError",
    "load_scenario_weather",
    "load_weather",
    "pv_ac_power_kw",
    "pvlib_weather_file",
    "read_tmy",
    "typical_year_hours",
]
