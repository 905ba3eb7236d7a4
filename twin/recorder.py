"""The run recorder: preallocated per-step arrays in, tidy Arrow tables out.

During a run the grid process calls :meth:`Recorder.record_step` once per step: it copies
the complex bus voltages, the element injections and every registered
:class:`~twin.assets.base.Channel` into preallocated arrays (a few microseconds a step).
Events (a non-converged power flow, a fault, a solver call) go in through
:meth:`Recorder.event`, or through :meth:`Recorder.sink`, which takes the records of
:class:`twin.comms.event.EventLog` as they are.

After the run, :func:`timeseries_table` turns the arrays and the derived grid results
into the long-format table of ``timeseries.parquet`` and :func:`events_table` the
events into ``events.parquet`` (columns in ``docs/contracts.md``).

Public names: :class:`Recorder`, :class:`Recording`, :class:`Series`,
:func:`timeseries_table`, :func:`events_table`, :data:`EVENT_COLUMNS`,
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
        self.v = np.full((n_steps, model.n_bus_internal), np.nan, dtype=complex)
        self.p_mw = np.zeros((n_steps, model.n_injections))
        self.q_mvar = np.zeros((n_steps, model.n_injections))
        self.converged = np.zeros(n_steps, dtype=bool)
        self.iterations = np.zeros(n_steps, dtype=np.int32)
        self.events: list[dict[str, Any]] = []
        self._channels: list[Channel] = []
        self._channel_data: list[np.ndarray] = []
        self.solve_time_s = 0.0

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

    def record_step(self, k: int, converged: bool, iterations: int) -> None:
        """Copy the state of step ``k`` (voltages only when ``converged``)."""
        if converged:
            self.v[k] = self._model.v
        self.converged[k] = converged
        self.iterations[k] = iterations
        self.p_mw[k] = self._injections.p_mw
        self.q_mvar[k] = self._injections.q_mvar
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
        """Trim the arrays to the ``n_done`` steps that ran and freeze them."""
        n = int(n_done)
        series = [
            Series(c.group, c.quantity, c.unit, tuple(c.entities), data[:n])
            for c, data in zip(self._channels, self._channel_data, strict=True)
        ]
        return Recording(
            n_steps=n,
            step_s=self.step_s,
            v=self.v[:n],
            p_mw=self.p_mw[:n],
            q_mvar=self.q_mvar[:n],
            converged=self.converged[:n],
            iterations=self.iterations[:n],
            channels=series,
            events=list(self.events),
            solve_time_s=self.solve_time_s,
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
