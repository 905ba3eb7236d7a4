"""What-if sweeps: a base scenario, the fields that vary, the checks that gate on KPIs.

A sweep file names a base scenario, fixed overrides (``set``), the fields that vary
(``vary.grid``: a Cartesian product; ``vary.zip``: lists walked in step) and optional
KPI ``checks``, absolute or relative to a named ``baselines`` run of the same sweep.
:func:`load_sweep` validates the file and expands it into :class:`PlannedRun` s, each a
fully resolved scenario with its run id (``<name>-<hash10>-s<seed>``, the results-store
contract), so nothing starts unless every run is valid. :func:`run_sweep` runs the runs
that are not yet complete in the store, on local worker processes
(:class:`LocalExecutor`) or on a Dask cluster (:class:`DaskExecutor`), and records the
sweep in a sweep directory (``sweep.json`` and ``outcomes.jsonl``) that
:mod:`twin.report` and :mod:`twin.gates` read.

Sweep file
----------
.. code-block:: yaml

    name: battery_size                # used for the default sweep directory
    scenario: ../ci_small.yaml        # base scenario, relative to this file
    set: {time.duration: 6h}          # fixed overrides for every run (optional)
    vary:
      grid:                           # product: 2 x 3 = 6 combinations
        control.mode: ["off", self_consumption]
        seed: [0, 1, 2]
      zip:                            # walked in step (one group, or a list of groups)
        assets.bat1.capacity_kwh: [10, 20]
        assets.bat1.power_kw: [5, 10]
    baselines:
      uncontrolled: {control.mode: "off"}
    checks:
      - kpi: max_line_loading_percent
        max: 100
      - kpi: energy_import_mwh
        relative_to: uncontrolled     # each run against its baseline run (same seed...)
        compare: ratio                # or difference
        max: 1.0

Field paths are dotted, as in :func:`twin.scenario.apply_overrides`; a list item is
addressed by index or by its ``name`` (``assets.bat1.power_kw``), ``seed`` is a field
like any other.

Public names: :class:`SweepSpec`, :class:`CheckSpec`, :class:`PlannedRun`,
:class:`Sweep`, :class:`RunOutcome`, :class:`SweepInputError`, :func:`load_sweep`,
:func:`expand`, :func:`run_id_for`, :func:`is_complete`, :func:`run_sweep`,
:class:`LocalExecutor`, :class:`DaskExecutor`, :func:`connect_dask`,
:func:`read_sweep_dir`, :func:`latest_outcomes`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from twin.errors import Problem, ScenarioError, TwinError
from twin.limits import check_sweep_size, load_yaml_mapping
from twin.results import pid_alive
from twin.scenario import (
    NAME_PATTERN,
    Scenario,
    apply_overrides,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
)

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

SWEEP_JSON = "sweep.json"
"""File in a sweep directory that records the expanded sweep."""
OUTCOMES_JSONL = "outcomes.jsonl"
"""File in a sweep directory with one line per finished, skipped or failed run."""

Scalar = str | int | float | bool | None


class SweepInputError(TwinError):
    """A sweep file or sweep option is invalid; nothing was started.

    ``str(error)`` gives one line per problem (file, field path, what is expected), which
    the CLI prints before exiting with code 2.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, path: str, message: str) -> SweepInputError:
        """Build an error holding one problem."""
        return cls([Problem(file, path, message)])


