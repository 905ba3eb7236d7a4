"""Typical-year weather files: find the ones pvlib ships, read TMY3 / TMY2 / EPW files
through pvlib's readers into one hourly frame with canonical columns, and check it is a
usable typical year.

Public names: :func:`pvlib_weather_file`, :func:`read_tmy`, :class:`Site`,
:class:`WeatherFileError`, :data:`HOURS_PER_TYPICAL_YEAR`.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HOURS_PER_TYPICAL_YEAR = 8760
"""Number of hourly rows in a TMY file (365 days). [h]"""

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
    try:
        if suffix == ".csv":
            data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
            site = _site(meta, str(meta.get("Name", path.stem)).strip('"'))
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
            site = _site(meta, str(meta.get("City", path.stem)))
        elif suffix == ".epw":
            data, meta = pvlib.iotools.read_epw(path)
            site = _site(meta, str(meta.get("city", path.stem)))
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


def _site(meta: dict, name: str) -> Site:
    """The station of a pvlib reader's metadata (``latitude``, ``longitude``,
    ``altitude``, ``TZ``), named ``name``."""
    return Site(
        name=name,
        latitude_deg=float(meta["latitude"]),
        longitude_deg=float(meta["longitude"]),
        altitude_m=float(meta["altitude"]),
        utc_offset_h=float(meta["TZ"]),
    )


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
