"""``twin`` commands for what-if studies: sweep, runs, query, report, check.

``twin/cli.py`` calls :func:`register` to add them. Exit codes: 0 success; 1 a run
failed (``sweep``) or a check failed (``check``); 2 bad input (file, field path and
what is expected, one line each; nothing started); 130 interrupted.

Public names: :func:`register`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from twin.errors import ScenarioError, TwinError
from twin.tables import plural

if TYPE_CHECKING:
    from twin.store.catalogue import QueryResult
    from twin.study import Executor, RunOutcome, Sweep, SweepReport

logger = logging.getLogger(__name__)

StoreOption = Annotated[Path, typer.Option("--store", help="Results store folder.")]


def _fail(lines: list[str] | str, code: int = 2) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


@contextmanager
def _bad_input() -> Iterator[None]:
    """Turn input errors into one line each and exit code 2."""
    from twin.store.catalogue import CatalogueError
    from twin.study import SweepInputError

    try:
        yield
    except (SweepInputError, ScenarioError) as exc:
        _fail([str(p) for p in exc.problems])
    except CatalogueError as exc:
        _fail(f"query error: {exc}")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _print_rows(result: QueryResult, fmt: str, title: str = "") -> None:
    if fmt == "json":
        typer.echo(json.dumps(result.records(), default=str, indent=1))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        typer.echo(buffer.getvalue().rstrip("\n"))
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or None)
        for name in result.columns:
            table.add_column(str(name))
        for row in result.rows:
            table.add_row(*(_fmt(v) for v in row))
        Console().print(table)
        return
    rows = [list(result.columns), *[[_fmt(v) for v in row] for row in result.rows]]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(result.columns))]
    for row in rows:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# ---------------------------------------------------------------------------- sweep


def _dry_run(sweep: Sweep, store: Path) -> None:
    from twin.study import is_complete

    paths = sweep.varied_paths
    header = ["#", "run_id", *paths, "in store"]
    rows = [
        [str(r.index), r.run_id, *(json.dumps(r.params[p]) for p in paths),
         "complete" if is_complete(store, r) else "to run"]
        for r in sweep.runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    todo = sum(1 for row in rows if row[-1] == "to run")
    typer.echo(f"{len(rows)} runs, {todo} to run, {len(rows) - todo} already complete")


def sweep_command(
    file: Annotated[Path, typer.Argument(help="Sweep YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the runs; run nothing.")] = False,
    dask: Annotated[bool, typer.Option("--dask", help="Run on a Dask LocalCluster.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on an existing Dask cluster: tcp://HOST:PORT."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Worker processes (local or LocalCluster); default: CPUs."),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", help="Seconds to reach --scheduler.")
    ] = 10.0,
    store: StoreOption = Path("runs"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Sweep directory; default sweeps/<name>.")
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Write report.html and summary.md afterwards.")
    ] = False,
) -> None:
    """Expand a sweep file and run the runs the store does not hold yet (resumable)."""
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    with _bad_input():
        sweep, executor = _prepare_sweep(file, dry_run, dask, scheduler, n_workers,
                                         connect_timeout, store)
    if sweep is None:
        return  # a dry run: listed, nothing ran
    if executor is None:
        executor = _local_executor(n_workers, len(sweep.runs))
    typer.echo(f"sweep {sweep.spec.name}: {len(sweep.runs)} runs on {executor.description}",
               err=True)
    with _bad_input():
        result = _run_with_progress(sweep, store, out, executor)
    _finish_sweep(result, report)


def _local_executor(n_workers: int, n_runs: int) -> Executor:
    from twin.study import LocalExecutor

    return LocalExecutor(min(n_workers, max(1, n_runs)))


def _prepare_sweep(
    file: Path, dry_run: bool, dask: bool, scheduler: str | None, n_workers: int,
    connect_timeout: float, store: Path,
) -> tuple[Sweep | None, Executor | None]:
    """Check the options, load and preflight the sweep, connect to Dask when asked.

    Returns (None, None) after a dry run; the executor is None for local workers.
    """
    from twin.study import (
        DaskExecutor,
        SweepInputError,
        connect_dask,
        load_sweep,
        preflight,
    )

    if dask and scheduler:
        raise SweepInputError.single("--scheduler", "", "give --dask or --scheduler, not both")
    if n_workers < 1:
        raise SweepInputError.single("--workers", "", f"{n_workers}; expected at least 1")
    sweep = load_sweep(file)
    if dry_run:
        preflight(sweep)
        _dry_run(sweep, store)
        return None, None
    executor = None
    if dask or scheduler:
        _quiet_distributed()
        client, cluster = connect_dask(scheduler, workers=n_workers, timeout_s=connect_timeout)
        executor = DaskExecutor(client, cluster)
    try:
        preflight(sweep)
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    return sweep, executor


def _run_with_progress(sweep: Sweep, store: Path, out: Path | None,
                       executor: Executor) -> SweepReport:
    """Run the sweep with a progress display; exit 130 when interrupted."""
    from twin.study import run_sweep

    stop = threading.Event()
    interrupted = False
    with _progress(len(sweep.runs)) as on_outcome:
        try:
            result = run_sweep(
                sweep, store=store, sweep_dir=out, executor=executor,
                on_outcome=on_outcome, stop=stop,
            )
        except (KeyboardInterrupt, SystemExit):
            stop.set()
            interrupted = True
        finally:
            executor.close()
    if interrupted:
        _fail("interrupted: finished runs are in the store; rerun to complete the sweep", 130)
    return result


def _finish_sweep(result: SweepReport, report: bool) -> None:
    """Print the sweep's tally and failures, write the report if asked, exit 1 on a
    failed run."""
    typer.echo(
        f"{plural(result.count('done'), 'run')}, {result.count('skipped')} already complete, "
        f"{result.count('failed')} failed, {result.count('cancelled')} cancelled "
        f"in {result.wall_time_s:.1f} s; sweep recorded in {result.sweep_dir}",
        err=True,
    )
    for outcome in result.outcomes:
        if outcome.status == "failed":
            typer.echo(f"FAILED {outcome.run_id}: {outcome.error}", err=True)
    if report:
        from twin.study.report import write_report

        html_path, md_path, _ = write_report(result.sweep_dir)
        typer.echo(f"report: {html_path}, {md_path}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def _quiet_distributed() -> None:
    """distributed logs every worker start and stop at INFO: keep its warnings only."""
    try:
        import distributed  # noqa: F401  (configures its loggers on import)
    except ImportError:
        return
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A rich progress bar on a terminal; one log line per run otherwise."""
    counts = {"n": 0}

    if not sys.stderr.isatty():

        def line(outcome: RunOutcome) -> None:
            counts["n"] += 1
            extra = f" ({outcome.wall_time_s:.2f} s)" if outcome.status == "done" else ""
            if outcome.error:
                extra += f": {outcome.error}"
            typer.echo(f"[{counts['n']}/{total}] {outcome.status} {outcome.run_id}{extra}",
                       err=True)

        yield line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task("", total=total)
        failed = {"n": 0}

        def update(outcome: RunOutcome) -> None:
            if outcome.status == "failed":
                failed["n"] += 1
                bar.console.print(f"[red]failed[/red] {outcome.run_id}: {outcome.error}")
            bar.update(task, advance=1, description=f"{failed['n']} failed" if failed["n"] else "")

        yield update


