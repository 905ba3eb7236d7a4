"""The results catalogue: DuckDB views over a results store's runs and sweeps.

Opening a catalogue lists the store's runs (a folder with a ``manifest.json``; ``.tmp-*``
folders being written are not runs) and loads their ``manifest.json`` -> table ``runs``
and ``kpis.json`` -> tables ``kpis`` (one row per run, one column per KPI) and
``kpis_long`` (run_id, kpi, value). The small JSON files are read once and kept in
``<store>/.catalogue/index.parquet`` (refreshed for new or rewritten runs at every
open), so a query over 1,000 runs does not re-read 2,000 files. ``timeseries.parquet``
-> ``timeseries`` and ``events.parquet`` -> ``events`` stay views that DuckDB reads in
place when a query touches them. The
sweep directories it is given -> ``sweep_runs`` (sweep, run_id, index, params as JSON,
status) and ``params`` (sweep, run_id, path, value as JSON).

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
import os
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
_INDEX_DIR = ".catalogue"
_INDEX_FILE = "index.parquet"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


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


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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

    def _scan(self) -> dict[str, tuple[Path, int]]:
        """Run id -> (folder, manifest mtime) of every complete run in the store."""
        found: dict[str, tuple[Path, int]] = {}
        if not self.store.is_dir():
            return found
        with os.scandir(self.store) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                try:
                    stat = os.stat(os.path.join(entry.path, "manifest.json"))
                except OSError:
                    continue  # not a run (a run is written whole, manifest last)
                found[entry.name] = (Path(entry.path), stat.st_mtime_ns)
        return found

    def _index_schema(self) -> Any:
        import pyarrow as pa

        arrow_types = {
            "VARCHAR": pa.string(), "UBIGINT": pa.uint64(), "BIGINT": pa.int64(),
            "DOUBLE": pa.float64(), "JSON": pa.string(),
        }
        fields = [("run_id", pa.string()), ("mtime_ns", pa.int64())]
        fields += [(k, arrow_types[t]) for k, t in _MANIFEST_COLUMNS.items() if k != "run_id"]
        fields += [
            ("kpi_names", pa.list_(pa.string())),
            ("kpi_values", pa.list_(pa.float64())),
        ]
        return pa.schema(fields)

    @staticmethod
    def _parse_run(run_id: str, folder: Path, mtime: int) -> dict[str, Any] | None:
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            kpis_path = folder / "kpis.json"
            kpis = json.loads(kpis_path.read_text(encoding="utf-8")) if kpis_path.is_file() else {}
        except (OSError, ValueError) as exc:
            logger.warning("run %s skipped: unreadable manifest or KPIs (%s)", run_id, exc)
            return None
        if not isinstance(manifest, dict) or not isinstance(kpis, dict):
            logger.warning("run %s skipped: manifest or KPIs are not JSON objects", run_id)
            return None
        row: dict[str, Any] = {"run_id": run_id, "mtime_ns": mtime}
        for key, sql_type in _MANIFEST_COLUMNS.items():
            if key == "run_id":
                continue
            value = manifest.get(key)
            if sql_type == "JSON":
                value = None if value is None else json.dumps(value)
            elif sql_type in ("UBIGINT", "BIGINT"):
                value = value if isinstance(value, int) and not isinstance(value, bool) else None
            elif sql_type == "DOUBLE":
                value = _number(value)
            else:
                value = None if value is None else str(value)
            row[key] = value
        row["kpi_names"] = list(kpis)
        row["kpi_values"] = [_number(v) for v in kpis.values()]
        return row

    def _load_index(self) -> Any:
        """An Arrow table with one row per complete run: manifest fields and KPIs.

        Manifests and KPI files are small but many: parsing 1,000 of each costs about a
        second, so what was parsed is kept in ``<store>/.catalogue/index.parquet`` and
        only runs that are new (or rewritten) since are read again.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._index_schema()
        runs = self._scan()
        index_path = self.store / _INDEX_DIR / _INDEX_FILE
        cached = schema.empty_table()
        if index_path.is_file():
            try:
                cached = pq.read_table(index_path)
                if cached.schema != schema:
                    raise ValueError("index written by another version")
            except Exception as exc:  # a broken cache is rebuilt
                logger.info("catalogue index %s not used (%s); rebuilding", index_path, exc)
                cached = schema.empty_table()
        known = dict(
            zip(cached.column("run_id").to_pylist(), cached.column("mtime_ns").to_pylist(),
                strict=True)
        )
        keep = [known.get(run_id) == mtime for run_id, (_, mtime) in
                ((r, runs.get(r, (None, None))) for r in known)]
        fresh = [
            row
            for run_id, (folder, mtime) in sorted(runs.items())
            if known.get(run_id) != mtime
            and (row := self._parse_run(run_id, folder, mtime)) is not None
        ]
        table = cached.filter(pa.array(keep, pa.bool_())) if len(cached) else cached
        changed = bool(fresh) or len(table) != len(cached)
        if fresh:
            table = pa.concat_tables([table, pa.Table.from_pylist(fresh, schema=schema)])
        if changed and self.store.is_dir():
            try:
                index_path.parent.mkdir(exist_ok=True)
                tmp = index_path.with_name(f".{_INDEX_FILE}.{os.getpid()}.tmp")
                pq.write_table(table, tmp)
                tmp.replace(index_path)
            except OSError as exc:  # a read-only store still answers queries
                logger.info("catalogue index not saved (%s)", exc)
        return table

    def _define_views(self) -> None:
        con = self.con
        root = str(self.store.resolve())
        index = self._load_index()
        rows = [(run_id,) for run_id in index.column("run_id").to_pylist()]
        # registered Arrow tables are scanned in place; JSON columns are cast only when a
        # query reads them
        self._arrow = index
        con.register("_index", index)
        manifest_cols = ", ".join(
            f"{k}::JSON AS {k}" if t == "JSON" else k
            for k, t in _MANIFEST_COLUMNS.items()
        )
        con.execute(
            f"CREATE VIEW runs AS SELECT {manifest_cols}, "
            f"{_sql_str(root + os.sep)} || run_id AS path FROM _index"
        )
        con.execute(
            "CREATE TABLE kpis_long AS SELECT run_id, kpi, value FROM "
            "(SELECT run_id, unnest(kpi_names) AS kpi, unnest(kpi_values) AS value "
            "FROM _index)"
        )
        names = [r[0] for r in con.execute(
            "SELECT kpi FROM kpis_long GROUP BY kpi ORDER BY min(rowid)"
        ).fetchall()] if len(index) else []
        if names:
            pivot = ", ".join(
                f"max(value) FILTER (WHERE kpi = {_sql_str(n)}) AS {_sql_ident(n)}"
                for n in names
            )
            con.execute(
                f"CREATE TABLE kpis AS SELECT r.run_id, {pivot} FROM _index r "
                "LEFT JOIN kpis_long k USING (run_id) GROUP BY r.run_id ORDER BY r.run_id"
            )
        else:
            con.execute("CREATE TABLE kpis AS SELECT run_id FROM _index")
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
            if any((self.store / r[0] / name).is_file() for r in rows):
                # a glob binds on the first file only (the contract fixes the columns);
                # folders being written (.tmp-*) are filtered out
                con.execute(
                    f"""CREATE VIEW {view} AS
                    SELECT {_RUN_DIR} AS run_id, * EXCLUDE (filename)
                    FROM read_parquet({_sql_str(str(Path(root) / "*" / name))},
                                      filename = true)
                    WHERE NOT regexp_matches(filename, '[/\\\\]\\.[^/\\\\]*[/\\\\][^/\\\\]+$')"""
                )
            else:
                con.execute(
                    f"CREATE VIEW {view} AS SELECT NULL::VARCHAR AS run_id, {empty} WHERE false"
                )
        self._define_sweep_tables()

    def _define_sweep_tables(self) -> None:
        from twin.study.sweepdir import latest_outcomes, read_sweep_dir

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
        return sorted(r[0] for r in rows if not r[0].startswith("_"))

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
