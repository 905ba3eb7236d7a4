"""The results store, read defensively: list runs, open one, explain what is wrong.

A run folder is ``<store>/<run_id>/`` with ``manifest.json``, ``kpis.json``,
``timeseries.parquet`` and ``events.parquet`` (``docs/contracts.md``). The app reads
manifest and KPIs (small JSON) eagerly and leaves the parquet files to
:mod:`gui.series`, which queries them with DuckDB. A folder that is damaged (bad JSON,
missing or unreadable parquet) is reported with a message, never a traceback, and the
other runs stay usable.

Public names: :class:`RunMeta`, :class:`RunLoadError`, :func:`list_store_runs`,
:func:`load_run_meta`, :func:`expected_run_id`, :func:`find_run`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

TIMESERIES_COLUMNS = ("time_s", "entity", "quantity", "value")
EVENTS_COLUMNS = ("time_s", "category", "kind", "entity", "message", "data")


class RunLoadError(Exception):
    """A run folder cannot be shown; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RunMeta:
    """What the app knows about one run before querying its time series.

    Attributes
    ----------
    run_id : str
        Folder name, ``<scenario>-<hash10>-s<seed>``.
    path : pathlib.Path
        The run folder.
    manifest : dict
        ``manifest.json``.
    kpis : dict
        ``kpis.json`` (KPI name with unit -> number or None).
    timeseries_path : pathlib.Path or None
        ``timeseries.parquet`` when present and readable.
    events_path : pathlib.Path or None
        ``events.parquet`` when present and readable.
    warnings : list of str
        Non-fatal defects (e.g. no events file).
    """

    run_id: str
    path: Path
    manifest: dict[str, Any]
    kpis: dict[str, Any]
    timeseries_path: Path | None
    events_path: Path | None
    warnings: list[str] = field(default_factory=list)

    @property
    def scenario_name(self) -> str:
        """Name of the scenario the run is of."""
        return str(self.manifest.get("scenario_name", self.run_id))

    @property
    def step_s(self) -> int:
        """Grid step. [s]"""
        return int(self.manifest.get("step_s") or 900)

    @property
    def n_steps(self) -> int:
        """Number of grid steps."""
        return int(self.manifest.get("n_steps") or 0)

    @property
    def duration_s(self) -> int:
        """Simulated horizon. [s]"""
        return self.n_steps * self.step_s

    @property
    def sim_start(self) -> str:
        """Calendar time of simulated second 0 (ISO 8601)."""
        return str(self.manifest.get("sim_start") or "2016-01-01T00:00:00")

    @property
    def started_at(self) -> str:
        """When the run was made (ISO 8601 UTC)."""
        return str(self.manifest.get("started_at") or "")

    @property
    def scenario(self) -> dict[str, Any]:
        """The resolved scenario as JSON (empty when absent)."""
        value = self.manifest.get("scenario")
        return value if isinstance(value, dict) else {}


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise RunLoadError(f"{path.parent.name}: {path.name} is missing; the {what} "
                           "cannot be shown (the run folder is incomplete)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunLoadError(f"{path.parent.name}: {path.name} is corrupted ({exc}); the run "
                           "folder is damaged, run the scenario again") from None
    if not isinstance(data, dict):
        raise RunLoadError(f"{path.parent.name}: {path.name} holds a "
                           f"{type(data).__name__}, expected a JSON object")
    return data


def _check_parquet(path: Path, columns: tuple[str, ...]) -> str | None:
    """None when the parquet file is readable with the columns; else what is wrong."""
    if not path.is_file():
        return f"{path.name} is missing"
    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for damaged files
        return f"{path.name} is not a readable parquet file ({type(exc).__name__})"
    missing = [c for c in columns if c not in names]
    if missing:
        return f"{path.name} lacks the columns {', '.join(missing)}"
    return None


def load_run_meta(path: Path) -> RunMeta:
    """Open a run folder: manifest, KPIs, and which parquet files are usable.

    Raises
    ------
    RunLoadError
        For a folder without a readable manifest or KPIs, or with a damaged
        ``timeseries.parquet``; the message names the file and the remedy.
    """
    path = Path(path)
    if not path.is_dir():
        raise RunLoadError(f"{path}: no such run folder")
    manifest = _read_json_object(path / "manifest.json", "run")
    kpis = _read_json_object(path / "kpis.json", "KPIs")
    warnings: list[str] = []
    ts_path: Path | None = path / "timeseries.parquet"
    problem = _check_parquet(ts_path, TIMESERIES_COLUMNS)
    if problem is not None:
        if ts_path.exists():
            raise RunLoadError(f"{path.name}: {problem}; the run folder is damaged, run "
                               "the scenario again")
        warnings.append(f"{problem}: the run recorded no time series")
        ts_path = None
    ev_path: Path | None = path / "events.parquet"
    problem = _check_parquet(ev_path, EVENTS_COLUMNS)
    if problem is not None:
        warnings.append(f"{problem}: no events are shown")
        ev_path = None
    return RunMeta(path.name, path, manifest, kpis, ts_path, ev_path, warnings)


@dataclass(frozen=True)
class StoreListing:
    """The runs of a store, and the folders that looked like runs but are damaged."""

    runs: list[RunMeta]
    damaged: dict[str, str]


def list_store_runs(store: Path) -> StoreListing:
    """All runs of a store, newest first, and damaged run folders with their reason.

    Folders starting with ``.`` (temporary writes) and folders without
    ``manifest.json`` are not runs and are skipped silently.
    """
    runs: list[RunMeta] = []
    damaged: dict[str, str] = {}
    if not store.is_dir():
        return StoreListing(runs, damaged)
    for child in sorted(store.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if not (child / "manifest.json").exists():
            continue
        try:
            runs.append(load_run_meta(child))
        except RunLoadError as exc:
            damaged[child.name] = str(exc)
    runs.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return StoreListing(runs, damaged)


def expected_run_id(scenario: Any, seed: int | None = None) -> str:
    """The run id the store uses for a scenario and seed (contract: name-hash10-sSEED)."""
    from twin.scenario import scenario_hash

    seed = scenario.seed if seed is None else seed
    return f"{scenario.name}-{scenario_hash(scenario)[:10]}-s{seed}"


def find_run(store: Path, run_id: str) -> Path | None:
    """The folder of a complete run in the store, or None."""
    path = store / run_id
    return path if (path / "manifest.json").is_file() else None
