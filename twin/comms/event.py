"""Event records of the communication model: faults, reactions and solver calls.

An event is a plain ``dict`` with the keys of :data:`EVENT_FIELDS`, ready for the
recorder to append to ``events.parquet``:

``time_s`` (float, simulated seconds), ``category`` (one of :data:`CATEGORIES`),
``kind`` (see the tables in :mod:`twin.comms`), ``entity`` (the link, route, service or
task it concerns), ``message`` (one human-readable sentence) and ``data`` (a flat dict
of scalars: numbers, strings, booleans or ``None``).

Public names
------------
EventLog
    Append-only list of events with an optional sink callback.
EVENT_FIELDS, CATEGORIES
    The record keys and the closed set of categories.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["CATEGORIES", "EVENT_FIELDS", "EventLog", "EventRecord"]

logger = logging.getLogger(__name__)

EventRecord = dict[str, Any]
"""One event: ``{time_s, category, kind, entity, message, data}``."""

EVENT_FIELDS = ("time_s", "category", "kind", "entity", "message", "data")
"""Keys of every event record, in order."""

CATEGORIES = frozenset(
    {"fault", "link", "route", "service", "call", "control", "grid", "asset"}
)
"""``fault``: an injected fault starts or ends; ``link``/``route``/``service``: the
model reacts (failover, job rejected, ...); ``call``: a solver call, attempt or
fallback; ``control``/``grid``/``asset``: reactions of the controller (a stale
measurement replaced), the grid (supply lost or restored) and assets (a trip)."""


class EventLog:
    """Collects event records in the order they happen.

    Parameters
    ----------
    sink
        Optional callable given every record as it is emitted (e.g. the run recorder).

    Examples
    --------
    >>> log = EventLog()
    >>> rec = log.emit(1.5, "fault", "link_down", "fibre", "link fibre down")
    >>> rec["kind"], len(log.records)
    ('link_down', 1)
    """

    def __init__(self, sink: Callable[[EventRecord], None] | None = None) -> None:
        self.records: list[EventRecord] = []
        self._sink = sink

    def emit(
        self,
        time_s: float,
        category: str,
        kind: str,
        entity: str,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        """Append one event and pass it to the sink.

        Parameters
        ----------
        time_s
            Simulated time of the event. [s]
        category
            One of :data:`CATEGORIES`.
        kind
            What happened (e.g. ``"link_down"``).
        entity
            Name of the link, route, service or task concerned.
        message
            One sentence for a human.
        data
            Flat dict of scalar details.

        Returns
        -------
        dict
            The record appended.
        """
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {sorted(CATEGORIES)}, got {category!r}")
        record: EventRecord = {
            "time_s": float(time_s),
            "category": category,
            "kind": kind,
            "entity": entity,
            "message": message,
            "data": dict(data) if data else {},
        }
        self.records.append(record)
        logger.debug("%.6f %s/%s %s: %s", time_s, category, kind, entity, message)
        if self._sink is not None:
            self._sink(record)
        return record

    def __len__(self) -> int:
        return len(self.records)
