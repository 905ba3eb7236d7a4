"""Where the runs of a sweep execute: local worker processes or a Dask cluster.

An :class:`Executor` runs planned runs into a store and reports one
:class:`RunOutcome` per run as it arrives. :class:`LocalExecutor` keeps worker
processes on this machine (a worker that dies loses only its own run);
:class:`DaskExecutor` ships runs to a Dask cluster and writes the finished run folders
it gets back into the store through the store's write protocol.

Public names: :class:`RunOutcome`, :class:`Executor`, :class:`LocalExecutor`,
:class:`DaskExecutor`, :func:`connect_dask`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import signal
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from twin.scenario import scenario_from_dict
from twin.store import install_run, pid_alive
from twin.study.expand import PlannedRun
from twin.study.schema import SweepInputError

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------ executing


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run of a sweep.

    Attributes
    ----------
    run_id : str
        The run.
    index : int
        Its position in the sweep.
    status : {"done", "skipped", "failed", "cancelled"}
        ``skipped``: already complete in the store before this sweep started.
    wall_time_s : float
        Time the run took on its worker (0 when skipped). [s]
    error : str or None
        For a failed run: what went wrong (exception, or the worker's exit code).
    worker : str
        Where it ran (``pid:<n>`` or a Dask worker address).
    """

    run_id: str
    index: int
    status: Literal["done", "skipped", "failed", "cancelled"]
    wall_time_s: float = 0.0
    error: str | None = None
    worker: str = ""


def _execute(
    run: PlannedRun, store: str, cancel: Callable[[], bool] | None
) -> RunOutcome:
    """Run one planned run in this process; never raises."""
    import twin  # heavy: imported where the run happens
    from twin.errors import RunCancelledError

    start = time.perf_counter()
    worker = f"pid:{os.getpid()}"
    try:
        scenario = scenario_from_dict(run.scenario, run.source)
        result = twin.run(scenario, store=store, seed=run.seed, cancel=cancel)
    except RunCancelledError:
        return RunOutcome(run.run_id, run.index, "cancelled", time.perf_counter() - start,
                          None, worker)
    except BaseException as exc:  # a run's failure is reported, not raised
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            return RunOutcome(run.run_id, run.index, "cancelled",
                              time.perf_counter() - start, None, worker)
        message = f"{type(exc).__name__}: {exc}"
        logger.debug("run %s failed:\n%s", run.run_id, traceback.format_exc())
        return RunOutcome(run.run_id, run.index, "failed", time.perf_counter() - start,
                          message, worker)
    elapsed = time.perf_counter() - start
    if result.run_id != run.run_id:
        return RunOutcome(
            run.run_id, run.index, "failed", elapsed,
            f"twin.run wrote run id {result.run_id}, the sweep expected {run.run_id}",
            worker,
        )
    return RunOutcome(run.run_id, run.index, "done", elapsed, None, worker)


class Executor:
    """Runs planned runs somewhere and reports each outcome as it arrives."""

    description = "executor"

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        """Run ``runs`` into ``store``; call ``on_outcome`` once per run (any order)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the executor's resources."""


# ---- local worker processes


