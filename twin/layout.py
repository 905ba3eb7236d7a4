"""The network map of a run: bus positions, branches and where each asset connects.

The run writes ``layout.json`` into its folder (:func:`run_files`, called where the
engine collects the run's extra files), so the app draws the map from the run folder
without building a pandapower network. For a run folder made before ``layout.json``
existed, :func:`layout_for_run` computes the same layout once from the run's grid spec
(through the twin, which owns pandapower) and caches it per grid.

``layout.json`` holds::

    {"format": 1, "source": "geodata" | "graph layout",
     "buses":    [{"bus": 0, "name": "...", "x": 0.1, "y": 0.2, "vn_kv": 0.4}, ...],
     "branches": [{"entity": "line/0", "from_bus": 0, "to_bus": 1}, ...],
     "assets":   [{"name": "pv_farm", "kind": "pv", "bus": 13}, ...]}

Public names: :data:`LAYOUT_FILE`, :func:`layout_of_network`, :func:`run_files`,
:func:`layout_for_run`.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

logger = logging.getLogger(__name__)

LAYOUT_FILE = "layout.json"
"""Name of the layout file in a run folder."""
LAYOUT_FORMAT = 1
"""Version of the layout file's shape."""


def _xy(geo: Any) -> tuple[float, float] | None:
    """(x, y) of a GeoJSON point (pandapower's ``bus.geo``), or None."""
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


def layout_of_network(net: pandapowerNet, assets: list[dict[str, Any]] | None = None
                      ) -> dict[str, Any]:
    """The layout of a pandapower network as a JSON-ready dict (see module docstring).

    Bus geodata is used when every bus has it, else a Kamada-Kawai layout of the
    network graph (deterministic: no random start).

    Parameters
    ----------
    net : pandapowerNet
        The run's network.
    assets : list of dict, optional
        Asset specs (``name``, ``kind``, ``bus``) from the resolved scenario.
    """
    import networkx as nx

    bus_ids = [int(b) for b in net.bus.index]
    branches: list[dict[str, Any]] = [
        {"entity": f"line/{int(i)}", "from_bus": int(r.from_bus), "to_bus": int(r.to_bus)}
        for i, r in net.line.iterrows()]
    branches += [{"entity": f"trafo/{int(i)}", "from_bus": int(r.hv_bus),
                  "to_bus": int(r.lv_bus)} for i, r in net.trafo.iterrows()]
    geo: dict[int, tuple[float, float]] = {}
    if "geo" in net.bus:
        for index, value in net.bus["geo"].items():
            xy = _xy(value)
            if xy is not None:
                geo[int(index)] = xy
    if bus_ids and all(b in geo for b in bus_ids):
        positions, source = geo, "geodata"
    else:
        graph = nx.Graph()
        graph.add_nodes_from(bus_ids)
        graph.add_edges_from((b["from_bus"], b["to_bus"]) for b in branches)
        if "switch" in net and len(net.switch):  # bus-bus switches join buses too
            for _, sw in net.switch[net.switch["et"] == "b"].iterrows():
                graph.add_edge(int(sw.bus), int(sw.element))
        positions = {int(k): (float(v[0]), float(v[1]))
                     for k, v in nx.kamada_kawai_layout(graph).items()} if bus_ids else {}
        source = "graph layout"
    names = net.bus.get("name", None)
    vn = net.bus.get("vn_kv", None)
    buses = []
    for b in bus_ids:
        name = names.loc[b] if names is not None else None
        buses.append({"bus": b, "name": name if isinstance(name, str) and name else f"bus {b}",
                      "x": round(positions[b][0], 6), "y": round(positions[b][1], 6),
                      "vn_kv": float(vn.loc[b]) if vn is not None else None})
    asset_rows = [{"name": str(a.get("name")), "kind": str(a.get("kind")),
                   "bus": int(a["bus"])} for a in (assets or [])
                  if isinstance(a, dict) and isinstance(a.get("bus"), int)]
    return {"format": LAYOUT_FORMAT, "source": source, "buses": buses,
            "branches": branches, "assets": asset_rows}


def run_files(net: pandapowerNet, scenario: Any) -> dict[str, bytes]:
    """Extra files the run folder gets for the app: ``layout.json``.

    A layout that cannot be computed is logged and left out (the app then says the map
    is unavailable); it never fails the run.
    """
    try:
        assets = [a.model_dump() for a in getattr(scenario, "assets", ())]
        layout = layout_of_network(net, assets)
    except Exception as exc:  # a map is a convenience: never lose a run over it
        logger.warning("network layout not written: %s: %s", type(exc).__name__, exc)
        return {}
    return {LAYOUT_FILE: (json.dumps(layout, sort_keys=True) + "\n").encode()}


@functools.lru_cache(maxsize=16)
def _layout_for_grid(grid_json: str, assets_json: str) -> str:
    from pydantic import TypeAdapter

    from twin.grid import build_network
    from twin.scenario import Scenario

    spec = TypeAdapter(Scenario.model_fields["grid"].annotation).validate_python(
        json.loads(grid_json))
    return json.dumps(layout_of_network(build_network(spec), json.loads(assets_json)))


def layout_for_run(run_dir: str | Path, scenario: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The layout of a run: its ``layout.json``, or computed (and cached) from its grid.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    scenario : dict, optional
        The resolved scenario (manifest ``scenario``), used when the folder has no
        ``layout.json`` (runs made before it was written).

    Raises
    ------
    twin.errors.TwinError
        The folder has no layout and the grid cannot be built (moved grid file).
    """
    path = Path(run_dir) / LAYOUT_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("buses"), list):
            return data
    scenario = scenario or {}
    grid = scenario.get("grid", {})
    assets = [a for a in scenario.get("assets", ()) if isinstance(a, dict)]
    return json.loads(_layout_for_grid(json.dumps(grid, sort_keys=True),
                                       json.dumps(assets, sort_keys=True)))
