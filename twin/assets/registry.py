"""Asset kind -> family class: the one place that maps a scenario's ``kind`` to code.

Add an asset kind by writing its spec in :mod:`twin.scenario` and its family module,
then adding one entry to :data:`FAMILIES`. Families are built, bound (and so draw from
the run's random generator) in the order of this mapping.

Public names: :data:`FAMILIES`, :func:`family_class`.
"""

from __future__ import annotations

from typing import Any

from twin.assets.battery import BatteryFamily
from twin.assets.building import BuildingFamily
from twin.assets.ev import EvFleetFamily
from twin.assets.generator import GeneratorFamily
from twin.assets.load import LoadFamily
from twin.assets.pv import PvFamily

FAMILIES: dict[str, Any] = {
    "load": LoadFamily,
    "pv": PvFamily,
    "battery": BatteryFamily,
    "generator": GeneratorFamily,
    "ev_fleet": EvFleetFamily,
    "building": BuildingFamily,
}
"""Asset kind -> family class (see :class:`twin.assets.base.AssetFamily`)."""


def family_class(kind: str) -> Any:
    """The family class of an asset kind; KeyError naming the known kinds otherwise."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise KeyError(f"no asset family for kind '{kind}'; known: {sorted(FAMILIES)}") from None
