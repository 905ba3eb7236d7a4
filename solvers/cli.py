"""Command line for solving a problem file: ``python -m solvers FILE.lp --solver NAME``.

``twin solve`` is the same command: ``twin/cli.py`` calls :func:`register` with its
typer app. Options are ``--option key=value`` (repeatable); values are read as
JSON when they parse (``reps=2``, ``relax=true``, ``sampler_options={"num_reads": 50}``)
and as plain strings otherwise (``noise=FakeTorino``). Bad input (missing or
malformed file, unknown solver or option) exits with code 2 and one line naming
the cause; never a traceback.

The text report has a header on every table and prints numbers by
:func:`solvers.numbers.format_number`; ``--json`` prints the raw result.

Public names: :func:`main`, :func:`solve_file`, :func:`report_text`,
:func:`parse_options`, :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from solvers.numbers import format_number, unit_of

__all__ = ["main", "parse_options", "register", "report_text", "solve_file"]


class CommandError(Exception):
    """Bad command-line input (exit code 2)."""


def parse_options(items: Sequence[str]) -> dict[str, Any]:
    """``["reps=2", "noise=FakeTorino"]`` -> ``{"reps": 2, "noise": "FakeTorino"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--option {item!r}: expected key=value")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def solve_file(
    path: str, solver: str, options: dict[str, Any], *, time_limit: float | None = None,
    seed: int | None = None, as_json: bool = False,
) -> str:
    """Read ``path`` (CPLEX-LP), solve it with ``solver`` and return the report text.

    Raises
    ------
    CommandError
        For a missing or malformed file, or an unknown solver or option.
    """
    from solvers import ProblemError, SolverOptionError, UnknownSolverError, get_solver
    from solvers.lpfile import read_lp
    from solvers.registry import SolverUnavailableError

    try:
        problem = read_lp(path)
    except ProblemError as exc:
        raise CommandError(str(exc)) from None
    try:
        backend = get_solver(solver, **options)
    except (UnknownSolverError, SolverOptionError, SolverUnavailableError) as exc:
        raise CommandError(str(exc)) from None
    result = backend.solve(problem, time_limit=time_limit, seed=seed)
    data = result.to_dict()
    if as_json:
        return json.dumps(data, indent=2, sort_keys=False)
    return report_text(problem, result, data)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned plain-text rows under a header (text left, numbers right)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    right = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if r else str(c).ljust(w)
                         for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return format_number(value)


def report_text(problem: Any, result: Any, data: dict[str, Any]) -> str:
    """The text report of one solve: a result table, the diagnostics (with the unit each
    name carries) and the variable values, each under its header. Numbers print by
    :func:`solvers.numbers.format_number` (``6.72``, not ``6.720000000000001``; ``0``,
    not ``-0``)."""
    lines = [f"problem: {problem.name} ({format_number(problem.num_variables)} variables, "
             f"{format_number(problem.num_constraints)} constraints)", ""]
    lines += _table(["result", "value", "unit"], [
        ["solver", str(result.solver), ""], ["status", result.status.value, ""],
        ["objective", _cell(result.objective), ""],
        ["wall time", _cell(float(f"{result.wall_time_s:.3g}")), "s"],
    ])
    if result.message:
        lines.append(f"message: {result.message}")
    diag = {k: v for k, v in data["diagnostics"].items() if k != "qasm3"}
    if diag:
        lines += ["", *_table(["diagnostic", "value", "unit"],
                              [[k, _cell(v), unit_of(k)] for k, v in diag.items()])]
    if data.get("values"):
        lines += ["", *_table(["variable", "value"],
                              [[k, _cell(v)] for k, v in data["values"].items()])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m solvers``; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m solvers",
                                 description="Solve a CPLEX-LP file with a GridTwin solver.")
    ap.add_argument("file")
    ap.add_argument("--solver", default="milp")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        text = solve_file(args.file, args.solver, parse_options(args.option),
                          time_limit=args.time_limit, seed=args.seed, as_json=args.json)
    except CommandError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(text + "\n")
    return 0


def register(app: Any) -> None:
    """Add ``solve`` to a typer app (``twin solve FILE.lp --solver NAME ...``)."""
    import typer

    @app.command("solve")
    def solve(
        file: str = typer.Argument(..., help="CPLEX-LP problem file."),
        solver: str = typer.Option("milp", help="Registered solver name."),
        option: list[str] = typer.Option([], help="Solver option key=value (repeatable)."),  # noqa: B008
        time_limit: float = typer.Option(None, help="Wall-clock limit [s]."),
        seed: int = typer.Option(None, help="Random seed."),
        json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Solve a problem file and print the result and the diagnostics."""
        try:
            text = solve_file(file, solver, parse_options(option), time_limit=time_limit,
                              seed=seed, as_json=json_out)
        except CommandError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(text)
