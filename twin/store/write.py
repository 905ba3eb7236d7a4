"""Writing runs into a store: atomic, recoverable, safe for concurrent writers.

The write protocol of one run ``R`` by process ``P`` (thread ``T``), with the name of
each step as :data:`STEPS` gives it:

1. ``tmp-created``: ``<store>/.tmp-R-P-tT/`` is made and filled; ``data-written``
   when the Parquet and extra files are in it, ``tmp-complete`` when ``kpis.json`` and
   then ``manifest.json`` are;
2. under the store lock (a ``flock`` on the store folder itself): an existing ``R``
   is renamed to ``.old-R-P-tT`` (``old-moved``), then the new folder is renamed to ``R``
   (``new-in-place``);
3. the old folder is removed (``old-removed``).

A reader therefore sees the old run, briefly no run, then the new one; never a mixture.
A writer killed at any point leaves dot-folders that :func:`recover` (run by the next
writer, and by sweeps) resolves without ever deleting the only complete copy: an
``.old-*`` whose run is absent is renamed back, an ``.old-*`` whose run is complete is
removed, a complete ``.tmp-*`` of a run that is absent is put in place, other ``.tmp-*``
are removed. Two writers of the same run id both succeed (the later one replaces the
earlier one's folder; both hold the same run). A folder is stale when its writer is
gone: another process that no longer exists, or a thread of this one that is no longer
writing.

Public names: :data:`STEPS`, :data:`on_step`, :func:`write_run`, :func:`install_run`,
:func:`recover`, :func:`clean_stale`, :func:`pid_alive`, :class:`FolderLock`,
:class:`FolderBusyError`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import ResultsError
from twin.store.layout import (
    EVENTS,
    FORMAT_VERSION,
    KPIS,
    MANIFEST,
    TIMESERIES,
    is_complete,
    missing_files,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no advisory locks
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)

STEPS = (
    "tmp-created", "data-written", "tmp-complete", "old-moved", "new-in-place", "old-removed",
)
"""The named points of the write protocol, in order (see the module docstring)."""

on_step: Callable[[str, Path], None] | None = None
"""Called as ``on_step(step, run_folder)`` at each of :data:`STEPS` when set: the seam
the kill tests use to stop a writer at a named point. None in normal use."""

_STALE_NAME = re.compile(r"^\.(?P<kind>tmp|old)-(?P<run_id>.+)-(?P<pid>\d+)(?:-t(?P<tid>\d+))?$")
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _step(name: str, folder: Path) -> None:
    hook = on_step
    if hook is not None:
        hook(name, folder)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FolderBusyError(ResultsError):
    """A folder lock is held by another process (the message names it)."""


class FolderLock:
    """An exclusive advisory lock (``fcntl.flock``) on a lock file or on a folder itself.

    The kernel releases it when its holder exits, however it exits (``kill -9``
    included), so a lock is never left behind. A folder is locked through its own
    descriptor, which leaves nothing in it; a lock file holds its holder's pid, which
    the busy message names. Use as a context manager.

    Parameters
    ----------
    path : pathlib.Path
        A folder, or a lock file (created if missing).
    blocking : bool
        Wait for the lock (True) or raise :class:`FolderBusyError` at once (False).
    what : str
        What the lock guards, for the error message.
    """

    def __init__(self, path: str | Path, *, blocking: bool = True, what: str = "folder") -> None:
        self.path = Path(path)
        self.blocking = blocking
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock (see ``blocking``)."""
        is_dir = self.path.is_dir()
        if is_dir:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        else:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = "" if is_dir else os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                where = self.path if is_dir else self.path.parent
                raise FolderBusyError(
                    f"{where}: the {self.what} is in use by "
                    f"{'process ' + holder if holder else 'another process'}; wait for it "
                    "to finish or use another folder"
                ) from None
        if not is_dir:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _writer_alive(path: Path, pid: int) -> bool:
    if pid != os.getpid():
        return pid_alive(pid)
    with _in_flight_lock:
        return str(path) in _in_flight


def recover(store: str | Path) -> list[Path]:
    """Resolve the dot-folders that killed writers left (see the module docstring).

    Returns
    -------
    list of pathlib.Path
        The run folders restored or put in place and the dot-folders removed.
    """
    root = Path(store)
    touched: list[Path] = []
    if not root.is_dir():
        return touched
    stale: dict[str, list[tuple[str, Path]]] = {"old": [], "tmp": []}
    for entry in root.iterdir():
        match = _STALE_NAME.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        if _writer_alive(entry, int(match["pid"])):
            continue
        stale[match["kind"]].append((match["run_id"], entry))
    if not stale["old"] and not stale["tmp"]:
        return touched
    with FolderLock(root, what="store"):
        for run_id, old in stale["old"]:  # first: a restored run decides the tmp folders
            final = root / run_id
            if not os.path.lexists(final):
                os.rename(old, final)
                logger.warning("restored run %s from %s (its rewrite was interrupted)",
                               run_id, old.name)
                touched.append(final)
            elif is_complete(final):
                shutil.rmtree(old, ignore_errors=True)
                touched.append(old)
            else:
                logger.warning("%s kept: run %s is incomplete and this may be its only copy",
                               old, run_id)
        for run_id, tmp in stale["tmp"]:
            final = root / run_id
            if not os.path.lexists(final) and is_complete(tmp):
                os.rename(tmp, final)
                logger.warning("put run %s in place from %s (its write was interrupted "
                               "after it was complete)", run_id, tmp.name)
                touched.append(final)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
                touched.append(tmp)
    return touched


