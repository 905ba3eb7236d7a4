"""Where to draw buses and lines on the network map.

Coordinates come from a twin helper when the twin offers one
(``twin.grid.network_layout(spec)``), else from the network ``twin.grid.build_network``
builds for the run's grid spec: bus geodata when the network has it, otherwise a
Kamada-Kawai layout of its graph. The app never imports pandapower itself.

Public names: :class:`Layout`, :func:`layout_for_grid`, :func:`layout_from_tables`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """Positions of buses and the branches between them.

    Attributes
    ----------
    buses : pandas.DataFrame
        Columns ``bus`` (int index), ``x``, ``y``, ``name``.
    branches : pandas.DataFrame
        Columns ``entity`` (``line/<i>`` or ``trafo/<i>``), ``from_bus``, ``to_bus``.
    source : str
        ``"geodata"`` or ``"graph layout"``.
    """

    buses: pd.DataFrame
    branches: pd.DataFrame
    source: str


def _xy(geo: Any) -> tuple[float, float] | None:
    if isinstance(geo, str):
        try:
            geo = json.loads(geo)
        except json.JSONDecodeError:
            return None
    if isinstance(geo, dict):
        coords = geo.get("coordinates")
        if isinstance(coords, list | tuple) and len(coords) >= 2:
            try:
                return float(coords[0]), float(coords[1])
            except (TypeError, ValueError):
                return None
    return None


def layout_from_tables(bus: pd.DataFrame, line: pd.DataFrame, trafo: pd.DataFrame,
                       geo: dict[int, tuple[float, float]] | None = None) -> Layout:
    """Build a layout from bus, line and trafo tables (pandapower column names).

    Parameters
    ----------
    bus : pandas.DataFrame
        Indexed by bus index, optional ``name``.
    line, trafo : pandas.DataFrame
        With ``from_bus``/``to_bus`` and ``hv_bus``/``lv_bus``.
    geo : dict, optional
        Bus index -> (x, y); when it covers every bus it is used as is.
    """
    branches = pd.concat([
        pd.DataFrame({"entity": [f"line/{i}" for i in line.index],
                      "from_bus": line["from_bus"].astype(int).to_numpy(),
                      "to_bus": line["to_bus"].astype(int).to_numpy()}),
        pd.DataFrame({"entity": [f"trafo/{i}" for i in trafo.index],
                      "from_bus": trafo["hv_bus"].astype(int).to_numpy() if len(trafo) else [],
                      "to_bus": trafo["lv_bus"].astype(int).to_numpy() if len(trafo) else []}),
    ], ignore_index=True)
    buses = [int(b) for b in bus.index]
    if geo and all(b in geo for b in buses):
        positions = geo
        source = "geodata"
    else:
        graph = nx.Graph()
        graph.add_nodes_from(buses)
        graph.add_edges_from(zip(branches["from_bus"], branches["to_bus"], strict=True))
        positions = {int(k): (float(v[0]), float(v[1]))
                     for k, v in nx.kamada_kawai_layout(graph).items()} if buses else {}
        source = "graph layout"
    names = bus["name"] if "name" in bus else pd.Series(index=bus.index, dtype=object)
    frame = pd.DataFrame({
        "bus": buses,
        "x": [positions[b][0] for b in buses],
        "y": [positions[b][1] for b in buses],
        "name": [str(n) if isinstance(n, str) else f"bus {b}" for b, n in zip(buses, names,
                                                                           strict=True)],
    })
    return Layout(frame, branches, source)


def layout_for_grid(grid_spec: Any) -> Layout:
    """The map layout of a run's grid (a :data:`twin.scenario.GridSpec`)."""
    import twin.grid as tgrid

    helper = getattr(tgrid, "network_layout", None)
    if callable(helper):
        result = helper(grid_spec)
        if isinstance(result, Layout):
            return result
        buses, branches = result[0], result[1]
        return Layout(buses, branches, "twin")
    net = tgrid.build_network(grid_spec)
    geo: dict[int, tuple[float, float]] = {}
    if "geo" in net.bus:
        for index, value in net.bus["geo"].items():
            xy = _xy(value)
            if xy is not None:
                geo[int(index)] = xy
    legacy = getattr(net, "bus_geodata", None)
    if not geo and isinstance(legacy, pd.DataFrame) and {"x", "y"} <= set(legacy.columns):
        geo = {int(i): (float(r.x), float(r.y)) for i, r in legacy.iterrows()}
    return layout_from_tables(net.bus, net.line, net.trafo, geo)
