"""SimBench's relative and absolute one-year profiles, and their resampling onto the
twin's steps.

Public names: :class:`ProfileLibrary`, :func:`profile_library`,
:func:`simbench_element_profiles`, :func:`simbench_element_window`, :func:`window_rows`,
:func:`resample_rows`, :data:`ELEMENT_PROFILE_COLUMNS`, :data:`SIMBENCH_STEP_S`,
:data:`SIMBENCH_YEAR`.

Imports: numpy, simbench (lazily), :mod:`twin.networks`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from twin.networks import cached_network, disk_cached

SIMBENCH_STEP_S = 900
"""Resolution of SimBench profiles. [s]"""
SIMBENCH_YEAR = 2016
"""Calendar year of SimBench profiles (a leap year: 35,136 quarter hours)."""



@dataclass(frozen=True)
class ProfileLibrary:
    """Relative SimBench profiles (one value per quarter hour of 2016), by name.

    Attributes
    ----------
    load : dict[str, numpy.ndarray]
        Load profiles by name (e.g. "H0-A"), active part, relative to peak. [-]
    renewables : dict[str, numpy.ndarray]
        Generation profiles by name (e.g. "PV3"), relative to installed power. [-]
    """

    load: dict[str, np.ndarray]
    renewables: dict[str, np.ndarray]

    def get(self, family: str, name: str) -> np.ndarray:
        """Profile ``name`` of ``family`` ("load" or "renewables"); KeyError if absent."""
        table = self.load if family == "load" else self.renewables
        return table[name]

    def names(self, family: str) -> list[str]:
        """Sorted profile names available in a family."""
        return sorted(self.load if family == "load" else self.renewables)


@functools.cache
def profile_library(code: str) -> ProfileLibrary:
    """The relative profiles shipped with the SimBench net ``code``."""
    net = cached_network(("simbench", code))
    load = {
        col[: -len("_pload")]: net.profiles["load"][col].to_numpy(dtype=float)
        for col in net.profiles["load"].columns
        if col.endswith("_pload")
    }
    renewables: dict[str, np.ndarray] = {}
    for table in ("renewables", "powerplants"):
        frame = net.profiles.get(table)
        if frame is None:
            continue
        for col in frame.columns:
            if col != "time":
                renewables[col] = frame[col].to_numpy(dtype=float)
    return ProfileLibrary(load=load, renewables=renewables)


@functools.cache
def _simbench_absolute(code: str) -> dict[tuple[str, str], np.ndarray]:
    def build() -> dict[tuple[str, str], np.ndarray]:
        import simbench

        net = cached_network(("simbench", code))
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        return {key: frame.to_numpy(dtype=float) for key, frame in values.items()}

    return disk_cached(f"simbench-absolute-{code}", build)


def simbench_element_profiles(code: str) -> dict[tuple[str, str], np.ndarray]:
    """Absolute one-year profiles of a SimBench net's elements, as simbench computes them.

    The whole year of every element (35,136 rows each; 6.5 GB for
    ``1-MVLV-urban-all-0-sw``), disk-cached: the benchmarks' reference. A run reads only
    its window (:func:`simbench_element_window`).

    Returns
    -------
    dict
        ``(table, column) -> array (35136, n_elements)`` for ("load", "p_mw"),
        ("load", "q_mvar"), ("sgen", "p_mw"), ("gen", "p_mw"), ("storage", "p_mw").
        [MW or Mvar]
    """
    return _simbench_absolute(code)


ELEMENT_PROFILE_COLUMNS = (
    ("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"), ("gen", "p_mw"), ("storage", "p_mw"),
)
"""The element columns SimBench gives absolute profiles for."""


def window_rows(
    offset_rows: int, n_steps: int, step_s: int, n_rows: int, row_s: int = SIMBENCH_STEP_S
) -> np.ndarray:
    """Rows of a profile table (``n_rows`` rows every ``row_s``) that a run's steps use.

    ``resample_rows(table[rows], 0, n_steps, step_s)`` equals
    ``resample_rows(table, offset_rows, n_steps, step_s)`` (wrapping included), so only
    the simulated window is ever read.

    Examples
    --------
    >>> window_rows(3, 2, 1800, 4).tolist()
    [3, 0, 1, 2]
    """
    if step_s % row_s == 0:
        count = n_steps * (step_s // row_s)
        return np.arange(offset_rows, offset_rows + count, dtype=np.int64) % n_rows
    last = offset_rows + ((max(n_steps, 1) - 1) * step_s) // row_s
    return np.arange(offset_rows, last + 1, dtype=np.int64) % n_rows


def _relative_column(net: object, table: str, name: str) -> np.ndarray:
    """One relative SimBench profile column of the profiles ``table`` belongs to (gens
    and sgens take theirs from the renewables or powerplants profiles)."""
    profiles = net.profiles  # type: ignore[attr-defined]
    frames = [profiles[table]] if table in ("load", "storage") else [
        profiles[t] for t in ("renewables", "powerplants") if t in profiles
    ]
    for frame in frames:
        if name in frame.columns:
            return frame[name].to_numpy(dtype=float)
    raise ValueError(
        f"These profiles are set to be applied but are missing in the profiles data: {[name]}"
    )


def simbench_element_window(
    code: str, table: str, column: str, offset_rows: int, n_steps: int, step_s: int
) -> np.ndarray | None:
    """Absolute profiles of one element column of a SimBench net, resampled onto a run's
    steps, reading only the simulated window.

    The values are those of ``simbench.get_absolute_values(net,
    profiles_instead_of_study_cases=True)[(table, column)]`` (relative profile times the
    element's ``column``; 1 where an element has no profile) at the rows the run uses,
    computed per distinct profile rather than for the whole year of every element.

    Returns
    -------
    numpy.ndarray or None
        ``(n_steps, n_elements)`` [MW or Mvar]; None when the table has no ``column``.
    """
    net = cached_network(("simbench", code))
    elements = net[table]
    if column not in elements.columns:
        return None
    n_rows = len(net.profiles["load"])
    rows = window_rows(offset_rows, n_steps, step_s, n_rows)
    suffix = {"p_mw": "_pload", "q_mvar": "_qload"}.get(column, "") if table == "load" else ""
    relative = np.ones((rows.size, len(elements)))
    if "profile" in elements.columns:
        applied = elements["profile"] + suffix
        present = ~applied.isnull().to_numpy()
        names = list(applied[present])
        unique = list(dict.fromkeys(names))
        block = np.empty((rows.size, len(unique)))
        for j, name in enumerate(unique):
            block[:, j] = _relative_column(net, table, name)[rows]
        where = {name: j for j, name in enumerate(unique)}
        relative[:, np.flatnonzero(present)] = block[:, [where[n] for n in names]]
    factor = elements[column].to_numpy().reshape(1, -1)
    return resample_rows(relative * factor, 0, n_steps, step_s)


def resample_rows(
    table: np.ndarray, offset_rows: int, n_steps: int, step_s: int, row_s: int = SIMBENCH_STEP_S
) -> np.ndarray:
    """Resample a profile table (rows every ``row_s``) onto the twin's steps.

    A step longer than a row takes the mean of the rows it covers; a shorter step holds
    the row it falls into. ``step_s`` must divide or be a multiple of ``row_s``. A run
    longer than the table wraps around to its first row (a profile year repeats).

    Returns
    -------
    numpy.ndarray
        ``(n_steps, ...)`` values per step.

    Examples
    --------
    >>> resample_rows(np.arange(6.0), 1, 2, 1800, 900)
    array([1.5, 3.5])
    >>> resample_rows(np.arange(4.0), 3, 3, 450, 900)
    array([3., 3., 0.])
    """
    n_rows = table.shape[0]
    if n_rows == 0:
        raise ValueError("profile table has no rows")
    if step_s % row_s == 0:
        per = step_s // row_s
        count = n_steps * per
        if offset_rows + count <= n_rows:
            block = table[offset_rows : offset_rows + count]
        else:
            block = np.take(table, np.arange(offset_rows, offset_rows + count), axis=0, mode="wrap")
        if per == 1:
            return np.ascontiguousarray(block)
        return block.reshape(n_steps, per, *table.shape[1:]).mean(axis=1)
    rows = offset_rows + (np.arange(n_steps, dtype=np.int64) * step_s) // row_s
    return np.ascontiguousarray(np.take(table, rows, axis=0, mode="wrap"))
