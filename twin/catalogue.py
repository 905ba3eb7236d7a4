"""The results catalogue: DuckDB views over a results store's runs and sweeps.

The catalogue reads the store's files in place every time a query runs (no copy to keep
fresh): ``manifest.json`` -> view ``runs``, ``kpis.json`` -> views ``kpis`` (one row per
run, one column per KPI) and ``kpis_long`` (run_id, kpi, value),
``timeseries.parquet`` -> ``timeseries``, ``events.parquet`` -> ``events``, and the
sweep directories it is given -> ``sweep_runs`` (sweep, run_id, index, params as JSON,
status) and ``params`` (sweep, run_id, path, value as JSON). Folders without a
``manifest.json`` (runs being written, ``.tmp-*``) are not runs and never show.

Public names: :class:`Catalogue`, :class:`QueryResult`, :class:`CatalogueError`,
:data:`VIEWS`.

Examples
--------
>>> cat = Catalogue("runs")                                  # doctest: +SKIP
>>> cat.query("SELECT run_id, energy_import_mwh FROM kpis ORDER BY 2 DESC LIMIT 3")
... # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from twin.errors import TwinError

logger = logging.getLogger(__name__)

VIEWS: dict[str, str] = {
    "runs": "one row per run: run_id, scenario_name, scenario_hash, seed, started_at, "
    "wall_time_s, n_steps, step_s, git_commit, gridtwin_version, scenario (JSON), path",
    "kpis": "one row per run: run_id and one column per KPI (names carry units)",
    "kpis_long": "run_id, kpi, value: every KPI of every run",
    "timeseries": "run_id, time_s, entity, quantity, unit, value (all runs' Parquet)",
    "events": "run_id, time_s, category, kind, entity, message, data (all runs' Parquet)",
    "sweep_runs": "sweep, run_id, idx, params (JSON), status: runs of the given sweeps",
    "params": "sweep, run_id, path, value (JSON): one row per varied field of a run",
}
"""The catalogue's views and what each holds."""

_MANIFEST_COLUMNS = {
    "run_id": "VARCHAR",
    "scenario_name": "VARCHAR",
    "scenario_file": "VARCHAR",
    "scenario_hash": "VARCHAR",
    "seed": "UBIGINT",
    "started_at": "VARCHAR",
    "wall_time_s": "DOUBLE",
    "n_steps": "BIGINT",
    "step_s": "BIGINT",
    "sim_start": "VARCHAR",
    "git_commit": "VARCHAR",
    "gridtwin_version": "VARCHAR",
    "scenario": "JSON",
}

_RUN_DIR = r"regexp_extract(filename, '([^/\\]+)[/\\][^/\\]+$', 1)"
_NOT_TMP = r"NOT regexp_matches(filename, '[/\\]\.tmp-[^/\\]*[/\\][^/\\]+$')"


class CatalogueError(TwinError):
    """A query could not run (bad SQL, unknown column); the message says why."""


