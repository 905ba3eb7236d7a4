"""What every scenario section shares: the strict frozen base model, the duration check,
and the bounds that keep a scenario's sizes sane.

Public names: :class:`SpecModel`, :func:`check_duration`, :data:`NAME_PATTERN` and the
``MAX_*`` bounds. Imports only :mod:`twin.limits` and :mod:`twin.simtime`.
"""

from __future__ import annotations

from pydantic import ConfigDict

from twin.limits import StrictNumbers
from twin.simtime import parse_duration_s

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MAX_NAME_CHARS = 64
"""Longest scenario or asset name (a run id holds the name; file names end at 255)."""
MAX_ITEMS = 1000
"""Most assets, and most faults, in one scenario."""
MAX_DURATION_S = 10 * 366 * 86400
"""Longest horizon a scenario may ask for (about ten years). [s]"""
MAX_STEPS = 2_000_000
"""Most grid steps in one run (a year at 15 s)."""
MAX_POWER_KW = 1.0e6
"""Largest power of one asset (1 GW): anything bigger is a typo on a distribution grid. [kW]"""
MAX_ENERGY_KWH = 1.0e7
"""Largest energy capacity of one asset (10 GWh). [kWh]"""


class SpecModel(StrictNumbers):
    """Base of every scenario section: unknown keys are errors, values are frozen, numbers
    are strict and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_duration(value: str) -> str:
    """Field validator of duration strings ("15min", "7d"): parses ``value``, returns it."""
    parse_duration_s(value)
    return value
