"""Weather on the twin's time grid: a typical year's hourly values turned into step means
(the time conventions are in :mod:`twin.weather`), and a scenario's ``weather.file`` found
and loaded.

Public names: :class:`Weather`, :func:`load_weather`, :func:`load_scenario_weather`,
:func:`typical_year_hours`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.weather.files import (
    HOURS_PER_TYPICAL_YEAR,
    Site,
    WeatherFileError,
    pvlib_weather_file,
    read_tmy,
)

if TYPE_CHECKING:
    from twin.scenario import Scenario

logger = logging.getLogger(__name__)

_SUBSTEP_MAX_S = 300
"""Longest sub-step of the midpoint rule that turns the interpolant into step means. [s]"""


@dataclass(frozen=True)
class Weather:
    """Weather on the twin's time grid: one value per step (step means).

    Arrays all have length ``n_steps``; value ``i`` is the mean over
    ``[start + i*step_s, start + (i+1)*step_s)``.
    """

    site: Site
    """Where the weather was measured."""
    start: pd.Timestamp
    """Start of the first step, time-zone aware (site's local standard time)."""
    step_s: int
    """Step length. [s]"""
    temp_air_c: np.ndarray
    """Outdoor dry-bulb air temperature. [degC]"""
    ghi_w_per_m2: np.ndarray
    """Global horizontal irradiance. [W/m2]"""
    dni_w_per_m2: np.ndarray
    """Direct normal irradiance. [W/m2]"""
    dhi_w_per_m2: np.ndarray
    """Diffuse horizontal irradiance. [W/m2]"""
    wind_speed_m_per_s: np.ndarray
    """Wind speed at 10 m. [m/s]"""
    source: str = ""
    """File the weather was read from."""

    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.temp_air_c.shape[0])

    @property
    def times(self) -> pd.DatetimeIndex:
        """Start time of every step (site's local standard time)."""
        return pd.date_range(self.start, periods=self.n_steps, freq=f"{self.step_s}s")

    @property
    def time_s(self) -> np.ndarray:
        """Start of every step in seconds since ``start``. [s]"""
        return np.arange(self.n_steps, dtype=np.int64) * self.step_s

    def to_frame(self) -> pd.DataFrame:
        """All series as a frame indexed by step start time."""
        return pd.DataFrame(
            {
                "temp_air_c": self.temp_air_c,
                "ghi_w_per_m2": self.ghi_w_per_m2,
                "dni_w_per_m2": self.dni_w_per_m2,
                "dhi_w_per_m2": self.dhi_w_per_m2,
                "wind_speed_m_per_s": self.wind_speed_m_per_s,
            },
            index=self.times,
        )


def typical_year_hours(times: pd.DatetimeIndex) -> np.ndarray:
    """Position of each time stamp in the periodic typical year.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Time stamps in the site's local standard time (naive or fixed offset).

    Returns
    -------
    numpy.ndarray
        Hours since 1 January 00:00 of the typical year, in ``[0, 8760)``. In leap
        years 29 February maps onto 28 February. [h]

    Examples
    --------
    >>> typical_year_hours(pd.DatetimeIndex(["2024-03-01 06:00", "2025-03-01 06:00"]))
    array([1422., 1422.])
    """
    naive = times.tz_localize(None) if times.tz is not None else times
    year_start = pd.to_datetime(naive.year.astype(str) + "-01-01")
    hours = (naive - year_start).total_seconds().to_numpy() / 3600.0
    leap = naive.is_leap_year
    after_feb28 = hours >= 59 * 24.0
    hours = hours - np.where(leap & after_feb28, 24.0, 0.0)
    return np.mod(hours, float(HOURS_PER_TYPICAL_YEAR))