def _worker_main(conn: Any, cancel_event: Any, sweep_pid: int, store: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep process decides on Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    checked = [0.0, False]

    def cancel() -> bool:
        if cancel_event.is_set():
            return True
        now = time.monotonic()
        if now - checked[0] > 0.5:  # the sweep process gone (kill -9): stop, write nothing
            checked[0], checked[1] = now, not pid_alive(sweep_pid)
        return bool(checked[1])

    while True:
        try:
            run = conn.recv()
        except (EOFError, OSError):
            return
        if run is None:
            return
        outcome = _execute(run, store, cancel)
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return


@dataclass
class _WorkerState:
    process: Any
    conn: Any
    run: PlannedRun | None = None
    started: float = 0.0


_PRELOAD = [
    "twin", "twin.engine", "twin.study.executors", "pandapower", "lightsim2grid", "simbench", "highspy",
]
"""Modules the fork server imports once, so that every worker starts with them (imports
only: no solver has run there, so no thread pool is inherited). Missing ones are skipped."""


class LocalExecutor(Executor):
    """Worker processes on this machine, one run at a time each.

    A worker that dies (a crash, ``kill -9``, out of memory) loses only the run it held:
    that run is reported as failed with the exit code and a fresh worker takes its
    place. Workers stop by themselves (their run cancelled, nothing written) when the
    sweep process goes away.

    Parameters
    ----------
    workers : int
        Number of worker processes (at least 1).
    start_method : str, optional
        ``multiprocessing`` start method. Default ``forkserver`` on Linux: workers fork
        from a clean server process that has imported the twin once (a plain ``fork`` of
        the sweep process would inherit solver thread pools the preflight started, which
        hang in the child); ``spawn`` elsewhere.
    """

    def __init__(self, workers: int = 1, start_method: str | None = None) -> None:
        if workers < 1:
            raise SweepInputError.single("--workers", "", f"{workers}; expected at least 1")
        self.workers = workers
        if start_method is None:
            start_method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)
        self._workers: list[_WorkerState] = []
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"

    def running(self) -> dict[str, tuple[int, float]]:
        """Run id -> (worker pid, seconds since it started) of the runs in progress."""
        now = time.monotonic()
        return {
            w.run.run_id: (w.process.pid, now - w.started)
            for w in list(self._workers)
            if w.run is not None
        }

    def _start(self, cancel_event: Any, store: Path) -> _WorkerState:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, cancel_event, os.getpid(), str(store)),
            daemon=True,
            name="twin-sweep-worker",
        )
        process.start()
        child.close()
        return _WorkerState(process, parent)

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        from multiprocessing.connection import wait

        cancel_event = self._ctx.Event()
        pending = deque(runs)
        workers = self._workers = [
            self._start(cancel_event, store) for _ in range(min(self.workers, len(runs)))
        ]
        try:
            while True:
                if stop.is_set():
                    cancel_event.set()
                    for run in pending:
                        on_outcome(RunOutcome(run.run_id, run.index, "cancelled"))
                    pending.clear()
                for i, worker in enumerate(workers):
                    if worker.run is None and pending and not worker.process.is_alive():
                        worker.conn.close()
                        workers[i] = worker = self._start(cancel_event, store)
                    if worker.run is None and pending:
                        worker.run = pending.popleft()
                        worker.started = time.monotonic()
                        worker.conn.send(worker.run)
                busy = [w for w in workers if w.run is not None]
                if not busy:
                    break
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5
                )
                for i, worker in enumerate(workers):
                    if worker.run is None:
                        continue
                    if worker.conn in ready or worker.process.sentinel in ready:
                        outcome = self._collect(worker)
                        if outcome is None:
                            continue
                        on_outcome(outcome)
                        if not worker.process.is_alive():
                            worker.conn.close()
                            workers[i] = self._start(cancel_event, store)
        except BaseException:
            cancel_event.set()  # interrupted: running runs stop, nothing partial is kept
            raise
        finally:
            self._shutdown(workers, cancel_event)

    @staticmethod
    def _collect(worker: _WorkerState) -> RunOutcome | None:
        run = worker.run
        assert run is not None
        try:
            if worker.conn.poll():
                outcome = worker.conn.recv()
                worker.run = None
                return outcome
        except (EOFError, OSError):
            pass
        if worker.process.is_alive():
            return None
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        worker.run = None
        return RunOutcome(
            run.run_id, run.index, "failed", 0.0,
            f"worker process {worker.process.pid} died ({why}) during this run",
            f"pid:{worker.process.pid}",
        )

    @staticmethod
    def _shutdown(workers: list[_WorkerState], cancel_event: Any) -> None:
        for worker in workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                cancel_event.set()
                worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=2)
            with contextlib.suppress(OSError):
                worker.conn.close()


# ---- Dask


