"""How the ``twin`` command line prints numbers and tables.

Numbers a person reads (:func:`solvers.numbers.format_number`, re-exported here):
integers as integers, no ``-0.0``, no round-off noise (``2.1e-17`` prints as ``0``), six
significant digits at most, thousands separated, and the unit next to the KPI it belongs
to (taken from the name's suffix: ``_mwh`` -> MWh).
Every table has a header row; simulated seconds are printed next to the clock time they
stand for.

Public names: :func:`format_number`, :func:`kpi_unit`, :func:`kpi_rows`,
:func:`clock_time`, :func:`plural`, :func:`print_table`.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import typer

from solvers.numbers import format_number, unit_of


def kpi_unit(name: str) -> str:
    """The unit a KPI's name carries (``energy_import_mwh`` -> ``MWh``; ``""`` if none):
    :func:`solvers.numbers.unit_of`.

    Examples
    --------
    >>> kpi_unit("energy_import_mwh"), kpi_unit("n_steps"), kpi_unit("comms.latency_p95_s")
    ('MWh', '', 's')
    """
    return unit_of(name)


def kpi_rows(kpis: dict[str, Any]) -> list[list[str]]:
    """Rows ``[kpi, value, unit]`` of a KPI table."""
    return [[name, format_number(value), kpi_unit(name)] for name, value in kpis.items()]


def clock_time(seconds: float, sim_start: str | None) -> str:
    """The calendar time of a simulated second (``2016-06-15 06:00:00``); ``""`` when the
    start is unknown.

    Examples
    --------
    >>> clock_time(21600.0, "2016-06-15T00:00:00")
    '2016-06-15 06:00:00'
    """
    if not sim_start:
        return ""
    try:
        start = dt.datetime.fromisoformat(str(sim_start))
    except ValueError:
        return ""
    return (start + dt.timedelta(seconds=float(seconds))).strftime("%Y-%m-%d %H:%M:%S")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 run``, ``4 runs``.

    Examples
    --------
    >>> plural(1, "run"), plural(4, "run"), plural(2, "decision")
    ('1 run', '4 runs', '2 decisions')
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def print_table(title: str, header: list[str], rows: list[list[str]],
                right: set[int] | None = None) -> None:
    """Print a table with its header: rich on a terminal, aligned plain text otherwise.

    Parameters
    ----------
    title : str
        Line above the table.
    header : list of str
        Column names (always printed).
    rows : list of list of str
        Cells, already formatted.
    right : set of int, optional
        Right-aligned columns (default: all but the first).
    """
    right = set(range(1, len(header))) if right is None else right
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, name in enumerate(header):
            table.add_column(name, justify="right" if i in right else "left")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    typer.echo(title)
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        typer.echo("  ".join(cells).rstrip())
