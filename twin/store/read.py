"""Reading runs back: the one reader the CLI, the catalogue, sweeps and the app use.

Every check a reader needs is here, so a damaged or foreign folder gets the same verdict
everywhere: :func:`check_run` reads a folder's manifest and KPIs and the schemas of its
Parquet files and raises :class:`~twin.errors.ResultsError` naming the file and what is
wrong; :func:`open_run` returns it as :class:`RunData`. Only regular files are read
(a FIFO or a directory where a file should be is refused, never opened), JSON files
only up to :data:`MAX_JSON_BYTES`.

What a valid run folder holds beyond the four files being there:

- ``manifest.json``: a JSON object with ``format_version`` equal to
  :data:`~twin.store.layout.FORMAT_VERSION`, ``run_id``, ``scenario_name`` and
  ``scenario_hash`` strings, ``seed`` an integer in 0..2^63-1, ``n_steps`` and
  ``step_s`` integers (``step_s`` > 0), ``started_at`` a string, ``wall_time_s`` a
  number;
- ``kpis.json``: a JSON object, KPI name -> finite number or null (no NaN, no Infinity);
- the Parquet files: readable, with the contract's columns in order and types that fit
  (time as integer or float, names as strings, values as floats).

Public names: :data:`MAX_JSON_BYTES`, :class:`RunData`, :class:`RunSummary`,
:func:`read_json`, :func:`read_manifest`, :func:`read_kpis`, :func:`check_parquet`,
:func:`check_run`, :func:`open_run`, :func:`list_runs`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import ResultsError
from twin.store.layout import (
    EVENTS,
    EVENTS_COLUMNS,
    FORMAT_VERSION,
    KPIS,
    MANIFEST,
    TIMESERIES,
    TIMESERIES_COLUMNS,
    is_regular_file,
    scan_store,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest ``manifest.json`` or ``kpis.json`` read. [bytes]"""

_SEED_LIMIT = 2**63
_INT64_LIMIT = 2**63


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a regular file of at most :data:`MAX_JSON_BYTES`.

    Raises
    ------
    ResultsError
        Naming the file: missing, not a regular file, too large, not JSON (``NaN`` and
        ``Infinity`` are read as floats: the callers check their fields) or not an
        object.
    """
    if not os.path.lexists(path):
        raise ResultsError(f"{path}: missing; the run folder is partial or not a run")
    if not is_regular_file(path):
        raise ResultsError(f"{path}: not a regular file; the run folder is damaged")
    try:
        size = os.path.getsize(path)
        if size > MAX_JSON_BYTES:
            raise ResultsError(
                f"{path}: {size} bytes, larger than the {MAX_JSON_BYTES} a run file may hold"
            )
        with open(path, "rb") as handle:
            text = handle.read(MAX_JSON_BYTES + 1).decode("utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: corrupted ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: corrupted (expected a JSON object)")
    return data


def _field(path: Path, manifest: dict[str, Any], key: str, kind: str) -> None:
    value = manifest.get(key)
    if kind == "str":
        ok, expected = isinstance(value, str), "a string"
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        expected = "a finite number"
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
        low = 1 if kind == "positive" else 0
        limit = _SEED_LIMIT if key == "seed" else _INT64_LIMIT
        expected = f"an integer in {low}..2^63-1"
        if ok and not low <= value < limit:
            raise ResultsError(f"{path}: {key} {value} does not fit; expected {expected}")
    if not ok:
        shown = json.dumps(value) if value is not None else "missing"
        raise ResultsError(f"{path}: {key} is {shown[:40]}; expected {expected}")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """``manifest.json`` of a run folder, checked (see the module docstring).

    Raises
    ------
    ResultsError
        For a manifest that is missing, damaged, of another format version, or whose
        fields do not have their contract types; the message names file and field.
    """
    path = Path(folder) / MANIFEST
    manifest = read_json(path)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            why = f"format_version {version} is newer than this GridTwin reads ({FORMAT_VERSION})"
            fix = "upgrade GridTwin to read it"
        else:
            shown = "absent (written before format versions)" if version is None else (
                json.dumps(version)[:20])
            why = f"format_version is {shown}; this GridTwin reads format {FORMAT_VERSION}"
            fix = "run the scenario again to rewrite it"
        raise ResultsError(f"{path}: {why}; {fix}")
    for key, kind in (
        ("run_id", "str"), ("scenario_name", "str"), ("scenario_hash", "str"),
        ("seed", "int"), ("n_steps", "int"), ("step_s", "positive"),
        ("started_at", "str"), ("wall_time_s", "number"),
    ):
        _field(path, manifest, key, kind)
    return manifest


def read_kpis(folder: str | Path) -> dict[str, Any]:
    """``kpis.json`` of a run folder: KPI name -> finite number or None.

    Raises
    ------
    ResultsError
        For a file that is missing or damaged, or a KPI that is not a finite number or
        null (naming the KPI).
    """
    path = Path(folder) / KPIS
    kpis = read_json(path)
    for name, value in kpis.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ResultsError(f"{path}: KPI '{name}' is {json.dumps(value)[:40]}; expected "
                               "a number or null")
        if isinstance(value, int) and not -_INT64_LIMIT <= value < _INT64_LIMIT:
            raise ResultsError(f"{path}: KPI '{name}' {value} does not fit a 64-bit integer")
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError(f"{path}: KPI '{name}' is {value}; expected a finite number")
    return kpis


def _type_ok(column: str, arrow_type: Any, time_types: tuple[str, ...]) -> bool:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return True  # a column of an empty table
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if column == "time_s":
        return (pa.types.is_integer(arrow_type) and "int" in time_types) or (
            pa.types.is_floating(arrow_type) and "float" in time_types
        )
    if column == "value":
        return pa.types.is_floating(arrow_type)
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def check_parquet(path: Path) -> None:
    """Refuse a Parquet run file that is not a regular file, not readable Parquet, or
    not of the contract's columns and types.

    Raises
    ------
    ResultsError
        Naming the file and what is wrong.
    """
    import pyarrow.parquet as pq

    if not os.path.lexists(path):
        raise ResultsError(f"{path}: missing; the run folder is partial")
    if not is_regular_file(path):
        raise ResultsError(f"{path}: not a regular file; the run folder is damaged")
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path}: corrupted ({first[:200]})") from None
    expected, time_types = (
        (TIMESERIES_COLUMNS, ("int",)) if path.name == TIMESERIES else (EVENTS_COLUMNS, ("float", "int"))
    )
    if tuple(schema.names) != expected:
        raise ResultsError(
            f"{path}: columns {', '.join(schema.names)[:200]}; expected {', '.join(expected)} "
            "(not a GridTwin run file)"
        )
    for name in expected:
        arrow_type = schema.field(name).type
        if not _type_ok(name, arrow_type, time_types):
            raise ResultsError(f"{path}: column {name} is {arrow_type}; not a GridTwin run file")


def check_run(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read and check a run folder; return its manifest and KPIs.

    Raises
    ------
    ResultsError
        For anything the module docstring lists, naming the file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(f"{root}: no such run folder")
    manifest = read_manifest(root)
    kpis = read_kpis(root)
    for name in (TIMESERIES, EVENTS):
        check_parquet(root / name)
    return manifest, kpis


class RunData:
    """One finished run, read from its folder. Parquet files load on first access.

    Attributes
    ----------
    path : pathlib.Path
        The run folder.
    manifest, kpis : dict
        Contents of ``manifest.json`` and ``kpis.json``.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], kpis: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.kpis = kpis

    @property
    def run_id(self) -> str:
        """The run's id (its folder name)."""
        return str(self.manifest.get("run_id", self.path.name))

    def _parquet(self, name: str) -> pd.DataFrame:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.path / name).to_pandas()
        except Exception as exc:
            raise ResultsError(f"{self.path / name}: corrupted ({exc})") from None

    @functools.cached_property
    def timeseries(self) -> pd.DataFrame:
        """``timeseries.parquet`` as a DataFrame (entity/quantity/unit categorical)."""
        return self._parquet(TIMESERIES)

    @functools.cached_property
    def events(self) -> pd.DataFrame:
        """``events.parquet`` as a DataFrame."""
        return self._parquet(EVENTS)

    def series(self, entity: str, quantity: str) -> pd.Series:
        """One quantity of one entity, indexed by ``time_s``."""
        frame = self.timeseries
        rows = frame[(frame.entity == entity) & (frame.quantity == quantity)]
        return rows.set_index("time_s")["value"].rename(f"{entity}:{quantity}")