# ----------------------------------------------------------------------- the sweep file


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VarySpec(_Spec):
    """What varies: a grid product and zipped groups, over dotted field paths."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Field path -> list of values; every combination is one run "
        "(Cartesian product, first path outermost).",
    )
    zip: dict[str, list[Any]] | list[dict[str, list[Any]]] = Field(
        default_factory=list,
        description="One group (field path -> list) or a list of groups; the lists of a "
        "group have equal length and are walked in step; groups combine with the grid "
        "as a product.",
    )

    def zip_groups(self) -> list[dict[str, list[Any]]]:
        """The zipped groups as a list (a single mapping is one group)."""
        if isinstance(self.zip, dict):
            return [self.zip] if self.zip else []
        return list(self.zip)


class CheckSpec(_Spec):
    """One KPI gate, absolute or relative to a named baseline run."""

    name: str | None = Field(None, description="Name shown in reports and JUnit XML.")
    kpi: str = Field(description="KPI name as in kpis.json, e.g. 'max_line_loading_percent'.")
    min: float | None = Field(None, description="Lowest allowed value (or ratio/difference).")
    max: float | None = Field(None, description="Highest allowed value (or ratio/difference).")
    relative_to: str | None = Field(
        None,
        description="Name of a baseline (see 'baselines'): each run is compared with its "
        "baseline run, the run that differs from it only in the baseline's fields.",
    )
    compare: Literal["ratio", "difference"] = Field(
        "ratio", description="With relative_to: value / baseline or value - baseline."
    )
    aggregate: Literal["each", "mean", "min", "max"] = Field(
        "each",
        description="'each': every run must pass; otherwise the mean/min/max over the "
        "runs the check selects must.",
    )
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="Field path -> value (or list of values): the check applies to "
        "runs whose varied fields match.",
    )

    @model_validator(mode="after")
    def _need_bound(self) -> CheckSpec:
        if self.min is None and self.max is None:
            raise ValueError(f"check on '{self.kpi}' has neither 'min' nor 'max'")
        return self

    def label(self, index: int) -> str:
        """The check's display name (its ``name`` or one built from its fields)."""
        if self.name:
            return self.name
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        what = self.kpi
        if self.relative_to:
            what = f"{self.kpi} {self.compare} to {self.relative_to}"
        if self.aggregate != "each":
            what = f"{self.aggregate} {what}"
        return f"check {index}: {what} {' and '.join(bounds)}"


class SweepSpec(_Spec):
    """A sweep file, as written (see the module docstring)."""

    name: str = Field(pattern=NAME_PATTERN, description="Short name of the sweep.")
    description: str = Field("", description="What the sweep studies.")
    scenario: str = Field(description="Base scenario file, relative to the sweep file.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Field path -> value applied to every run."
    )
    vary: VarySpec = Field(description="The fields that vary.")
    baselines: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Baseline name -> {varied field path: value}: the run a relative "
        "check compares with, per combination of the other varied fields.",
    )
    checks: list[CheckSpec] = Field(default_factory=list, description="KPI gates.")



# ----------------------------------------------------------------------- planned runs


def run_id_for(scenario: Scenario, seed: int | None = None) -> str:
    """Run id of a resolved scenario and seed: ``<name>-<hash[:10]>-s<seed>``.

    Parameters
    ----------
    scenario : Scenario
        The resolved scenario.
    seed : int, optional
        The seed; defaults to ``scenario.seed``.
    """
    seed = scenario.seed if seed is None else seed
    return f"{scenario.name}-{scenario_hash(scenario)[:10]}-s{seed}"


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
    >>> s = scenario_from_dict({"name": "x", "grid": {"code": "1-LV-rural1--0-sw"}})
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


def known_kpis() -> frozenset[str] | None:
    """KPI names the twin declares statically (``twin.metrics``), or None.

    Not every KPI is static (comms KPIs depend on the patterns a scenario uses), so this
    list alone never refuses a check: :func:`preflight` adds what real runs report.
    """
    try:
        from twin import metrics  # optional until the spine lands
    except ImportError:
        return None
    for attr in ("KPI_DESCRIPTIONS", "KPI_NAMES", "KPIS", "KPI_DEFINITIONS"):
        names = getattr(metrics, attr, None)
        if names:
            return frozenset(names)
    func = getattr(metrics, "kpi_names", None)
    if callable(func):
        return frozenset(func())
    return None


