"""KPI gates for CI: evaluate a sweep's checks on its finished runs, write JUnit XML.

A check (see :class:`twin.study.schema.CheckSpec`) selects runs of the sweep (``where``), takes
one KPI of each, optionally compares it with the run's baseline run (``relative_to``:
ratio or difference), optionally aggregates over the selected runs (mean, min, max),
and holds the result against ``min``/``max``. A check *fails* when a value is out of
bounds and *errors* when it cannot be evaluated (a run is missing or failed, the KPI is
null, a ratio against a zero baseline). ``twin check`` exits 1 when any check fails or
errors; a KPI no run of the sweep reports is bad input (exit 2).

Public names: :class:`CheckValue`, :class:`CheckResult`, :func:`evaluate`,
:func:`evaluate_sweep_dir`, :func:`junit_xml`.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from twin.errors import Problem
from twin.study.expand import PlannedRun, baseline_run, select_runs
from twin.study.schema import CheckSpec, SweepInputError
from twin.study.sweepdir import SweepDir, latest_outcomes, read_sweep_dir

logger = logging.getLogger(__name__)

Kpis = Mapping[str, Mapping[str, float | None]]
"""Run id -> KPI name -> value (None for a KPI a run could not compute)."""


@dataclass(frozen=True)
class CheckValue:
    """One value a check held against its bounds.

    Attributes
    ----------
    target : str
        A run id, or the aggregate's name (``mean of 6 runs``).
    label : str
        The run's varied values (empty for an aggregate).
    value : float or None
        The compared value (the KPI, its ratio/difference, or the aggregate).
    kpi_value : float or None
        The run's raw KPI value (None for an aggregate).
    baseline_value : float or None
        The baseline run's KPI value, for a relative check.
    passed : bool
        Whether ``value`` lies within the bounds.
    """

    target: str
    label: str
    value: float | None
    kpi_value: float | None = None
    baseline_value: float | None = None
    passed: bool = True


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    name : str
        Display name.
    spec : CheckSpec
        The check as written.
    status : {"passed", "failed", "error"}
    message : str
        One line: why it failed or errored, or what passed.
    values : tuple of CheckValue
        Every value it compared.
    """

    name: str
    spec: CheckSpec
    status: Literal["passed", "failed", "error"]
    message: str
    values: tuple[CheckValue, ...]

    @property
    def passed(self) -> bool:
        """True when the check passed."""
        return self.status == "passed"


def _bounds_text(spec: CheckSpec) -> str:
    parts = []
    if spec.min is not None:
        parts.append(f">= {spec.min:g}")
    if spec.max is not None:
        parts.append(f"<= {spec.max:g}")
    return " and ".join(parts)


def _within(spec: CheckSpec, value: float) -> bool:
    if spec.min is not None and value < spec.min:
        return False
    return not (spec.max is not None and value > spec.max)


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _run_value(
    spec: CheckSpec,
    run: PlannedRun,
    base: PlannedRun | None,
    kpis: Kpis,
    failures: Mapping[str, str],
) -> CheckValue | list[str]:
    """The checked value of one run (against its baseline run when given), or why it
    cannot be evaluated."""
    missing = [r for r in (run, base) if r is not None and r.run_id not in kpis]
    if missing:
        return [
            f"run {r.run_id} ({r.label()}) is not complete: "
            f"{failures.get(r.run_id, 'not run yet or interrupted')}"
            for r in missing
        ]
    value = _finite(kpis[run.run_id].get(spec.kpi))
    if value is None:
        return [f"run {run.run_id}: {spec.kpi} is null or not a finite number"]
    compared = value
    base_value = None
    if base is not None:
        base_value = _finite(kpis[base.run_id].get(spec.kpi))
        if base_value is None:
            return [f"baseline run {base.run_id}: {spec.kpi} is null"]
        if spec.compare == "ratio":
            if base_value == 0:
                return [
                    f"baseline run {base.run_id}: {spec.kpi} is 0, a ratio is undefined;"
                    " use compare: difference"
                ]
            compared = value / base_value
        else:
            compared = value - base_value
    return CheckValue(
        run.run_id, run.label(), compared, value, base_value, _within(spec, compared)
    )


