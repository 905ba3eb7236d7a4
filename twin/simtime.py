"""Simulated time: integer seconds since the scenario start, and duration strings.

Public names: :data:`SimTime`, :func:`parse_duration_s`, :func:`format_duration`,
:data:`MAX_DURATION_TEXT`, :data:`MAX_ANY_DURATION_S`.

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
MAX_DURATION_TEXT = 64
"""Longest duration string accepted (``"1d 12h 30min"`` is 12). [characters]"""
MAX_ANY_DURATION_S = 1000 * 365 * 86400
"""Longest duration any field may hold (a thousand years); fields set tighter bounds. [s]"""
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
        If the text is not a duration, is not a whole number of seconds, is longer than
        :data:`MAX_DURATION_TEXT` characters or lasts more than
        :data:`MAX_ANY_DURATION_S` (checked before any conversion to an integer, so
        ``"999...9d"`` is refused, not an overflow).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a duration such as '15min', '1h' or '7d'")
    if len(text) > MAX_DURATION_TEXT:
        raise ValueError(
            f"a duration of {len(text)} characters; expected at most {MAX_DURATION_TEXT}, "
            "e.g. '15min', '1h', '7d', '1y'"
        )
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
        if not total <= MAX_ANY_DURATION_S:  # also catches inf from a 400-digit number
            raise ValueError(f"'{text}' is longer than 1000 years; expected a shorter duration")
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
