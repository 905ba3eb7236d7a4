"""EV fleets (``kind: ev_fleet``): charging sessions, chargers, smart-charging setpoints.

Each fleet is one site at one bus (one pandapower load row, net charging power).
Vehicles arrive and leave in *sessions*, drawn from seeded distributions for the site
type and weekday (:func:`draw_sessions`) or replayed from a CSV file
(:func:`read_sessions`). A vehicle with no command charges at full power until it reaches
its target (the rule-based "plug and charge" policy); a controller sets per-vehicle
power with :meth:`EvFleetFamily.command`, applied within the charger, battery and
plug-in limits (:func:`ev_step`).

One sub-domain per module: :mod:`~twin.assets.ev.sessions` (:class:`EvSessions`,
:func:`draw_sessions`, :func:`read_sessions`, :data:`SITE_PROFILES`),
:mod:`~twin.assets.ev.charging` (:class:`EvFleetState`, :func:`ev_step`),
:mod:`~twin.assets.ev.family` (:class:`EvFleetFamily`, :class:`EvSnapshot`,
:data:`FULLY_SERVED_TOL_KWH`). This ``__init__`` re-exports their public names.

Imports: numpy, pandas (sessions files), :mod:`twin.assets.base`, :mod:`twin.clock`,
:mod:`twin.simtime`, :mod:`twin.errors`; never the engine, the controllers or another
family.
"""

from __future__ import annotations

from twin.assets.ev.charging import EvFleetState, ev_step
from twin.assets.ev.family import FULLY_SERVED_TOL_KWH, EvFleetFamily, EvSnapshot
from twin.assets.ev.sessions import (
    SITE_PROFILES,
    EvSessions,
    draw_sessions,
    read_sessions,
)

__all__ = [
    "FULLY_SERVED_TOL_KWH",
    "SITE_PROFILES",
    "EvFleetFamily",
    "EvFleetState",
    "EvSessions",
    "EvSnapshot",
    "draw_sessions",
    "ev_step",
    "read_sessions",
]