@dataclass(frozen=True)
class QueryResult:
    """Rows of a catalogue query.

    Attributes
    ----------
    columns : tuple of str
        Column names.
    rows : tuple of tuple
        The rows, Python values.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(paths: Sequence[str]) -> str:
    return "[" + ", ".join(_sql_str(p) for p in paths) + "]"


class Catalogue:
    """DuckDB over a results store (and optionally sweep directories).

    Parameters
    ----------
    store : str or pathlib.Path
        The results store folder (``runs/`` by default in the CLI).
    sweep_dirs : sequence of path, optional
        Sweep directories (written by ``twin sweep``) whose runs and varied fields
        appear in ``sweep_runs`` and ``params``.
    """

    def __init__(self, store: str | Path, sweep_dirs: Sequence[str | Path] = ()) -> None:
        self.store = Path(store)
        self.sweep_dirs = [Path(p) for p in sweep_dirs]
        self.con = duckdb.connect(":memory:")
        self._define_views()

    # -- views

    def _glob(self, name: str) -> str:
        return _sql_str(str(self.store.resolve() / "*" / name))

    def _has(self, name: str) -> bool:
        if not self.store.is_dir():
            return False
        return any(
            (entry / name).is_file()
            for entry in self.store.iterdir()
            if not entry.name.startswith(".")
        )

    def _define_views(self) -> None:
        con = self.con
        cols = (
            "{"
            + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in _MANIFEST_COLUMNS.items())
            + "}"
        )
        if self._has("manifest.json"):
            con.execute(
                f"""CREATE VIEW runs AS
                SELECT * EXCLUDE (filename),
                       regexp_replace(filename, '[/\\\\][^/\\\\]+$', '') AS path
                FROM read_json({self._glob('manifest.json')}, filename = true,
                               columns = {cols}, format = 'auto')
                WHERE {_NOT_TMP}"""
            )
        else:
            con.execute(
                "CREATE VIEW runs AS SELECT * FROM (SELECT "
                + ", ".join(f"NULL::{v} AS {k}" for k, v in _MANIFEST_COLUMNS.items())
                + ", NULL::VARCHAR AS path) WHERE false"
            )
        if self._has("kpis.json"):
            con.execute(
                f"""CREATE VIEW kpis AS
                SELECT {_RUN_DIR} AS run_id, * EXCLUDE (filename)
                FROM read_json({self._glob('kpis.json')}, filename = true,
                               union_by_name = true, format = 'auto')
                WHERE {_NOT_TMP}"""
            )
            kpi_columns = [
                row[0]
                for row in con.execute("DESCRIBE kpis").fetchall()
                if row[0] != "run_id"
            ]
            if kpi_columns:
                casts = ", ".join(
                    f'TRY_CAST("{c}" AS DOUBLE) AS "{c}"' for c in kpi_columns
                )
                con.execute(
                    f"""CREATE VIEW kpis_long AS
                    UNPIVOT (SELECT run_id, {casts} FROM kpis)
                    ON COLUMNS(* EXCLUDE (run_id)) INTO NAME kpi VALUE value"""
                )
        else:
            con.execute("CREATE VIEW kpis AS SELECT NULL::VARCHAR AS run_id WHERE false")
        if "kpis_long" not in self.views():
            con.execute(
                "CREATE VIEW kpis_long AS SELECT NULL::VARCHAR AS run_id, "
                "NULL::VARCHAR AS kpi, NULL::DOUBLE AS value WHERE false"
            )
        for view, name, empty in (
            (
                "timeseries",
                "timeseries.parquet",
                "NULL::BIGINT AS time_s, NULL::VARCHAR AS entity, NULL::VARCHAR AS "
                "quantity, NULL::VARCHAR AS unit, NULL::DOUBLE AS value",
            ),
            (
                "events",
                "events.parquet",
                "NULL::DOUBLE AS time_s, NULL::VARCHAR AS category, NULL::VARCHAR AS kind, "
                "NULL::VARCHAR AS entity, NULL::VARCHAR AS message, NULL::VARCHAR AS data",
            ),
        ):
            if self._has(name):
                con.execute(
                    f"""CREATE VIEW {view} AS
                    SELECT {_RUN_DIR} AS run_id, * EXCLUDE (filename)
                    FROM read_parquet({self._glob(name)}, filename = true,
                                      union_by_name = true)
                    WHERE {_NOT_TMP}"""
                )
            else:
                con.execute(
                    f"CREATE VIEW {view} AS SELECT NULL::VARCHAR AS run_id, {empty} WHERE false"
                )
        self._define_sweep_tables()

    def _define_sweep_tables(self) -> None:
        from twin.sweep import latest_outcomes, read_sweep_dir  # noqa: PLC0415

        con = self.con
        con.execute(
            "CREATE TABLE sweep_runs (sweep VARCHAR, sweep_dir VARCHAR, run_id VARCHAR, "
            "idx INTEGER, params JSON, status VARCHAR)"
        )
        con.execute("CREATE TABLE params (sweep VARCHAR, run_id VARCHAR, path VARCHAR, value JSON)")
        rows, param_rows = [], []
        for folder in self.sweep_dirs:
            sweep = read_sweep_dir(folder)
            outcomes = latest_outcomes(folder)
            for run in sweep.runs:
                status = outcomes.get(run.run_id, {}).get("status", "planned")
                if (sweep.store / run.run_id / "manifest.json").is_file():
                    status = "complete"
                rows.append(
                    (sweep.spec.name, str(folder), run.run_id, run.index,
                     json.dumps(run.params), status)
                )
                param_rows.extend(
                    (sweep.spec.name, run.run_id, path, json.dumps(value))
                    for path, value in run.params.items()
                )
        if rows:
            con.executemany("INSERT INTO sweep_runs VALUES (?, ?, ?, ?, ?, ?)", rows)
        if param_rows:
            con.executemany("INSERT INTO params VALUES (?, ?, ?, ?)", param_rows)

    # -- queries

    def views(self) -> list[str]:
        """Names of the views and tables a query can use."""
        rows = self.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal "
            "UNION ALL SELECT table_name FROM duckdb_tables()"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def query(self, sql: str, parameters: Sequence[Any] | None = None) -> QueryResult:
        """Run SQL against the catalogue.

        Parameters
        ----------
        sql : str
            A DuckDB SQL statement over the views in :data:`VIEWS`.
        parameters : sequence, optional
            Values for ``?`` placeholders.

        Raises
        ------
        CatalogueError
            For SQL DuckDB refuses, with its message and the views available.
        """
        try:
            cursor = self.con.execute(sql, parameters or [])
            rows = cursor.fetchall()
            columns = tuple(d[0] for d in cursor.description or ())
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise CatalogueError(
                f"{first} (views: {', '.join(self.views())}; store: {self.store})"
            ) from None
        return QueryResult(columns, tuple(tuple(r) for r in rows))

    def kpi_names(self) -> list[str]:
        """KPI names present in the store's runs."""
        return [
            r[0] for r in self.con.execute("DESCRIBE kpis").fetchall() if r[0] != "run_id"
        ]

    def kpis_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
        """Run id -> {KPI name: value} for the given runs (missing runs are absent)."""
        if not run_ids:
            return {}
        result = self.query(
            f"SELECT * FROM kpis WHERE run_id IN (SELECT unnest({_sql_list(list(run_ids))}))"
        )
        out: dict[str, dict[str, float | None]] = {}
        for record in result.records():
            run_id = record.pop("run_id")
            out[run_id] = {
                k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None)
                for k, v in record.items()
            }
        return out

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