# ------------------------------------------------------------------- catalogue


def runs_command(
    store: StoreOption = Path("runs"),
    scenario: Annotated[str | None, typer.Option("--scenario", help="Only this scenario name.")] = None,
    sweep_dir: Annotated[
        Path | None, typer.Option("--sweep", help="Only the runs of this sweep directory.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option("--where", help="SQL condition on runs and KPI columns, "
                     "e.g. 'max_line_loading_percent > 80'."),
    ] = None,
    kpi: Annotated[
        list[str] | None, typer.Option("--kpi", help="KPI column to show (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most rows.")] = 100,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    damaged: Annotated[
        bool, typer.Option("--damaged", help="List the folders that are not valid runs "
                           "(left out of every query), with the reason.")
    ] = False,
) -> None:
    """List runs of the store with their KPIs; filter by scenario, sweep or SQL."""
    from twin.store.catalogue import Catalogue, QueryResult

    with _bad_input():
        if fmt not in ("table", "csv", "json"):
            _fail(f"--format: '{fmt}'; expected table, csv or json")
        sweeps = [sweep_dir] if sweep_dir else []
        with Catalogue(store, sweeps) as cat:
            if damaged:
                bad = QueryResult(("folder", "reason"), tuple(sorted(cat.damaged.items())))
                if not bad.rows and fmt == "table":
                    typer.echo(f"no damaged run folders in {store}")
                else:
                    _print_rows(bad, fmt, f"damaged run folders in {store}")
                return
            names = cat.kpi_names()
            for name in kpi or []:
                if name not in names:
                    _fail(f"--kpi: unknown KPI '{name}'; expected one of: {', '.join(names)}")
            shown = kpi or [k for k in ("energy_import_mwh", "max_line_loading_percent",
                                        "min_bus_voltage_pu") if k in names]
            cols = ", ".join(f'k."{k}"' for k in shown)
            sql = (
                "SELECT r.run_id, r.scenario_name AS scenario, r.seed, "
                "round(r.wall_time_s, 3) AS wall_time_s"
                + (f", {cols}" if cols else "")
                + " FROM runs r LEFT JOIN kpis k USING (run_id)"
            )
            conditions, params = [], []
            if scenario:
                conditions.append("r.scenario_name = ?")
                params.append(scenario)
            if sweep_dir:
                conditions.append("r.run_id IN (SELECT run_id FROM sweep_runs)")
            if where:
                conditions.append(f"({where})")
            if conditions:
                sql += " WHERE " + " AND ".join(conditions)
            sql += f" ORDER BY r.started_at DESC LIMIT {int(limit)}"
            result = cat.query(sql, params)
    if not result.rows and fmt == "table":
        typer.echo(f"no runs in {store} match")
        return
    _print_rows(result, fmt, f"runs in {store}")