def _validate_baselines_and_checks(
    spec: SweepSpec,
    label: str,
    runs: Sequence[PlannedRun],
    axes: list[list[tuple[str, list[Any]]]],
    kpis: frozenset[str] | None,
) -> None:
    problems: list[Problem] = []
    varied = {path: values for axis in axes for path, values in axis}
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
    for i, check in enumerate(spec.checks):
        where = f"checks.{i}"
        if kpis is not None and check.kpi not in kpis:
            problems.append(
                Problem(
                    label,
                    f"{where}.kpi",
                    f"unknown KPI '{check.kpi}'; expected one of: {', '.join(sorted(kpis))}",
                )
            )
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
    if problems:
        raise SweepInputError(problems)
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
        :func:`preflight` (which runs a few one-step runs) or against finished runs.

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
        run_id = run_id_for(scenario)
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


def _preflight_runs(sweep: Sweep, limit: int) -> list[PlannedRun]:
    """A few runs that together cover every value of every varied field (greedy)."""
    chosen: list[PlannedRun] = []
    uncovered = {
        (path, _fmt({path: value}))
        for run in sweep.runs
        for path, value in run.params.items()
        if path != "seed"
    }
    for run in sweep.runs:
        if len(chosen) >= limit:
            break
        keys = {(p, _fmt({p: v})) for p, v in run.params.items() if p != "seed"}
        if not chosen or keys & uncovered:
            chosen.append(run)
            uncovered -= keys
    return chosen


def preflight(sweep: Sweep, *, limit: int = 12) -> frozenset[str]:
    """Build and run a few runs of the sweep for one step each, in a temporary store.

    This is how a sweep refuses bad input before anything starts: semantic problems the
    schema cannot see (a bus the network lacks, an unknown profile or solver) and checks
    on KPIs no run reports. The runs chosen cover every value of every varied field
    (at most ``limit`` runs).

    Parameters
    ----------
    sweep : Sweep
        From :func:`load_sweep`.
    limit : int
        Most runs to try.

    Returns
    -------
    frozenset of str
        KPI names the runs report, plus those the twin declares.

    Raises
    ------
    SweepInputError
        For a run that cannot be built, or a check on a KPI no run reports.
    """
    import twin  # heavy

    names: set[str] = set(known_kpis() or ())
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="twin-preflight-") as tmp:
        for run in _preflight_runs(sweep, limit):
            scenario = scenario_from_dict(run.scenario, run.source)
            step = scenario.time.step
            try:
                short = apply_overrides(scenario, {"time.duration": step})
            except ScenarioError:
                short = None  # the scenario needs its horizon; check it as is below
            try:
                if short is None:
                    from twin.engine import build

                    build(scenario, seed=run.seed)
                    continue
                result = twin.run(short, store=tmp, seed=run.seed)
            except ScenarioError as exc:
                for p in exc.problems:
                    problems.append(
                        Problem(sweep.file, p.path or "scenario",
                                f"run {run.index} ({run.label()}): {p.message}")
                    )
                continue
            except Exception as exc:  # reported as bad input
                problems.append(
                    Problem(sweep.file, "scenario",
                            f"run {run.index} ({run.label()}) cannot run: "
                            f"{type(exc).__name__}: {exc}")
                )
                continue
            names.update(result.kpis)
    if problems:
        raise SweepInputError(problems)
    unknown = [
        Problem(
            sweep.file,
            f"checks.{i}.kpi",
            f"unknown KPI '{check.kpi}'; expected one of: {', '.join(sorted(names))}",
        )
        for i, check in enumerate(sweep.spec.checks)
        if check.kpi not in names
    ]
    if unknown:
        raise SweepInputError(unknown)
    return frozenset(names)


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


# ------------------------------------------------------------------------ the store


