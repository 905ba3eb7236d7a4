"""Semantic checks of a scenario: what the schema alone cannot see.

The pydantic schema checks types, bounds and rules inside one model. These checks look
across sections and at the network: the SimBench code exists, every asset's bus is in
the network, named profiles exist, the step fits SimBench's 15-minute profiles, a
profile source matches the grid, and the controller mode is known.

The fast checks also refuse what would only fail (or run without end) later: unknown
solver options (:func:`check_solvers`), stochastic failures expected more often than a
run can simulate (:func:`check_failure_budget`) and data files that are not regular
files or are too large (:func:`check_files`). ``twin validate`` and ``twin run`` call the
same :func:`check_scenario`, so validate refuses everything run would.

Public names: :func:`check_scenario`, :func:`check_against_network`,
:func:`profile_offset_rows`, :func:`check_solvers`, :func:`check_failure_budget`,
:func:`check_files`.
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
    problems.extend(check_failure_budget(scenario))
    problems.extend(check_solvers(scenario))
    problems.extend(check_files(scenario))
    from twin.control.loop import decision_loop_problems  # deadlines, fallbacks (#12)

    problems.extend(Problem(file, path, msg) for path, msg in decision_loop_problems(scenario))
    return problems


def check_solvers(scenario: Scenario) -> list[Problem]:
    """Unknown solvers and solver options of the EMS tasks, named by field.

    The same check the EMS would make when it starts, run by ``twin validate`` too, so
    that validate refuses every option ``twin run`` refuses (``mip_rel_gap: .inf``, an
    unknown QAOA option, a non-finite value).
    """
    if scenario.control.mode != "ems":
        return []
    from solvers import get_solver
    from solvers.registry import (
        SolverOptionError,
        SolverUnavailableError,
        UnknownSolverError,
    )

    problems: list[Problem] = []
    source = scenario.source
    for task_name in ("dispatch", "ev_assignment"):
        task = getattr(scenario.control.ems, task_name)
        pending = [("solver", task.solver, task.options)]
        if task.fallback is not None:
            pending.append(("fallback", task.fallback, {}))
        for field, name, options in pending:
            typed = _option_type_problems(name, dict(options))
            if typed:
                problems.extend(Problem(source, f"control.ems.{task_name}.options.{key}", msg)
                                for key, msg in typed)
                continue
            try:
                get_solver(name, **dict(options))
            except SolverOptionError as exc:
                where = "options" if field == "solver" else field
                problems.append(Problem(source, f"control.ems.{task_name}.{where}", str(exc)))
            except (UnknownSolverError, SolverUnavailableError) as exc:
                problems.append(Problem(source, f"control.ems.{task_name}.{field}",
                                        str(exc).strip('"')))
    problems += _check_decisions(scenario)
    return problems


_DECISION_NEEDS = {
    "unit_commitment": ("generator", "generators"),
    "ev_chargers": ("ev_fleet", "an ev_fleet"),
    "deferrable_loads": ("building", "a building with deferrable loads"),
    "battery_mode": ("battery", "batteries"),
}


def _check_decisions(scenario: Scenario) -> list[Problem]:
    """``control.ems.decisions``: solvers and options, and that every decision type has
    binaries to decide (the assets it needs are in the scenario)."""
    from solvers import get_solver
    from solvers.registry import (
        SolverOptionError,
        SolverUnavailableError,
        UnknownSolverError,
    )

    spec = scenario.control.ems.decisions
    if not spec.types:
        return []
    source = scenario.source
    where = "control.ems.decisions"
    problems: list[Problem] = []
    pending = [(f"{where}.solver", f"{where}.options", spec.solver, spec.options)]
    if spec.fallback is not None:
        pending.append((f"{where}.fallback", f"{where}.fallback", spec.fallback, {}))
    for label, entry in spec.compare.items():
        pending.append((f"{where}.compare.{label}.solver", f"{where}.compare.{label}.options",
                        entry.solver, entry.options))
    from solvers.noise import noise_model_reason

    for name_field, option_field, name, options in pending:
        typed = _option_type_problems(name, dict(options))
        if typed:
            problems.extend(Problem(source, f"{option_field}.{key}", msg) for key, msg in typed)
            continue
        noise = dict(options).get("noise")
        if name == "qaoa" and noise is not None:
            reason = noise_model_reason(str(noise))
            if reason is not None:
                problems.append(Problem(source, f"{option_field}.noise", reason))
                continue
        try:
            get_solver(name, **dict(options))
        except SolverOptionError as exc:
            problems.append(Problem(source, option_field, str(exc)))
        except (UnknownSolverError, SolverUnavailableError) as exc:
            problems.append(Problem(source, name_field, str(exc).strip('"')))
        except ValueError as exc:  # e.g. a noise model name that does not exist
            problems.append(Problem(source, option_field, str(exc)))
    kinds = {a.kind: a for a in scenario.assets}
    for i, kind in enumerate(spec.types):
        family, text = _DECISION_NEEDS[kind]
        have = family in kinds
        if kind == "deferrable_loads":
            have = any(getattr(a, "deferrable", None) for a in scenario.assets
                       if a.kind == "building")
        if not have:
            problems.append(Problem(source, f"{where}.types.{i}",
                                    f"'{kind}' has no binaries to decide: the scenario has no "
                                    f"{text}; expected one, or remove the type"))
    return problems


def _option_type_problems(solver: str, options: dict[str, Any]) -> list[tuple[str, str]]:
    """``(option, message)`` for option values of the wrong kind: a boolean where the
    solver's default is a number (``num_reads: true`` is not 1 read), a fraction where it
    is an integer, a number that is not finite, or one outside its range in
    :data:`twin.limits.SOLVER_OPTION_RANGES`."""
    import math

    from solvers.registry import registered_solvers
    from twin.limits import SOLVER_OPTION_RANGES

    info = registered_solvers().get(solver)
    if info is None:
        return []
    found = []
    for key, value in options.items():
        default = info.options.get(key)
        if isinstance(default, bool) or key not in info.options:
            continue  # a flag, or an unknown option (get_solver names it)
        if isinstance(value, bool) and (default is None or isinstance(default, int | float)):
            found.append((key, f"expected a number, not a boolean ({str(value).lower()})"))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((key, f"expected a finite number, got {value}"))
        elif isinstance(default, int) and isinstance(value, float) and value != int(value):
            found.append((key, f"expected a whole number, got {value}"))
        elif key in SOLVER_OPTION_RANGES and isinstance(value, int | float):
            low, high = SOLVER_OPTION_RANGES[key]
            if not low <= value <= high:
                found.append((key, f"expected a number from {low:g} to {high:g}, got {value:g}"))
    return found


def _stochastic_parts(scenario: Scenario) -> list[tuple[str, float, float]]:
    """``(field path, mtbf_h, mttr_h)`` of every stochastic fault and comms element."""
    parts = [(f"faults.{i}.mtbf_h", f.mtbf_h, f.mttr_h) for i, f in enumerate(scenario.faults)
             if getattr(f, "mtbf_h", None) is not None]
    comms = scenario.comms
    if comms is not None and comms.enabled:
        for group in ("links", "services"):
            for i, item in enumerate(getattr(comms, group, ())):
                if getattr(item, "mtbf_h", None) is not None:
                    parts.append((f"comms.{group}.{i}.mtbf_h", item.mtbf_h, item.mttr_h))
    return parts


def check_failure_budget(scenario: Scenario) -> list[Problem]:
    """Refuse stochastic failures expected more often than the run can simulate.

    Each stochastic element fails about ``horizon / (mtbf_h + mttr_h)`` times; when the
    sum over all of them is above :data:`twin.limits.MAX_EXPECTED_FAILURES`, the element
    that contributes most is named with the estimate.
    """
    from twin.limits import MAX_EXPECTED_FAILURES

    horizon_h = scenario.time.duration_s / 3600.0
    parts = _stochastic_parts(scenario)
    if not parts:
        return []
    expected = {path: horizon_h / (mtbf + mttr) for path, mtbf, mttr in parts}
    total = sum(expected.values())
    if total <= MAX_EXPECTED_FAILURES:
        return []
    worst = max(expected, key=lambda k: expected[k])
    return [Problem(
        scenario.source, worst,
        f"about {total:.3g} stochastic failures expected over the {scenario.time.duration} "
        f"horizon ({len(parts)} stochastic element(s); this one {expected[worst]:.3g}); "
        f"expected at most {MAX_EXPECTED_FAILURES} (a larger mtbf_h or a shorter run)",
    )]


def check_files(scenario: Scenario) -> list[Problem]:
    """Every file the run will read is a regular file of bounded size; latency traces
    are loaded (as the run loads them) so a bad one is refused here."""
    from twin.limits import MAX_DATA_FILE_BYTES, InputRefused, check_regular_file
    from twin.scenario import file_references

    problems: list[Problem] = []
    for ref in file_references(scenario):
        try:
            check_regular_file(ref.path, "data file", MAX_DATA_FILE_BYTES)
        except InputRefused as exc:
            problems.append(Problem(scenario.source, ref.field, f"{ref.given}: {exc.message}"))
    if problems or scenario.comms is None or not scenario.comms.enabled:
        return problems
    from pathlib import Path

    from twin.comms.spec import TraceLatencySpec, latency_model
    from twin.scenario import walk_models

    base_dir = Path(scenario.source).parent if scenario.source != "<scenario>" else None
    for where, spec in walk_models(scenario.comms, "comms"):
        if isinstance(spec, TraceLatencySpec):
            try:
                latency_model(spec, base_dir)
            except ValueError as exc:
                problems.append(Problem(scenario.source, f"{where}.path", str(exc)))
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
    load_assets = {a.name for a in scenario.assets if a.kind in ("ev_fleet", "building", "load")}
    for key in scenario.pcc.shed_priority:
        index = key.removeprefix("load/")
        if key.startswith("load/") and index.isdigit() and int(index) in net.load.index:
            continue
        if key not in load_assets:
            problems.append(Problem(file, f"pcc.shed_priority.{key}", "not a load: expected "
                                    "'load/<index>' of the network or the name of an EV fleet, "
                                    "building or load asset"))
    return problems


def raise_if(problems: list[Problem]) -> None:
    """Raise :class:`ScenarioError` holding ``problems`` when there are any."""
    if problems:
        raise ScenarioError(problems)
