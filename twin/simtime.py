"""Simulated time: integer seconds since the scenario start, and duration strings.

Public names: :data:`SimTime`, :func:`parse_duration_s`, :func:`format_duration`.

Examples
--------
>>> parse_duration_s("15min")
900
>>> parse_duration_s("1d 12h")
129600
>>> format_duration(900)
'15min'
"""

from __future__ import annotations

import re

SimTime = int
"""Simulated time in whole seconds since the scenario start. [s]"""

_UNITS_S = {
    "s": 1,
    "sec": 1,
    "min": 60,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(min|sec|s|m|h|d|w|y)\s*")


def parse_duration_s(text: str) -> int:
    """Parse a duration such as ``"15min"``, ``"7d"``, ``"1h 30min"`` into seconds.

    Parameters
    ----------
    text : str
        One or more ``<number><unit>`` parts; units s, min (or m), h, d, w, y (365 d).

    Returns
    -------
    int
        The duration. [s]

    Raises
    ------
    ValueError
        If the text is not a duration or is not a whole number of seconds.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a duration such as '15min', '1h' or '7d'")
    pos = 0
    total = 0.0
    stripped = text.strip()
    while pos < len(stripped):
        match = _PART.match(stripped, pos)
        if match is None:
            raise ValueError(
                f"'{text}' is not a duration; expected e.g. '15min', '1h', '7d', '1y'"
            )
        total += float(match.group(1)) * _UNITS_S[match.group(2)]
        pos = match.end()
    if total != int(total):
        raise ValueError(f"'{text}' is not a whole number of seconds")
    return int(total)


def format_duration(seconds: int) -> str:
    """Format seconds as the shortest exact duration string (inverse of parsing)."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