def open_run(path: str | Path) -> RunData:
    """Open a finished run folder (checked by :func:`check_run`).

    Raises
    ------
    ResultsError
        If the folder is missing, partial, damaged, foreign or of another format
        version; the message names the file.
    """
    root = Path(path)
    manifest, kpis = check_run(root)
    return RunData(root, manifest, kpis)


@dataclass(frozen=True)
class RunSummary:
    """One line of the store's listing.

    Attributes
    ----------
    run_id, scenario_name : str
        Folder name and scenario name.
    path : pathlib.Path
        The run folder.
    seed, n_steps : int
        Seed and steps simulated.
    started_at : str
        ISO 8601 UTC start of the run.
    wall_time_s : float
        Wall time of the run. [s]
    scenario_hash : str
        Hash of the resolved scenario without its seed.
    """

    run_id: str
    scenario_name: str
    path: Path
    seed: int
    n_steps: int
    started_at: str
    wall_time_s: float
    scenario_hash: str


def list_runs(store: str | Path = "runs") -> list[RunSummary]:
    """Valid runs in a store (:func:`check_run`), newest first. Dot-folders and plain
    files are skipped; damaged folders with one warning each."""
    scan = scan_store(store)
    for name, reason in sorted(scan.damaged.items()):
        logger.warning("skipping %s: %s", Path(store) / name, reason)
    out: list[RunSummary] = []
    for run_id, folder in scan.runs.items():
        try:
            m, _ = check_run(folder)
        except ResultsError as exc:
            logger.warning("skipping %s: %s", folder, exc)
            continue
        out.append(
            RunSummary(
                run_id=run_id,
                scenario_name=m["scenario_name"],
                path=folder,
                seed=m["seed"],
                n_steps=m["n_steps"],
                started_at=m["started_at"],
                wall_time_s=float(m["wall_time_s"]),
                scenario_hash=m["scenario_hash"],
            )
        )
    out.sort(key=lambda s: (s.started_at, s.run_id), reverse=True)
    return out
