"""Runs started from the app, in a background thread, with progress and cancel.

Streamlit reruns a page script on every interaction, so a run that lasts minutes cannot
live inside one script run. A :class:`RunJob` calls :func:`twin.run` in a thread; its
``progress`` callback only stores numbers and its ``cancel`` callback reads an event,
so the thread never touches Streamlit. Pages poll the job and draw the progress bar.

Public names: :class:`RunJob`, :class:`JobRegistry`.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400


class RunJob:
    """One run of a scenario into a store, executing in a daemon thread.

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        The validated scenario.
    store : pathlib.Path
        The results store (same as the CLI's).
    seed : int, optional
        Seed override (the scenario's own when None).
    label : str
        What the app calls the job ("default scenario", a file name).
    """

    def __init__(self, scenario: Any, store: Path, *, seed: int | None = None,
                 label: str = "") -> None:
        self.scenario = scenario
        self.store = Path(store)
        self.seed = seed
        self.label = label or scenario.name
        self.step_s = int(scenario.time.step_s)
        self.total_steps = int(scenario.time.n_steps)
        self.done_steps = 0
        self.state = "pending"
        self.result: Any = None
        self.error: str | None = None
        self.started_monotonic_s = 0.0
        self.finished_monotonic_s = 0.0
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"gridtwin-run-{self.label}")

    # ---------------------------------------------------------------- control
    def start(self) -> RunJob:
        """Start the thread (once)."""
        if self.state == "pending":
            self.state = "running"
            self.started_monotonic_s = time.monotonic()
            self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the run to stop at its next step; nothing is written to the store."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (True) or the timeout passes (False)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        """True while the thread works."""
        return self.state == "running"

    @property
    def run_id(self) -> str | None:
        """The finished run's id."""
        return getattr(self.result, "run_id", None)

    @property
    def fraction_done(self) -> float:
        """Share of the simulated horizon done, 0..1."""
        return min(self.done_steps / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def days_done(self) -> float:
        """Simulated days done. [d]"""
        return self.done_steps * self.step_s / SECONDS_PER_DAY

    @property
    def days_total(self) -> float:
        """Simulated days of the whole run. [d]"""
        return self.total_steps * self.step_s / SECONDS_PER_DAY

    @property
    def wall_time_s(self) -> float:
        """Wall time so far (or of the whole job once ended). [s]"""
        if not self.started_monotonic_s:
            return 0.0
        end = self.finished_monotonic_s or time.monotonic()
        return end - self.started_monotonic_s

    def progress_text(self) -> str:
        """"Day 3.0 of 7 (288 of 672 steps)"."""
        return (f"Simulated day {self.days_done:.1f} of {self.days_total:g} "
                f"({self.done_steps} of {self.total_steps} steps)")

    # ----------------------------------------------------------------- thread
    def _progress(self, done_steps: int, total_steps: int) -> None:
        self.done_steps = int(done_steps)
        if total_steps:
            self.total_steps = int(total_steps)

    def _work(self) -> None:
        import twin
        from twin.errors import RunCancelledError, TwinError

        try:
            self.result = twin.run(self.scenario, store=str(self.store), seed=self.seed,
                                   progress=self._progress, cancel=self._cancel.is_set)
            self.done_steps = self.total_steps
            self.state = "done"
        except RunCancelledError:
            self.state = "cancelled"
        except TwinError as exc:
            self.error = str(exc)
            self.state = "failed"
        except Exception as exc:  # a crash must reach the page, not vanish in a thread
            logger.exception("run of %s failed", self.label)
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = "failed"
        finally:
            self.finished_monotonic_s = time.monotonic()


class JobRegistry:
    """The jobs of one app process, shared by its sessions (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, RunJob] = {}

    def get(self, key: str) -> RunJob | None:
        """The job registered under ``key``."""
        with self._lock:
            return self._jobs.get(key)

    def start(self, key: str, job: RunJob) -> RunJob:
        """Register and start ``job`` unless a job under ``key`` is still running."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.running:
                return current
            self._jobs[key] = job
        return job.start()