def _periodic_interp(hours: np.ndarray, node_h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation on a 8760-h periodic axis (nodes sorted in [0, 8760])."""
    period = float(HOURS_PER_TYPICAL_YEAR)
    xp = np.concatenate(([node_h[-1] - period], node_h, [node_h[0] + period]))
    fp = np.concatenate(([values[-1]], values, [values[0]]))
    return np.interp(np.mod(hours, period), xp, fp)


def load_weather(
    path: str | Path,
    start: str | pd.Timestamp,
    duration_s: int,
    step_s: int,
) -> Weather:
    """Weather from a typical-year file on the twin's time grid.

    Parameters
    ----------
    path : str or pathlib.Path
        Weather file (see :func:`read_tmy`); :func:`pvlib_weather_file` gives the ones
        pvlib ships.
    start : str or pandas.Timestamp
        Scenario start. Naive: the site's local standard time; aware: converted to it.
    duration_s : int
        Scenario duration, a positive multiple of ``step_s``. [s]
    step_s : int
        Twin step. [s]

    Returns
    -------
    Weather
        Step means of temperature, irradiance and wind on the grid.

    Raises
    ------
    WeatherFileError
        If the file cannot be read (see :func:`read_tmy`).
    ValueError
        If ``step_s`` or ``duration_s`` is not positive or the duration is not a whole
        number of steps.

    Examples
    --------
    >>> w = load_weather(pvlib_weather_file("723170TYA.CSV"), "2026-07-01", 86400, 3600)
    >>> w.n_steps, round(float(w.temp_air_c.max()), 1) > 25
    (24, True)
    """
    n_steps = _whole_steps(duration_s, step_s)
    frame, site = read_tmy(path)
    tz = site.tz
    start_ts = pd.Timestamp(start)
    start_ts = start_ts.tz_localize(tz) if start_ts.tz is None else start_ts.tz_convert(tz)
    weather = _step_means(frame, site, start_ts, n_steps, int(step_s), str(path))
    logger.debug(
        "weather %s: %d steps of %d s from %s", path, n_steps, step_s, start_ts.isoformat()
    )
    return weather


def _whole_steps(duration_s: int, step_s: int) -> int:
    """Number of steps of the grid; ``ValueError`` unless both are positive and the
    duration is a whole number of steps."""
    if int(step_s) <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    if int(duration_s) <= 0 or int(duration_s) % int(step_s):
        raise ValueError(
            f"duration_s must be a positive multiple of step_s={step_s}, got {duration_s}"
        )
    return int(duration_s) // int(step_s)


def _step_means(frame: pd.DataFrame, site: Site, start_ts: pd.Timestamp, n_steps: int,
                step_s: int, source: str) -> Weather:
    """The typical year's hourly ``frame`` as step means on the grid from ``start_ts``:
    irradiance placed at hour mid-points, instantaneous values at hour ends."""
    hours, n_sub = _sample_hours(start_ts, n_steps, step_s)
    k = np.arange(HOURS_PER_TYPICAL_YEAR, dtype=float)
    mid_h = k + 0.5  # hour-mean quantities (irradiance)
    end_h = k + 1.0  # instantaneous quantities (temperature, wind)

    def means(node_h: np.ndarray, column: str) -> np.ndarray:
        sampled = _periodic_interp(hours, node_h, frame[column].to_numpy())
        return sampled.reshape(n_steps, n_sub).mean(axis=1)

    return Weather(
        site=site,
        start=start_ts,
        step_s=step_s,
        temp_air_c=means(end_h, "temp_air"),
        ghi_w_per_m2=means(mid_h, "ghi"),
        dni_w_per_m2=means(mid_h, "dni"),
        dhi_w_per_m2=means(mid_h, "dhi"),
        wind_speed_m_per_s=means(end_h, "wind_speed"),
        source=source,
    )


def _sample_hours(start_ts: pd.Timestamp, n_steps: int, step_s: int) -> tuple[np.ndarray, int]:
    """Typical-year hours of the midpoint-rule samples of every step (``n_sub`` equal
    sub-intervals of at most :data:`_SUBSTEP_MAX_S` each), and ``n_sub``."""
    n_sub = max(1, math.ceil(step_s / _SUBSTEP_MAX_S))
    # Midpoints of n_sub equal sub-intervals of every step, as offsets in seconds.
    sub_offsets_s = (np.arange(n_sub) + 0.5) * (step_s / n_sub)
    offsets_s = (np.arange(n_steps)[:, None] * step_s + sub_offsets_s[None, :]).ravel()
    sample_times = start_ts + pd.to_timedelta(offsets_s, unit="s")
    return typical_year_hours(pd.DatetimeIndex(sample_times)), n_sub


def load_scenario_weather(scenario: Scenario, duration_s: int, step_s: int) -> Weather:
    """The scenario's weather (``weather.file``) on its step grid over ``duration_s``.

    The file is looked up next to the scenario file, else among pvlib's shipped files
    (:func:`pvlib_weather_file`); ``duration_s`` is rounded up to whole steps.

    Raises
    ------
    twin.errors.ScenarioError
        Naming ``weather.file`` when it cannot be found or read.
    """
    from twin.errors import ScenarioError

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
