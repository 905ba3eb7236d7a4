"""Where to draw buses and lines on the network map.

Coordinates come from the run folder's ``layout.json``, which the run writes
(:mod:`twin.layout`: bus geodata when the network has it, otherwise a Kamada-Kawai layout
of its graph, plus where each asset connects). The app never builds a network itself.

Public names: :class:`Layout`, :func:`layout_for_run`, :func:`layout_from_tables`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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
    assets : pandas.DataFrame
        Columns ``name``, ``kind``, ``bus``: where each asset connects.
    """

    buses: pd.DataFrame
    branches: pd.DataFrame
    source: str
    assets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["name", "kind", "bus"]))


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


def layout_for_run(run_dir: Any, scenario: dict[str, Any]) -> Layout:
    """The map layout of a run: the ``layout.json`` the run wrote into its folder, or
    (older runs) the one :func:`twin.layout.layout_for_run` computes once and caches."""
    from twin.layout import layout_for_run as twin_layout

    data = twin_layout(run_dir, scenario)
    buses = pd.DataFrame(data["buses"], columns=["bus", "name", "x", "y", "vn_kv"])
    branches = pd.DataFrame(data["branches"], columns=["entity", "from_bus", "to_bus"])
    assets = pd.DataFrame(data.get("assets", []), columns=["name", "kind", "bus"])
    return Layout(buses, branches, str(data.get("source", "run")), assets)
