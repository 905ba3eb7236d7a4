"""The preflight: a few runs of a sweep for one step each, before anything starts.

This is how a sweep refuses bad input that the schema cannot see (a bus the network
lacks, an unknown profile or solver) and checks on KPIs no run reports.

Public names: :func:`preflight`, :func:`known_kpis`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable

from twin.errors import Problem, ScenarioError
from twin.scenario import apply_overrides, scenario_from_dict
from twin.study.expand import PlannedRun, Sweep, unknown_kpi
from twin.study.schema import SweepInputError


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



def _preflight_runs(sweep: Sweep, limit: int) -> list[PlannedRun]:
    """A few runs that together cover every value of every varied field (greedy)."""
    chosen: list[PlannedRun] = []
    uncovered = {
        (path, f"{path}={value}")
        for run in sweep.runs
        for path, value in run.params.items()
        if path != "seed"
    }
    for run in sweep.runs:
        if len(chosen) >= limit:
            break
        keys = {(p, f"{p}={v}") for p, v in run.params.items() if p != "seed"}
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
    names: set[str] = set(known_kpis() or ())
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="twin-preflight-") as tmp:
        for run in _preflight_runs(sweep, limit):
            kpis = _try_run(sweep, run, tmp, problems)
            names.update(kpis)
    if problems:
        raise SweepInputError(problems)
    unknown = [
        Problem(
            sweep.file,
            f"checks.{i}.kpi",
            unknown_kpi(check.kpi, names),
        )
        for i, check in enumerate(sweep.spec.checks)
        if check.kpi not in names
    ]
    if unknown:
        raise SweepInputError(unknown)
    return frozenset(names)


def _try_run(sweep: Sweep, run: PlannedRun, store: str, problems: list[Problem]
             ) -> Iterable[str]:
    """Run one sweep run for one step in ``store`` (or only build it when its horizon
    cannot be shortened); return the KPI names it reports, or append why it cannot run
    to ``problems``."""
    import twin  # heavy

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
            return ()
        return twin.run(short, store=store, seed=run.seed).kpis
    except ScenarioError as exc:
        for p in exc.problems:
            problems.append(
                Problem(sweep.file, p.path or "scenario",
                        f"run {run.index} ({run.label()}): {p.message}")
            )
    except Exception as exc:  # reported as bad input
        problems.append(
            Problem(sweep.file, "scenario",
                    f"run {run.index} ({run.label()}) cannot run: "
                    f"{type(exc).__name__}: {exc}")
        )
    return ()
