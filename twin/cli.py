"""The ``twin`` command line: run, validate, schema, show, compare, list.

Bad input (an invalid scenario, a run folder that is not one) exits with code 2 and one
line per problem on stderr, naming the file, the field path and what is expected. No
traceback is ever shown unless ``TWIN_DEBUG=1`` is set.

Other parts of GridTwin add command groups from their own modules: each module listed in
:data:`COMMAND_MODULES` that exists is imported and its ``register(app)`` is called at
the end of this file. A module that is absent is skipped.

Public names: :data:`app`, :func:`main`, :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from twin.errors import ResultsError, RunCancelledError, ScenarioError, TwinError
from twin.limits import MAX_SEED
from twin.tables import format_number, kpi_rows, kpi_unit, plural, print_table

logger = logging.getLogger(__name__)

COMMAND_MODULES: tuple[str, ...] = ("twin.study.cli", "twin.auditcli", "solvers.cli")
"""Modules that add commands: each has ``register(app: typer.Typer) -> None``. Append
yours here; a module that does not exist (yet) is skipped."""

DEFAULT_SCHEMA_PATH = Path("scenarios/schema.json")


app = typer.Typer(
    name="twin",
    help="GridTwin: a digital twin of smart distribution grids (SimPy over pandapower).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# ----------------------------------------------------------------------------- output


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _fail(lines: list[str] | str, code: int = 2) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the twin's errors into one line each and an exit code (2 for bad input)."""
    try:
        yield
    except ScenarioError as exc:
        _fail([str(p) for p in exc.problems])
    except ResultsError as exc:
        _fail(str(exc))
    except RunCancelledError as exc:
        _fail(f"cancelled: {exc}", 130)
    except TwinError as exc:
        _fail(f"error: {exc}", 1)


def _format_value(value: Any) -> str:
    return format_number(value)


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print_table(title, header, rows)


def _kpi_rows(kpis: dict[str, Any]) -> list[list[str]]:
    return kpi_rows(kpis)


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[steps]}"),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, steps="building the grid...")

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total,
                       steps=f"{done:,}/{total:,} steps" if total else f"{done:,} steps")

        yield update


def _resolve_run(ref: str, store: Path) -> Path:
    path = Path(ref)
    if path.is_dir():
        return path
    candidate = store / ref
    if candidate.is_dir():
        return candidate
    raise ResultsError(f"{ref}: no such run folder (nor a run id in store {store})")


# ---------------------------------------------------------------------------- commands


@app.command("run")
def run_command(
    file: Annotated[str, typer.Argument(help="Scenario YAML file.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results store folder.")] = Path("runs"),
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed (overrides the scenario's), 0 to 2^63 - 1.",
                     min=0, max=MAX_SEED),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the run folder.")] = False,
) -> None:
    """Run a scenario headless and write one run folder (atomically) into the store."""
    import twin

    with _errors():
        scenario = twin.load_scenario(file)
        with _progress_bar(f"{scenario.name}") as progress:
            result = twin.run(scenario, store=out, seed=seed, progress=progress)
    if quiet:
        typer.echo(str(result.path))
        return
    n_steps = result.kpis.get("n_steps")
    steps = plural(int(n_steps), "step") if isinstance(n_steps, int | float) else "no steps"
    typer.echo(
        f"run {result.run_id}: {steps} in {result.wall_time_s:.2f} s -> {result.path}"
    )
    if result.stop_reason:
        typer.echo(f"stopped early: {result.stop_reason}")
    _print_table(f"KPIs of {result.run_id}", ["kpi", "value", "unit"], _kpi_rows(result.kpis))


@app.command("validate")
def validate_command(
    files: Annotated[list[str], typer.Argument(help="Scenario YAML files.", show_default=False)],
    quick: Annotated[
        bool, typer.Option("--quick", help="Schema and static checks only (nothing built).")
    ] = False,
) -> None:
    """Check scenario files: schema, static checks, then everything `twin run` checks
    before its first step (the simulation is built, not run). Exit 2 on problems."""
    from twin import checks
    from twin.engine import build
    from twin.errors import PowerFlowError, Problem
    from twin.scenario import load_scenario

    problems: list[Problem] = []
    for file in files:
        try:
            scenario = load_scenario(file)
            found = checks.check_scenario(scenario)
            if not found and not quick:
                # the run's own build: network, profiles, assets' files, comms, faults,
                # controller; whatever it refuses, validate refuses (one validation path)
                build(scenario, seed=scenario.seed)
        except ScenarioError as exc:
            found = list(exc.problems)
        except PowerFlowError as exc:
            found = [Problem(file, "grid", str(exc))]
        except TwinError as exc:
            found = [Problem(file, "", str(exc))]
        if found:
            problems.extend(found)
        else:
            typer.echo(f"{file}: ok")
    if problems:
        _fail([str(p) for p in problems])


