"""The run recorder: preallocated per-step arrays in, tidy Arrow tables out.

During a run the grid solver calls :meth:`Recorder.record_step` once per step, after
the step's power flow: it copies the complex bus voltages, the element injections (as
the grid carried them) and every registered :class:`~twin.assets.base.Channel` into
preallocated arrays (a few microseconds a step). Every power flow solved inside a step
(a fault, a switching, a setpoint applied on arrival; see :mod:`twin.clock`) adds one
more *interval* row with :meth:`Recorder.record_interval`; the step's own solve is the
step's first interval. Energies, costs and indices integrate over the intervals
(:class:`Intervals`), whose durations follow from their start times.
Events (a non-converged power flow, a fault, a solver call) go in through
:meth:`Recorder.event`, or through :meth:`Recorder.sink`, which takes the records of
:class:`twin.comms.event.EventLog` as they are.

After the run, :func:`timeseries_table` turns the arrays and the derived grid results
into the long-format table of ``timeseries.parquet`` and :func:`events_table` the
events into ``events.parquet`` (columns in ``docs/contracts.md``). The run writes
``timeseries.parquet`` with :func:`write_timeseries`, which streams the same table one
Parquet row group at a time from the wide arrays instead of building it whole.

Why about 610 lines: the recorder's preallocated arrays and the tables written from
them share one series layout (names, codes, row order); keeping both sides here keeps
that layout in one place.

Public names: :class:`Recorder`, :class:`Recording`, :class:`Intervals`, :class:`Series`,
:func:`timeseries_table`, :func:`write_timeseries`, :func:`events_table`,
:data:`TIMESERIES_ROW_GROUP_ROWS`, :data:`EVENT_COLUMNS`,
:data:`EVENT_CATEGORIES`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from twin.assets.base import Channel, InjectionBuffer
    from twin.grid import PowerFlowModel

logger = logging.getLogger(__name__)

EVENT_COLUMNS = ("time_s", "category", "kind", "entity", "message", "data")
"""Columns of ``events.parquet``, in order."""

EVENT_CATEGORIES = frozenset(
    {"grid", "fault", "link", "route", "service", "call", "control", "asset"}
)
"""Closed set of event categories."""


@dataclass(frozen=True)
class Series:
    """One block of the long time-series table: a quantity of several entities.

    Attributes
    ----------
    group : str
        Output group (``bus``, ``line``, ``trafo``, ``grid``, ``element``, ``asset``).
    quantity, unit : str
        Quantity name with its unit (``vm_pu``) and unit label (``pu``).
    entities : tuple of str
        Entity id per column (``bus/3``).
    values : numpy.ndarray
        ``(n_steps, len(entities))`` values.
    """

    group: str
    quantity: str
    unit: str
    entities: tuple[str, ...]
    values: np.ndarray


@dataclass(frozen=True)
class Intervals:
    """The power flows of a run, one row per interval of constant network state.

    Every step has at least one interval (its profile-boundary solve, ``first[k]``);
    a change inside the step (see :mod:`twin.clock`) starts another. With no change
    inside any step the rows are the steps.

    Attributes
    ----------
    v : numpy.ndarray
        ``(n, n_bus_internal)`` complex bus voltages; NaN where not converged. [pu]
    p_mw, q_mvar : numpy.ndarray
        ``(n, n_injections)`` element injections as the grid carried them (tripped
        elements and elements on buses without supply at 0). [MW, Mvar]
    converged : numpy.ndarray
        ``(n,)`` bool.
    iterations : numpy.ndarray
        ``(n,)`` Newton-Raphson iterations.
    step : numpy.ndarray
        ``(n,)`` step each interval belongs to.
    start_s, duration_s : numpy.ndarray
        ``(n,)`` interval start and length (0 for a change at the instant of a solve).
        [s]
    unserved_mw : numpy.ndarray
        ``(n,)`` load demanded on buses without supply (not served). [MW]
    pcc_open : numpy.ndarray
        ``(n,)`` bool: the upstream grid was disconnected (the network islanded); the
        external grids' exchange is zero then.
    island_p_mw : numpy.ndarray
        ``(n,)`` power the grid-forming units supplied as island slacks beyond their
        own set points (the islands' losses and mismatch); already part of the forming
        units' rows of ``p_mw``, not a separate term of the balance. [MW]
    first : numpy.ndarray
        ``(n_steps,)`` row of each step's first interval.
    """

    v: np.ndarray
    p_mw: np.ndarray
    q_mvar: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    step: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    unserved_mw: np.ndarray
    pcc_open: np.ndarray
    island_p_mw: np.ndarray
    first: np.ndarray

    @property
    def n(self) -> int:
        """Number of intervals."""
        return int(self.step.size)

    @property
    def fixed_step(self) -> bool:
        """True when every step is one interval (the fixed-step special case)."""
        return self.step.size == self.first.size


@dataclass(frozen=True)
class Recording:
    """What a finished run recorded, trimmed to the steps that ran.

    Attributes
    ----------
    n_steps, step_s : int
        Steps recorded and their length. [-, s]
    v : numpy.ndarray
        ``(n_steps, n_bus_internal)`` complex bus voltages; NaN where the step did not
        converge. [pu]
    p_mw, q_mvar : numpy.ndarray
        ``(n_steps, n_injections)`` element injections, pandapower convention. [MW, Mvar]
    converged : numpy.ndarray
        ``(n_steps,)`` bool.
    iterations : numpy.ndarray
        ``(n_steps,)`` Newton-Raphson iterations.
    channels : list of Series
        Family channels.
    events : list of dict
        Event records in the order they happened.
    solve_time_s : float
        Wall time spent inside the power-flow solver. [s]
    intervals : Intervals
        Every power flow of the run; ``v``, ``p_mw``, ``q_mvar`` above are the rows of
        each step's first interval.
    """

    n_steps: int
    step_s: int
    v: np.ndarray
    p_mw: np.ndarray
    q_mvar: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    channels: list[Series]
    events: list[dict[str, Any]] = field(default_factory=list)
    solve_time_s: float = 0.0
    intervals: Intervals | None = None
    """Every power flow of the run (steps and changes inside them)."""

    @property
    def time_s(self) -> np.ndarray:
        """Simulated time of each recorded step. [s]"""
        return np.arange(self.n_steps, dtype=np.int64) * self.step_s


class Recorder:
    """Collect per-step arrays and events of one run.

    Parameters
    ----------
    n_steps : int
        Steps the run will take at most.
    step_s : int
        Step length. [s]
    model : PowerFlowModel
        The grid model (sizes).
    injections : InjectionBuffer
        The shared injection arrays, copied each step.
    """

    def __init__(
        self, n_steps: int, step_s: int, model: PowerFlowModel, injections: InjectionBuffer
    ) -> None:
        self.n_steps = int(n_steps)
        self.step_s = int(step_s)
        self._injections = injections
        self._model = model
        self.converged = np.zeros(n_steps, dtype=bool)
        self.iterations = np.zeros(n_steps, dtype=np.int32)
        self.first = np.zeros(n_steps, dtype=np.int64)
        self.n_intervals = 0
        self._alloc(max(int(n_steps), 1), model.n_bus_internal, model.n_injections)
        self.events: list[dict[str, Any]] = []
        self._channels: list[Channel] = []
        self._channel_data: list[np.ndarray] = []
        self.solve_time_s = 0.0

    @property
    def v(self) -> np.ndarray:
        """``(n_steps, n_bus_internal)`` voltages of each step's first interval. [pu]"""
        return self._iv_v[self.first]

    @property
    def p_mw(self) -> np.ndarray:
        """``(n_steps, n_injections)`` injections of each step's first interval. [MW]"""
        return self._iv_p[self.first]

    @property
    def q_mvar(self) -> np.ndarray:
        """``(n_steps, n_injections)`` reactive injections, as :attr:`p_mw`. [Mvar]"""
        return self._iv_q[self.first]

    # ---- during the run ---------------------------------------------------------

    def add_channels(self, channels: Iterable[Channel]) -> None:
        """Register channels; their ``source`` arrays are copied at every step."""
        for channel in channels:
            if channel.source.shape != (len(channel.entities),):
                raise ValueError(
                    f"channel {channel.quantity} has {channel.source.shape} values for "
                    f"{len(channel.entities)} entities"
                )
            self._channels.append(channel)
            self._channel_data.append(np.full((self.n_steps, len(channel.entities)), np.nan))

    def _alloc(self, rows: int, n_bus: int, n_inj: int) -> None:
        self._iv_v = np.full((rows, n_bus), np.nan, dtype=complex)
        self._iv_p = np.zeros((rows, n_inj))
        self._iv_q = np.zeros((rows, n_inj))
        self._iv_converged = np.zeros(rows, dtype=bool)
        self._iv_iterations = np.zeros(rows, dtype=np.int32)
        self._iv_step = np.zeros(rows, dtype=np.int64)
        self._iv_start = np.zeros(rows)
        self._iv_unserved = np.zeros(rows)
        self._iv_pcc_open = np.zeros(rows, dtype=bool)
        self._iv_island = np.zeros(rows)

    def _grow(self) -> None:
        """Double the interval arrays (changes inside steps outnumbered the steps)."""
        old = (self._iv_v, self._iv_p, self._iv_q, self._iv_converged, self._iv_iterations,
               self._iv_step, self._iv_start, self._iv_unserved, self._iv_pcc_open,
               self._iv_island)
        rows = old[0].shape[0]
        self._alloc(2 * rows, old[0].shape[1], old[1].shape[1])
        new = (self._iv_v, self._iv_p, self._iv_q, self._iv_converged, self._iv_iterations,
               self._iv_step, self._iv_start, self._iv_unserved, self._iv_pcc_open,
               self._iv_island)
        for a, b in zip(old, new, strict=True):
            b[:rows] = a

    def record_interval(
        self,
        k: int,
        time_s: float,
        converged: bool,
        iterations: int,
        p_mw: np.ndarray | None = None,
        q_mvar: np.ndarray | None = None,
        *,
        unserved_mw: float = 0.0,
        pcc_open: bool = False,
        island_p_mw: float = 0.0,
    ) -> int:
        """Copy the state of a power flow of step ``k`` solved at ``time_s``; it holds
        until the next one. Returns the interval's row.

        Parameters
        ----------
        p_mw, q_mvar : numpy.ndarray, optional
            Injections the grid carried (default: the injection buffer).
        unserved_mw : float
            Load demanded on buses without supply. [MW]
        pcc_open : bool
            Whether the upstream grid is disconnected.
        island_p_mw : float
            Power the grid-forming units supplied as island slacks. [MW]
        """
        i = self.n_intervals
        if i == self._iv_step.size:
            self._grow()
        if converged:
            self._iv_v[i] = self._model.v
        self._iv_converged[i] = converged
        self._iv_iterations[i] = iterations
        self._iv_p[i] = self._injections.p_mw if p_mw is None else p_mw
        self._iv_q[i] = self._injections.q_mvar if q_mvar is None else q_mvar
        self._iv_step[i] = k
        self._iv_start[i] = time_s
        self._iv_unserved[i] = unserved_mw
        self._iv_pcc_open[i] = pcc_open
        self._iv_island[i] = island_p_mw
        self.n_intervals = i + 1
        return i

    def record_step(
        self,
        k: int,
        converged: bool,
        iterations: int,
        p_mw: np.ndarray | None = None,
        q_mvar: np.ndarray | None = None,
        *,
        unserved_mw: float = 0.0,
        pcc_open: bool = False,
        island_p_mw: float = 0.0,
    ) -> None:
        """Copy the state of step ``k`` at its profile boundary (its first interval;
        voltages only when ``converged``) and the channels."""
        self.first[k] = self.record_interval(
            k, float(k * self.step_s), converged, iterations, p_mw, q_mvar,
            unserved_mw=unserved_mw, pcc_open=pcc_open, island_p_mw=island_p_mw,
        )
        self.converged[k] = converged
        self.iterations[k] = iterations
        for channel, data in zip(self._channels, self._channel_data, strict=True):
            data[k] = channel.source

    def refresh_channels(self, k: int) -> None:
        """Copy the channels of step ``k`` again: families changed them after the
        step's solve (set points applied inside the step, see :mod:`twin.assets.base`)."""
        for channel, data in zip(self._channels, self._channel_data, strict=True):
            data[k] = channel.source

    def event(
        self,
        time_s: float,
        category: str,
        kind: str,
        entity: str,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append one event (see ``docs/contracts.md`` for the columns).

        Parameters
        ----------
        time_s : float
            Simulated time. [s]
        category : str
            One of :data:`EVENT_CATEGORIES`.
        kind, entity, message : str
            What happened, to what, in one sentence.
        data : dict, optional
            Flat mapping of scalars; stored as a JSON string.
        """
        if category not in EVENT_CATEGORIES:
            raise ValueError(
                f"event category must be one of {sorted(EVENT_CATEGORIES)}, got {category!r}"
            )
        self.events.append(
            {
                "time_s": float(time_s),
                "category": category,
                "kind": str(kind),
                "entity": str(entity),
                "message": str(message),
                "data": dict(data) if data else {},
            }
        )

    def sink(self, record: dict[str, Any]) -> None:
        """Take an event record as :class:`twin.comms.event.EventLog` emits it."""
        self.event(
            record["time_s"],
            record["category"],
            record["kind"],
            record["entity"],
            record["message"],
            record.get("data"),
        )

    def finish(self, n_done: int) -> Recording:
        """Trim the arrays to the ``n_done`` steps that ran and freeze them; the last
        interval ends with the last step. [s]"""
        n = int(n_done)
        series = [
            Series(c.group, c.quantity, c.unit, tuple(c.entities), data[:n])
            for c, data in zip(self._channels, self._channel_data, strict=True)
        ]
        m = int(np.searchsorted(self._iv_step[: self.n_intervals], n)) if n else 0
        start = self._iv_start[:m]
        duration = np.diff(start, append=float(n * self.step_s)) if m else np.zeros(0)
        first = self.first[:n]
        intervals = Intervals(
            v=self._iv_v[:m], p_mw=self._iv_p[:m], q_mvar=self._iv_q[:m],
            converged=self._iv_converged[:m], iterations=self._iv_iterations[:m],
            step=self._iv_step[:m], start_s=start, duration_s=duration,
            unserved_mw=self._iv_unserved[:m], pcc_open=self._iv_pcc_open[:m],
            island_p_mw=self._iv_island[:m], first=first,
        )
        if m == n:  # one interval per step: the rows are the steps
            v, p, q = intervals.v, intervals.p_mw, intervals.q_mvar
        else:
            v, p, q = intervals.v[first], intervals.p_mw[first], intervals.q_mvar[first]
        return Recording(
            n_steps=n,
            step_s=self.step_s,
            v=v,
            p_mw=p,
            q_mvar=q,
            converged=self.converged[:n],
            iterations=self.iterations[:n],
            channels=series,
            events=list(self.events),
            solve_time_s=self.solve_time_s,
            intervals=intervals,
        )


# ------------------------------------------------------------------------ tables


def timeseries_table(time_s: np.ndarray, series: Sequence[Series]) -> pa.Table:
    """Long-format table (``time_s, entity, quantity, unit, value``) of some series.

    Rows are ordered by series, then time, then entity. ``entity``, ``quantity`` and
    ``unit`` are dictionary-encoded strings.
    """
    n = len(time_s)
    entity_codes: dict[str, int] = {}
    quantity_codes: dict[str, int] = {}
    unit_codes: dict[str, int] = {}
    times: list[np.ndarray] = []
    entities: list[np.ndarray] = []
    quantities: list[np.ndarray] = []
    units: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for block in series:
        m = len(block.entities)
        if m == 0 or n == 0:
            continue
        codes = np.array(
            [entity_codes.setdefault(e, len(entity_codes)) for e in block.entities],
            dtype=np.int32,
        )
        q = quantity_codes.setdefault(block.quantity, len(quantity_codes))
        u = unit_codes.setdefault(block.unit, len(unit_codes))
        times.append(np.repeat(time_s.astype(np.int64), m))
        entities.append(np.tile(codes, n))
        quantities.append(np.full(n * m, q, dtype=np.int32))
        units.append(np.full(n * m, u, dtype=np.int32))
        values.append(np.asarray(block.values, dtype=np.float64).reshape(n * m))

    def dictionary(parts: list[np.ndarray], codes: dict[str, int]) -> pa.DictionaryArray:
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return pa.DictionaryArray.from_arrays(
            pa.array(indices, type=pa.int32()), pa.array(list(codes), type=pa.string())
        )

    return pa.table(
        {
            "time_s": pa.array(
                np.concatenate(times) if times else np.zeros(0, np.int64), type=pa.int64()
            ),
            "entity": dictionary(entities, entity_codes),
            "quantity": dictionary(quantities, quantity_codes),
            "unit": dictionary(units, unit_codes),
            "value": pa.array(
                np.concatenate(values) if values else np.zeros(0), type=pa.float64()
            ),
        }
    )


TIMESERIES_ROW_GROUP_ROWS = 128 * 1024
"""Rows per Parquet row group of ``timeseries.parquet`` (about 3.5 MB of rows in memory
while one is written; pyarrow's own default is 1024 * 1024)."""


def _codes(series: Sequence[Series]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Entity, quantity and unit dictionaries of some series, in order of first use."""
    entity_codes: dict[str, int] = {}
    quantity_codes: dict[str, int] = {}
    unit_codes: dict[str, int] = {}
    for block in series:
        if not block.entities:
            continue
        for e in block.entities:
            entity_codes.setdefault(e, len(entity_codes))
        quantity_codes.setdefault(block.quantity, len(quantity_codes))
        unit_codes.setdefault(block.unit, len(unit_codes))
    return entity_codes, quantity_codes, unit_codes


def write_timeseries(
    where: Any,
    time_s: np.ndarray,
    series: Sequence[Series],
    *,
    compression: str = "zstd",
    row_group_rows: int = TIMESERIES_ROW_GROUP_ROWS,
) -> int:
    """Write the table :func:`timeseries_table` would build, one row group at a time.

    The long table is never held whole: each row group (``row_group_rows`` rows, cut
    across series) is filled from the series' wide arrays into column buffers
    allocated once, written, and the buffers refilled, so the writer's memory is one
    row group (about 28 bytes a row) whatever the horizon. Rows, their order, the
    dictionaries and the schema are those of :func:`timeseries_table`. Only the three
    string columns are dictionary-encoded in the file: Parquet's dictionary encoder on
    the ``value`` column held about 70 MB while it gave up on unique floats. Returns
    the rows written.
    """
    import pyarrow.parquet as pq

    n = len(time_s)
    blocks = [b for b in series if len(b.entities) and n]
    if not blocks:
        pq.write_table(timeseries_table(time_s, []), where, compression=compression)
        return 0
    entity_codes, quantity_codes, unit_codes = _codes(blocks)
    dictionaries = [pa.array(list(c), type=pa.string())
                    for c in (entity_codes, quantity_codes, unit_codes)]
    times = np.asarray(time_s).astype(np.int64)
    schema = pa.schema([("time_s", pa.int64()),
                        ("entity", pa.dictionary(pa.int32(), pa.string())),
                        ("quantity", pa.dictionary(pa.int32(), pa.string())),
                        ("unit", pa.dictionary(pa.int32(), pa.string())),
                        ("value", pa.float64())])
    size = int(row_group_rows)
    # one row group's columns, allocated once and refilled: the writer has encoded a
    # row group when write_table returns
    cols = (np.empty(size, np.int64), np.empty(size, np.int32), np.empty(size, np.int32),
            np.empty(size, np.int32), np.empty(size, np.float64))
    filled = 0
    written = 0

    def emit(writer: pq.ParquetWriter, rows: int) -> None:
        table = pa.table(
            [pa.array(cols[0][:rows], type=pa.int64())]
            + [pa.DictionaryArray.from_arrays(pa.array(cols[i][:rows], type=pa.int32()),
                                              dictionaries[i - 1]) for i in (1, 2, 3)]
            + [pa.array(cols[4][:rows], type=pa.float64())],
            schema=schema,
        )
        writer.write_table(table, row_group_size=size)

    with pq.ParquetWriter(where, schema, compression=compression,
                          use_dictionary=["entity", "quantity", "unit"]) as writer:
        for block in blocks:
            m = len(block.entities)
            codes = np.array([entity_codes[e] for e in block.entities], dtype=np.int32)
            flat = np.ascontiguousarray(block.values, dtype=np.float64).reshape(n * m)
            r, total = 0, n * m
            while r < total:  # rows r.. of the block (step r // m, entity r % m)
                take = min(size - filled, total - r)
                at = slice(filled, filled + take)
                index = np.arange(r, r + take, dtype=np.int64)
                step, entity = np.divmod(index, m)
                cols[0][at] = times[step]
                cols[1][at] = codes[entity]
                cols[2][at] = quantity_codes[block.quantity]
                cols[3][at] = unit_codes[block.unit]
                cols[4][at] = flat[r : r + take]
                filled += take
                r += take
                if filled == size:
                    emit(writer, size)
                    written += size
                    filled = 0
        if filled:
            emit(writer, filled)
            written += filled
    return written


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def events_table(events: Sequence[dict[str, Any]]) -> pa.Table:
    """The ``events.parquet`` table: ``data`` becomes a JSON string with sorted keys."""
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for record in events:
        columns["time_s"].append(float(record["time_s"]))
        for name in ("category", "kind", "entity", "message"):
            columns[name].append(str(record[name]))
        data = {str(k): _json_scalar(v) for k, v in (record.get("data") or {}).items()}
        columns["data"].append(json.dumps(data, sort_keys=True, allow_nan=False))
    schema = pa.schema(
        [("time_s", pa.float64())] + [(name, pa.string()) for name in EVENT_COLUMNS[1:]]
    )
    return pa.table(columns, schema=schema)