def _check_values(
    spec: CheckSpec,
    runs: Sequence[PlannedRun],
    axes: Sequence[Sequence[str]],
    baselines: Mapping[str, Mapping[str, object]],
    kpis: Kpis,
    failures: Mapping[str, str],
) -> tuple[list[CheckValue], list[str]]:
    """The values of the runs a check selects, and the errors of those it cannot use."""
    selected = select_runs(runs, spec.where)
    errors: list[str] = []
    values: list[CheckValue] = []
    for run in selected:
        base = None
        if spec.relative_to is not None:
            base = baseline_run(runs, run, dict(baselines[spec.relative_to]), axes)
            if base is None:
                errors.append(f"run {run.run_id} has no '{spec.relative_to}' baseline run")
                continue
            if base.run_id == run.run_id:
                continue  # a baseline compared with itself says nothing
        outcome = _run_value(spec, run, base, kpis, failures)
        if isinstance(outcome, list):
            errors.extend(outcome)
        else:
            values.append(outcome)
    if not selected:
        errors.append("selects no run of the sweep (check 'where')")
    return values, errors


def _aggregate_result(name: str, spec: CheckSpec, values: list[CheckValue],
                      what: str) -> CheckResult:
    """The verdict of a check with ``aggregate`` mean, min or max."""
    numbers = [v.value for v in values if v.value is not None]
    agg = {"mean": sum(numbers) / len(numbers), "min": min(numbers), "max": max(numbers)}[
        spec.aggregate
    ]
    ok = _within(spec, agg)
    summary = CheckValue(f"{spec.aggregate} of {len(numbers)} runs", "", agg, passed=ok)
    message = f"{spec.aggregate} {what} = {agg:.6g}, expected {_bounds_text(spec)}"
    return CheckResult(name, spec, "passed" if ok else "failed", message, (summary, *values))


def _each_result(name: str, spec: CheckSpec, values: list[CheckValue],
                 what: str) -> CheckResult:
    """The verdict of a check every selected run must pass."""
    bad = [v for v in values if not v.passed]
    if bad:
        listed = "; ".join(f"{v.target} ({v.label}): {v.value:.6g}" for v in bad[:5])
        more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
        message = (
            f"{len(bad)} of {len(values)} runs out of bounds, expected {what} "
            f"{_bounds_text(spec)}: {listed}{more}"
        )
        return CheckResult(name, spec, "failed", message, tuple(values))
    worst = max(values, key=lambda v: v.value or 0.0) if spec.max is not None else min(
        values, key=lambda v: v.value or 0.0
    )
    message = (
        f"{len(values)} runs within bounds ({what} {_bounds_text(spec)}); "
        f"closest: {worst.value:.6g} in {worst.target}"
    )
    return CheckResult(name, spec, "passed", message, tuple(values))


def _evaluate_one(
    index: int,
    spec: CheckSpec,
    runs: Sequence[PlannedRun],
    axes: Sequence[Sequence[str]],
    baselines: Mapping[str, Mapping[str, object]],
    kpis: Kpis,
    failures: Mapping[str, str],
) -> CheckResult:
    name = spec.label(index)
    values, errors = _check_values(spec, runs, axes, baselines, kpis, failures)
    what = spec.kpi if spec.relative_to is None else f"{spec.kpi} {spec.compare} to {spec.relative_to}"
    if errors:
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return CheckResult(name, spec, "error", "; ".join(errors[:3]) + more, tuple(values))
    if not values:
        return CheckResult(name, spec, "error", "no value to check", ())
    if spec.aggregate != "each":
        return _aggregate_result(name, spec, values, what)
    return _each_result(name, spec, values, what)


