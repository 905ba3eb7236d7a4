"""Checks of the names and grid elements a scenario's faults refer to.

Public names: :func:`check_fault_references`, :func:`check_grid_elements`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twin.errors import Problem
from twin.faults.schema import (
    TRIP_ASSET_KIND,
    AssetTripFault,
    GridBranchFault,
    LinkFault,
    SensorFault,
    ServiceFault,
)

__all__ = ["check_fault_references", "check_grid_elements"]


def check_fault_references(scenario: Any, source: str | None = None) -> list[Problem]:
    """Problems with the names faults refer to (links, services, assets), and with the
    cross-references of the ``comms:`` section (:meth:`CommsSpec.problems`).

    Parameters
    ----------
    scenario
        A :class:`twin.scenario.Scenario` (with ``faults``, ``comms``, ``assets``).
    source
        File name for the problems (default ``scenario.source``).

    Returns
    -------
    list of Problem
        One per fault naming something that does not exist, with the field path
        (``faults.2.link``) and the names that do.
    """
    file = source or getattr(scenario, "source", "<scenario>")
    problems: list[Problem] = []
    comms = getattr(scenario, "comms", None)
    if comms is not None:
        problems.extend(Problem(file, path, message) for path, message in comms.problems())
    links = {link.name for link in comms.links} if comms is not None else set()
    services = {s.name for s in comms.services} if comms is not None else set()
    assets = {a.name: a.kind for a in getattr(scenario, "assets", ())}
    for i, fault in enumerate(getattr(scenario, "faults", ())):
        where = f"faults.{i}"
        if isinstance(fault, LinkFault | ServiceFault):
            field_name, known = ("link", links) if isinstance(fault, LinkFault) else (
                "service", services)
            name = getattr(fault, field_name)
            if comms is None or not comms.enabled:
                problems.append(Problem(file, f"{where}.kind", f"a {fault.kind} fault needs "
                                        "the communication model; set comms.enabled: true"))
            elif name not in known:
                problems.append(Problem(file, f"{where}.{field_name}", f"unknown "
                                        f"{field_name} '{name}'; expected one of "
                                        f"{sorted(known)}"))
        elif isinstance(fault, GridBranchFault):
            backend = getattr(getattr(scenario, "grid", None), "backend", "lightsim2grid")
            if backend != "lightsim2grid":
                problems.append(Problem(file, f"{where}.kind", f"a {fault.kind} needs "
                                        "grid.backend 'lightsim2grid' (the power-flow "
                                        f"model switches branches there); got '{backend}'"))
        elif isinstance(fault, AssetTripFault | SensorFault):
            want = TRIP_ASSET_KIND.get(fault.kind)
            if fault.asset not in assets:
                problems.append(Problem(file, f"{where}.asset", f"unknown asset "
                                        f"'{fault.asset}'; expected one of {sorted(assets)}"))
            elif want is not None and assets[fault.asset] != want:
                problems.append(Problem(file, f"{where}.asset", f"asset '{fault.asset}' is "
                                        f"a {assets[fault.asset]}; {fault.kind} needs a "
                                        f"{want}"))
    return problems


def check_grid_elements(faults: Iterable[Any], net: Any, source: str) -> list[Problem]:
    """Problems with line and trafo indices that the network does not have."""
    problems: list[Problem] = []
    for i, fault in enumerate(faults):
        if isinstance(fault, GridBranchFault):
            table = "line" if fault.kind == "line_outage" else "trafo"
            index = net[table].index
            if fault.element not in index:
                shown = list(index[:10]) + (["..."] if len(index) > 10 else [])
                problems.append(Problem(source, f"faults.{i}.element", f"no {table} "
                                        f"{fault.element} in the network; it has "
                                        f"{len(index)} ({shown})"))
    return problems
