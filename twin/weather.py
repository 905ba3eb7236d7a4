"""Outdoor weather for the twin: typical-year files read through pvlib, and PV from weather.

This module owns turning a typical meteorological year (TMY) file into arrays on the
twin's time grid (one value per step), and turning those arrays into PV power with a
PVWatts-style pvlib chain. Buildings (:mod:`twin.assets.building`) and microgrids that
use weather instead of profiles read from here.

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

import datetime
import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from twin.scenario import Scenario

logger = logging.getLogger(__name__)

HOURS_PER_TYPICAL_YEAR = 8760
"""Number of hourly rows in a TMY file (365 days). [h]"""

_SUBSTEP_MAX_S = 300
"""Longest sub-step of the midpoint rule that turns the interpolant into step means. [s]"""

_CANONICAL_COLUMNS = ("temp_air", "ghi", "dni", "dhi", "wind_speed")


class WeatherFileError(ValueError):
    """A weather file cannot be read or does not hold a usable typical year."""


@dataclass(frozen=True, slots=True)
class Site:
    """Location of a weather station (and of the assets that use its weather)."""

    name: str
    """Station name from the file header."""
    latitude_deg: float
    """Latitude, north positive. [deg]"""
    longitude_deg: float
    """Longitude, east positive. [deg]"""
    altitude_m: float
    """Altitude above sea level. [m]"""
    utc_offset_h: float
    """Offset of the station's local standard time from UTC. [h]"""

    @property
    def tz(self) -> datetime.timezone:
        """Fixed-offset time zone of the station's local standard time."""
        return datetime.timezone(datetime.timedelta(hours=self.utc_offset_h))


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


def pvlib_weather_file(name: str) -> Path:
    """Path of a weather file shipped with pvlib in ``pvlib/data``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"723170TYA.CSV"`` (Greensboro NC, TMY3), ``"703165TY.csv"``
        (Sand Point AK, TMY3) or ``"12839.tm2"`` (Miami FL, TMY2).

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    WeatherFileError
        If pvlib ships no file of that name (the message lists those it ships).

    Examples
    --------
    >>> pvlib_weather_file("723170TYA.CSV").name
    '723170TYA.CSV'
    """
    import pvlib

    data_dir = Path(pvlib.__file__).parent / "data"
    path = data_dir / name
    if not path.is_file():
        shipped = sorted(
            p.name for p in data_dir.iterdir() if p.suffix.lower() in {".csv", ".tm2", ".epw"}
        )
        raise WeatherFileError(
            f"{name}: no such weather file in pvlib/data; pvlib ships {shipped}"
        )
    return path


def read_tmy(path: str | Path) -> tuple[pd.DataFrame, Site]:
    """Read a typical-year weather file into an hourly frame with canonical columns.

    Parameters
    ----------
    path : str or pathlib.Path
        A TMY3 CSV (``.csv``), a TMY2 file (``.tm2``) or an EnergyPlus weather file
        (``.epw``).

    Returns
    -------
    frame : pandas.DataFrame
        8760 rows in file order (row ``k`` = hour ``[k, k+1)`` from 1 January 00:00
        local standard time) with columns ``temp_air`` [degC], ``ghi``, ``dni``,
        ``dhi`` [W/m2] and ``wind_speed`` [m/s], on a ``RangeIndex``.
    site : Site
        Station location from the file header.

    Raises
    ------
    WeatherFileError
        If the file is missing, cannot be parsed, lacks a column, holds a missing or
        non-finite value, or does not have 8760 hourly rows. The message names the
        file and, where it applies, the column.
    """
    path = Path(path)
    if not path.is_file():
        raise WeatherFileError(f"{path}: weather file not found")
    stat = path.stat()
    frame, site = _read_tmy_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return frame.copy(), site


