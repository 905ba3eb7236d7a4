"""The results store: where runs live on disk, how they are written, and the one reader.

A store is a folder (default ``runs/``); a run is ``<store>/<run_id>/`` holding
``manifest.json``, ``kpis.json``, ``timeseries.parquet`` and ``events.parquet``
(``docs/contracts.md``). Everything that knows this layout lives here:

- :mod:`twin.store.layout`: file names, the run id rule (:func:`run_id_for`), the
  format version, the completeness rule (:func:`is_complete`) and the scan of a store
  into runs and damaged folders (:func:`scan_store`);
- :mod:`twin.store.write`: the write protocol (:func:`write_run`, :func:`install_run`),
  recovery of interrupted writes (:func:`recover`, also called :func:`clean_stale`) and
  the folder locks (:class:`FolderLock`);
- :mod:`twin.store.read`: the one reader (:func:`open_run`, :func:`list_runs`,
  :func:`check_run`) that the CLI, the catalogue, sweeps and the app use;
- :mod:`twin.store.manifest`: provenance for the manifest (package versions, git
  commit and dirty flag);
- :mod:`twin.store.catalogue`: DuckDB over a store (imported on its own: it loads DuckDB).

Imports: the standard library, :mod:`twin.errors`, pyarrow (lazily, where files are
read or written) and, for :func:`scenario_run_id` only, :mod:`twin.scenario`; the
catalogue also reads sweep directories through :mod:`twin.study.sweepdir` (data, no
runs). The store never imports the engine, the grid, assets, control or solvers.
"""

from __future__ import annotations

from twin.store.layout import (
    EVENTS,
    FORMAT_VERSION,
    KPIS,
    MANIFEST,
    RUN_FILES,
    TIMESERIES,
    StoreScan,
    is_complete,
    run_id_for,
    scan_store,
    scenario_run_id,
)
from twin.store.read import RunData, RunSummary, check_run, list_runs, open_run
from twin.store.write import (
    FolderLock,
    clean_stale,
    install_run,
    pid_alive,
    recover,
    write_run,
)

__all__ = [
    "EVENTS",
    "FORMAT_VERSION",
    "KPIS",
    "MANIFEST",
    "RUN_FILES",
    "TIMESERIES",
    "FolderLock",
    "RunData",
    "RunSummary",
    "StoreScan",
    "check_run",
    "clean_stale",
    "install_run",
    "is_complete",
    "list_runs",
    "open_run",
    "pid_alive",
    "recover",
    "run_id_for",
    "scan_store",
    "scenario_run_id",
    "write_run",
]
