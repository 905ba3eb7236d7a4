"""EV charging sessions: drawn from seeded distributions per site type and weekday
(:func:`draw_sessions`) or read from a CSV file (:func:`read_sessions`).

Public names: :class:`EvSessions`, :func:`draw_sessions`, :func:`read_sessions`,
:data:`SITE_PROFILES`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import Problem, ScenarioError
from twin.simtime import parse_duration_s

SITE_PROFILES: dict[str, dict[str, tuple[float, float, float, float, float, float]]] = {
    # (arrival mean h, arrival sd h, stay mean h, stay sd h, arrival soc mean, sd)
    "home": {"weekday": (18.0, 1.5, 13.5, 1.5, 0.40, 0.12),
             "weekend": (16.0, 3.0, 16.0, 3.0, 0.50, 0.15)},
    "workplace": {"weekday": (8.5, 1.0, 8.5, 1.0, 0.45, 0.12),
                  "weekend": (10.0, 2.0, 4.0, 1.5, 0.50, 0.15)},
    "depot": {"weekday": (18.5, 1.0, 11.0, 0.75, 0.25, 0.08),
              "weekend": (17.0, 1.5, 14.0, 1.0, 0.30, 0.10)},
}
"""Session distributions per site type and day kind (assumptions in the range of
published charging-session data: ElaadNL, Dundee and workplace studies). Times in hours,
normal distributions truncated to sensible ranges; weekend workplace sessions happen for
20 % of vehicles."""


@dataclass(frozen=True)
class EvSessions:
    """Charging sessions of one fleet, sorted by arrival; times in seconds since start.

    Attributes
    ----------
    vehicle : numpy.ndarray
        Vehicle index of each session.
    arrival_s, departure_s : numpy.ndarray
        Plug-in time and announced departure. [s]
    actual_departure_s : numpy.ndarray
        When the vehicle really leaves (earlier than announced for early leavers). [s]
    arrival_soc_frac : numpy.ndarray
        State of charge at plug-in. [-]
    capacity_kwh : numpy.ndarray
        Battery size of the vehicle of each session. [kWh]
    """

    vehicle: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    actual_departure_s: np.ndarray
    arrival_soc_frac: np.ndarray
    capacity_kwh: np.ndarray

    @property
    def n(self) -> int:
        """Number of sessions."""
        return int(self.vehicle.size)


def draw_sessions(
    site: str,
    vehicles: int,
    start: dt.datetime,
    duration_s: int,
    rng: np.random.Generator,
    capacity_kwh: float,
    early_departure_prob: float = 0.0,
) -> EvSessions:
    """Draw one session per vehicle and day from the site's distributions.

    Parameters
    ----------
    site : {"home", "workplace", "depot"}
        Site type (:data:`SITE_PROFILES`).
    vehicles : int
        Fleet size.
    start : datetime.datetime
        Calendar time of second 0 (sets weekdays and time of day).
    duration_s : int
        Horizon; sessions arriving after it are dropped. [s]
    rng : numpy.random.Generator
        The run's generator (a fixed number of draws per day and vehicle).
    capacity_kwh : float
        Battery size. [kWh]
    early_departure_prob : float
        Chance a vehicle leaves up to 2 h before its announced departure.

    Returns
    -------
    EvSessions
        A vehicle's next session never starts before it has left.
    """
    midnight = dt.datetime.combine(start.date(), dt.time())
    offset_s = (start - midnight).total_seconds()
    n_days = int(np.ceil((duration_s + offset_s) / 86400.0)) + 1
    rows: list[tuple[int, float, float, float, float]] = []
    free_from = np.full(vehicles, -np.inf)
    for day in range(-1, n_days):
        date = midnight + dt.timedelta(days=day)
        kind = "weekend" if date.weekday() >= 5 else "weekday"
        rows += _draw_day(rng, site, kind, day, offset_s, duration_s,
                          early_departure_prob, free_from)
    rows.sort(key=lambda r: (r[1], r[0]))
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return EvSessions(
        vehicle=arr[:, 0].astype(np.int64),
        arrival_s=arr[:, 1],
        departure_s=arr[:, 2],
        actual_departure_s=arr[:, 3],
        arrival_soc_frac=arr[:, 4],
        capacity_kwh=np.full(len(arr), float(capacity_kwh)),
    )


def _draw_day(
    rng: np.random.Generator, site: str, kind: str, day: int, offset_s: float,
    duration_s: int, early_departure_prob: float, free_from: np.ndarray,
) -> list[tuple[int, float, float, float, float]]:
    """One day's sessions ``(vehicle, arrival, announced and actual departure [s],
    arrival SoC)`` inside the horizon, for day ``day`` since the start's midnight
    (``offset_s`` after it). Draws the same numbers every day whatever is kept; ``free_from`` (when each
    vehicle has left) is updated in place."""
    a_mu, a_sd, s_mu, s_sd, soc_mu, soc_sd = SITE_PROFILES[site][kind]
    draws = rng.standard_normal((free_from.size, 3))
    early = rng.random((free_from.size, 2))
    show = rng.random(free_from.size)
    rows: list[tuple[int, float, float, float, float]] = []
    for v in range(free_from.size):
        if site == "workplace" and kind == "weekend" and show[v] > 0.2:
            continue
        arrival_h = float(np.clip(a_mu + a_sd * draws[v, 0], 0.0, 23.75))
        stay_h = float(np.clip(s_mu + s_sd * draws[v, 1], 1.0, 36.0))
        soc = float(np.clip(soc_mu + soc_sd * draws[v, 2], 0.05, 0.9))
        arrival = day * 86400.0 + arrival_h * 3600.0 - offset_s
        arrival = max(arrival, free_from[v] + 900.0)
        departure = arrival + stay_h * 3600.0
        actual = departure
        if early[v, 0] < early_departure_prob:
            actual = max(arrival + 900.0, departure - early[v, 1] * 7200.0)
        free_from[v] = actual
        if departure <= 0 or arrival >= duration_s:
            continue
        rows.append((v, arrival, departure, actual, soc))
    return rows


def _time_value(text: Any) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = str(text).strip()
    try:
        return float(value)
    except ValueError:
        return float(parse_duration_s(value))


def read_sessions(
    path: str | Path, label: str, field: str, default_capacity_kwh: float, vehicles: int
) -> EvSessions:
    """Read a sessions CSV (columns ``vehicle, arrival, departure, arrival_soc_frac``
    and optionally ``capacity_kwh``, ``actual_departure``).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    label, field : str
        Scenario file and field path for error messages.
    default_capacity_kwh : float
        Battery size when the file has no ``capacity_kwh`` column. [kWh]
    vehicles : int
        Fleet size; vehicle indices must lie in ``0 .. vehicles-1``.

    Raises
    ------
    ScenarioError
        For an unreadable file, a missing column, a departure not after its arrival, a
        state of charge outside [0, 1] or overlapping sessions of one vehicle, naming the
        row and column.
    """
    frame = _read_frame(path, label, field)
    problems: list[tuple[str, str]] = []
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        where = f"{field} (row {i + 2} of {Path(path).name})"
        row = _session_row(rec, where, default_capacity_kwh, vehicles, problems)
        if row is not None:
            rows.append(row)
    if problems:
        raise ScenarioError([Problem(label, w, m) for w, m in problems])
    rows.sort(key=lambda r: (r[1], r[0]))
    arr = np.array(rows, dtype=float).reshape(-1, 6)
    _check_no_overlap(rows, label, field)
    return EvSessions(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4],
                      arr[:, 5])


def _read_frame(path: str | Path, label: str, field: str) -> Any:
    """The sessions file as a frame, with the four required columns."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ScenarioError.single(
            label, field, f"sessions file {path} cannot be read ({exc}); expected a CSV with "
            "columns vehicle, arrival, departure, arrival_soc_frac"
        ) from None
    missing = [c for c in ("vehicle", "arrival", "departure", "arrival_soc_frac")
               if c not in frame.columns]
    if missing:
        raise ScenarioError.single(
            label, field, f"sessions file {path} lacks column(s) {', '.join(missing)}"
        )
    return frame