def connect_dask(
    scheduler: str | None = None, workers: int = 2, timeout_s: float = 10.0
) -> tuple[Client, Any]:
    """A Dask client: to ``scheduler`` (``tcp://HOST:PORT``) or to a new LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler; None starts a LocalCluster.
    workers : int
        Worker processes of the LocalCluster (one thread each).
    timeout_s : float
        How long to try to reach the scheduler. [s]

    Returns
    -------
    (Client, LocalCluster or None)

    Raises
    ------
    SweepInputError
        When the scheduler cannot be reached (nothing is started then).
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepInputError.single(
            "--dask", "", "dask[distributed] is not installed; pip install 'gridtwin[dask]'"
        ) from None
    if scheduler is None:
        # Workers start from a fork server (a clean process), not by forking this one:
        # solver thread pools the preflight started here would hang in a forked child.
        # A run that kills its worker fails once; it is not retried on every worker.
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        settings = {
            "distributed.worker.multiprocessing-method": method,
            "distributed.scheduler.allowed-failures": 0,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
        return Client(cluster), cluster
    if "://" not in scheduler:
        raise SweepInputError.single(
            "--scheduler", "", f"'{scheduler}' is not an address; expected tcp://HOST:PORT"
        )
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepInputError.single(
            "--scheduler",
            "",
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); expected a running "
            "scheduler (dask scheduler) at tcp://HOST:PORT",
        ) from None
    return client, None


def _pack_dir(folder: Path) -> bytes:
    """A run folder as an uncompressed tar, its files at the top level."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def _unpack_run(store: Path, run_id: str, payload: bytes) -> None:
    """Write a shipped run folder into the store through its write protocol."""

    def fill(folder: Path) -> None:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as tar:
            tar.extractall(folder, filter="data")

    install_run(store, run_id, fill)


def _dask_task(run: PlannedRun, cancel_name: str) -> tuple[RunOutcome, bytes | None]:
    """Run on a Dask worker into a private store; ship the finished run folder back."""
    from distributed import Event, get_worker

    event = Event(cancel_name)
    last = [0.0, False]

    def cancel() -> bool:
        now = time.monotonic()
        if now - last[0] > 0.5:
            last[0] = now
            with contextlib.suppress(Exception):
                last[1] = bool(event.is_set())
        return bool(last[1])

    with tempfile.TemporaryDirectory(prefix="twin-sweep-") as tmp:
        outcome = _execute(run, tmp, cancel)
        try:
            worker = get_worker().address
        except ValueError:
            worker = outcome.worker
        outcome = RunOutcome(**{**asdict(outcome), "worker": worker})
        payload = _pack_dir(Path(tmp) / run.run_id) if outcome.status == "done" else None
    return outcome, payload


class DaskExecutor(Executor):
    """Runs on a Dask cluster; each finished run is shipped back and written here.

    Workers run into a private temporary store and return the run folder, which the
    sweep writes into its own store atomically, so workers need no shared filesystem
    (they need the same GridTwin installation).

    Parameters
    ----------
    client : distributed.Client
        A connected client (see :func:`connect_dask`).
    cluster : distributed.LocalCluster, optional
        Closed with the executor when given.
    """

    def __init__(self, client: Client, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster
        n = len(client.scheduler_info().get("workers", {}))
        where = "LocalCluster" if cluster is not None else client.scheduler.address
        self.description = f"Dask ({where}, {n} workers)"

    def execute(
        self,
        runs: Sequence[PlannedRun],
        store: Path,
        on_outcome: Callable[[RunOutcome], None],
        stop: threading.Event,
    ) -> None:
        from distributed import Event, as_completed

        cancel_name = f"twin-sweep-cancel-{os.getpid()}-{time.time_ns()}"
        event = Event(cancel_name, client=self.client)
        futures = {
            self.client.submit(
                _dask_task, run, cancel_name, key=f"twin-run-{run.run_id}", pure=False
            ): run
            for run in runs
        }
        done: set[str] = set()
        iterator = as_completed(list(futures), with_results=False)
        try:
            for future in iterator:
                run = futures[future]
                if stop.is_set():
                    break
                try:
                    outcome, payload = future.result()
                except Exception as exc:  # a lost worker fails one run
                    outcome, payload = RunOutcome(
                        run.run_id, run.index, "failed", 0.0,
                        f"{type(exc).__name__}: {exc}", "",
                    ), None
                if payload is not None:
                    try:
                        _unpack_run(store, run.run_id, payload)
                    except (OSError, tarfile.TarError) as exc:
                        outcome = RunOutcome(
                            run.run_id, run.index, "failed", outcome.wall_time_s,
                            f"could not write the shipped run: {exc}", outcome.worker,
                        )
                done.add(run.run_id)
                on_outcome(outcome)
        finally:
            if len(done) < len(futures):
                event.set()
                self.client.cancel([f for f, r in futures.items() if r.run_id not in done])
                for run in futures.values():
                    if run.run_id not in done:
                        on_outcome(RunOutcome(run.run_id, run.index, "cancelled"))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
