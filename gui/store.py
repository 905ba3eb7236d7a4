"""The results store, read defensively: list runs, open one, explain what is wrong.

A run folder is ``<store>/<run_id>/`` with ``manifest.json``, ``kpis.json``,
``timeseries.parquet`` and ``events.parquet`` (``docs/contracts.md``). The app reads
manifest and KPIs (small JSON) eagerly and leaves the parquet files to
:mod:`gui.series`, which queries them with DuckDB. Which folders are runs, what a run id
is and whether a folder is valid are the store's rules (:mod:`twin.store`): a folder
the store's reader refuses is reported with its message, never a traceback, and the
other runs stay usable.

Public names: :class:`RunMeta`, :class:`RunLoadError`, :func:`list_store_runs`,
:func:`load_run_meta`, :func:`expected_run_id`, :func:`find_run`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)



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


def load_run_meta(path: Path) -> RunMeta:
    """Open a run folder through the store's reader (:func:`twin.store.check_run`).

    Raises
    ------
    RunLoadError
        For a folder the reader refuses (missing, partial, damaged, foreign, of another
        format version, a manifest field of the wrong type); the message names the file
        and what is wrong.
    """
    from twin.errors import ResultsError
    from twin.store import EVENTS, TIMESERIES, check_run

    path = Path(path)
    try:
        manifest, kpis = check_run(path)
    except ResultsError as exc:
        raise RunLoadError(str(exc)) from None
    return RunMeta(path.name, path, manifest, kpis, path / TIMESERIES, path / EVENTS)


@dataclass(frozen=True)
class StoreListing:
    """The runs of a store, and the folders that looked like runs but are damaged."""

    runs: list[RunMeta]
    damaged: dict[str, str]


def list_store_runs(store: Path) -> StoreListing:
    """All runs of a store, newest first, and damaged run folders with their reason.

    Folders starting with ``.`` (writes in flight, the catalogue's cache) are the
    store's own and folders without ``manifest.json`` are not runs: both are skipped.
    Any other folder that the store's reader refuses is damaged.
    """
    from twin.store import scan_store

    runs: list[RunMeta] = []
    scan = scan_store(store)
    damaged: dict[str, str] = dict(scan.incomplete)
    for name, folder in sorted(scan.runs.items()):
        try:
            runs.append(load_run_meta(folder))
        except RunLoadError as exc:
            damaged[name] = str(exc)
    runs.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return StoreListing(runs, dict(sorted(damaged.items())))


def expected_run_id(scenario: Any, seed: int | None = None) -> str:
    """The run id the store gives a scenario and seed (:func:`twin.store.scenario_run_id`)."""
    from twin.store import scenario_run_id

    return scenario_run_id(scenario, seed)


def find_run(store: Path, run_id: str) -> Path | None:
    """The folder of a complete run in the store (:func:`twin.store.is_complete`), or None."""
    from twin.store import is_complete

    path = store / run_id
    return path if is_complete(path) else None