def _session_row(rec: dict[str, Any], where: str, default_capacity_kwh: float, vehicles: int,
                 problems: list[tuple[str, str]]
                 ) -> tuple[int, float, float, float, float, float] | None:
    """One row as ``(vehicle, arrival, departure, actual departure, soc, capacity)``;
    what is wrong with it goes to ``problems`` (None when it cannot be read)."""
    import pandas as pd

    try:
        vehicle = int(rec["vehicle"])
        arrival = _time_value(rec["arrival"])
        departure = _time_value(rec["departure"])
        actual = _time_value(rec.get("actual_departure", departure)
                             if pd.notna(rec.get("actual_departure", departure)) else departure)
        soc = float(rec["arrival_soc_frac"])
        cap = float(rec.get("capacity_kwh", default_capacity_kwh))
    except (ValueError, TypeError) as exc:
        problems.append((where, f"unreadable value ({exc})"))
        return None
    if not 0 <= vehicle < vehicles:
        problems.append((where, f"vehicle {vehicle}: expected 0 .. {vehicles - 1}"))
    if departure <= arrival:
        problems.append((where, f"departure {rec['departure']} is not after arrival "
                         f"{rec['arrival']}; expected departure > arrival"))
    if not 0.0 <= soc <= 1.0:
        problems.append((where, f"arrival_soc_frac {soc}: expected within [0, 1]"))
    if not cap > 0:
        problems.append((where, f"capacity_kwh {cap}: expected > 0"))
    return (vehicle, arrival, departure, min(actual, departure), soc, cap)


def _check_no_overlap(rows: list[tuple[int, float, float, float, float, float]], label: str,
                      field: str) -> None:
    """A vehicle leaves before it arrives again (``rows`` sorted by arrival)."""
    last_end: dict[int, float] = {}
    for vehicle, arrival, _dep, actual, _soc, _cap in rows:
        if arrival < last_end.get(int(vehicle), -np.inf):
            raise ScenarioError.single(
                label, field, f"sessions of vehicle {int(vehicle)} overlap at {arrival} s; "
                "expected a vehicle to leave before it arrives again"
            )
        last_end[int(vehicle)] = actual
