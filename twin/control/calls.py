"""The solver-call interface the controller owns: request, record and log.

A controller asks for solves through a :class:`SolverGateway`; every call comes back
as a :class:`CallRecord` and is appended to the gateway's :class:`CallLog` (echoed as
one ``call``/``solver_call`` event per call). :class:`SolverPool` is the request side
every gateway shares: registered solvers made once per name and options, one solve
that never raises (a refusal through ``supports`` or an exception becomes a
:class:`solvers.Result`), and the reference optimum.

Wall-clock figures (the measured solve and reference times, CPU times) measure this
machine, not the twin: they stay on the record (:attr:`CallRecord.solve_wall_s`,
:meth:`CallRecord.timing_row`) but never enter :meth:`CallRecord.row`, the event
message or the KPIs, so a run folder's ``events.parquet`` and ``kpis.json`` repeat bit
for bit. The run writes them to ``wall_clock.json`` and the manifest's ``timings_s``
(:meth:`CallLog.timings`).

This module is the interface: :mod:`twin.control.gateway` (the direct gateway) and
:mod:`twin.comms.gateway` (calls over the modelled network) both implement it and
import only this module of :mod:`twin.control`. It imports nothing of the twin.

Public names: :class:`SolverGateway`, :class:`CallRecord`, :class:`CallLog`,
:class:`SolverPool`, :func:`calls_table`, :data:`CALL_COLUMNS`,
:data:`WALL_CLOCK_EXTRA`, :data:`CallProcess`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import simpy

    from solvers import Problem, Result
    from solvers.registry import Solver

__all__ = [
    "CALL_COLUMNS",
    "WALL_CLOCK_EXTRA",
    "CallLog",
    "CallProcess",
    "CallRecord",
    "SolverGateway",
    "SolverPool",
    "calls_table",
]

logger = logging.getLogger(__name__)

CallProcess = Generator["simpy.Event", Any, "CallRecord"]
"""What :meth:`SolverGateway.call` is: a SimPy process body returning a record."""


@dataclass(frozen=True)
class CallRecord:
    """One solver call as the controller saw it.

    Attributes
    ----------
    call_id : str
        ``"<task>#<n>"``, unique in a run.
    task : str
        Control task (``"dispatch"``, ``"ev_assignment"``, ...).
    start_s, end_s : float
        Simulated time the call started and the answer was in hand. [s]
    solver_requested : str
        Solver named in the scenario for the task.
    solver_used : str or None
        Solver whose answer is used; None when none answered (the controller then
        applies its own fallback, named in ``fallback``).
    status : str
        Status of the used answer (``"optimal"``, ``"feasible"``, ...), or
        ``"failed"`` when none.
    objective : float or None
        Objective of the used answer (problem's own units, e.g. EUR).
    reference_objective : float or None
        Optimum of the same problem by the reference solver, when requested.
    reference_solver : str or None
        Which solver gave the reference.
    n_variables, n_binary, n_constraints : int
        Problem size.
    solve_wall_s : float
        Wall-clock time of the used solve (not in :meth:`row`: see the module notes). [s]
    reference_wall_s : float
        Wall-clock time of the reference solve (0 when none; not in :meth:`row`). [s]
    latency_s : float
        ``end_s - start_s``. [s]
    fallback : str or None
        Name of the fallback that answered (e.g. ``"milp"`` for a too-large QAOA
        problem routed to MILP, ``"last_good_schedule"``, ``"rule_based"``).
    fallback_reason : str or None
        Why the requested solver's answer was not used.
    subproblems : int
        Number of sub-problems this call stands for (1 unless decomposed).
    result : solvers.Result or None
        The used result (not part of the table).
    extra : Mapping
        Further scalars (qubits, gap, decomposition info ...).
    """

    call_id: str
    task: str
    start_s: float
    end_s: float
    solver_requested: str
    solver_used: str | None
    status: str
    objective: float | None
    reference_objective: float | None
    reference_solver: str | None
    n_variables: int
    n_binary: int
    n_constraints: int
    solve_wall_s: float
    reference_wall_s: float = 0.0
    fallback: str | None = None
    fallback_reason: str | None = None
    subproblems: int = 1
    result: Result | None = field(default=None, repr=False, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def latency_s(self) -> float:
        """Simulated time from request to answer. [s]"""
        return self.end_s - self.start_s

    @property
    def ok(self) -> bool:
        """True when a solver answer with a solution is in hand."""
        return self.result is not None and self.result.has_solution

    @property
    def approximation_ratio(self) -> float | None:
        """The project's one approximation ratio of the answer against the reference
        optimum (:func:`solvers.metrics.approximation_ratio`, minimisation: ``f_opt / f``
        for positive costs, 1 optimal, in ``[0, 1]``); None without both objectives.

        The twin's problems (dispatch cost, EV assignment cost) are minimisations.
        """
        if self.objective is None or self.reference_objective is None:
            return None
        from solvers.metrics import approximation_ratio

        ratio = approximation_ratio(float(self.objective), float(self.reference_objective))
        return None if math.isnan(ratio) else ratio

    def row(self) -> dict[str, Any]:
        """The record as one row of scalars (the per-call table), JSON-safe.

        Only what the twin decides: wall-clock figures (``solve_wall_s``,
        ``reference_wall_s`` and the :data:`WALL_CLOCK_EXTRA` keys of ``extra``) are in
        :meth:`timing_row` instead.
        """
        data = {name: getattr(self, name) for name in self.__dataclass_fields__
                if name not in _NOT_IN_ROW}
        data["latency_s"] = self.latency_s
        data["approximation_ratio"] = self.approximation_ratio
        for key, value in self.extra.items():
            if key not in WALL_CLOCK_EXTRA:
                data[f"x_{key}"] = value
        return {k: _scalar(v) for k, v in data.items()}

    def timing_row(self) -> dict[str, Any]:
        """The call's wall-clock figures (machine-dependent), JSON-safe. [s]"""
        data: dict[str, Any] = {"call_id": self.call_id, "task": self.task,
                                "solve_wall_s": self.solve_wall_s,
                                "reference_wall_s": self.reference_wall_s}
        for key in WALL_CLOCK_EXTRA:
            if key in self.extra:
                data[key] = self.extra[key]
        return {k: _scalar(v) for k, v in data.items()}


WALL_CLOCK_EXTRA: tuple[str, ...] = ("solve_cpu_s", "first_wall_s", "wall_s")
"""Keys of :attr:`CallRecord.extra` that are wall-clock or CPU figures (kept out of
:meth:`CallRecord.row`)."""

_NOT_IN_ROW = frozenset({"result", "extra", "solve_wall_s", "reference_wall_s"})

CALL_COLUMNS: tuple[str, ...] = (
    "call_id", "task", "start_s", "end_s", "solver_requested", "solver_used", "status",
    "objective", "reference_objective", "reference_solver", "approximation_ratio",
    "n_variables", "n_binary", "n_constraints",
    "latency_s", "fallback", "fallback_reason", "subproblems",
)
"""Columns every per-call table has (``x_*`` columns may follow). No wall-clock
figures: those are in the run's ``wall_clock.json`` (:meth:`CallLog.timings`).

The ``approximation_ratio`` column is :attr:`CallRecord.approximation_ratio`
(:func:`solvers.metrics.approximation_ratio`: 1 optimal, in ``[0, 1]``)."""


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class CallLog:
    """Every :class:`CallRecord` of a run, in call order; optionally echoed as events.

    Parameters
    ----------
    recorder : object, optional
        Anything with ``event(time_s, category, kind, entity, message, data)``
        (:class:`twin.recorder.Recorder`); each record becomes an event of category
        ``"call"`` and kind ``"solver_call"``.
    """

    def __init__(self, recorder: Any | None = None) -> None:
        self.records: list[CallRecord] = []
        self.recorder = recorder
        self._counts: dict[str, int] = {}

    def next_id(self, task: str) -> tuple[str, int]:
        """A fresh ``call_id`` for ``task`` and the run-wide call number."""
        n = self._counts.get(task, 0)
        self._counts[task] = n + 1
        return f"{task}#{n}", sum(self._counts.values()) - 1

    def add(self, record: CallRecord) -> None:
        """Append a record (and write its event when a recorder is attached)."""
        self.records.append(record)
        if self.recorder is not None:
            ratio = record.approximation_ratio
            ratio_text = f", ratio {ratio:.4f}" if ratio is not None else ""
            used = record.solver_used or record.fallback or "none"
            message = (
                f"{record.task} call {record.call_id}: {used} {record.status}"
                f" ({record.n_variables} vars{ratio_text})"
            )
            self.recorder.event(
                record.start_s, "call", "solver_call", f"task/{record.task}", message,
                record.row(),
            )

    def rows(self) -> list[dict[str, Any]]:
        """The per-call table as a list of rows."""
        return [r.row() for r in self.records]

    def timings(self) -> dict[str, float]:
        """Wall-clock totals of the run's calls (for the manifest's ``timings_s``). [s]

        ``calls_solve_s`` / ``calls_solve_max_s``: the used solves' wall time, summed and
        largest; ``calls_reference_s``: the reference solves' (not charged to calls).
        """
        solve = [float(r.solve_wall_s) for r in self.records]
        return {
            "calls_solve_s": float(sum(solve)),
            "calls_solve_max_s": float(max(solve, default=0.0)),
            "calls_reference_s": float(sum(float(r.reference_wall_s) for r in self.records)),
        }

    def timing_rows(self) -> list[dict[str, Any]]:
        """Every call's wall-clock figures (:meth:`CallRecord.timing_row`), in call order."""
        return [r.timing_row() for r in self.records]

    def to_frame(self) -> pd.DataFrame:
        """The per-call table as a DataFrame with :data:`CALL_COLUMNS` first."""
        import pandas as pd

        frame = pd.DataFrame(self.rows())
        if frame.empty:
            return pd.DataFrame(columns=list(CALL_COLUMNS))
        extra = [c for c in frame.columns if c not in CALL_COLUMNS]
        return frame[[*CALL_COLUMNS, *extra]]


def calls_table(events: pd.DataFrame) -> pd.DataFrame:
    """The per-call table of a finished run, from its ``events.parquet`` frame.

    Parameters
    ----------
    events : pandas.DataFrame
        A run's events (columns ``category``, ``kind``, ``data``).

    Returns
    -------
    pandas.DataFrame
        One row per solver call, columns :data:`CALL_COLUMNS` (plus ``x_*`` extras).
    """
    import pandas as pd

    mask = (events["category"] == "call") & (events["kind"] == "solver_call")
    rows = [json.loads(d) if isinstance(d, str) else dict(d) for d in events.loc[mask, "data"]]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(CALL_COLUMNS))
    for col in CALL_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    extra = [c for c in frame.columns if c not in CALL_COLUMNS]
    return frame[[*CALL_COLUMNS, *extra]]


