"""SimBench's relative and absolute one-year profiles, and their resampling onto the
twin's steps.

Public names: :class:`ProfileLibrary`, :func:`profile_library`,
:func:`simbench_element_profiles`, :func:`resample_rows`, :data:`SIMBENCH_STEP_S`,
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

    Returns
    -------
    dict
        ``(table, column) -> array (35136, n_elements)`` for ("load", "p_mw"),
        ("load", "q_mvar"), ("sgen", "p_mw"), ("gen", "p_mw"), ("storage", "p_mw").
        [MW or Mvar]
    """
    return _simbench_absolute(code)


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
