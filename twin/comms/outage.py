"""Outage processes: scheduled windows and stochastic failures (MTBF/MTTR) in SimPy.

Both processes only call the ``begin`` and ``end`` callbacks they are given, so the same
code drives link outages, latency spikes, loss bursts, service outages, queue surges and
solver faults.

Public names
------------
window_process
    SimPy process: wait until ``start_s``, call ``begin``, wait ``duration_s``, call
    ``end``.
stochastic_process
    SimPy process: alternate exponential times to failure (mean ``mtbf_s``) and to
    repair (mean ``mttr_s``), forever.

Notes
-----
A stochastic fault is an alternating renewal process with exponential up times (mean
MTBF) and down times (mean MTTR): a constant failure rate ``1/MTBF``. Its long-run
unavailability is ``MTTR / (MTBF + MTTR)``. The process never ends: run the environment
``until`` a time or an event.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

__all__ = ["stochastic_process", "window_process"]


def window_process(
    env: simpy.Environment,
    start_s: float,
    duration_s: float,
    begin: Callable[[], None],
    end: Callable[[], None],
) -> Generator[simpy.Event, Any, None]:
    """Run one scheduled fault window.

    Parameters
    ----------
    env
        The simulation environment.
    start_s
        Absolute start time; a start in the past begins at once. [s]
    duration_s
        Length of the window. [s]
    begin, end
        Called at the start and at the end of the window.
    """
    delay_s = start_s - env.now
    if delay_s > 0.0:
        yield env.timeout(delay_s)
    begin()
    yield env.timeout(duration_s)
    end()


def stochastic_process(
    env: simpy.Environment,
    rng: np.random.Generator,
    mtbf_s: float,
    mttr_s: float,
    begin: Callable[[float], None],
    end: Callable[[], None],
) -> Generator[simpy.Event, Any, None]:
    """Alternate exponential up and down times forever.

    Parameters
    ----------
    env
        The simulation environment.
    rng
        Generator reserved for this process, so that the failure times do not depend on
        the traffic.
    mtbf_s
        Mean time between failures (mean up time). [s]
    mttr_s
        Mean time to repair (mean down time). [s]
    begin
        Called at each failure with the drawn repair time. [s]
    end
        Called at each repair.
    """
    while True:
        yield env.timeout(float(rng.exponential(mtbf_s)))
        repair_s = float(rng.exponential(mttr_s))
        begin(repair_s)
        yield env.timeout(repair_s)
        end()
