"""Expanding a sweep: validate a sweep file and resolve every run before anything starts.

:func:`load_sweep` validates the file and expands it into :class:`PlannedRun` s, each a
fully resolved scenario with its run id (the store's rule,
:func:`twin.store.run_id_for`), so nothing starts unless every run is valid;
:func:`twin.study.preflight.preflight` then runs a few of them for one step to refuse
what the schema cannot see.
Field paths are dotted, as in :func:`twin.scenario.apply_overrides`; a list item is
addressed by index or by its ``name`` (``assets.bat1.power_kw``), ``seed`` is a field
like any other.

Public names: :class:`PlannedRun`, :class:`Sweep`, :func:`load_sweep`, :func:`expand`,
:func:`apply_overrides_probe`, :func:`unknown_kpi`, :func:`select_runs`,
:func:`baseline_run`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.errors import Problem, ScenarioError
from twin.limits import check_sweep_size, load_yaml_mapping
from twin.scenario import (
    Scenario,
    apply_overrides,
    load_scenario,
    scenario_hash,
)
from twin.store import scenario_run_id
from twin.study.schema import SweepInputError, SweepSpec

# ----------------------------------------------------------------------- planned runs


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep, resolved and identified.

    Attributes
    ----------
    index : int
        Position in the expansion (0-based).
    params : dict
        Varied field path -> value for this run.
    run_id : str
        Its folder in the results store.
    scenario_hash : str
        Hash of the resolved scenario without its seed.
    seed : int
        The run's seed.
    scenario : dict
        The resolved scenario as JSON data (what a worker validates and runs).
    source : str
        The base scenario file (for messages).
    """

    index: int
    params: dict[str, Any]
    run_id: str
    scenario_hash: str
    seed: int
    scenario: dict[str, Any] = field(repr=False)
    source: str = "<scenario>"

    def label(self) -> str:
        """The run's varied values as ``path=value, ...``."""
        return ", ".join(f"{k}={v}" for k, v in self.params.items())


@dataclass(frozen=True)
class Sweep:
    """A validated, expanded sweep.

    Attributes
    ----------
    spec : SweepSpec
        The sweep file as parsed.
    file : str
        Path of the sweep file.
    runs : tuple of PlannedRun
        Every run, in expansion order.
    axes : tuple of tuple of str
        The varied field paths grouped by axis (one path per grid axis, the paths of a
        zip group together).
    """

    spec: SweepSpec
    file: str
    runs: tuple[PlannedRun, ...]
    axes: tuple[tuple[str, ...], ...]

    @property
    def varied_paths(self) -> list[str]:
        """All varied field paths, in axis order."""
        return [p for axis in self.axes for p in axis]


def _read_sweep_yaml(path: Path) -> dict[str, Any]:
    try:  # bounded: regular file, size cap, no aliases, depth (twin.limits)
        return load_yaml_mapping(path, str(path), "sweep YAML file with 'name', "
                                 "'scenario' and 'vary'")
    except ScenarioError as exc:
        raise SweepInputError(exc.problems) from None


