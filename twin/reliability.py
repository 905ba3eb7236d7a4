"""Reliability indices of a run: IEEE 1366 SAIFI, SAIDI, CAIDI, MAIFI, and unserved energy.

Public names
------------
Interruption
    One loss of supply to a group of customers (a load), with its start and end.
reliability_indices
    The IEEE 1366 indices and the energy not supplied of a list of interruptions.
SUSTAINED_THRESHOLD_S
    IEEE 1366-2012: an interruption longer than 5 minutes is *sustained*.

Notes
-----
With :math:`N_T` the customers served, :math:`N_i` the customers interrupted by
sustained interruption :math:`i` and :math:`r_i` its duration (IEEE Std 1366-2012,
section 3):

.. math::
    SAIFI = \\frac{\\sum_i N_i}{N_T}, \\qquad
    SAIDI = \\frac{\\sum_i r_i N_i}{N_T}, \\qquad
    CAIDI = \\frac{SAIDI}{SAIFI},

and :math:`MAIFI_E`-like: the customers of *momentary* interruptions (at most 5 min)
over :math:`N_T` (IEEE counts momentary *events*; here every momentary interruption is
one event). Durations are reported in minutes, as utilities report them. The indices
are for the simulated horizon, not annualised. Energy not supplied is
:math:`\\sum_i P_i \\, r_i`, the interrupted load's power (at the interruption's start)
times its duration.

References
----------
IEEE Std 1366-2012, IEEE Guide for Electric Power Distribution Reliability Indices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SUSTAINED_THRESHOLD_S", "Interruption", "reliability_indices"]

SUSTAINED_THRESHOLD_S = 300.0
"""Interruptions longer than this are sustained (IEEE 1366-2012: 5 min). [s]"""


@dataclass(frozen=True, slots=True)
class Interruption:
    """One loss of supply to the customers of one load.

    Examples
    --------
    >>> Interruption("load/3", 0.0, 3600.0, customers=10, p_mw=0.02).duration_s
    3600.0
    """

    entity: str
    """What lost supply (``load/<index>``, ``asset/<name>``)."""
    start_s: float
    """Start. [s]"""
    end_s: float
    """Supply restored (or the run's end). [s]"""
    customers: int
    """Customers behind the load. [-]"""
    p_mw: float = 0.0
    """Load not supplied during the interruption. [MW]"""
    cause: str = ""
    """The fault that caused it."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise ValueError("start_s and end_s must be finite")
        if self.end_s < self.start_s:
            raise ValueError(f"end_s {self.end_s} is before start_s {self.start_s}")
        if self.customers < 0:
            raise ValueError(f"customers must be >= 0, got {self.customers}")

    @property
    def duration_s(self) -> float:
        """``end_s - start_s``. [s]"""
        return self.end_s - self.start_s


def reliability_indices(
    interruptions: Iterable[Interruption],
    customers_served: int,
    *,
    sustained_threshold_s: float = SUSTAINED_THRESHOLD_S,
) -> dict[str, float | None]:
    """IEEE 1366 indices and energy not supplied.

    Parameters
    ----------
    interruptions
        Every interruption of the run.
    customers_served
        Total customers of the grid, :math:`N_T`. [-]
    sustained_threshold_s
        Longest momentary interruption. [s]

    Returns
    -------
    dict
        ``saifi`` [interruptions per customer], ``saidi_min`` [min per customer],
        ``caidi_min`` [min per interruption; None when SAIFI is 0], ``maifi``
        [momentary interruptions per customer], ``customers_interrupted`` (sustained),
        ``customer_minutes_interrupted``, ``energy_not_supplied_mwh`` (sustained and
        momentary).

    Examples
    --------
    >>> events = [Interruption("load/0", 0, 3600, 100), Interruption("load/1", 0, 1800, 200)]
    >>> k = reliability_indices(events, 1000)
    >>> k["saifi"], k["saidi_min"], k["caidi_min"]
    (0.3, 12.0, 40.0)
    """
    if customers_served <= 0:
        raise ValueError(f"customers_served must be > 0, got {customers_served}")
    sustained_customers = 0
    customer_min = 0.0
    momentary_customers = 0
    ens_mwh = 0.0
    for item in interruptions:
        ens_mwh += item.p_mw * item.duration_s / 3600.0
        if item.duration_s > sustained_threshold_s:
            sustained_customers += item.customers
            customer_min += item.customers * item.duration_s / 60.0
        elif item.duration_s > 0.0:
            momentary_customers += item.customers
    saifi = sustained_customers / customers_served
    saidi = customer_min / customers_served
    return {
        "saifi": saifi,
        "saidi_min": saidi,
        "caidi_min": saidi / saifi if saifi > 0 else None,
        "maifi": momentary_customers / customers_served,
        "customers_interrupted": float(sustained_customers),
        "customer_minutes_interrupted": customer_min,
        "energy_not_supplied_mwh": ens_mwh,
    }
