"""Time-series queries over a run's ``timeseries.parquet`` with DuckDB.

A full-year run holds tens of millions of rows, so the app never loads the file into
memory: it asks DuckDB for what a chart can show. Within a time window, values are
aggregated into at most a few hundred buckets (mean, min and max per bucket and
series), so the zoomed-out year and a zoomed-in day both draw a few hundred points.

Public names: :func:`catalogue`, :func:`bucket_size_s`, :func:`aggregate_window`,
:func:`snapshot`, :func:`read_events`, :func:`expand_event_data`, :func:`entity_kind`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd


def _connect(*files: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that may only read ``files``.

    DuckDB refuses read-only mode for an in-memory database, so the connection is
    sandboxed instead: external access is off except for these files (no other file,
    no COPY TO, no ATTACH, no extension install or load), and the configuration is locked
    so that no query can lift it.
    """
    con = duckdb.connect(database=":memory:")
    con.execute("SET threads TO 2")
    allowed = ", ".join("'" + str(Path(f).resolve()).replace("'", "''") + "'" for f in files)
    con.execute(f"SET allowed_paths = [{allowed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def catalogue(timeseries_path: Path) -> pd.DataFrame:
    """The series a run recorded: one row per (entity, quantity) with unit and count.

    Columns: ``entity``, ``quantity``, ``unit``, ``n``, ``t_min_s``, ``t_max_s``.
    """
    has_unit = "unit" in _columns(timeseries_path)
    unit = "any_value(unit)" if has_unit else "''"
    sql = (f"SELECT entity, quantity, {unit} AS unit, count(*) AS n, "
           "min(time_s) AS t_min_s, max(time_s) AS t_max_s "
           "FROM read_parquet(?) GROUP BY entity, quantity ORDER BY entity, quantity")
    with _connect(timeseries_path) as con:
        return con.execute(sql, [str(Path(timeseries_path).resolve())]).df()


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def bucket_size_s(window_s: float, step_s: int, max_points: int) -> int:
    """Width of the time buckets that keep a window under ``max_points`` points.

    A whole number of grid steps, at least one.

    Examples
    --------
    >>> bucket_size_s(86400, 900, 600)
    900
    >>> bucket_size_s(366 * 86400, 900, 600)
    53100
    """
    step_s = max(int(step_s), 1)
    steps = math.ceil(max(window_s, step_s) / step_s / max(max_points, 1))
    return max(steps, 1) * step_s


def aggregate_window(timeseries_path: Path, t_start_s: int, t_end_s: int, bucket_s: int,
                     quantities: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Bucketed mean, min and max of every series inside ``[t_start_s, t_end_s)``.

    Parameters
    ----------
    timeseries_path : pathlib.Path
        The run's ``timeseries.parquet``.
    t_start_s, t_end_s : int
        The window. [s since run start]
    bucket_s : int
        Bucket width (see :func:`bucket_size_s`). [s]
    quantities : tuple of str, optional
        Only these quantities (all when None).

    Returns
    -------
    pandas.DataFrame
        Columns ``entity``, ``quantity``, ``t_s`` (bucket start), ``mean``, ``min``,
        ``max``, ``family`` (``bus``, ``line``, ``asset``...: the entity's prefix),
        sorted by entity, quantity, time.
    """
    where = "time_s >= ? AND time_s < ?"
    params: list[object] = [str(Path(timeseries_path).resolve()), int(bucket_s), int(bucket_s),
                            int(t_start_s), int(t_end_s)]
    if quantities:
        where += f" AND quantity IN ({', '.join('?' for _ in quantities)})"
        params.extend(quantities)
    sql = ("SELECT entity, quantity, (time_s // ?) * ? AS t_s, avg(value) AS mean, "
           "min(value) AS min, max(value) AS max FROM read_parquet(?) "
           f"WHERE {where} GROUP BY ALL ORDER BY entity, quantity, t_s")
    # read_parquet's path must come first among the parameters in text order
    params = [params[1], params[2], params[0], *params[3:]]
    with _connect(timeseries_path) as con:
        frame = con.execute(sql, params).df()
    for column in ("entity", "quantity"):
        frame[column] = frame[column].astype(str)
    frame["family"] = frame["entity"].str.partition("/")[0].astype("category")
    return frame


def snapshot(timeseries_path: Path, time_s: int, quantities: tuple[str, ...]) -> pd.DataFrame:
    """Values of the given quantities at one recorded time.

    ``time_s`` should be a recorded step (a multiple of the run's step); the filter on
    ``time_s`` lets DuckDB skip the row groups that do not hold it.

    Columns ``entity``, ``quantity``, ``value``.
    """
    marks = ", ".join("?" for _ in quantities)
    sql = ("SELECT entity, quantity, value FROM read_parquet(?) "
           f"WHERE time_s = ? AND quantity IN ({marks})")
    with _connect(timeseries_path) as con:
        frame = con.execute(sql, [str(Path(timeseries_path).resolve()), int(time_s),
                                  *quantities]).df()
    for column in ("entity", "quantity"):
        frame[column] = frame[column].astype(str)
    return frame


def read_events(events_path: Path | None) -> pd.DataFrame:
    """The run's events (``time_s, category, kind, entity, message, data``); empty if none."""
    columns = ["time_s", "category", "kind", "entity", "message", "data"]
    if events_path is None:
        return pd.DataFrame(columns=columns)
    with _connect(events_path) as con:
        frame = con.execute("SELECT * FROM read_parquet(?) ORDER BY time_s",
                            [str(Path(events_path).resolve())]).df()
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame


def expand_event_data(events: pd.DataFrame) -> pd.DataFrame:
    """Events with their ``data`` JSON objects spread into columns (``data.<key>``)."""
    if events.empty:
        return events.copy()
    records = []
    for raw in events["data"].tolist():
        try:
            value = json.loads(raw) if isinstance(raw, str) and raw else {}
        except json.JSONDecodeError:
            value = {}
        records.append(value if isinstance(value, dict) else {})
    extra = pd.DataFrame.from_records(records, index=events.index)
    extra.columns = [f"data.{c}" for c in extra.columns]
    return pd.concat([events, extra], axis=1)


def entity_kind(entity: str) -> str:
    """The family of an entity id: ``bus/3`` -> ``bus``, ``asset/bat1`` -> ``asset``."""
    return entity.split("/", 1)[0]