def is_complete(store: str | Path, run: PlannedRun) -> bool:
    """True when the store holds this run, finished (its manifest and KPIs are there).

    Raises
    ------
    SweepInputError
        When the folder holds a different scenario or seed than the run id promises
        (a hash collision or a hand-edited store): the sweep refuses to overwrite it.
    """
    folder = Path(store) / run.run_id
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file() or not (folder / "kpis.json").is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if manifest.get("scenario_hash") not in (None, run.scenario_hash) or manifest.get(
        "seed"
    ) not in (None, run.seed):
        raise SweepInputError.single(
            str(manifest_path),
            "scenario_hash",
            "run folder holds another scenario or seed than its id says; move it away",
        )
    return True


def _clean_stale_tmp(store: Path, run_ids: set[str]) -> list[Path]:
    """Remove ``.tmp-<run_id>-<pid>`` folders of this sweep's runs whose writer is gone."""
    removed = []
    if not store.is_dir():
        return removed
    for entry in store.iterdir():
        if not entry.name.startswith(".tmp-") or not entry.is_dir():
            continue
        stem, _, pid_text = entry.name[len(".tmp-") :].rpartition("-")
        if stem not in run_ids or not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


# ------------------------------------------------------------------------ executing


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run of a sweep.

    Attributes
    ----------
    run_id : str
        The run.
    index : int
        Its position in the sweep.
    status : {"done", "skipped", "failed", "cancelled"}
        ``skipped``: already complete in the store before this sweep started.
    wall_time_s : float
        Time the run took on its worker (0 when skipped). [s]
    error : str or None
        For a failed run: what went wrong (exception, or the worker's exit code).
    worker : str
        Where it ran (``pid:<n>`` or a Dask worker address).
    """

    run_id: str
    index: int
    status: Literal["done", "skipped", "failed", "cancelled"]
    wall_time_s: float = 0.0
    error: str | None = None
    worker: str = ""


def _execute(
    run: PlannedRun, store: str, cancel: Callable[[], bool] | None
) -> RunOutcome:
    """Run one planned run in this process; never raises."""
    import twin  # heavy: imported where the run happens
    from twin.errors import RunCancelledError

    start = time.perf_counter()
    worker = f"pid:{os.getpid()}"
    try:
        scenario = scenario_from_dict(run.scenario, run.source)
        result = twin.run(scenario, store=store, seed=run.seed, cancel=cancel)
    except RunCancelledError:
        return RunOutcome(run.run_id, run.index, "cancelled", time.perf_counter() - start,
                          None, worker)
    except BaseException as exc:  # a run's failure is reported, not raised
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            return RunOutcome(run.run_id, run.index, "cancelled",
                              time.perf_counter() - start, None, worker)
        message = f"{type(exc).__name__}: {exc}"
        logger.debug("run %s failed:\n%s", run.run_id, traceback.format_exc())
        return RunOutcome(run.run_id, run.index, "failed", time.perf_counter() - start,
                          message, worker)
    elapsed = time.perf_counter() - start
    if result.run_id != run.run_id:
        return RunOutcome(
            run.run_id, run.index, "failed", elapsed,
            f"twin.run wrote run id {result.run_id}, the sweep expected {run.run_id}",
            worker,
        )
    return RunOutcome(run.run_id, run.index, "done", elapsed, None, worker)


class Executor:
    """Runs planned runs somewhere and reports each outcome as it arrives."""

    description = "executor"

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        """Run ``runs`` into ``store``; call ``on_outcome`` once per run (any order)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the executor's resources."""


# ---- local worker processes


def _worker_main(conn: Any, cancel_event: Any, sweep_pid: int, store: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep process decides on Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    checked = [0.0, False]

    def cancel() -> bool:
        if cancel_event.is_set():
            return True
        now = time.monotonic()
        if now - checked[0] > 0.5:  # the sweep process gone (kill -9): stop, write nothing
            checked[0], checked[1] = now, not pid_alive(sweep_pid)
        return bool(checked[1])

    while True:
        try:
            run = conn.recv()
        except (EOFError, OSError):
            return
        if run is None:
            return
        outcome = _execute(run, store, cancel)
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return


@dataclass
class _WorkerState:
    process: Any
    conn: Any
    run: PlannedRun | None = None
    started: float = 0.0


_PRELOAD = [
    "twin", "twin.engine", "twin.sweep", "pandapower", "lightsim2grid", "simbench", "highspy",
]
"""Modules the fork server imports once, so that every worker starts with them (imports
only: no solver has run there, so no thread pool is inherited). Missing ones are skipped."""


class LocalExecutor(Executor):
    """Worker processes on this machine, one run at a time each.

    A worker that dies (a crash, ``kill -9``, out of memory) loses only the run it held:
    that run is reported as failed with the exit code and a fresh worker takes its
    place. Workers stop by themselves (their run cancelled, nothing written) when the
    sweep process goes away.

    Parameters
    ----------
    workers : int
        Number of worker processes (at least 1).
    start_method : str, optional
        ``multiprocessing`` start method. Default ``forkserver`` on Linux: workers fork
        from a clean server process that has imported the twin once (a plain ``fork`` of
        the sweep process would inherit solver thread pools the preflight started, which
        hang in the child); ``spawn`` elsewhere.
    """

    def __init__(self, workers: int = 1, start_method: str | None = None) -> None:
        if workers < 1:
            raise SweepInputError.single("--workers", "", f"{workers}; expected at least 1")
        self.workers = workers
        if start_method is None:
            start_method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)
        self._workers: list[_WorkerState] = []
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"

    def running(self) -> dict[str, tuple[int, float]]:
        """Run id -> (worker pid, seconds since it started) of the runs in progress."""
        now = time.monotonic()
        return {
            w.run.run_id: (w.process.pid, now - w.started)
            for w in list(self._workers)
            if w.run is not None
        }

    def _start(self, cancel_event: Any, store: Path) -> _WorkerState:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, cancel_event, os.getpid(), str(store)),
            daemon=True,
            name="twin-sweep-worker",
        )
        process.start()
        child.close()
        return _WorkerState(process, parent)

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        from multiprocessing.connection import wait

        cancel_event = self._ctx.Event()
        pending = deque(runs)
        workers = self._workers = [
            self._start(cancel_event, store) for _ in range(min(self.workers, len(runs)))
        ]
        try:
            while True:
                if stop.is_set():
                    cancel_event.set()
                    for run in pending:
                        on_outcome(RunOutcome(run.run_id, run.index, "cancelled"))
                    pending.clear()
                for i, worker in enumerate(workers):
                    if worker.run is None and pending and not worker.process.is_alive():
                        worker.conn.close()
                        workers[i] = worker = self._start(cancel_event, store)
                    if worker.run is None and pending:
                        worker.run = pending.popleft()
                        worker.started = time.monotonic()
                        worker.conn.send(worker.run)
                busy = [w for w in workers if w.run is not None]
                if not busy:
                    break
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5
                )
                for i, worker in enumerate(workers):
                    if worker.run is None:
                        continue
                    if worker.conn in ready or worker.process.sentinel in ready:
                        outcome = self._collect(worker)
                        if outcome is None:
                            continue
                        on_outcome(outcome)
                        if not worker.process.is_alive():
                            worker.conn.close()
                            workers[i] = self._start(cancel_event, store)
        except BaseException:
            cancel_event.set()  # interrupted: running runs stop, nothing partial is kept
            raise
        finally:
            self._shutdown(workers, cancel_event)

    @staticmethod
    def _collect(worker: _WorkerState) -> RunOutcome | None:
        run = worker.run
        assert run is not None
        try:
            if worker.conn.poll():
                outcome = worker.conn.recv()
                worker.run = None
                return outcome
        except (EOFError, OSError):
            pass
        if worker.process.is_alive():
            return None
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        worker.run = None
        return RunOutcome(
            run.run_id, run.index, "failed", 0.0,
            f"worker process {worker.process.pid} died ({why}) during this run",
            f"pid:{worker.process.pid}",
        )

    @staticmethod
    def _shutdown(workers: list[_WorkerState], cancel_event: Any) -> None:
        for worker in workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                cancel_event.set()
                worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=2)
            with contextlib.suppress(OSError):
                worker.conn.close()


