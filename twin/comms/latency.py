"""Latency distributions: the random delays of links and service queues.

Every model draws from a :class:`numpy.random.Generator` handed in by the caller, so a
seeded generator gives the same sequence of delays, bit for bit. All values are in
milliseconds, whatever the delay represents (a network hop or a queue wait).

Public names
------------
LatencyModel
    Protocol: ``sample_ms(rng) -> float`` and ``nominal_ms``.
ConstantLatency, NormalLatency, LognormalLatency, TraceLatency
    The four models (frozen dataclasses, validated on construction).
load_trace
    Read an empirical trace (CSV of samples) into a :class:`TraceLatency`.
Z_99
    The standard normal 99th percentile used by :class:`LognormalLatency`.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Z_99",
    "ConstantLatency",
    "LatencyModel",
    "LognormalLatency",
    "NormalLatency",
    "TraceLatency",
    "load_trace",
]

Z_99 = 2.3263478740408408
"""Standard normal quantile at 0.99 (``scipy.stats.norm.ppf(0.99)``)."""


@runtime_checkable
class LatencyModel(Protocol):
    """A distribution of non-negative delays in milliseconds."""

    @property
    def nominal_ms(self) -> float:
        """Typical delay used as a routing weight (the median or mean). [ms]"""
        ...

    def sample_ms(self, rng: np.random.Generator) -> float:
        """Draw one delay. [ms]"""
        ...


def _check_finite(name: str, value: float, *, minimum: float = 0.0) -> None:
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    """A fixed delay.

    Examples
    --------
    >>> import numpy as np
    >>> ConstantLatency(5.0).sample_ms(np.random.default_rng(0))
    5.0
    """

    value_ms: float
    """The delay. [ms]"""

    def __post_init__(self) -> None:
        _check_finite("value_ms", self.value_ms)

    @property
    def nominal_ms(self) -> float:
        """The constant delay. [ms]"""
        return float(self.value_ms)

    def sample_ms(self, rng: np.random.Generator) -> float:
        """Return the constant; ``rng`` is not advanced. [ms]"""
        return float(self.value_ms)


@dataclass(frozen=True, slots=True)
class NormalLatency:
    """A normal delay clipped at zero: ``max(0, N(mean_ms, std_ms**2))``.

    Clipping moves the mass below zero onto zero, so the sample mean is slightly above
    ``mean_ms`` when ``std_ms`` is not small against ``mean_ms``.
    """

    mean_ms: float
    """Mean of the unclipped normal. [ms]"""
    std_ms: float
    """Standard deviation of the unclipped normal. [ms]"""

    def __post_init__(self) -> None:
        _check_finite("mean_ms", self.mean_ms)
        _check_finite("std_ms", self.std_ms)

    @property
    def nominal_ms(self) -> float:
        """The mean. [ms]"""
        return float(self.mean_ms)

    def sample_ms(self, rng: np.random.Generator) -> float:
        """Draw one clipped normal delay. [ms]"""
        return max(0.0, float(rng.normal(self.mean_ms, self.std_ms)))


@dataclass(frozen=True, slots=True)
class LognormalLatency:
    """A lognormal delay given its median and 99th percentile.

    Notes
    -----
    With ``X = exp(mu + sigma Z)``, ``Z ~ N(0, 1)``: the median is ``exp(mu)`` and the
    99th percentile is ``exp(mu + sigma z99)``, so

    .. math:: \\mu = \\ln m, \\qquad \\sigma = \\ln(p_{99} / m) / z_{99}

    with :math:`z_{99} = 2.32635`. ``p99_ms == median_ms`` gives ``sigma = 0`` (a
    constant). The heavy right tail is what makes queue waits and internet paths hurt
    deadlines; a normal with the same median and p99 underestimates it.
    """

    median_ms: float
    """Median delay. [ms]"""
    p99_ms: float
    """99th percentile of the delay; must be >= ``median_ms``. [ms]"""
    mu: float = field(init=False, repr=False)
    """Location of the underlying normal. [ln ms]"""
    sigma: float = field(init=False, repr=False)
    """Scale of the underlying normal. [-]"""

    def __post_init__(self) -> None:
        _check_finite("median_ms", self.median_ms)
        if self.median_ms <= 0.0:
            raise ValueError(f"median_ms must be > 0, got {self.median_ms!r}")
        _check_finite("p99_ms", self.p99_ms)
        if self.p99_ms < self.median_ms:
            raise ValueError(
                f"p99_ms must be >= median_ms, got p99_ms={self.p99_ms!r} < "
                f"median_ms={self.median_ms!r}"
            )
        object.__setattr__(self, "mu", math.log(self.median_ms))
        object.__setattr__(self, "sigma", math.log(self.p99_ms / self.median_ms) / Z_99)

    @property
    def nominal_ms(self) -> float:
        """The median. [ms]"""
        return float(self.median_ms)

    def sample_ms(self, rng: np.random.Generator) -> float:
        """Draw one lognormal delay. [ms]"""
        return float(rng.lognormal(self.mu, self.sigma))


@dataclass(frozen=True, slots=True)
class TraceLatency:
    """An empirical distribution: samples drawn uniformly, with replacement, from a trace.

    Bootstrap resampling keeps the measured marginal distribution (tails included) but
    not the autocorrelation of the trace.
    """

    samples_ms: tuple[float, ...]
    """Measured delays. [ms]"""
    source: str = "<inline>"
    """Where the samples came from (a file path), for messages."""
    _array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.samples_ms) == 0:
            raise ValueError(f"samples_ms must not be empty (source {self.source})")
        array = np.asarray(self.samples_ms, dtype=float)
        if not np.all(np.isfinite(array)) or np.any(array < 0.0):
            raise ValueError(
                f"samples_ms must be finite and >= 0 (source {self.source})"
            )
        object.__setattr__(self, "_array", array)

    @property
    def nominal_ms(self) -> float:
        """The median of the trace. [ms]"""
        return float(np.median(self._array))

    def sample_ms(self, rng: np.random.Generator) -> float:
        """Draw one sample of the trace. [ms]"""
        return float(self._array[rng.integers(self._array.size)])


_UNIT_SCALE_TO_MS = {"ms": 1.0, "s": 1000.0}


def load_trace(
    path: str | Path, *, column: str | None = None, unit: str | None = None
) -> TraceLatency:
    """Read an empirical delay trace from a CSV file with a header row.

    Parameters
    ----------
    path
        CSV file; one sample per row; lines starting with ``#`` are comments
        (provenance).
    column
        Column to read. Default: the only column, or the column ``latency_ms``.
    unit
        ``"ms"`` or ``"s"``. Default: taken from the column name's suffix (``_ms`` or
        ``_s``, e.g. ``latency_ms``, ``queue_wait_s``).

    Returns
    -------
    TraceLatency
        Samples converted to milliseconds, ``source`` set to the path.

    Raises
    ------
    ValueError
        If the file cannot be read, has no such column, no rows, a non-numeric or
        negative value, or no unit; the message names the file (and row and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rtt.csv"
    >>> _ = p.write_text("latency_ms\\n10\\n12.5\\n")
    >>> load_trace(p).samples_ms
    (10.0, 12.5)
    """
    path = Path(path)
    rows = _trace_rows(path)
    header = [cell.strip() for cell in rows[0]]
    column = _trace_column(path, header, column)
    unit = _trace_unit(path, column, unit)
    samples = _trace_samples(path, rows[1:], header.index(column), column,
                             _UNIT_SCALE_TO_MS[unit])
    return TraceLatency(samples, source=str(path))


def _trace_rows(path: Path) -> list[list[str]]:
    """The CSV rows of a trace without blank and ``#`` comment lines (header first)."""
    from twin.limits import MAX_DATA_FILE_BYTES, InputRefused, read_text_file

    try:
        text = read_text_file(path, "latency trace CSV", MAX_DATA_FILE_BYTES)
    except InputRefused as exc:
        raise ValueError(f"{path}: cannot read latency trace: {exc.message}") from None
    rows = [
        row for row in csv.reader(io.StringIO(text, newline=""))
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
    ]
    if not rows:
        raise ValueError(f"{path}: latency trace is empty (expected a header row)")
    return rows


def _trace_column(path: Path, header: list[str], column: str | None) -> str:
    """The column to read: the one asked for, the only one, or ``latency_ms``."""
    if column is None:
        if len(header) == 1:
            column = header[0]
        elif "latency_ms" in header:
            column = "latency_ms"
        else:
            raise ValueError(
                f"{path}: several columns {header}; pass column= to choose one"
            )
    if column not in header:
        raise ValueError(f"{path}: no column {column!r}; columns are {header}")
    return column


def _trace_unit(path: Path, column: str, unit: str | None) -> str:
    """The unit asked for, or the one the column name's suffix (``_ms``, ``_s``) names."""
    if unit is None:
        unit = next((u for u in ("ms", "s") if column.endswith(f"_{u}")), None)
        if unit is None:
            raise ValueError(
                f"{path}: column {column!r} does not name its unit "
                "(suffix _ms or _s); pass unit="
            )
    if unit not in _UNIT_SCALE_TO_MS:
        raise ValueError(f"unit must be 'ms' or 's', got {unit!r}")
    return unit


def _trace_samples(path: Path, rows: list[list[str]], index: int, column: str,
                   scale_to_ms: float) -> tuple[float, ...]:
    """Every data row's value in milliseconds (finite, >= 0), naming a bad row. [ms]"""
    samples: list[float] = []
    for line_no, row in enumerate(rows, start=2):
        cell = row[index].strip() if index < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(
                f"{path}: row {line_no}, column {column!r}: expected a number, "
                f"got {cell!r}"
            ) from None
        if not math.isfinite(value) or value < 0.0:
            raise ValueError(
                f"{path}: row {line_no}, column {column!r}: expected a finite "
                f"number >= 0, got {cell!r}"
            )
        samples.append(value * scale_to_ms)
    if not samples:
        raise ValueError(f"{path}: latency trace has a header but no samples")
    return tuple(samples)