def query_command(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over runs, kpis, kpis_long, "
                                       "timeseries, events, sweep_runs, params.")],
    store: StoreOption = Path("runs"),
    sweep_dir: Annotated[
        list[Path] | None,
        typer.Option("--sweep", help="Sweep directory for sweep_runs/params (repeatable)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run SQL over the results store (DuckDB reads the runs' files in place)."""
    from twin.store.catalogue import Catalogue

    with _bad_input():
        if fmt not in ("table", "csv", "json"):
            _fail(f"--format: '{fmt}'; expected table, csv or json")
        with Catalogue(store, sweep_dir or []) as cat:
            result = cat.query(sql)
    _print_rows(result, fmt)


# ---------------------------------------------------------------- report, check


def report_command(
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep directory (from twin sweep).")],
    cdn: Annotated[
        bool, typer.Option("--cdn", help="Load plotly.js from its CDN (smaller HTML).")
    ] = False,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Also append the Markdown to this file "
                     "(e.g. $GITHUB_STEP_SUMMARY)."),
    ] = None,
) -> None:
    """Write report.html (plotly) and summary.md for a sweep directory."""
    from twin.study.report import write_report

    with _bad_input():
        html_path, md_path, _ = write_report(sweep_dir, include_plotlyjs="cdn" if cdn else True)
    if summary is not None:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(md_path.read_text(encoding="utf-8"))
    typer.echo(f"{html_path}\n{md_path}")


def check_command(
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep directory (from twin sweep).")],
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="JUnit XML path; default SWEEP_DIR/checks.junit.xml."),
    ] = None,
) -> None:
    """Evaluate the sweep's KPI checks; exit 1 when one fails; write JUnit XML."""
    from twin.study import SweepInputError, read_sweep_dir
    from twin.study.gates import evaluate_sweep_dir, junit_xml

    with _bad_input():
        sweep = read_sweep_dir(sweep_dir)
        if not sweep.spec.checks:
            raise SweepInputError.single(
                str(sweep_dir), "checks", "the sweep has no checks; expected at least one"
            )
        results = evaluate_sweep_dir(sweep)
    path = junit or sweep_dir / "checks.junit.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results, sweep.spec.name), encoding="utf-8")
    for r in results:
        typer.echo(f"{r.status.upper():7} {r.name}: {r.message}")
    n_bad = sum(1 for r in results if not r.passed)
    typer.echo(f"{len(results) - n_bad} of {len(results)} checks passed; JUnit XML: {path}")
    if n_bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``sweep``, ``runs``, ``query``, ``report`` and ``check`` to the ``twin`` app."""
    app.command("sweep")(sweep_command)
    app.command("runs")(runs_command)
    app.command("query")(query_command)
    app.command("report")(report_command)
    app.command("check")(check_command)


def _standalone() -> None:  # pragma: no cover - for ``python -m twin.study.cli``
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    try:
        app()
    except TwinError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    _standalone()