@runtime_checkable
class SolverGateway(Protocol):
    """How the controller asks for a solve: a SimPy process body returning a record.

    Use it as ``record = yield from gateway.call(env, task, problem, solver=...,
    options=..., reference=...)`` inside the controller's process. Simulated time may
    pass during the call (latency, queues); the returned record says which solver
    answered (or that none did), when, and how well.
    """

    log: CallLog

    def call(
        self,
        env: simpy.Environment,
        task: str,
        problem: Problem,
        *,
        solver: str,
        options: Mapping[str, Any] | None = None,
        reference: bool = False,
        time_limit_s: float | None = None,
        fallback: str | None = None,
    ) -> CallProcess:
        """Solve ``problem`` for ``task``; return its :class:`CallRecord`.

        Parameters
        ----------
        env : simpy.Environment
            The run's environment.
        task : str
            Control task name (keys the scenario's per-task solver settings).
        problem : solvers.Problem
            The problem.
        solver : str
            Registered solver name.
        options : Mapping, optional
            Options for ``solvers.get_solver(solver, **options)``.
        reference : bool
            Also solve with the reference solver (MILP) to report the optimum and the
            approximation ratio; its time is not charged to the call.
        time_limit_s : float, optional
            Solver time limit. [s]
        fallback : str, optional
            Solver to use when ``solver`` does not support the problem or returns no
            solution (recorded in ``fallback`` and ``fallback_reason``).
        """
        ...