# ---- Dask


def connect_dask(
    scheduler: str | None = None, workers: int = 2, timeout_s: float = 10.0
) -> tuple[Client, Any]:
    """A Dask client: to ``scheduler`` (``tcp://HOST:PORT``) or to a new LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler; None starts a LocalCluster.
    workers : int
        Worker processes of the LocalCluster (one thread each).
    timeout_s : float
        How long to try to reach the scheduler. [s]

    Returns
    -------
    (Client, LocalCluster or None)

    Raises
    ------
    SweepInputError
        When the scheduler cannot be reached (nothing is started then).
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepInputError.single(
            "--dask", "", "dask[distributed] is not installed; pip install 'gridtwin[dask]'"
        ) from None
    if scheduler is None:
        # Workers start from a fork server (a clean process), not by forking this one:
        # solver thread pools the preflight started here would hang in a forked child.
        # A run that kills its worker fails once; it is not retried on every worker.
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        settings = {
            "distributed.worker.multiprocessing-method": method,
            "distributed.scheduler.allowed-failures": 0,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
        return Client(cluster), cluster
    if "://" not in scheduler:
        raise SweepInputError.single(
            "--scheduler", "", f"'{scheduler}' is not an address; expected tcp://HOST:PORT"
        )
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepInputError.single(
            "--scheduler",
            "",
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); expected a running "
            "scheduler (dask scheduler) at tcp://HOST:PORT",
        ) from None
    return client, None


def _pack_dir(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


def _unpack_run(store: Path, run_id: str, payload: bytes) -> None:
    """Write a shipped run folder into the store atomically (complete or absent)."""
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".tmp-{run_id}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as tar:
            tar.extractall(tmp, filter="data")
        target = store / run_id
        if target.exists():
            return
        (tmp / run_id).rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _dask_task(run: PlannedRun, cancel_name: str) -> tuple[RunOutcome, bytes | None]:
    """Run on a Dask worker into a private store; ship the finished run folder back."""
    from distributed import Event, get_worker

    event = Event(cancel_name)
    last = [0.0, False]

    def cancel() -> bool:
        now = time.monotonic()
        if now - last[0] > 0.5:
            last[0] = now
            with contextlib.suppress(Exception):
                last[1] = bool(event.is_set())
        return bool(last[1])

    with tempfile.TemporaryDirectory(prefix="twin-sweep-") as tmp:
        outcome = _execute(run, tmp, cancel)
        try:
            worker = get_worker().address
        except ValueError:
            worker = outcome.worker
        outcome = RunOutcome(**{**asdict(outcome), "worker": worker})
        payload = _pack_dir(Path(tmp) / run.run_id) if outcome.status == "done" else None
    return outcome, payload


class DaskExecutor(Executor):
    """Runs on a Dask cluster; each finished run is shipped back and written here.

    Workers run into a private temporary store and return the run folder, which the
    sweep writes into its own store atomically, so workers need no shared filesystem
    (they need the same GridTwin installation).

    Parameters
    ----------
    client : distributed.Client
        A connected client (see :func:`connect_dask`).
    cluster : distributed.LocalCluster, optional
        Closed with the executor when given.
    """

    def __init__(self, client: Client, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster
        n = len(client.scheduler_info().get("workers", {}))
        where = "LocalCluster" if cluster is not None else client.scheduler.address
        self.description = f"Dask ({where}, {n} workers)"

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        from distributed import Event, as_completed

        cancel_name = f"twin-sweep-cancel-{os.getpid()}-{time.time_ns()}"
        event = Event(cancel_name, client=self.client)
        futures = {
            self.client.submit(
                _dask_task, run, cancel_name, key=f"twin-run-{run.run_id}", pure=False
            ): run
            for run in runs
        }
        done: set[str] = set()
        iterator = as_completed(list(futures), with_results=False)
        try:
            for future in iterator:
                run = futures[future]
                if stop.is_set():
                    break
                try:
                    outcome, payload = future.result()
                except Exception as exc:  # a lost worker fails one run
                    outcome, payload = RunOutcome(
                        run.run_id, run.index, "failed", 0.0,
                        f"{type(exc).__name__}: {exc}", "",
                    ), None
                if payload is not None:
                    try:
                        _unpack_run(store, run.run_id, payload)
                    except (OSError, tarfile.TarError) as exc:
                        outcome = RunOutcome(
                            run.run_id, run.index, "failed", outcome.wall_time_s,
                            f"could not write the shipped run: {exc}", outcome.worker,
                        )
                done.add(run.run_id)
                on_outcome(outcome)
        finally:
            if len(done) < len(futures):
                event.set()
                self.client.cancel([f for f, r in futures.items() if r.run_id not in done])
                for run in futures.values():
                    if run.run_id not in done:
                        on_outcome(RunOutcome(run.run_id, run.index, "cancelled"))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


# ------------------------------------------------------------------------ the sweep dir


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def sweep_record(sweep: Sweep, store: Path, sweep_dir: Path) -> dict[str, Any]:
    """The JSON record of a sweep that ``sweep.json`` holds."""
    try:
        store_ref = os.path.relpath(store.resolve(), sweep_dir.resolve())
    except ValueError:
        store_ref = str(store.resolve())
    return {
        "format": 1,
        "name": sweep.spec.name,
        "description": sweep.spec.description,
        "sweep_file": str(Path(sweep.file).resolve()),
        "scenario_file": str((Path(sweep.file).parent / sweep.spec.scenario).resolve()),
        "store": store_ref,
        "axes": [list(a) for a in sweep.axes],
        "spec": sweep.spec.model_dump(mode="json"),
        "runs": [
            {
                "index": r.index,
                "run_id": r.run_id,
                "params": r.params,
                "scenario_hash": r.scenario_hash,
                "seed": r.seed,
            }
            for r in sweep.runs
        ],
    }


@dataclass(frozen=True)
class SweepDir:
    """A sweep directory read back: the sweep, its store and its runs' outcomes.

    Attributes
    ----------
    path : pathlib.Path
        The sweep directory.
    record : dict
        Contents of ``sweep.json``.
    store : pathlib.Path
        The results store its runs are in.
    runs : tuple of PlannedRun
        The planned runs (without their resolved scenarios).
    spec : SweepSpec
        The sweep as written.
    """

    path: Path
    record: dict[str, Any]
    store: Path
    runs: tuple[PlannedRun, ...]
    spec: SweepSpec

    @property
    def axes(self) -> list[list[str]]:
        """Varied field paths grouped by axis."""
        return [list(a) for a in self.record["axes"]]


def read_sweep_dir(path: str | Path) -> SweepDir:
    """Read a sweep directory written by :func:`run_sweep`.

    Raises
    ------
    SweepInputError
        When it is not a sweep directory.
    """
    folder = Path(path)
    record_path = folder / SWEEP_JSON
    if not record_path.is_file():
        raise SweepInputError.single(
            str(folder), "", f"no {SWEEP_JSON}; expected a directory written by 'twin sweep'"
        )
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        spec = SweepSpec.model_validate(record["spec"])
        runs = tuple(
            PlannedRun(
                index=r["index"],
                params=r["params"],
                run_id=r["run_id"],
                scenario_hash=r["scenario_hash"],
                seed=r["seed"],
                scenario={},
            )
            for r in record["runs"]
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise SweepInputError.single(
            str(record_path), "", f"is not a valid sweep record ({exc})"
        ) from None
    store = Path(record["store"])
    if not store.is_absolute():
        store = (folder / store).resolve()
    return SweepDir(folder, record, store, runs, spec)


def latest_outcomes(sweep_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Run id -> the latest recorded outcome (from ``outcomes.jsonl``)."""
    result: dict[str, dict[str, Any]] = {}
    path = Path(sweep_dir) / OUTCOMES_JSONL
    if not path.is_file():
        return result
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if isinstance(item, dict) and "run_id" in item:
            result[item["run_id"]] = item
    return result


