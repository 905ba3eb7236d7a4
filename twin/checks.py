"""Semantic checks of a scenario: what the schema alone cannot see.

The pydantic schema checks types, bounds and rules inside one model. These checks look
across sections and at the network: the SimBench code exists, every asset's bus is in
the network, named profiles exist, the step fits SimBench's 15-minute profiles, a
profile source matches the grid, and the controller mode is known.

Public names: :func:`check_scenario`, :func:`check_against_network`,
:func:`profile_offset_rows`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twin.errors import Problem, ScenarioError
from twin.grid import SIMBENCH_STEP_S, SIMBENCH_YEAR, ProfileLibrary, simbench_codes

if TYPE_CHECKING:
    from twin.scenario import Scenario

logger = logging.getLogger(__name__)


def library_code(scenario: Scenario) -> str | None:
    """SimBench code whose named profiles the scenario's assets use (or None)."""
    if scenario.profiles.library is not None:
        return scenario.profiles.library
    if scenario.grid.source == "simbench":
        return scenario.grid.code
    return None


def profile_offset_rows(scenario: Scenario) -> int:
    """Quarter-hour row of the SimBench year at the scenario's start."""
    import datetime as dt

    start = scenario.time.start
    if start.tzinfo is not None:
        start = start.replace(tzinfo=None)
    seconds = (start - dt.datetime(start.year, 1, 1)).total_seconds()
    return int(seconds // SIMBENCH_STEP_S)


def check_scenario(scenario: Scenario) -> list[Problem]:
    """Checks that need no network (fast). Returns the problems found."""
    file = scenario.source
    problems: list[Problem] = []
    grid = scenario.grid
    if grid.source == "simbench" and grid.code not in simbench_codes():
        problems.append(
            Problem(file, "grid.code", f"unknown SimBench code '{grid.code}'; expected a code "
                    "such as '1-LV-rural1--0-sw' (simbench.collect_all_simbench_codes())")
        )
    lib = scenario.profiles.library
    if lib is not None and lib not in simbench_codes():
        problems.append(
            Problem(file, "profiles.library", f"unknown SimBench code '{lib}'; expected a code "
                    "such as '1-LV-rural1--0-sw'")
        )
    if scenario.profiles.source == "simbench" and grid.source != "simbench":
        problems.append(
            Problem(file, "profiles.source", "'simbench' needs a SimBench grid "
                    f"(grid.source is '{grid.source}'); expected 'constant'")
        )
    step_s = scenario.time.step_s
    if step_s % SIMBENCH_STEP_S and SIMBENCH_STEP_S % step_s:
        problems.append(
            Problem(file, "time.step", f"step {scenario.time.step} does not fit SimBench's "
                    "15-minute profiles; expected a divisor or a multiple of 15min")
        )
    start = scenario.time.start
    if (start.minute * 60 + start.second) % min(step_s, SIMBENCH_STEP_S) or start.microsecond:
        problems.append(
            Problem(file, "time.start", "expected a start on the step grid "
                    "(e.g. a whole quarter hour)")
        )
    if start.year != SIMBENCH_YEAR and library_code(scenario) is not None:
        logger.info("profiles are SimBench's %d; start year %d only sets the calendar",
                    SIMBENCH_YEAR, start.year)
    needs_library = [
        (i, a) for i, a in enumerate(scenario.assets) if getattr(a, "profile", None) is not None
    ]
    if needs_library and library_code(scenario) is None:
        for i, _asset in needs_library:
            problems.append(
                Problem(file, f"assets.{i}.profile", "named profiles need a SimBench library; "
                        "expected profiles.library (a SimBench code) or a SimBench grid")
            )
    from twin.control import CONTROLLERS

    if scenario.control.mode not in CONTROLLERS:
        problems.append(
            Problem(file, "control.mode", f"no controller for '{scenario.control.mode}'; "
                    f"expected one of {sorted(CONTROLLERS)}")
        )
    from twin.faults import check_fault_references

    problems.extend(check_fault_references(scenario))
    return problems


def check_against_network(
    scenario: Scenario, net: Any, library: ProfileLibrary | None
) -> list[Problem]:
    """Checks that need the loaded network and profile library."""
    file = scenario.source
    problems: list[Problem] = []
    buses = {int(b) for b in net.bus.index}
    lo, hi = (min(buses), max(buses)) if buses else (0, -1)
    for i, asset in enumerate(scenario.assets):
        bus = getattr(asset, "bus", None)
        if bus is not None and int(bus) not in buses:
            problems.append(
                Problem(file, f"assets.{i}.bus", f"bus {bus} is not in the network; expected "
                        f"one of its {len(buses)} bus indices ({lo}..{hi})")
            )
        profile = getattr(asset, "profile", None)
        if profile is not None and library is not None:
            family = "renewables" if asset.kind == "pv" else "load"
            if profile not in library.names(family):
                names = library.names(family)
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                problems.append(
                    Problem(file, f"assets.{i}.profile", f"unknown {family} profile "
                            f"'{profile}'; expected one of {shown}")
                )
    from twin.faults import check_grid_elements

    problems.extend(check_grid_elements(scenario.faults, net, file))
    return problems


def raise_if(problems: list[Problem]) -> None:
    """Raise :class:`ScenarioError` holding ``problems`` when there are any."""
    if problems:
        raise ScenarioError(problems)
