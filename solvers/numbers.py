"""How numbers print for a person: the one formatting rule of every table the project
prints (``twin`` tables, ``twin solve`` / ``python -m solvers``, the sweep report).

Integers as integers, no ``-0.0``, no round-off noise (``2.1e-17`` prints as ``0``), six
significant digits at most, thousands separated, and the unit a name's suffix carries
(``_mwh`` -> MWh). It lives in ``solvers/`` because that is the lowest layer: ``solvers``
never imports ``twin``, and :mod:`twin.tables` re-exports these names.

Public names: :func:`format_number`, :func:`unit_of`, :data:`NOISE`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

NOISE = 1e-12
"""Magnitudes below this (relative to 1) print as 0: solver and float round-off. [-]"""

_UNITS = (("_percent", "%"), ("_mwh", "MWh"), ("_kwh", "kWh"), ("_mw", "MW"),
          ("_kw", "kW"), ("_pu", "pu"), ("_frac", "-"), ("_eur", "EUR"), ("_ms", "ms"),
          ("_s", "s"), ("_h", "h"), ("_kh", "K·h"), ("_c", "°C"), ("_j", "J"),
          ("_steps", "steps"), ("_kg", "kg"), ("_rad", "rad"))


def format_number(value: Any, digits: int = 6) -> str:
    """A number as a person reads it.

    Examples
    --------
    >>> [format_number(v) for v in (1.0, -0.0, 2.13163e-17, 0.0413151, 1234567.8, 288)]
    ['1', '0', '0', '0.0413151', '1,234,568', '288']
    >>> format_number(6.720000000000001), format_number(-1e-300), format_number(0.000326597)
    ('6.72', '0', '0.000326597')
    >>> format_number(None), format_number(float("nan")), format_number(True)
    ('-', 'n/a', 'yes')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):  # int, numpy integers
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):  # float, numpy floats
        value = float(value)
        if not math.isfinite(value):
            return "n/a"
        if abs(value) < NOISE:
            return "0"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 10 ** digits:
            return f"{value:,.0f}"
        if abs(value) < 1e-4:
            return f"{value:.3g}"
        if abs(value) >= 1000:
            decimals = max(0, digits - len(str(int(abs(value)))))
            text = f"{value:,.{decimals}f}"
            return text.rstrip("0").rstrip(".") if "." in text else text
        return f"{value:.{digits}g}"
    return str(value)


def unit_of(name: str) -> str:
    """The unit a quantity's or KPI's name carries (``energy_import_mwh`` -> ``MWh``;
    ``""`` if none).

    Examples
    --------
    >>> unit_of("energy_import_mwh"), unit_of("n_steps"), unit_of("comms.latency_p95_s")
    ('MWh', '', 's')
    """
    if name.startswith("n_") or name.endswith("_count"):
        return ""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""
