"""Deferrable appliance runs (washing machines, dishwashers, pumps): windows, the
step that enforces them, the rule-based start policy and a building's daily runs.

Public names: :class:`ApplianceRun`, :class:`DeferrableState`,
:class:`DeferrableLoads`, :func:`start_as_soon_as_allowed`, :func:`daily_runs`,
:data:`NOT_STARTED_S`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.assets.building.params import require
from twin.simtime import parse_duration_s

if TYPE_CHECKING:
    from twin.scenario import BuildingAssetSpec

@dataclass(frozen=True, slots=True)
class ApplianceRun:
    """One run of a deferrable appliance (washing machine, dishwasher, pump, ...)."""

    p_kw: float
    """Power while running (constant). [kW]"""
    duration_s: int
    """Run length. [s]"""
    earliest_start_s: int
    """Earliest allowed start, seconds since scenario start. [s]"""
    latest_end_s: int
    """Latest allowed end, seconds since scenario start. [s]"""
    name: str = ""
    """Label for reports."""

    def __post_init__(self) -> None:
        require(self.p_kw > 0, f"p_kw must be positive, got {self.p_kw}")
        require(self.duration_s > 0, f"duration_s must be positive, got {self.duration_s}")
        require(
            self.latest_end_s - self.earliest_start_s >= self.duration_s,
            "allowed window must be at least duration_s long: latest_end_s - "
            f"earliest_start_s = {self.latest_end_s - self.earliest_start_s} < duration_s = {self.duration_s}",
        )


@dataclass
class DeferrableState:
    """Start times of the runs (-1 = not started), shape (R,). [s]"""

    start_s: np.ndarray

    @property
    def started(self) -> np.ndarray:
        """Boolean mask of started runs."""
        return self.start_s >= 0


NOT_STARTED_S = np.iinfo(np.int64).max // 2
"""Start time standing for "not started" in :meth:`DeferrableLoads.power_kw`. [s]"""


class DeferrableLoads:
    """R appliance runs as arrays, with a step function that enforces their windows.

    Parameters
    ----------
    runs : sequence of ApplianceRun
    """

    def __init__(self, runs: Sequence[ApplianceRun]) -> None:
        self.runs = tuple(runs)
        self.p_kw = np.array([r.p_kw for r in self.runs], dtype=float)
        self.duration_s = np.array([r.duration_s for r in self.runs], dtype=np.int64)
        self.earliest_start_s = np.array([r.earliest_start_s for r in self.runs], dtype=np.int64)
        self.latest_end_s = np.array([r.latest_end_s for r in self.runs], dtype=np.int64)

    @property
    def n(self) -> int:
        """Number of runs R."""
        return len(self.runs)

    @property
    def latest_start_s(self) -> np.ndarray:
        """Latest start that still ends in the window. [s]"""
        return self.latest_end_s - self.duration_s

    def initial_state(self) -> DeferrableState:
        """No run started."""
        return DeferrableState(np.full(self.n, -1, dtype=np.int64))

    def step(self, state: DeferrableState, t_s: int, start_now: np.ndarray, step_s: int) -> np.ndarray:
        """Start requested runs at ``t_s`` and return the mean power over the step.

        Parameters
        ----------
        state : DeferrableState
            Updated in place.
        t_s : int
            Start of the step. [s]
        start_now : numpy.ndarray
            Boolean requests, shape (R,).
        step_s : int
            Step length. [s]

        Returns
        -------
        numpy.ndarray
            Mean power of each run over ``[t_s, t_s + step_s)``, shape (R,). [kW]

        Notes
        -----
        A run starts at a step start when requested and ``t_s >= earliest_start_s``.
        It is started without a request at the last step start that lets it finish in
        its window (``t_s + step_s > latest_start_s``), and, if the window was missed
        already, at the first allowed step start (it then ends late; see
        :meth:`lateness_s`). Once started, a run cannot be stopped.
        """
        not_started = state.start_s < 0
        allowed = not_started & (t_s >= self.earliest_start_s)
        forced = allowed & (t_s + step_s > self.latest_start_s)
        start = allowed & (np.asarray(start_now, dtype=bool) | forced)
        state.start_s = np.where(start, t_s, state.start_s)
        return self.power_kw(state, t_s, step_s)

    def power_kw(self, state: DeferrableState, t_s: int, step_s: int) -> np.ndarray:
        """Mean power of each run over ``[t_s, t_s + step_s)`` given its start. [kW]"""
        begin = np.where(state.start_s >= 0, state.start_s, NOT_STARTED_S)
        end = begin + self.duration_s
        # np.clip(x, 0, None) of an int64 array is np.maximum(x, 0), without the wrapper
        overlap = np.maximum(np.minimum(end, t_s + step_s) - np.maximum(begin, t_s), 0)
        return self.p_kw * overlap / step_s

    def lateness_s(self, state: DeferrableState) -> np.ndarray:
        """How far each started run ends after its latest end (0 if on time). [s]"""
        end = np.where(state.start_s >= 0, state.start_s + self.duration_s, self.latest_end_s)
        return np.clip(end - self.latest_end_s, 0, None)

    def energy_kwh(self) -> np.ndarray:
        """Energy of each run. [kWh]"""
        return self.p_kw * self.duration_s / 3600.0


def start_as_soon_as_allowed(loads: DeferrableLoads, state: DeferrableState, t_s: int) -> np.ndarray:
    """Rule-based reference policy: request a start as soon as the window opens.

    Parameters
    ----------
    loads : DeferrableLoads
    state : DeferrableState
    t_s : int
        Current time. [s]

    Returns
    -------
    numpy.ndarray
        Boolean start requests, shape (R,).
    """
    return (state.start_s < 0) & (t_s >= loads.earliest_start_s)



def daily_runs(
    spec: BuildingAssetSpec, owner: int, n_days: int, offset_s: float
) -> list[tuple[int, ApplianceRun]]:
    """The deferrable runs of one building for every day of the run.

    Parameters
    ----------
    spec : twin.scenario.BuildingAssetSpec
        The building.
    owner : int
        Index of the building (returned with each run).
    n_days : int
        Days to cover.
    offset_s : float
        Seconds from local midnight of day 0 to the scenario start. [s]
    """
    out = []
    for day in range(n_days):
        for j, run in enumerate(spec.deferrable):
            base = day * 86400 - offset_s
            earliest = int(base + run.earliest_h * 3600)
            latest = int(base + run.latest_end_h * 3600)
            duration = parse_duration_s(run.duration)
            if latest - duration < 0:
                continue
            earliest = max(earliest, 0)
            if latest - earliest < duration:
                continue
            out.append((owner, ApplianceRun(run.power_kw, duration, earliest, latest,
                                            name=f"{spec.name}/{j}/d{day}")))
    return out

