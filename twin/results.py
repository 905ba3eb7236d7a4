"""The results store: one folder per run, written atomically, read back by everyone.

A store is a folder (default ``runs/``). A run is ``<store>/<run_id>/`` holding
``manifest.json``, ``kpis.json``, ``timeseries.parquet`` and ``events.parquet`` (see
``docs/contracts.md``). A run is written into ``<store>/.tmp-<run_id>-<pid>/`` and
renamed into place when complete, so a folder in the store is complete or absent; a
folder whose name starts with a dot, or without ``manifest.json``, is not a run.

Public names: :func:`run_id_for`, :func:`write_run`, :func:`open_run`,
:func:`list_runs`, :func:`clean_stale`, :func:`pid_alive`, :class:`RunData`, :class:`RunSummary`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import ResultsError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
KPIS = "kpis.json"
TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
RUN_FILES = (MANIFEST, KPIS, TIMESERIES, EVENTS)
"""Files every run folder holds."""


def run_id_for(scenario_name: str, scenario_hash: str, seed: int) -> str:
    """``<scenario.name>-<hash[:10]>-s<seed>``: the same resolved scenario and seed map to
    the same folder.

    Examples
    --------
    >>> run_id_for("default", "0123456789abcdef", 7)
    'default-0123456789-s7'
    """
    return f"{scenario_name}-{scenario_hash[:10]}-s{seed}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(store: str | Path) -> list[Path]:
    """Remove temporary folders left by runs that were killed (their process is gone).

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    root = Path(store)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        if not entry.is_dir() or not entry.name.startswith((".tmp-", ".old-")):
            continue
        pid_text = entry.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_run(
    store: str | Path,
    run_id: str,
    *,
    manifest: dict[str, Any],
    kpis: dict[str, Any],
    timeseries: pa.Table,
    events: pa.Table,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write one run folder atomically and return its path.

    An existing folder with the same ``run_id`` is replaced (the old one is renamed away
    first, then removed), so readers see the old run, then no run, then the new one;
    never a mixture.

    Parameters
    ----------
    store : str or pathlib.Path
        The store folder (created if missing).
    run_id : str
        Folder name of the run.
    manifest, kpis : dict
        Written as JSON (``manifest.json`` last, so a folder with a manifest is complete).
    timeseries, events : pyarrow.Table
        Written as Parquet (zstd).
    extra_files : dict, optional
        Relative path -> content (e.g. ``circuits/call-3.qasm``).
    """
    import pyarrow.parquet as pq

    root = Path(store)
    root.mkdir(parents=True, exist_ok=True)
    clean_stale(root)
    final = root / run_id
    tmp = root / f".tmp-{run_id}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        pq.write_table(timeseries, tmp / TIMESERIES, compression="zstd")
        pq.write_table(events, tmp / EVENTS, compression="zstd")
        for rel, content in (extra_files or {}).items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (tmp / KPIS).write_text(
            json.dumps(kpis, indent=2, default=_json_default) + "\n"
        )
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True, default=_json_default) + "\n"
        )
        old = None
        if final.exists():
            old = root / f".old-{run_id}-{os.getpid()}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ResultsError(f"{path}: missing; the run folder is partial or not a run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: corrupted ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: corrupted (expected a JSON object)")
    return data


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
    """Open a finished run folder.

    Raises
    ------
    ResultsError
        If the folder is missing, partial (no manifest, a file absent) or a file is
        corrupted; the message names the file.
    """
    import pyarrow.parquet as pq

    root = Path(path)
    if not root.is_dir():
        raise ResultsError(f"{root}: no such run folder")
    manifest = _read_json(root / MANIFEST)
    kpis = _read_json(root / KPIS)
    for name in (TIMESERIES, EVENTS):
        file = root / name
        if not file.is_file():
            raise ResultsError(f"{file}: missing; the run folder is partial")
        try:
            pq.read_schema(file)
        except Exception as exc:
            raise ResultsError(f"{file}: corrupted ({exc})") from None
    return RunData(root, manifest, kpis)


@dataclass(frozen=True)
class RunSummary:
    """One line of the store's catalogue.

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
    """Finished runs in a store, newest first. Folders that are not runs are skipped
    (corrupted manifests with a warning)."""
    root = Path(store)
    if not root.is_dir():
        return []
    out: list[RunSummary] = []
    for entry in root.iterdir():
        if entry.name.startswith(".") or not (entry / MANIFEST).is_file():
            continue
        try:
            m = _read_json(entry / MANIFEST)
            out.append(
                RunSummary(
                    run_id=str(m["run_id"]),
                    scenario_name=str(m["scenario_name"]),
                    path=entry,
                    seed=int(m["seed"]),
                    n_steps=int(m["n_steps"]),
                    started_at=str(m["started_at"]),
                    wall_time_s=float(m["wall_time_s"]),
                    scenario_hash=str(m["scenario_hash"]),
                )
            )
        except (ResultsError, KeyError, TypeError, ValueError) as exc:
            logger.warning("skipping %s: %s", entry, exc)
    out.sort(key=lambda s: (s.started_at, s.run_id), reverse=True)
    return out


