"""The layout of a results store: file names, run ids, format version, completeness.

A run is ``<store>/<run_id>/`` with the four :data:`RUN_FILES`. Folders whose name
starts with a dot are the store's own (``.tmp-*`` and ``.old-*`` of writes in flight,
``.catalogue/``, lock files) and never runs. A run folder is *complete* when each of
the four files is a regular file (:func:`is_complete`); the writer puts a folder in
place only when it is complete, so a folder in the store is complete or damaged.

Public names: :data:`MANIFEST`, :data:`KPIS`, :data:`TIMESERIES`, :data:`EVENTS`,
:data:`RUN_FILES`, :data:`FORMAT_VERSION`, :data:`TIMESERIES_COLUMNS`,
:data:`EVENTS_COLUMNS`, :func:`run_id_for`, :func:`scenario_run_id`,
:func:`is_regular_file`, :func:`is_complete`, :func:`file_stats`, :func:`missing_files`,
:class:`StoreScan`, :func:`scan_store`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
KPIS = "kpis.json"
TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
RUN_FILES = (MANIFEST, KPIS, TIMESERIES, EVENTS)
"""Files every run folder holds (the writer writes ``manifest.json`` last)."""

FORMAT_VERSION = 1
"""Version of the run-folder format the writer writes and the reader reads
(``manifest.json`` field ``format_version``). A folder of another version is refused
by the reader with a message naming both versions."""

TIMESERIES_COLUMNS = ("time_s", "entity", "quantity", "unit", "value")
"""Columns of ``timeseries.parquet``, in order."""
EVENTS_COLUMNS = ("time_s", "category", "kind", "entity", "message", "data")
"""Columns of ``events.parquet``, in order."""


def run_id_for(scenario_name: str, scenario_hash: str, seed: int) -> str:
    """``<scenario.name>-<hash[:10]>-s<seed>``: the same resolved scenario and seed map to
    the same folder (sweeps resume by it).

    Examples
    --------
    >>> run_id_for("default", "0123456789abcdef", 7)
    'default-0123456789-s7'
    """
    return f"{scenario_name}-{scenario_hash[:10]}-s{seed}"


def scenario_run_id(scenario: Any, seed: int | None = None) -> str:
    """:func:`run_id_for` of a validated :class:`twin.scenario.Scenario` (its seed unless
    ``seed`` is given)."""
    from twin.scenario import scenario_hash

    seed = scenario.seed if seed is None else seed
    return run_id_for(scenario.name, scenario_hash(scenario), seed)


def is_regular_file(path: str | Path) -> bool:
    """True for a regular file (not a directory, FIFO, device or symbolic link)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def file_stats(folder: str | Path) -> tuple[os.stat_result | None, ...]:
    """``lstat`` of each of :data:`RUN_FILES` in ``folder`` (None where absent)."""
    out = []
    for name in RUN_FILES:
        try:
            out.append(os.lstat(os.path.join(folder, name)))
        except OSError:
            out.append(None)
    return tuple(out)


def _problems(stats: tuple[os.stat_result | None, ...]) -> list[str]:
    out = []
    for name, st in zip(RUN_FILES, stats, strict=True):
        if st is None:
            out.append(f"{name} is missing")
        elif not stat.S_ISREG(st.st_mode):
            out.append(f"{name} is not a regular file")
    return out


def missing_files(folder: str | Path) -> list[str]:
    """The :data:`RUN_FILES` that are not regular files in ``folder``, each with why."""
    return _problems(file_stats(folder))


def is_complete(folder: str | Path) -> bool:
    """The completeness rule: ``folder`` is a directory holding each of the four
    :data:`RUN_FILES` as a regular file.

    A complete folder may still be damaged inside (bad JSON, a truncated Parquet file):
    :func:`twin.store.read.check_run` reads it to tell.
    """
    return os.path.isdir(folder) and not missing_files(folder)


@dataclass(frozen=True)
class StoreScan:
    """What a store folder holds, without reading any file.

    Attributes
    ----------
    runs : dict
        Run id -> folder of every complete run folder.
    incomplete : dict
        Folder name -> reason, for folders with a ``manifest.json`` entry that are not
        complete (a run file missing, or one that is not a regular file).
    not_runs : dict
        Folder name -> reason, for folders without any ``manifest.json``: no run was
        ever put there by the writer (someone else's folder, or a hand-made one).
    """

    runs: dict[str, Path] = field(default_factory=dict)
    incomplete: dict[str, str] = field(default_factory=dict)
    not_runs: dict[str, str] = field(default_factory=dict)
    stats: dict[str, tuple[os.stat_result | None, ...]] = field(default_factory=dict)
    """Run id -> :func:`file_stats` of each complete run (mtime and size tell a rewrite)."""

    @property
    def damaged(self) -> dict[str, str]:
        """Every folder that is not a complete run, with its reason."""
        return {**self.not_runs, **self.incomplete}


def scan_store(store: str | Path) -> StoreScan:
    """Sort a store's folders into complete runs and incomplete folders.

    Entries starting with ``.`` are the store's own and skipped, so are plain files.
    """
    scan = StoreScan()
    root = Path(store)
    if not root.is_dir():
        return scan
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            stats = file_stats(entry.path)
            problems = _problems(stats)
            if stats[0] is None:
                scan.not_runs[entry.name] = "no manifest.json: not a run folder"
            elif problems:
                scan.incomplete[entry.name] = "; ".join(problems) + ": not a complete run"
            else:
                scan.runs[entry.name] = Path(entry.path)
                scan.stats[entry.name] = stats
    return scan
