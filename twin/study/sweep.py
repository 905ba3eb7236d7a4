"""Running a sweep: the runs the store does not hold yet, recorded in a sweep directory.

:func:`run_sweep` takes the sweep directory's lock (two sweeps into one directory do
not both run), resolves interrupted writes in the store (:func:`twin.store.recover`),
skips the runs already complete (:func:`is_complete`) and hands the others to an
executor (:mod:`twin.study.executors`).

Public names: :func:`is_complete`, :class:`SweepReport`, :func:`run_sweep`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from twin import store as run_store
from twin.errors import ResultsError
from twin.store.read import read_manifest
from twin.store.write import FolderBusyError
from twin.study.executors import Executor, LocalExecutor, RunOutcome
from twin.study.expand import PlannedRun, Sweep
from twin.study.schema import SweepInputError
from twin.study.sweepdir import (
    OUTCOMES_JSONL,
    SWEEP_JSON,
    SWEEP_LOCK,
    atomic_write_text,
    sweep_record,
)

logger = logging.getLogger(__name__)

def is_complete(store: str | Path, run: PlannedRun) -> bool:
    """True when the store holds this run, complete and readable (the store's rule,
    :func:`twin.store.is_complete`, and a manifest :func:`twin.store.read.read_manifest`
    accepts). A damaged folder is not complete: running the sweep rewrites it.

    Raises
    ------
    SweepInputError
        When the folder holds a different scenario or seed than the run id promises
        (a hash collision or a hand-edited store): the sweep refuses to overwrite it.
    """
    folder = Path(store) / run.run_id
    if not run_store.is_complete(folder):
        return False
    try:
        manifest = read_manifest(folder)
    except ResultsError:
        return False
    if manifest["scenario_hash"] != run.scenario_hash or manifest["seed"] != run.seed:
        raise SweepInputError.single(
            str(folder / run_store.MANIFEST),
            "scenario_hash",
            "run folder holds another scenario or seed than its id says; move it away",
        )
    return True


@dataclass(frozen=True)
class SweepReport:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    sweep_dir : pathlib.Path
        Where the sweep is recorded.
    outcomes : tuple of RunOutcome
        One per run, in the order they finished (skipped ones first).
    wall_time_s : float
        Time of the whole sweep. [s]
    """

    sweep_dir: Path
    outcomes: tuple[RunOutcome, ...]
    wall_time_s: float

    def count(self, status: str) -> int:
        """Number of runs with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when every run is complete (done now or before)."""
        return all(o.status in ("done", "skipped") for o in self.outcomes)


def run_sweep(
    sweep: Sweep,
    *,
    store: str | Path = "runs",
    sweep_dir: str | Path | None = None,
    executor: Executor | None = None,
    on_outcome: Callable[[RunOutcome], None] | None = None,
    stop: threading.Event | None = None,
) -> SweepReport:
    """Run the runs of a sweep that the store does not hold yet, and record the sweep.

    Parameters
    ----------
    sweep : Sweep
        From :func:`load_sweep`.
    store : str or pathlib.Path
        The results store.
    sweep_dir : str or pathlib.Path, optional
        Where to record the sweep; default ``sweeps/<name>``.
    executor : Executor, optional
        Where runs execute; default one :class:`LocalExecutor` worker.
    on_outcome : callable, optional
        Called with each :class:`RunOutcome` as it arrives (skipped runs first).
    stop : threading.Event, optional
        Set it to stop: no new run starts, running ones are cancelled (nothing partial
        is written), finished ones stay.

    Returns
    -------
    SweepReport
    """
    started = time.perf_counter()
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    folder = Path(sweep_dir) if sweep_dir is not None else Path("sweeps") / sweep.spec.name
    folder.mkdir(parents=True, exist_ok=True)
    lock = run_store.FolderLock(folder / SWEEP_LOCK, blocking=False, what="sweep directory")
    try:
        lock.acquire()
    except FolderBusyError as exc:
        raise SweepInputError.single(str(folder), "", str(exc).split(": ", 1)[-1]) from None
    try:
        outcomes = _run_locked(sweep, store, folder, executor, on_outcome, stop)
    finally:
        lock.release()
    return SweepReport(folder, tuple(outcomes), time.perf_counter() - started)


def _outcome_log(
    folder: Path, on_outcome: Callable[[RunOutcome], None] | None
) -> tuple[list[RunOutcome], Callable[[RunOutcome], None], Callable[[], None]]:
    """The outcomes list, the function that records one (in ``outcomes.jsonl`` too,
    from any thread) and the function that closes the log."""
    outcomes: list[RunOutcome] = []
    log = (folder / OUTCOMES_JSONL).open("a", encoding="utf-8")
    lock = threading.Lock()

    def record(outcome: RunOutcome) -> None:
        with lock:
            outcomes.append(outcome)
            item = asdict(outcome)
            item["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            log.write(json.dumps(item) + "\n")
            log.flush()
        if outcome.status == "failed":
            logger.warning("run %s failed: %s", outcome.run_id, outcome.error)
        if on_outcome is not None:
            on_outcome(outcome)

    return outcomes, record, log.close


def _run_locked(
    sweep: Sweep,
    store: Path,
    folder: Path,
    executor: Executor | None,
    on_outcome: Callable[[RunOutcome], None] | None,
    stop: threading.Event | None,
) -> list[RunOutcome]:
    """:func:`run_sweep` once the sweep directory's lock is held."""
    atomic_write_text(folder / SWEEP_JSON,
                      json.dumps(sweep_record(sweep, store, folder), indent=1))
    with contextlib.suppress(OSError):
        shutil.copyfile(sweep.file, folder / "sweep.yaml")
    touched = run_store.recover(store)
    if touched:
        logger.info("resolved %d folder(s) left by interrupted writes", len(touched))
    outcomes, record, close_log = _outcome_log(folder, on_outcome)
    todo = []
    for run in sweep.runs:
        if is_complete(store, run):
            record(RunOutcome(run.run_id, run.index, "skipped"))
        else:
            todo.append(run)
    own_executor = executor is None
    executor = executor or LocalExecutor(1)
    try:
        if todo:
            logger.info("running %d of %d runs on %s", len(todo), len(sweep.runs),
                        executor.description)
            executor.execute(todo, store, record, stop or threading.Event())
    finally:
        close_log()
        if own_executor:
            executor.close()
    return outcomes