@dataclass(frozen=True)
class SweepReport:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    sweep_dir : pathlib.Path
        Where the sweep is recorded.
    outcomes : tuple of RunOutcome
        One per run, in the order they finished (skipped ones first).
    wall_time_s : float
        Time of the whole sweep. [s]
    """

    sweep_dir: Path
    outcomes: tuple[RunOutcome, ...]
    wall_time_s: float

    def count(self, status: str) -> int:
        """Number of runs with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when every run is complete (done now or before)."""
        return all(o.status in ("done", "skipped") for o in self.outcomes)


def run_sweep(
    sweep: Sweep,
    *,
    store: str | Path = "runs",
    sweep_dir: str | Path | None = None,
    executor: Executor | None = None,
    on_outcome: Callable[[RunOutcome], None] | None = None,
    stop: threading.Event | None = None,
) -> SweepReport:
    """Run the runs of a sweep that the store does not hold yet, and record the sweep.

    Parameters
    ----------
    sweep : Sweep
        From :func:`load_sweep`.
    store : str or pathlib.Path
        The results store.
    sweep_dir : str or pathlib.Path, optional
        Where to record the sweep; default ``sweeps/<name>``.
    executor : Executor, optional
        Where runs execute; default one :class:`LocalExecutor` worker.
    on_outcome : callable, optional
        Called with each :class:`RunOutcome` as it arrives (skipped runs first).
    stop : threading.Event, optional
        Set it to stop: no new run starts, running ones are cancelled (nothing partial
        is written), finished ones stay.

    Returns
    -------
    SweepReport
    """
    started = time.perf_counter()
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    folder = Path(sweep_dir) if sweep_dir is not None else Path("sweeps") / sweep.spec.name
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / SWEEP_JSON, json.dumps(sweep_record(sweep, store, folder), indent=1))
    with contextlib.suppress(OSError):
        shutil.copyfile(sweep.file, folder / "sweep.yaml")
    removed = _clean_stale_tmp(store, {r.run_id for r in sweep.runs})
    if removed:
        logger.info("removed %d partial run folder(s) left by an interrupted sweep", len(removed))

    outcomes: list[RunOutcome] = []
    log = (folder / OUTCOMES_JSONL).open("a", encoding="utf-8")
    lock = threading.Lock()

    def record(outcome: RunOutcome) -> None:
        with lock:
            outcomes.append(outcome)
            item = asdict(outcome)
            item["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            log.write(json.dumps(item) + "\n")
            log.flush()
        if outcome.status == "failed":
            logger.warning("run %s failed: %s", outcome.run_id, outcome.error)
        if on_outcome is not None:
            on_outcome(outcome)

    todo = []
    for run in sweep.runs:
        if is_complete(store, run):
            record(RunOutcome(run.run_id, run.index, "skipped"))
        else:
            todo.append(run)
    own_executor = executor is None
    executor = executor or LocalExecutor(1)
    try:
        if todo:
            logger.info("running %d of %d runs on %s", len(todo), len(sweep.runs),
                        executor.description)
            executor.execute(todo, store, record, stop or threading.Event())
    finally:
        log.close()
        if own_executor:
            executor.close()
    return SweepReport(folder, tuple(outcomes), time.perf_counter() - started)
