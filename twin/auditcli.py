"""``twin audit`` and ``twin quality``: a finished run's decisions and the quality it lost.

Lives with the CLI (it opens run folders and prints tables), not in ``twin.comms``: it
reads only the run folder (``events.parquet``, ``manifest.json``).

``twin audit RUN`` lists, from the run's ``events.parquet``, every solver call the
controller made (its task, call id, solver used or fallback, route, status, why it fell
back) and every control reaction (a failed plan, a substituted measurement, ...), each
with the run id, and filters them. ``twin quality RUN --baseline BASE`` measures the
solution quality a run lost against the same scenario run without its faults.

Public names
------------
audit_rows
    The audit rows of a run, filtered.
call_objectives
    Per-call rows (matching key, objective) of a run, for :func:`quality_lost`.
baseline_mismatches
    Why a baseline run is not the same scenario (grid, start, horizon, step, seed).
audit_command, quality_command
    The ``twin audit`` and ``twin quality`` commands.
register
    Adds both commands to the ``twin`` CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from twin.tables import clock_time, format_number, plural, print_table

__all__ = [
    "audit_command",
    "audit_rows",
    "baseline_mismatches",
    "call_objectives",
    "quality_command",
    "register",
]

COLUMNS = ("time_s", "kind", "task", "call_id", "solver", "route", "status", "detail",
           "run_id")


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            return dict(json.loads(value))
        except (ValueError, TypeError):
            return {}
    return dict(value or {})


def audit_rows(
    events: Any,
    run_id: str,
    *,
    task: str | None = None,
    solver: str | None = None,
    route: str | None = None,
    fell_back: bool = False,
) -> list[dict[str, Any]]:
    """Provenance rows of a run's decisions.

    Parameters
    ----------
    events
        The run's events frame (columns ``time_s, category, kind, entity, message,
        data``).
    run_id
        The run's id (put on every row).
    task, solver, route
        Keep only rows of this task, solver (used, requested or fallback) or route.
    fell_back
        Keep only calls whose requested solver did not answer.

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`, in time order.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame([{"time_s": 0.0, "category": "call", "kind": "solver_call",
    ...     "entity": "task/dispatch", "message": "m", "data": json.dumps({
    ...     "call_id": "dispatch#1", "task": "dispatch", "solver_used": "milp",
    ...     "solver_requested": "qaoa", "status": "optimal", "x_route": "local",
    ...     "fallback": "milp", "fallback_reason": "qaoa@to_qpu: timeout"})}])
    >>> [(r["call_id"], r["solver"], r["route"]) for r in audit_rows(ev, "run-1")]
    [('dispatch#1', 'milp', 'local')]
    """
    rows: list[dict[str, Any]] = []
    for record in events.sort_values("time_s", kind="stable").to_dict("records"):
        data = _data(record["data"])
        if record["category"] == "call" and record["kind"] == "solver_call":
            row = _call_row(record, data, run_id)
        elif record["category"] == "control":
            row = _control_row(record, data, run_id)
        else:
            continue
        if _kept(row, task=task, solver=solver, route=route, fell_back=fell_back):
            rows.append({k: row[k] for k in COLUMNS})
    return rows


def _call_row(record: dict[str, Any], data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The audit row of a ``solver_call`` event (with the requested and fallback solver
    under private keys, for the filters)."""
    used = data.get("solver_used") or data.get("fallback")
    return {
        "time_s": float(record["time_s"]),
        "kind": "solver_call",
        "task": data.get("task"),
        "call_id": data.get("call_id"),
        "solver": used or "none",
        "route": data.get("x_route"),
        "status": data.get("status"),
        "detail": data.get("fallback_reason") or "",
        "run_id": run_id,
        "_requested": data.get("solver_requested"),
        "_fallback": data.get("fallback"),
    }


def _control_row(record: dict[str, Any], data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The audit row of a control reaction (a failed plan, a substituted measurement)."""
    entity = str(record["entity"])
    return {
        "time_s": float(record["time_s"]),
        "kind": str(record["kind"]),
        "task": entity.split("/", 1)[1] if entity.startswith("task/") else None,
        "call_id": data.get("call_id"),
        "solver": None,
        "route": None,
        "status": data.get("status") or data.get("quality"),
        "detail": str(record["message"]),
        "run_id": run_id,
        "_requested": None,
        "_fallback": None,
    }


def _kept(row: dict[str, Any], *, task: str | None, solver: str | None, route: str | None,
          fell_back: bool) -> bool:
    """Whether ``row`` passes the filters of :func:`audit_rows`."""
    if task is not None and row["task"] != task:
        return False
    if solver is not None and solver not in (row["solver"], row["_requested"]):
        return False
    if route is not None and row["route"] != route:
        return False
    return not fell_back or (row["kind"] == "solver_call" and (
        row["_fallback"] is not None or row["solver"] == "none"))


def call_objectives(events: Any, step_s: float) -> list[dict[str, Any]]:
    """Per-call rows of a run keyed to match the same call in another run.

    The key is ``task@step#k``: the task, the grid step the call started in and its
    rank among that task's calls in that step, so calls match across runs even when
    faults changed how long earlier calls took.

    Parameters
    ----------
    events
        The run's events frame.
    step_s
        The run's grid step. [s]

    Returns
    -------
    list of dict
        ``call_id`` (the key), ``task``, ``objective`` (None without a solver answer).
    """
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], int] = {}
    mask = (events["category"] == "call") & (events["kind"] == "solver_call")
    for record in events[mask].sort_values("time_s", kind="stable").to_dict("records"):
        data = _data(record["data"])
        task = str(data.get("task"))
        step = int(float(data.get("start_s", record["time_s"])) // step_s)
        rank = seen.get((task, step), 0)
        seen[(task, step)] = rank + 1
        objective = data.get("objective")
        rows.append({"call_id": f"{task}@{step}#{rank}", "task": task,
                     "objective": None if objective is None else float(objective)})
    return rows


def baseline_mismatches(run: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why ``baseline`` (a manifest) is not the same scenario as ``run`` without faults:
    another grid, start, horizon, step or seed (one sentence each).

    Examples
    --------
    >>> a = {"scenario_name": "x", "sim_start": "2016-06-01", "n_steps": 96, "step_s": 900,
    ...      "seed": 1, "scenario": {"grid": {"code": "A"}}}
    >>> baseline_mismatches(a, {**a, "n_steps": 48})
    ['the baseline covers 48 steps, the run 96']
    """
    problems = []
    grid_a = (run.get("scenario") or {}).get("grid")
    grid_b = (baseline.get("scenario") or {}).get("grid")
    if grid_a != grid_b:
        problems.append("the baseline is on another grid than the run")
    for key, words in (("sim_start", "starts at"), ("n_steps", "covers"),
                       ("step_s", "steps every"), ("seed", "has seed")):
        if run.get(key) != baseline.get(key):
            unit = " steps" if key == "n_steps" else " s" if key == "step_s" else ""
            problems.append(f"the baseline {words} {baseline.get(key)}{unit}, the run "
                            f"{run.get(key)}")
    return problems


def register(app: Any) -> None:
    """Add ``twin audit`` and ``twin quality`` to the CLI."""
    app.command("audit")(audit_command)
    app.command("quality")(quality_command)


def _run_path(ref: str, store: Path) -> Path:
    """A run folder given as a folder or as a run id in ``store``."""
    return Path(ref) if Path(ref).is_dir() else store / ref


def audit_command(
    run: Annotated[str, typer.Argument(help="Run folder or run id.", show_default=False)],
    store: Annotated[Path, typer.Option("--store", help="Store of run ids.")] = Path("runs"),
    task: Annotated[str | None, typer.Option("--task", help="Only this task.")] = None,
    solver: Annotated[str | None, typer.Option("--solver", help="Only this solver.")] = None,
    route: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    fell_back: Annotated[bool, typer.Option("--fell-back", help="Only calls whose "
                                            "requested solver did not answer.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """List a run's decisions with their provenance (task, call, solver, route, run)."""
    from twin.errors import ResultsError
    from twin.store import open_run

    try:
        data = open_run(_run_path(run, store))
        rows = audit_rows(data.events, data.run_id, task=task, solver=solver,
                          route=route, fell_back=fell_back)
    except ResultsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, sort_keys=True))
        return
    start = data.manifest.get("sim_start")
    typer.echo(f"run {data.run_id}: {plural(len(rows), 'decision')}")
    if not rows:
        return
    print_table(
        f"decisions of {data.run_id}",
        ["time", "sim [s]", "kind", "task", "call", "solver", "route", "status",
         "detail"],
        [[clock_time(row["time_s"], start) or "-", format_number(row["time_s"]),
          row["kind"], row["task"] or "-", row["call_id"] or "-", row["solver"] or "-",
          row["route"] or "-", row["status"] or "-", row["detail"] or ""]
         for row in rows],
        right={1},
    )


def quality_command(
    run: Annotated[str, typer.Argument(help="Run with faults (folder or id).",
                                       show_default=False)],
    baseline: Annotated[str, typer.Option("--baseline", help="The same scenario run "
                                          "without the faults (folder or id).")],
    store: Annotated[Path, typer.Option("--store", help="Store of run ids.")] = Path("runs"),
    sense: Annotated[str, typer.Option("--sense", help="min or max.")] = "min",
) -> None:
    """Solution quality a run lost to faults and fallbacks, call by call, per task."""
    from twin.errors import ResultsError
    from twin.store import open_run

    try:
        runs, manifests = [], []
        for ref in (run, baseline):
            data = open_run(_run_path(ref, store))
            manifests.append(data.manifest)
            runs.append(call_objectives(data.events, float(data.manifest.get("step_s", 900))))
    except ResultsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if sense not in ("min", "max"):
        typer.echo(f"--sense: expected min or max, got {sense!r}", err=True)
        raise typer.Exit(2)
    for problem in baseline_mismatches(*manifests):
        typer.echo(f"warning: {problem}", err=True)
    print_table("solution quality lost against the baseline",
                ["task", "calls compared", "loss total [objective]",
                 "mean loss [% of baseline]", "unanswered"],
                _quality_rows(runs[0], runs[1], sense))


def _quality_rows(mine_all: list[dict[str, Any]], base_all: list[dict[str, Any]],
                  sense: str) -> list[list[str]]:
    """One table row of quality lost for all tasks, then one per task."""
    from twin.comms.kpi import quality_lost

    tasks = sorted({r["task"] for r in mine_all} | {r["task"] for r in base_all})
    table = []
    for task in [None, *tasks]:
        mine = [r for r in mine_all if task is None or r["task"] == task]
        base = [r for r in base_all if task is None or r["task"] == task]
        q = quality_lost(mine, base, sense=sense)
        frac = q["quality_loss_mean_frac"]
        table.append([task or "all tasks", format_number(q["quality_calls_compared"]),
                      format_number(q["quality_loss_total"]),
                      "-" if frac is None else f"{100 * frac:.3f}",
                      format_number(q["quality_calls_unanswered"])])
    return table
