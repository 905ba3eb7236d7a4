"""The results catalogue: DuckDB views over a results store's runs and sweeps.

Opening a catalogue scans the store (:func:`twin.store.scan_store`) and checks every run
with the store's reader (:func:`twin.store.check_run`): a folder that is damaged or
foreign (a truncated or foreign-schema Parquet file, a directory or FIFO where a file
should be, no manifest, KPIs holding NaN or Infinity, a seed that does not fit) is left
out with one warning line each and listed in :attr:`Catalogue.damaged`
(``twin runs --damaged``), so no query ever meets it. The valid runs give
``manifest.json`` -> table ``runs`` and ``kpis.json`` -> tables ``kpis`` (one row per
run, one column per KPI) and ``kpis_long`` (run_id, kpi, value). What was parsed and
checked is kept in ``<store>/.catalogue/index.parquet`` (keyed by each run file's mtime
and size; refreshed for new or rewritten runs at every open), so a query over 1,000 runs
does not re-read 4,000 files. ``timeseries.parquet`` -> ``timeseries`` and
``events.parquet`` -> ``events`` are Arrow datasets over the valid runs' files (an
explicit list, no glob, so no path character is special) that DuckDB scans in place
when a query touches them. The sweep directories it is given -> ``sweep_runs`` (sweep,
run_id, index, params as JSON, status) and ``params`` (sweep, run_id, path, value as
JSON).

The DuckDB database is opened read-only, with external access disabled and its
configuration locked once the views exist: a query reads only what the catalogue
registered (no ``read_csv``/``read_parquet`` of any path, no ``COPY ... TO``, no
``ATTACH``, no ``INSTALL``/``LOAD``), and cannot turn that back on.

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
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from twin.errors import ResultsError, TwinError
from twin.store.layout import (
    EVENTS,
    TIMESERIES,
    is_complete,
    is_regular_file,
    scan_store,
)
from twin.store.read import check_run

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


_SQL_TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR"}


def _signature(stats: Sequence[os.stat_result | None]) -> str:
    """mtime and size of each run file: a rewritten or damaged-since run differs."""
    return "/".join("-" if st is None else f"{st.st_mtime_ns}:{st.st_size}" for st in stats)


def _read_only_connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to an empty database opened read-only (only temporary views
    and tables can be made); the file is removed once it is open."""
    folder = tempfile.mkdtemp(prefix="twin-catalogue-")
    try:
        path = os.path.join(folder, "catalogue.duckdb")
        duckdb.connect(path).close()
        return duckdb.connect(path, read_only=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Catalogue:
    """DuckDB over a results store (and optionally sweep directories).

    Parameters
    ----------
    store : str or pathlib.Path
        The results store folder (``runs/`` by default in the CLI).
    sweep_dirs : sequence of path, optional
        Sweep directories (written by ``twin sweep``) whose runs and varied fields
        appear in ``sweep_runs`` and ``params``.

    Attributes
    ----------
    damaged : dict
        Folder name -> reason, for every folder of the store that is not a valid run
        (left out of every view).
    """

    def __init__(self, store: str | Path, sweep_dirs: Sequence[str | Path] = ()) -> None:
        self.store = Path(store)
        self.sweep_dirs = [Path(p) for p in sweep_dirs]
        self.damaged: dict[str, str] = {}
        self.con = _read_only_connection()
        try:
            self._define_views()
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET lock_configuration = true")
        except BaseException:
            self.con.close()
            raise

    # -- views

    def _index_schema(self) -> Any:
        import pyarrow as pa

        arrow_types = {
            "VARCHAR": pa.string(), "UBIGINT": pa.uint64(), "BIGINT": pa.int64(),
            "DOUBLE": pa.float64(), "JSON": pa.string(),
        }
        fields = [("run_id", pa.string()), ("signature", pa.string())]
        fields += [(k, arrow_types[t]) for k, t in _MANIFEST_COLUMNS.items() if k != "run_id"]
        fields += [
            ("kpi_names", pa.list_(pa.string())),
            ("kpi_values", pa.list_(pa.float64())),
        ]
        return pa.schema(fields)

    def _parse_run(self, run_id: str, folder: Path, signature: str) -> dict[str, Any] | None:
        """The index row of a run, or None (and the run listed as damaged)."""
        try:
            manifest, kpis = check_run(folder)
        except ResultsError as exc:
            self._skip(run_id, str(exc))
            return None
        row: dict[str, Any] = {"run_id": run_id, "signature": signature}
        for key, sql_type in _MANIFEST_COLUMNS.items():
            if key == "run_id":
                continue
            value = manifest.get(key)
            if sql_type == "JSON":
                value = None if value is None else json.dumps(value)
            elif sql_type in ("UBIGINT", "BIGINT"):
                fits = isinstance(value, int) and not isinstance(value, bool)
                value = value if fits and 0 <= value < 2**63 else None
            elif sql_type == "DOUBLE":
                value = _number(value)
            else:
                value = None if value is None else str(value)
            row[key] = value
        row["kpi_names"] = list(kpis)
        row["kpi_values"] = [_number(v) for v in kpis.values()]
        return row

    def _skip(self, name: str, reason: str) -> None:
        self.damaged[name] = reason
        logger.warning("run folder %s skipped: %s", name, reason)

    def _load_index(self) -> Any:
        """An Arrow table with one row per valid run: manifest fields and KPIs.

        Manifests and KPI files are small but many: parsing and checking 1,000 runs
        costs about a second, so what was checked is kept in
        ``<store>/.catalogue/index.parquet`` and only runs whose files changed since are
        read again. Damaged runs are never cached: they are checked (and warned about)
        at every open.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._index_schema()
        scan = scan_store(self.store)
        for name, reason in sorted(scan.damaged.items()):
            self._skip(name, reason)
        signatures = {run_id: _signature(stats) for run_id, stats in scan.stats.items()}
        index_path = self.store / _INDEX_DIR / _INDEX_FILE
        cached = schema.empty_table()
        if is_regular_file(index_path):
            try:
                cached = pq.read_table(index_path)
                if cached.schema != schema:
                    raise ValueError("index written by another version")
            except Exception as exc:  # a broken cache is rebuilt
                logger.info("catalogue index %s not used (%s); rebuilding", index_path, exc)
                cached = schema.empty_table()
        known = dict(
            zip(cached.column("run_id").to_pylist(), cached.column("signature").to_pylist(),
                strict=True)
        )
        keep = [signatures.get(run_id) == sig for run_id, sig in known.items()]
        fresh = [
            row
            for run_id, folder in sorted(scan.runs.items())
            if known.get(run_id) != signatures[run_id]
            and (row := self._parse_run(run_id, folder, signatures[run_id])) is not None
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

    def _dataset(self, run_ids: Sequence[str], name: str, columns: Any) -> Any:
        """An Arrow dataset over one run file of each run, with a ``run_id`` column."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        root = str(self.store.resolve())
        schema = pa.schema([("run_id", pa.string()), *columns])
        return ds.dataset(
            [f"{root}{os.sep}{run_id}{os.sep}{name}" for run_id in run_ids],
            schema=schema,
            format="parquet",
            partitioning=ds.DirectoryPartitioning(
                pa.schema([("run_id", pa.string())]), segment_encoding="none"
            ),
            partition_base_dir=root,
        )

    def _define_views(self) -> None:
        import pyarrow as pa

        con = self.con
        root = str(self.store.resolve())
        index = self._load_index()
        run_ids = index.column("run_id").to_pylist()
        # registered Arrow tables are scanned in place; JSON columns are cast only when a
        # query reads them
        self._arrow = index
        con.register("_index", index)
        manifest_cols = ", ".join(
            f"{k}::JSON AS {k}" if t == "JSON" else k
            for k, t in _MANIFEST_COLUMNS.items()
        )
        con.execute(
            f"CREATE TEMP VIEW runs AS SELECT {manifest_cols}, "
            f"{_sql_str(root + os.sep)} || run_id AS path FROM _index"
        )
        con.execute(
            "CREATE TEMP TABLE kpis_long AS SELECT run_id, kpi, value FROM "
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
                f"CREATE TEMP TABLE kpis AS SELECT r.run_id, {pivot} FROM _index r "
                "LEFT JOIN kpis_long k USING (run_id) GROUP BY r.run_id ORDER BY r.run_id"
            )
        else:
            con.execute("CREATE TEMP TABLE kpis AS SELECT run_id FROM _index")
        text = pa.string()
        for view, name, columns in (
            ("timeseries", TIMESERIES, [("time_s", pa.int64()), ("entity", text),
                                        ("quantity", text), ("unit", text),
                                        ("value", pa.float64())]),
            ("events", EVENTS, [("time_s", pa.float64()), ("category", text), ("kind", text),
                                ("entity", text), ("message", text), ("data", text)]),
        ):
            if run_ids:
                con.register(f"_{view}", self._dataset(run_ids, name, columns))
                con.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM _{view}")
            else:
                empty = ", ".join(f"NULL::{_SQL_TYPES[str(t)]} AS {c}" for c, t in columns)
                con.execute(
                    f"CREATE TEMP VIEW {view} AS SELECT NULL::VARCHAR AS run_id, {empty} "
                    "WHERE false"
                )
        self._define_sweep_tables()

    def _define_sweep_tables(self) -> None:
        from twin.study.sweepdir import latest_outcomes, read_sweep_dir

        con = self.con
        con.execute(
            "CREATE TEMP TABLE sweep_runs (sweep VARCHAR, sweep_dir VARCHAR, run_id VARCHAR, "
            "idx INTEGER, params JSON, status VARCHAR)"
        )
        con.execute("CREATE TEMP TABLE params (sweep VARCHAR, run_id VARCHAR, path VARCHAR, value JSON)")
        rows, param_rows = [], []
        for folder in self.sweep_dirs:
            sweep = read_sweep_dir(folder)
            outcomes = latest_outcomes(folder)
            for run in sweep.runs:
                status = outcomes.get(run.run_id, {}).get("status", "planned")
                if is_complete(sweep.store / run.run_id):
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