@app.command("schema")
def schema_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the JSON Schema ('-': stdout).")
    ] = DEFAULT_SCHEMA_PATH,
) -> None:
    """Write the JSON Schema of scenario files (for editors and docs)."""
    from twin.scenario import json_schema

    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if str(out) == "-":
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


@app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="Run folder or run id.", show_default=False)],
    store: Annotated[Path, typer.Option("--store", help="Store to look run ids up in.")] = Path(
        "runs"
    ),
) -> None:
    """Print a run's KPIs as a table."""
    from twin.store import open_run

    with _errors():
        data = open_run(_resolve_run(run, store))
    m = data.manifest
    n_steps = m.get("n_steps")
    steps = plural(int(n_steps), "step") if isinstance(n_steps, int | float) else "? steps"
    typer.echo(
        f"run {data.run_id}: scenario {m.get('scenario_name')} seed {m.get('seed')}, "
        f"{steps} of {format_number(m.get('step_s'))} s from {m.get('sim_start')}"
    )
    if m.get("stop_reason"):
        typer.echo(f"stopped early: {m['stop_reason']}")
    _print_table(f"KPIs of {data.run_id}", ["kpi", "value", "unit"], _kpi_rows(data.kpis))


@app.command("value")
def value_command(
    run: Annotated[str, typer.Argument(help="Run folder or run id.", show_default=False)],
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Classical baseline run (folder or id).")
    ] = None,
    store: Annotated[Path, typer.Option("--store", help="Store to look run ids up in.")] = Path(
        "runs"
    ),
) -> None:
    """Quantum value report of a run (twin.value): writes value.md and value.json into it."""
    from twin.value import render_markdown, write_report

    with _errors():
        folder = _resolve_run(run, store)
        base = _resolve_run(baseline, store) if baseline is not None else None
        report = write_report(folder, base)
    typer.echo(render_markdown(report))
    typer.echo(f"written: {folder / 'value.md'}, {folder / 'value.json'}")


@app.command("compare")
def compare_command(
    run_a: Annotated[str, typer.Argument(help="First run folder or id.", show_default=False)],
    run_b: Annotated[str, typer.Argument(help="Second run folder or id.", show_default=False)],
    store: Annotated[Path, typer.Option("--store", help="Store to look run ids up in.")] = Path(
        "runs"
    ),
) -> None:
    """Print the KPIs of two runs side by side with their difference (B - A)."""
    from twin.store import open_run

    with _errors():
        a = open_run(_resolve_run(run_a, store))
        b = open_run(_resolve_run(run_b, store))
    for what in ("sim_start", "n_steps", "step_s"):
        if a.manifest.get(what) != b.manifest.get(what):
            typer.echo(f"warning: the runs differ in {what} ({a.manifest.get(what)} vs "
                       f"{b.manifest.get(what)}): their KPIs are not like for like",
                       err=True)
    rows = []
    for name in list(dict.fromkeys([*a.kpis, *b.kpis])):
        va, vb = a.kpis.get(name), b.kpis.get(name)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
        delta = vb - va if numbers else None
        percent = "-"
        if numbers and va != 0:
            percent = format_number(round(100.0 * delta / abs(va), 2)) + " %"
        rows.append([name, _format_value(va), _format_value(vb), _format_value(delta),
                     percent, kpi_unit(name)])
    _print_table(
        f"{a.run_id} (A) vs {b.run_id} (B)", ["kpi", "A", "B", "B - A", "change", "unit"],
        rows,
    )


@app.command("list")
def list_command(
    store: Annotated[Path, typer.Option("--store", help="Results store folder.")] = Path("runs"),
) -> None:
    """List the finished runs of a store, newest first."""
    from twin.store import list_runs

    rows = [
        [r.run_id, r.scenario_name, str(r.seed), format_number(r.n_steps),
         r.started_at[:19].replace("T", " "), f"{r.wall_time_s:.2f}"]
        for r in list_runs(store)
    ]
    if not rows:
        typer.echo(f"no runs in {store}")
        return
    _print_table(f"{plural(len(rows), 'run')} in {store}",
                 ["run id", "scenario", "seed", "steps", "started (UTC)", "wall time [s]"], rows)


# --------------------------------------------------------------------- extensions, main


def _register_extensions() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            logger.warning("command module %s not loaded: %s", name, exc)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``twin`` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("TWIN_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (set TWIN_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(1)


_register_extensions()