clean_stale = recover
"""Former name of :func:`recover`."""


def install_run(store: str | Path, run_id: str, fill: Callable[[Path], None]) -> Path:
    """Write one run folder through the write protocol and return its path.

    Parameters
    ----------
    store : str or pathlib.Path
        The store folder (created if missing).
    run_id : str
        Folder name of the run.
    fill : callable
        ``fill(folder)`` writes the run's files into the temporary ``folder``
        (``manifest.json`` last). The folder is put in place only when complete.

    Raises
    ------
    ResultsError
        When ``fill`` left the folder incomplete (nothing is put in place then).
    """
    root = Path(store)
    root.mkdir(parents=True, exist_ok=True)
    recover(root)
    final = root / run_id
    tag = f"{os.getpid()}-t{threading.get_ident()}"
    tmp = root / f".tmp-{run_id}-{tag}"
    old = root / f".old-{run_id}-{tag}"
    with _in_flight_lock:
        _in_flight.update((str(tmp), str(old)))
    moved = placed = False
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _step("tmp-created", final)
        fill(tmp)
        problems = missing_files(tmp)
        if problems:
            raise ResultsError(f"{final}: not written ({'; '.join(problems)})")
        _step("tmp-complete", final)
        with FolderLock(root, what="store"):
            if os.path.lexists(final):
                os.rename(final, old)
                moved = True
                _step("old-moved", final)
            os.rename(tmp, final)
            placed = True
            _step("new-in-place", final)
    except BaseException:
        if moved and not placed and not os.path.lexists(final):
            os.rename(old, final)  # the old run back: a failed rewrite loses nothing
        shutil.rmtree(tmp, ignore_errors=True)
        with _in_flight_lock:
            _in_flight.difference_update((str(tmp), str(old)))
        raise
    if moved:
        shutil.rmtree(old, ignore_errors=True)
        _step("old-removed", final)
    with _in_flight_lock:
        _in_flight.difference_update((str(tmp), str(old)))
    return final


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite_kpis(kpis: dict[str, Any], run_id: str) -> dict[str, Any]:
    """KPIs with non-finite numbers written as null (JSON has no NaN or Infinity)."""
    out = {}
    for name, value in kpis.items():
        number = value.item() if hasattr(value, "item") else value
        if isinstance(number, float) and not math.isfinite(number):
            logger.warning("run %s: KPI %s is %s; written as null", run_id, name, number)
            number = None
        out[name] = number
    return out


def write_run(
    store: str | Path,
    run_id: str,
    *,
    manifest: dict[str, Any],
    kpis: dict[str, Any],
    timeseries: pa.Table | Callable[[Path], object],
    events: pa.Table,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write one run folder through the write protocol and return its path.

    An existing folder with the same ``run_id`` is replaced (see the module docstring).

    Parameters
    ----------
    store : str or pathlib.Path
        The store folder (created if missing).
    run_id : str
        Folder name of the run.
    manifest, kpis : dict
        Written as JSON (``manifest.json`` last, with ``format_version`` set to
        :data:`~twin.store.layout.FORMAT_VERSION`; non-finite KPIs as null).
    timeseries : pyarrow.Table or callable
        Written as Parquet (zstd); or ``timeseries(path)`` writes ``timeseries.parquet``
        itself into the temporary folder (the run streams it one row group at a time,
        :func:`twin.recorder.write_timeseries`).
    events : pyarrow.Table
        Written as Parquet (zstd).
    extra_files : dict, optional
        Relative path -> content (e.g. ``circuits/call-3.qasm``).
    """
    import pyarrow.parquet as pq

    def fill(folder: Path) -> None:
        if callable(timeseries):
            timeseries(folder / TIMESERIES)
        else:
            pq.write_table(timeseries, folder / TIMESERIES, compression="zstd")
        pq.write_table(events, folder / EVENTS, compression="zstd")
        for rel, content in (extra_files or {}).items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        _step("data-written", Path(store) / run_id)
        (folder / KPIS).write_text(
            json.dumps(_finite_kpis(kpis, run_id), indent=2, default=_json_default,
                       allow_nan=False) + "\n"
        )
        stamped = {**manifest, "format_version": FORMAT_VERSION}
        (folder / MANIFEST).write_text(
            json.dumps(stamped, indent=2, sort_keys=True, default=_json_default) + "\n"
        )

    return install_run(store, run_id, fill)