class SolverPool:
    """Registered solvers made once per name and options; solves that never raise.

    Parameters
    ----------
    reference_solver : str
        Solver of reference optima (default ``"milp"``).
    """

    def __init__(self, reference_solver: str = "milp") -> None:
        self.reference_solver = reference_solver
        self._solvers: dict[tuple[str, str], Solver] = {}
        self._reference_cache: dict[int, tuple[float | None, float]] = {}
        self.last_cpu_s = 0.0
        """CPU time of the last :meth:`solve`. [s]"""
        self.solver_errors = 0
        """Solves in which the solver raised (answered as FAILED results). [-]"""

    def get(self, name: str, options: Mapping[str, Any] | None = None) -> Solver:
        """The registered solver ``name`` with ``options`` (made on first use)."""
        from solvers import get_solver

        key = (name, json.dumps(dict(options or {}), sort_keys=True, default=str))
        if key not in self._solvers:
            self._solvers[key] = get_solver(name, **dict(options or {}))
        return self._solvers[key]

    def solve(
        self,
        problem: Problem,
        solver: str,
        options: Mapping[str, Any] | None,
        seed: int,
        time_limit_s: float | None,
        reference_objective: float | None = None,
    ) -> tuple[Result, float]:
        """Solve with one solver, returning the result and the measured wall time. [s]

        A solver that refuses the problem (``supports``) gives an ``UNSUPPORTED``
        result; one that raises gives a ``FAILED`` result (and a warning in the log).
        ``reference_objective`` (an optimum already known) is passed on to a solver
        whose ``solve`` takes it, so it does not solve the reference again.
        """
        from solvers import Result, Status

        begin = time.perf_counter()
        cpu_begin = time.process_time()
        try:
            backend = self.get(solver, options)
            reason = backend.supports(problem)
            if reason is not None:
                result = Result(Status.UNSUPPORTED, solver, message=str(reason), problem=problem)
            elif reference_objective is not None and _takes_reference(backend):
                result = backend.solve(problem, time_limit=time_limit_s, seed=seed,
                                       reference_objective=reference_objective)
            else:
                result = backend.solve(problem, time_limit=time_limit_s, seed=seed)
        except Exception as exc:  # a solver that raises must not end the run
            logger.warning("solver %s raised %s: %s", solver, type(exc).__name__, exc)
            self.solver_errors += 1
            result = Result(Status.FAILED, solver, message=f"{type(exc).__name__}: {exc}",
                            problem=problem)
        self.last_cpu_s = time.process_time() - cpu_begin
        return result, time.perf_counter() - begin

    def reference(self, problem: Problem, seed: int) -> tuple[float | None, float]:
        """Reference optimum of ``problem`` (cached for the last problem object) and
        its wall time. [s]"""
        key = id(problem)
        if key not in self._reference_cache:
            result, wall = self.solve(problem, self.reference_solver, None, seed, None)
            self._reference_cache = {key: (result.objective if result.has_solution else None, wall)}
        return self._reference_cache[key]


def _takes_reference(backend: Solver) -> bool:
    """Whether ``backend.solve`` accepts ``reference_objective`` (the sampling solvers)."""
    import inspect

    return "reference_objective" in inspect.signature(backend.solve).parameters