def evaluate(
    checks: Sequence[CheckSpec],
    runs: Sequence[PlannedRun],
    axes: Sequence[Sequence[str]],
    baselines: Mapping[str, Mapping[str, object]],
    kpis: Kpis,
    *,
    failures: Mapping[str, str] | None = None,
    source: str = "<sweep>",
) -> list[CheckResult]:
    """Evaluate checks on the KPIs of a sweep's runs.

    Parameters
    ----------
    checks : sequence of CheckSpec
        The checks.
    runs : sequence of PlannedRun
        The sweep's runs (params and run ids are used).
    axes : sequence of sequence of str
        Varied field paths by axis (for finding baseline runs).
    baselines : mapping
        Baseline name -> {field path: value}.
    kpis : mapping
        Run id -> KPI name -> value, for the runs that are complete.
    failures : mapping, optional
        Run id -> why it is not complete (shown in errors).
    source : str
        Name of the sweep (file or directory) for messages.

    Raises
    ------
    SweepInputError
        When a check names a KPI that none of the complete runs reports.
    """
    reported = {name for values in kpis.values() for name in values}
    if kpis:
        unknown = [
            Problem(source, f"checks.{i}.kpi", f"unknown KPI '{c.kpi}'; the runs report: "
                    + ", ".join(sorted(reported)))
            for i, c in enumerate(checks)
            if c.kpi not in reported
        ]
        if unknown:
            raise SweepInputError(unknown)
    return [
        _evaluate_one(i, spec, runs, axes, baselines, kpis, failures or {})
        for i, spec in enumerate(checks)
    ]


def evaluate_sweep_dir(sweep_dir: str | Path | SweepDir) -> list[CheckResult]:
    """Evaluate the checks recorded in a sweep directory on its runs in the store."""
    from twin.store.catalogue import Catalogue

    sweep = sweep_dir if isinstance(sweep_dir, SweepDir) else read_sweep_dir(sweep_dir)
    if not sweep.spec.checks:
        return []
    with Catalogue(sweep.store) as catalogue:
        kpis = catalogue.kpis_of([r.run_id for r in sweep.runs])
    failures = {
        run_id: item.get("error") or item.get("status", "")
        for run_id, item in latest_outcomes(sweep.path).items()
        if item.get("status") in ("failed", "cancelled")
    }
    return evaluate(
        sweep.spec.checks,
        sweep.runs,
        sweep.axes,
        sweep.spec.baselines,
        kpis,
        failures=failures,
        source=str(sweep.path),
    )


def junit_xml(results: Sequence[CheckResult], suite: str) -> str:
    """JUnit XML with one test case per check (failed -> ``failure``, error -> ``error``).

    Parameters
    ----------
    results : sequence of CheckResult
        From :func:`evaluate`.
    suite : str
        Test suite name (the sweep's name).
    """
    failures = sum(1 for r in results if r.status == "failed")
    errors = sum(1 for r in results if r.status == "error")
    root = ET.Element(
        "testsuites", name="twin check", tests=str(len(results)),
        failures=str(failures), errors=str(errors),
    )
    suite_el = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(results)),
        failures=str(failures), errors=str(errors), skipped="0",
    )
    for result in results:
        case = ET.SubElement(
            suite_el, "testcase", classname=f"sweep.{suite}", name=result.name, time="0"
        )
        detail = "\n".join(
            f"{v.target}\t{v.label}\tvalue={v.value!r}\tkpi={v.kpi_value!r}"
            f"\tbaseline={v.baseline_value!r}\t{'ok' if v.passed else 'OUT OF BOUNDS'}"
            for v in result.values
        )
        if result.status == "failed":
            el = ET.SubElement(case, "failure", message=result.message, type="KpiOutOfBounds")
            el.text = detail
        elif result.status == "error":
            el = ET.SubElement(case, "error", message=result.message, type="CheckNotEvaluable")
            el.text = detail
        else:
            ET.SubElement(case, "system-out").text = result.message + "\n" + detail
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