@functools.lru_cache(maxsize=8)
def _read_tmy_cached(
    path_str: str, mtime_ns: int, size: int
) -> tuple[pd.DataFrame, Site]:
    """Parse and check a weather file; cached per (path, modification time, size)."""
    del mtime_ns, size  # part of the cache key only: a changed file is re-read
    path = Path(path_str)
    data, site = _parse_weather_file(path)
    return _checked_typical_year(path, data), site


def _parse_weather_file(path: Path) -> tuple[pd.DataFrame, Site]:
    """The file's hourly frame (pvlib's readers, canonical column names) and its site."""
    import pvlib

    suffix = path.suffix.lower()
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
            site = Site(
                name=str(meta.get("Name", path.stem)).strip('"'),
                latitude_deg=float(meta["latitude"]),
                longitude_deg=float(meta["longitude"]),
                altitude_m=float(meta["altitude"]),
                utc_offset_h=float(meta["TZ"]),
            )
        elif suffix == ".tm2":
            data, meta = pvlib.iotools.read_tmy2(path)
            # TMY2 stores temperature and wind speed in tenths (NREL TMY2 manual).
            data = pd.DataFrame(
                {
                    "temp_air": data["DryBulb"] / 10.0,
                    "ghi": data["GHI"],
                    "dni": data["DNI"],
                    "dhi": data["DHI"],
                    "wind_speed": data["Wspd"] / 10.0,
                }
            )
            site = Site(
                name=str(meta.get("City", path.stem)),
                latitude_deg=float(meta["latitude"]),
                longitude_deg=float(meta["longitude"]),
                altitude_m=float(meta["altitude"]),
                utc_offset_h=float(meta["TZ"]),
            )
        elif suffix == ".epw":
            data, meta = pvlib.iotools.read_epw(path)
            site = Site(
                name=str(meta.get("city", path.stem)),
                latitude_deg=float(meta["latitude"]),
                longitude_deg=float(meta["longitude"]),
                altitude_m=float(meta["altitude"]),
                utc_offset_h=float(meta["TZ"]),
            )
        else:
            raise WeatherFileError(
                f"{path}: unknown weather file type {path.suffix!r}; expected a TMY3 "
                "'.csv', a TMY2 '.tm2' or an EnergyPlus '.epw' file"
            )
    except WeatherFileError:
        raise
    except Exception as exc:  # pvlib raises many kinds; name the file in one error
        raise WeatherFileError(
            f"{path}: cannot read as a {suffix.lstrip('.').upper()} weather file "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return data, site


def _checked_typical_year(path: Path, data: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns as floats, checked: 8,760 finite hourly rows, irradiance
    and wind not negative, air temperature in -60..60 degC."""
    missing = [c for c in _CANONICAL_COLUMNS if c not in data.columns]
    if missing:
        raise WeatherFileError(f"{path}: missing weather column(s) {missing}")
    frame = data.loc[:, list(_CANONICAL_COLUMNS)].reset_index(drop=True)
    try:
        frame = frame.astype(float)
    except (TypeError, ValueError) as exc:
        raise WeatherFileError(f"{path}: non-numeric weather value ({exc})") from exc
    if len(frame) != HOURS_PER_TYPICAL_YEAR:
        raise WeatherFileError(
            f"{path}: expected {HOURS_PER_TYPICAL_YEAR} hourly rows of a typical year, "
            f"found {len(frame)}"
        )
    for column in _CANONICAL_COLUMNS:
        bad = ~np.isfinite(frame[column].to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise WeatherFileError(
                f"{path}: column {column!r} has a missing or non-finite value in data "
                f"row {row} (and {int(bad.sum()) - 1} more)"
            )
    for column in ("ghi", "dni", "dhi", "wind_speed"):
        if (frame[column] < 0).any():
            row = int(np.flatnonzero(frame[column].to_numpy() < 0)[0])
            raise WeatherFileError(
                f"{path}: column {column!r} is negative in data row {row}; expected >= 0"
            )
    if not -60.0 < frame["temp_air"].min() <= frame["temp_air"].max() < 60.0:
        raise WeatherFileError(
            f"{path}: column 'temp_air' outside -60..60 degC; is the unit right?"
        )
    return frame


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
    if int(step_s) <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    if int(duration_s) <= 0 or int(duration_s) % int(step_s):
        raise ValueError(
            f"duration_s must be a positive multiple of step_s={step_s}, got {duration_s}"
        )
    frame, site = read_tmy(path)
    tz = site.tz
    start_ts = pd.Timestamp(start)
    start_ts = start_ts.tz_localize(tz) if start_ts.tz is None else start_ts.tz_convert(tz)
    n_steps = int(duration_s) // int(step_s)
    hours, n_sub = _sample_hours(start_ts, n_steps, int(step_s))

    k = np.arange(HOURS_PER_TYPICAL_YEAR, dtype=float)
    mid_h = k + 0.5  # hour-mean quantities (irradiance)
    end_h = k + 1.0  # instantaneous quantities (temperature, wind)

    def step_means(node_h: np.ndarray, column: str) -> np.ndarray:
        sampled = _periodic_interp(hours, node_h, frame[column].to_numpy())
        return sampled.reshape(n_steps, n_sub).mean(axis=1)

    weather = Weather(
        site=site,
        start=start_ts,
        step_s=int(step_s),
        temp_air_c=step_means(end_h, "temp_air"),
        ghi_w_per_m2=step_means(mid_h, "ghi"),
        dni_w_per_m2=step_means(mid_h, "dni"),
        dhi_w_per_m2=step_means(mid_h, "dhi"),
        wind_speed_m_per_s=step_means(end_h, "wind_speed"),
        source=str(path),
    )
    logger.debug(
        "weather %s: %d steps of %d s from %s", path, n_steps, step_s, start_ts.isoformat()
    )
    return weather


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


@dataclass(frozen=True, slots=True)
class PvSystemParams:
    """A fixed-tilt PV system for the PVWatts-style chain of :func:`pv_ac_power_kw`."""

    p_dc_kw: float
    """DC nameplate power at standard test conditions (1000 W/m2, 25 degC). [kW]"""
    tilt_deg: float = 30.0
    """Surface tilt from horizontal. [deg]"""
    azimuth_deg: float = 180.0
    """Surface azimuth, clockwise from north (180 = south). [deg]"""
    gamma_pdc_per_c: float = -0.0037
    """Temperature coefficient of DC power (PVWatts v5 "standard" module). [1/degC]"""
    losses_frac: float = 0.14
    """DC system losses: soiling, shading, wiring, mismatch, ... (PVWatts default). [-]"""
    p_ac_max_kw: float | None = None
    """Inverter AC rating; ``None`` means ``p_dc_kw / 1.2`` (DC/AC ratio 1.2). [kW]"""
    eta_inverter_frac: float = 0.96
    """Nominal inverter efficiency (PVWatts v5 default). [-]"""
    albedo_frac: float = 0.2
    """Ground reflectance. [-]"""

    def __post_init__(self) -> None:
        if not self.p_dc_kw > 0:
            raise ValueError(f"p_dc_kw must be positive, got {self.p_dc_kw}")
        if not 0.0 <= self.tilt_deg <= 90.0:
            raise ValueError(f"tilt_deg must be in [0, 90], got {self.tilt_deg}")
        if not 0.0 <= self.azimuth_deg <= 360.0:
            raise ValueError(f"azimuth_deg must be in [0, 360], got {self.azimuth_deg}")
        if not 0.0 <= self.losses_frac < 1.0:
            raise ValueError(f"losses_frac must be in [0, 1), got {self.losses_frac}")
        if self.p_ac_max_kw is not None and not self.p_ac_max_kw > 0:
            raise ValueError(f"p_ac_max_kw must be positive, got {self.p_ac_max_kw}")
        if not 0.0 < self.eta_inverter_frac <= 1.0:
            raise ValueError(
                f"eta_inverter_frac must be in (0, 1], got {self.eta_inverter_frac}"
            )
        if not 0.0 <= self.albedo_frac <= 1.0:
            raise ValueError(f"albedo_frac must be in [0, 1], got {self.albedo_frac}")

    @property
    def inverter_ac_kw(self) -> float:
        """Inverter AC rating actually used. [kW]"""
        return self.p_ac_max_kw if self.p_ac_max_kw is not None else self.p_dc_kw / 1.2


def pv_ac_power_kw(weather: Weather, params: PvSystemParams) -> np.ndarray:
    """PV AC power per step from weather (PVWatts-style chain through pvlib).

    Parameters
    ----------
    weather : Weather
        Step-mean weather on the twin's grid.
    params : PvSystemParams
        The PV system.

    Returns
    -------
    numpy.ndarray
        AC power fed in, one value per step, in ``[0, inverter_ac_kw]``. [kW]

    Notes
    -----
    Solar position at each step's midpoint (``pvlib.solarposition``, NREL SPA numpy);
    plane-of-array irradiance by the Hay-Davies transposition
    (``pvlib.irradiance.get_total_irradiance``); reflection losses on the direct beam
    by the physical IAM model (``pvlib.iam.physical``); cell temperature by the SAPM
    model for an open-rack glass/polymer module (``pvlib.temperature.sapm_cell``); DC
    power by PVWatts,

    .. math:: P_{dc} = \\frac{E_{eff}}{1000} P_{dc0} (1 + \\gamma (T_{cell} - 25))
              (1 - L)

    with ``L`` the lumped system losses; AC power by the PVWatts inverter model
    (``pvlib.inverter.pvwatts``) rated ``inverter_ac_kw``, clipped at it.

    References
    ----------
    .. [1] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014.
    .. [2] W. F. Holmgren, C. W. Hansen, M. A. Mikofski, "pvlib python: a python
       package for modeling solar energy systems", JOSS 3(29), 884, 2018.
    """
    import pvlib

    site = weather.site
    mid_times = weather.times + pd.Timedelta(seconds=weather.step_s / 2)
    solpos = pvlib.solarposition.get_solarposition(
        mid_times, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m
    )
    dni_extra = pvlib.irradiance.get_extra_radiation(mid_times)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=params.tilt_deg,
        surface_azimuth=params.azimuth_deg,
        solar_zenith=solpos["apparent_zenith"],
        solar_azimuth=solpos["azimuth"],
        dni=pd.Series(weather.dni_w_per_m2, index=mid_times),
        ghi=pd.Series(weather.ghi_w_per_m2, index=mid_times),
        dhi=pd.Series(weather.dhi_w_per_m2, index=mid_times),
        dni_extra=dni_extra,
        albedo=params.albedo_frac,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(
        params.tilt_deg, params.azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"]
    )
    iam = pvlib.iam.physical(aoi)
    effective = (
        poa["poa_direct"].fillna(0.0) * np.nan_to_num(iam) + poa["poa_diffuse"].fillna(0.0)
    ).clip(lower=0.0)
    coeffs = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    temp_cell = pvlib.temperature.sapm_cell(
        poa["poa_global"].fillna(0.0),
        pd.Series(weather.temp_air_c, index=mid_times),
        pd.Series(weather.wind_speed_m_per_s, index=mid_times),
        **coeffs,
    )
    p_dc_w = pvlib.pvsystem.pvwatts_dc(
        effective, temp_cell, params.p_dc_kw * 1000.0, params.gamma_pdc_per_c
    ) * (1.0 - params.losses_frac)
    p_dc_w = np.clip(np.asarray(p_dc_w, dtype=float), 0.0, None)
    pdc0_inverter_w = params.inverter_ac_kw * 1000.0 / params.eta_inverter_frac
    p_ac_w = pvlib.inverter.pvwatts(p_dc_w, pdc0_inverter_w, params.eta_inverter_frac)
    p_ac_kw = np.clip(np.asarray(p_ac_w, dtype=float) / 1000.0, 0.0, params.inverter_ac_kw)
    return np.nan_to_num(p_ac_kw)