def _spec_problems(exc: ValidationError, label: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = (
                "unknown key; a sweep file has name, description, scenario, set, vary, "
                "baselines, checks"
            )
        elif err["type"] == "missing":
            msg = "required field is missing"
        problems.append(Problem(label, loc, msg))
    return problems


def _axes(spec: SweepSpec, label: str) -> list[list[tuple[str, list[Any]]]]:
    """Axes of the expansion; each axis is a list of (path, values) walked in step."""
    problems: list[Problem] = []
    axes: list[list[tuple[str, list[Any]]]] = []
    seen: dict[str, str] = dict.fromkeys(spec.set, "set")
    for path, values in spec.vary.grid.items():
        where = f"vary.grid.{path}"
        if not values:
            problems.append(Problem(label, where, "empty list; expected at least one value"))
        axes.append([(path, values)])
        if path in seen:
            problems.append(Problem(label, where, f"also given in {seen[path]}"))
        seen[path] = "vary.grid"
    for g, group in enumerate(spec.vary.zip_groups()):
        if not group:
            problems.append(Problem(label, f"vary.zip.{g}", "empty group"))
            continue
        lengths = {path: len(values) for path, values in group.items()}
        if len(set(lengths.values())) > 1:
            problems.append(
                Problem(
                    label,
                    "vary.zip" + (f".{g}" if isinstance(spec.vary.zip, list) else ""),
                    "zipped lists differ in length ("
                    + ", ".join(f"{p}: {n}" for p, n in lengths.items())
                    + "); expected equal lengths",
                )
            )
        for path, values in group.items():
            if not values:
                problems.append(
                    Problem(label, f"vary.zip.{path}", "empty list; expected at least one value")
                )
            if path in seen:
                problems.append(Problem(label, f"vary.zip.{path}", f"also given in {seen[path]}"))
            seen[path] = "vary.zip"
        axes.append(list(group.items()))
    if not axes and not problems:
        problems.append(
            Problem(
                label,
                "vary",
                "nothing varies; expected at least one field path under vary.grid or "
                "vary.zip (e.g. 'seed: [0, 1, 2]')",
            )
        )
    if not problems:
        names = [f"vary.grid.{p}" for p in spec.vary.grid]
        names += [f"vary.zip.{g}" for g in range(len(axes) - len(names))]
        problems = check_sweep_size(
            [(name, len(axis[0][1])) for name, axis in zip(names, axes, strict=True)], label)
    if problems:
        raise SweepInputError(problems)
    return axes


def _combinations(axes: list[list[tuple[str, list[Any]]]]) -> list[dict[str, Any]]:
    rows_per_axis = []
    for axis in axes:
        n = len(axis[0][1])
        rows_per_axis.append([{path: values[i] for path, values in axis} for i in range(n)])
    combos = []
    for parts in itertools.product(*rows_per_axis):
        params: dict[str, Any] = {}
        for part in parts:
            params.update(part)
        combos.append(params)
    return combos


def _check_paths_exist(base: Scenario, paths: Iterable[tuple[str, str]], label: str) -> None:
    """Refuse field paths that do not exist, naming where each is written."""
    problems = []
    for where, path in paths:
        try:
            # setting the current value tests that the path exists without changing it
            apply_overrides_probe(base, path)
        except ScenarioError as exc:
            for p in exc.problems:
                problems.append(Problem(label, where, p.message))
    if problems:
        raise SweepInputError(problems)


def apply_overrides_probe(scenario: Scenario, path: str) -> Any:
    """Return the current value at a dotted field path of a scenario.

    Parameters
    ----------
    scenario : Scenario
        The scenario to read.
    path : str
        Dotted field path (list items by index or ``name``).

    Raises
    ------
    ScenarioError
        When the path does not exist, naming the wrong part and what exists there.

    Examples
    --------
    >>> from twin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"name": "x", "grid": {"source": "simbench",
    ...                                              "code": "1-LV-rural1--0-sw"}})
    >>> apply_overrides_probe(s, "time.step")
    '15min'
    """
    data: Any = scenario.model_dump(mode="json")
    walked: list[str] = []
    for part in path.split("."):
        where = ".".join(walked) or "<top level>"
        if isinstance(data, dict):
            if part not in data:
                raise ScenarioError.single(
                    scenario.source,
                    path,
                    f"'{part}' does not exist at {where}; expected one of: "
                    f"{', '.join(sorted(map(str, data)))}",
                )
            data = data[part]
        elif isinstance(data, list):
            names = [item.get("name") for item in data if isinstance(item, dict)]
            if part.lstrip("-").isdigit() and -len(data) <= int(part) < len(data):
                data = data[int(part)]
            elif part in names:
                data = data[names.index(part)]
            else:
                raise ScenarioError.single(
                    scenario.source,
                    path,
                    f"'{part}' names no item at {where} ({len(data)} items); expected an "
                    f"index or one of: {', '.join(str(n) for n in names)}",
                )
        else:
            raise ScenarioError.single(
                scenario.source, path, f"{where} is a value, not a section; '{part}' cannot be set"
            )
        walked.append(part)
    return data


def unknown_kpi(name: str, known: Iterable[str]) -> str:
    """The message for a check on a KPI no run reports: the closest names first (so a
    typo is answered even when a long list is cut), then every name.

    Examples
    --------
    >>> unknown_kpi("losses_mhw", ["losses_mwh", "pv_energy_mwh"])
    "unknown KPI 'losses_mhw' (did you mean losses_mwh?); expected one of: losses_mwh, pv_energy_mwh"
    """
    import difflib

    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"unknown KPI '{name}'{hint}; expected one of: {', '.join(names)}"


def _baseline_problems(spec: SweepSpec, label: str,
                       varied: dict[str, list[Any]]) -> list[Problem]:
    """Baselines must name varied fields and values the sweep has."""
    problems: list[Problem] = []
    for name, fields in spec.baselines.items():
        if not fields:
            problems.append(Problem(label, f"baselines.{name}", "empty; expected field: value"))
        for path, value in fields.items():
            if path not in varied:
                problems.append(
                    Problem(
                        label,
                        f"baselines.{name}.{path}",
                        "is not a varied field; expected one of: " + ", ".join(varied),
                    )
                )
            elif value not in varied[path]:
                problems.append(
                    Problem(
                        label,
                        f"baselines.{name}.{path}",
                        f"{value!r} is not among the varied values {varied[path]!r}",
                    )
                )
    return problems


def _check_problems(spec: SweepSpec, label: str, varied: dict[str, list[Any]],
                    kpis: frozenset[str] | None) -> list[Problem]:
    """Checks must name known KPIs, defined baselines and varied fields and values."""
    problems: list[Problem] = []
    for i, check in enumerate(spec.checks):
        where = f"checks.{i}"
        if kpis is not None and check.kpi not in kpis:
            problems.append(Problem(label, f"{where}.kpi", unknown_kpi(check.kpi, kpis)))
        if check.relative_to is not None and check.relative_to not in spec.baselines:
            problems.append(
                Problem(
                    label,
                    f"{where}.relative_to",
                    f"no baseline named '{check.relative_to}'; expected one of: "
                    + (", ".join(spec.baselines) or "(none defined under 'baselines')"),
                )
            )
        for path, value in check.where.items():
            if path not in varied:
                problems.append(
                    Problem(
                        label,
                        f"{where}.where.{path}",
                        "is not a varied field; expected one of: " + ", ".join(varied),
                    )
                )
                continue
            wanted = value if isinstance(value, list) else [value]
            missing = [v for v in wanted if v not in varied[path]]
            if missing:
                problems.append(
                    Problem(
                        label,
                        f"{where}.where.{path}",
                        f"{missing!r} not among the varied values {varied[path]!r}",
                    )
                )
    return problems


def _baseline_run_problems(spec: SweepSpec, label: str, runs: Sequence[PlannedRun],
                           axes: list[list[tuple[str, list[Any]]]]) -> list[Problem]:
    """Every run a relative check selects must have its baseline run in the sweep."""
    problems: list[Problem] = []
    axis_paths = [tuple(p for p, _ in axis) for axis in axes]
    for i, check in enumerate(spec.checks):
        if check.relative_to is None:
            continue
        for run in select_runs(runs, check.where):
            if baseline_run(runs, run, spec.baselines[check.relative_to], axis_paths) is None:
                problems.append(
                    Problem(
                        label,
                        f"checks.{i}.relative_to",
                        f"run {run.index} ({run.label()}) has no '{check.relative_to}' "
                        "baseline run in this sweep",
                    )
                )
                break
    return problems


def _validate_baselines_and_checks(
    spec: SweepSpec,
    label: str,
    runs: Sequence[PlannedRun],
    axes: list[list[tuple[str, list[Any]]]],
    kpis: frozenset[str] | None,
) -> None:
    varied = {path: values for axis in axes for path, values in axis}
    problems = _baseline_problems(spec, label, varied) + _check_problems(
        spec, label, varied, kpis
    )
    if problems:
        raise SweepInputError(problems)
    problems = _baseline_run_problems(spec, label, runs, axes)
    if problems:
        raise SweepInputError(problems)


def select_runs(runs: Iterable[PlannedRun], where: dict[str, Any]) -> list[PlannedRun]:
    """Runs whose varied values match ``where`` (path -> value or list of values)."""
    chosen = []
    for run in runs:
        ok = True
        for path, value in where.items():
            wanted = value if isinstance(value, list) else [value]
            if run.params.get(path) not in wanted:
                ok = False
                break
        if ok:
            chosen.append(run)
    return chosen


def baseline_run(
    runs: Sequence[PlannedRun],
    run: PlannedRun,
    baseline: dict[str, Any],
    axes: Sequence[Sequence[str]],
) -> PlannedRun | None:
    """The baseline run of ``run``: it has the baseline's values and agrees with ``run``
    on every axis the baseline does not touch (a zip group counts as one axis).

    Returns None when the sweep holds no such run.
    """
    touched = set(baseline)
    free = [p for axis in axes if not touched & set(axis) for p in axis]
    for other in runs:
        if all(other.params.get(p) == v for p, v in baseline.items()) and all(
            other.params.get(p) == run.params.get(p) for p in free
        ):
            return other
    return None


def load_sweep(path: str | Path, *, kpis: frozenset[str] | None = None) -> Sweep:
    """Load, validate and expand a sweep file; nothing runs.

    Parameters
    ----------
    path : str or pathlib.Path
        The sweep YAML file.
    kpis : frozenset of str, optional
        KPI names checks may use. When not given, KPI names are checked by
        :func:`twin.study.preflight.preflight` (which runs a few one-step runs) or
        against finished runs.

    Returns
    -------
    Sweep
        The sweep with every run resolved and identified.

    Raises
    ------
    SweepInputError
        For any problem: the file, the field path and what is expected, one line each.
    """
    file = Path(path)
    label = str(path)
    data = _read_sweep_yaml(file)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SweepInputError(_spec_problems(exc, label)) from None
    return expand(spec, file, kpis=kpis)


def expand(spec: SweepSpec, file: str | Path, *, kpis: frozenset[str] | None = None) -> Sweep:
    """Expand a parsed sweep into resolved runs (see :func:`load_sweep`)."""
    label = str(file)
    axes = _axes(spec, label)
    scenario_path = Path(file).parent / spec.scenario
    try:
        base = load_scenario(scenario_path)
    except ScenarioError as exc:
        raise SweepInputError(
            [Problem(label, "scenario", f"base scenario is invalid: {p}") for p in exc.problems]
        ) from None
    locations = [(f"set.{p}", p) for p in spec.set]
    locations += [(f"vary.grid.{p}", p) for p in spec.vary.grid]
    locations += [(f"vary.zip.{p}", p) for g in spec.vary.zip_groups() for p in g]
    _check_paths_exist(base, locations, label)
    try:
        fixed = apply_overrides(base, spec.set) if spec.set else base
    except ScenarioError as exc:
        raise SweepInputError(
            [Problem(label, f"set.{p.path}", p.message) for p in exc.problems]
        ) from None
    runs: list[PlannedRun] = []
    problems: list[Problem] = []
    by_id: dict[str, int] = {}
    for index, params in enumerate(_combinations(axes)):
        try:
            scenario = apply_overrides(fixed, params)
        except ScenarioError as exc:
            for p in exc.problems:
                problems.append(
                    Problem(label, f"vary ({p.path})", f"run {index} ({_fmt(params)}): {p.message}")
                )
            continue
        run_id = scenario_run_id(scenario)
        if run_id in by_id:
            problems.append(
                Problem(
                    label,
                    "vary",
                    f"runs {by_id[run_id]} and {index} ({_fmt(params)}) resolve to the same "
                    "scenario and seed; expected distinct values",
                )
            )
            continue
        by_id[run_id] = index
        runs.append(
            PlannedRun(
                index=index,
                params=params,
                run_id=run_id,
                scenario_hash=scenario_hash(scenario),
                seed=scenario.seed,
                scenario=scenario.model_dump(mode="json"),
                source=str(scenario_path),
            )
        )
    if problems:
        raise SweepInputError(problems[:20])
    _validate_baselines_and_checks(spec, label, runs, axes, kpis)
    return Sweep(
        spec=spec,
        file=label,
        runs=tuple(runs),
        axes=tuple(tuple(p for p, _ in axis) for axis in axes),
    )


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
