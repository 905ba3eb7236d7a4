"""Solver services: cloud quantum service, edge compute, cloud classical, hosted simulation
and on-device quantum co-processor, as SimPy resources that really solve.

Public names
------------
ServiceKind
    The five kinds of service.
ServiceParams
    Frozen description of a service (overheads, queue, capacity, execution model,
    prices, quotas, rate limit, power, outages).
ServiceState
    Mutable state: outage, surges, solver faults, session, token bucket, usage counters.
Job
    One job at a service: its phase times, cost, energy, result or error.
Service
    The runtime service: admits, queues, solves and times jobs; faults as methods.
billed_shots
    Shots a job is billed for.

The five presets (cloud quantum, edge, cloud classical, simulation, on-device), each
with its documented default assumptions, are in :mod:`twin.comms.presets`.

Why ~670 lines: :class:`Service` is one resource whose admission, queue, execution,
outage and withdrawal rules act on the same jobs and slots (an outage aborts what the
queue holds, a withdrawal frees what admission counted); its parameters and state sit
next to it.

Notes
-----
**Admission** (in this order, at the moment the request reaches the service): outage
(``service_outage``), token-bucket rate limit (``rate_limited``), quota
(``quota_exceeded``), back-pressure: at most ``queue_capacity`` of our jobs admitted at
once, waiting or executing (``queue_full``). A rejected job costs nothing.

**Queue.** An admitted job first waits the *external* queue time drawn from
``queue_wait`` (the other tenants' jobs ahead of it; plus active queue surges), then one
of ``concurrency`` execution slots (contention between our own jobs).

**Execution.** When a slot is granted the solver really solves the problem, with the
time limit and seed the caller gave; the service is then busy for the time its
execution model gives (times a slowdown during a ``solver_timeout`` fault). If that
exceeds ``max_execution_s`` the service stops the job at ``max_execution_s`` and answers
``solver_timeout``. A ``solver_error`` fault, or an exception from the solver, answers
``solver_error`` at once. Quota use, cost and energy are booked when execution starts:
``cost = cost_per_job + cost_per_shot * billed_shots + cost_per_execution_s * t``,
``energy = power_w * t``.

**Outage.** While down, requests are refused, and jobs already admitted (waiting or
executing) are aborted with ``service_outage``; an aborted execution books the energy
of the time actually spent. **Withdrawal.** A caller that gives up withdraws its job:
a waiting job leaves the queue (no cost); an executing job runs to its end (billed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import simpy

from twin.comms.event import EventLog
from twin.comms.execution import (
    ExecutionModel,
    diagnostic,
)
from twin.comms.latency import LatencyModel
from twin.comms.link import check_mtbf_mttr, check_windows
from twin.comms.outage import stochastic_process, window_process

__all__ = [
    "Job",
    "Service",
    "ServiceKind",
    "ServiceParams",
    "ServiceState",
    "billed_shots",
]

logger = logging.getLogger(__name__)

ServiceKind = Literal[
    "cloud_quantum", "edge_compute", "cloud_classical", "simulation", "on_device_quantum"
]
_KINDS = ("cloud_quantum", "edge_compute", "cloud_classical", "simulation", "on_device_quantum")

JobError = Literal[
    "service_outage",
    "rate_limited",
    "quota_exceeded",
    "queue_full",
    "solver_error",
    "solver_timeout",
    "withdrawn",
]


def _nonneg(where: str, name: str, value: float | None, *, positive: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0.0 or (positive and value == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{where}: {name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True)
class ServiceParams:
    """One solver service at a node of the network."""

    name: str
    """Unique service name."""
    node: str
    """Network node hosting the service (one service per node)."""
    kind: ServiceKind
    """What the service is (see :data:`ServiceKind`)."""
    execution: ExecutionModel
    """Busy-time model for solvers without their own entry in ``execution_by_solver``."""
    execution_by_solver: Mapping[str, ExecutionModel] = field(default_factory=dict)
    """Busy-time model per solver name (e.g. ``qaoa`` simulated, ``milp`` classical)."""
    solvers: frozenset[str] | None = None
    """Solver names the service hosts; ``None``: any."""
    connect_ms: float = 0.0
    """Connection set-up (TCP and TLS handshakes) when no session is open. [ms]"""
    auth_ms: float = 0.0
    """Authentication (token exchange) when no session is open. [ms]"""
    session_ttl_s: float | None = None
    """Lifetime of a session; ``None``: never expires once opened. [s]"""
    queue_wait: LatencyModel | None = None
    """External queue wait per job; ``None``: no external queue. [ms]"""
    concurrency: int = 1
    """Jobs executing at once. [-]"""
    queue_capacity: int | None = None
    """Our jobs admitted at once (waiting + executing); ``None``: unbounded. [-]"""
    max_execution_s: float | None = None
    """The service stops a job after this busy time; ``None``: no limit. [s]"""
    cost_per_job_eur: float = 0.0
    """Price per executed job. [EUR]"""
    cost_per_shot_eur: float = 0.0
    """Price per billed shot. [EUR]"""
    cost_per_execution_s_eur: float = 0.0
    """Price per second of execution. [EUR/s]"""
    quota_jobs: int | None = None
    """Jobs allowed over the run; ``None``: unlimited. [-]"""
    quota_execution_s: float | None = None
    """Execution time allowed over the run; ``None``: unlimited. [s]"""
    rate_limit_per_s: float | None = None
    """Token-bucket refill rate of requests; ``None``: no limit. [1/s]"""
    rate_limit_burst: int = 1
    """Token-bucket size. [-]"""
    power_w: float = 0.0
    """Device power while busy, for the compute energy. [W]"""
    mtbf_s: float | None = None
    """Mean time between stochastic outages; ``None``: none. [s]"""
    mttr_s: float | None = None
    """Mean duration of a stochastic outage. [s]"""
    outage_windows: tuple[tuple[float, float], ...] = ()
    """Scheduled outages as ``(start_s, duration_s)``. [s]"""
    request_overhead_bytes: int = 0
    """Bytes added to every request (headers, circuit upload). [B]"""

    def __post_init__(self) -> None:
        where = f"service {self.name!r}"
        if not self.name:
            raise ValueError("service name must not be empty")
        if not self.node:
            raise ValueError(f"{where}: node must not be empty")
        if self.kind not in _KINDS:
            raise ValueError(f"{where}: kind must be one of {list(_KINDS)}, got {self.kind!r}")
        for name, model in (("execution", self.execution), *(
            (f"execution_by_solver[{key!r}]", value)
            for key, value in self.execution_by_solver.items()
        )):
            if not isinstance(model, ExecutionModel):
                raise ValueError(f"{where}: {name} must be an execution model, got {model!r}")
        if self.queue_wait is not None and not isinstance(self.queue_wait, LatencyModel):
            raise ValueError(f"{where}: queue_wait must be a latency model or None")
        for name in ("connect_ms", "auth_ms", "cost_per_job_eur", "cost_per_shot_eur",
                     "cost_per_execution_s_eur", "power_w", "quota_execution_s"):
            _nonneg(where, name, getattr(self, name))
        for name in ("session_ttl_s", "max_execution_s", "rate_limit_per_s"):
            _nonneg(where, name, getattr(self, name), positive=True)
        if self.concurrency < 1:
            raise ValueError(f"{where}: concurrency must be >= 1, got {self.concurrency!r}")
        if self.queue_capacity is not None and self.queue_capacity < 1:
            raise ValueError(
                f"{where}: queue_capacity must be >= 1 or None, got {self.queue_capacity!r}"
            )
        if self.quota_jobs is not None and self.quota_jobs < 0:
            raise ValueError(f"{where}: quota_jobs must be >= 0, got {self.quota_jobs!r}")
        if self.rate_limit_burst < 1:
            raise ValueError(
                f"{where}: rate_limit_burst must be >= 1, got {self.rate_limit_burst!r}"
            )
        if self.request_overhead_bytes < 0:
            raise ValueError(f"{where}: request_overhead_bytes must be >= 0")
        check_mtbf_mttr(self.mtbf_s, self.mttr_s, where)
        check_windows(self.outage_windows, where)

    def hosts(self, solver: str) -> bool:
        """True if the service runs the named solver."""
        return self.solvers is None or solver in self.solvers

    def execution_for(self, solver: str) -> ExecutionModel:
        """Busy-time model used for a solver."""
        return self.execution_by_solver.get(solver, self.execution)


@dataclass(slots=True)
class ServiceState:
    """Mutable state of one service during a run."""

    down_count: int = 0
    """Active outages (nesting)."""
    surges_s: list[float] = field(default_factory=list)
    """Extra queue waits of the active surges. [s]"""
    solver_error_count: int = 0
    """Active solver-error faults."""
    slowdowns: list[float] = field(default_factory=list)
    """Execution-time factors of the active solver time-out faults. [-]"""
    session_until_s: float = -math.inf
    """Time the open session expires. [s]"""
    tokens: float = 0.0
    """Rate-limit tokens available."""
    tokens_at_s: float = 0.0
    """Time ``tokens`` was last updated. [s]"""
    admitted: int = 0
    """Our jobs admitted now (waiting + executing)."""
    jobs_executed: int = 0
    """Jobs that reached execution."""
    execution_s_used: float = 0.0
    """Execution time booked. [s]"""
    cost_eur: float = 0.0
    """Cost booked. [EUR]"""
    energy_j: float = 0.0
    """Compute energy booked. [J]"""
    rejected: dict[str, int] = field(default_factory=dict)
    """Rejections by reason."""

    @property
    def up(self) -> bool:
        """True when no outage is active."""
        return self.down_count == 0


def billed_shots(result: Any) -> float:
    """Shots billed for a job: ``shots * circuit_evaluations`` from the diagnostics.

    ``shots`` is read as shots per circuit evaluation; missing keys count as 0 shots and
    1 evaluation.
    """
    shots = diagnostic(result, "shots", 0.0) or 0.0
    evaluations = diagnostic(result, "circuit_evaluations", 1.0) or 1.0
    return shots * max(evaluations, 1.0)


@dataclass(slots=True, eq=False)
class Job:
    """One job at a service, filled in as it goes."""

    job_id: str
    """Caller-chosen identifier."""
    solver_name: str
    """Solver asked for."""
    arrived_s: float
    """Arrival time at the service. [s]"""
    phase: Literal["queued", "executing", "done"] = "queued"
    """Where the job is."""
    queue_s: float = 0.0
    """External wait plus slot wait. [s]"""
    execution_s: float = 0.0
    """Busy time booked. [s]"""
    cost_eur: float = 0.0
    """Cost booked. [EUR]"""
    energy_j: float = 0.0
    """Energy booked. [J]"""
    shots: float = 0.0
    """Shots billed."""
    result: Any = None
    """The solver's Result, when it answered."""
    error: JobError | None = None
    """Why the job failed, if it did."""
    detail: str = ""
    """Extra text for the error (e.g. the exception)."""
    process: simpy.Process | None = None
    """The SimPy process running the job."""
    executing_since_s: float | None = None
    """Start of execution. [s]"""


class Service:
    """A solver service running in a SimPy environment.

    Parameters
    ----------
    env
        The simulation environment.
    params
        The service.
    rng
        Generator for queue-wait draws; stochastic outages use a generator spawned from
        it at construction.
    events
        Where fault and reaction events go.
    """

    def __init__(
        self,
        env: simpy.Environment,
        params: ServiceParams,
        rng: np.random.Generator,
        events: EventLog,
    ) -> None:
        self.env = env
        self.params = params
        self.events = events
        self.state = ServiceState(tokens=float(params.rate_limit_burst))
        self._rng, self._fault_rng = rng.spawn(2)
        self._slots = simpy.Resource(env, capacity=params.concurrency)
        self._active: list[Job] = []
        self._started = False

    @property
    def name(self) -> str:
        """Service name."""
        return self.params.name

    @property
    def fault_rng(self) -> np.random.Generator:
        """Generator reserved for stochastic faults of this service."""
        return self._fault_rng

    def start(self) -> None:
        """Start the outages declared in the params. Call once, before running."""
        if self._started:
            raise RuntimeError(f"service {self.name!r}: start() called twice")
        self._started = True
        for start_s, duration_s in self.params.outage_windows:
            self.schedule_outage(start_s, duration_s, reason="scheduled")
        if self.params.mtbf_s is not None and self.params.mttr_s is not None:
            self.start_stochastic_outage(self.params.mtbf_s, self.params.mttr_s)

    # ------------------------------------------------------------------ sessions
    def session_overhead_s(self) -> float:
        """Connection and authentication time a request needs now. [s]"""
        if self.env.now < self.state.session_until_s:
            return 0.0
        return (self.params.connect_ms + self.params.auth_ms) / 1000.0

    # ------------------------------------------------------------------ jobs
    def submit(
        self,
        job_id: str,
        solver_name: str,
        solve: Callable[[], Any],
        problem: Any,
    ) -> Job:
        """Hand a job to the service now (the request has just arrived).

        Parameters
        ----------
        job_id
            Identifier for events.
        solver_name
            Solver asked for (selects the execution model).
        solve
            Zero-argument callable that solves the problem and returns a Result.
        problem
            The problem, for the execution model.

        Returns
        -------
        Job
            Its ``process`` ends when the service answers (``job.error`` or
            ``job.result``).
        """
        job = Job(job_id=job_id, solver_name=solver_name, arrived_s=self.env.now)
        job.process = self.env.process(self._run(job, solve, problem))
        return job

    def withdraw(self, job: Job) -> None:
        """The caller gave up: a waiting job leaves the queue; an executing one runs on."""
        if job.phase == "queued" and job.process is not None and job.process.is_alive:
            job.process.interrupt("withdrawn")

    def _admit(self, job: Job) -> JobError | None:
        params, state, now = self.params, self.state, self.env.now
        if not state.up:
            return "service_outage"
        if params.rate_limit_per_s is not None:
            state.tokens = min(
                float(params.rate_limit_burst),
                state.tokens + (now - state.tokens_at_s) * params.rate_limit_per_s,
            )
            state.tokens_at_s = now
            if state.tokens < 1.0:
                return "rate_limited"
            state.tokens -= 1.0
        if (params.quota_jobs is not None and state.jobs_executed >= params.quota_jobs) or (
            params.quota_execution_s is not None
            and state.execution_s_used >= params.quota_execution_s
        ):
            return "quota_exceeded"
        if params.queue_capacity is not None and state.admitted >= params.queue_capacity:
            return "queue_full"
        return None

    def _run(
        self, job: Job, solve: Callable[[], Any], problem: Any
    ) -> Generator[simpy.Event, Any, Job]:
        params, state, env = self.params, self.state, self.env
        if params.session_ttl_s is None:
            state.session_until_s = math.inf
        else:
            state.session_until_s = env.now + params.session_ttl_s
        rejection = self._admit(job)
        if rejection is not None:
            job.error = rejection
            job.phase = "done"
            state.rejected[rejection] = state.rejected.get(rejection, 0) + 1
            self.events.emit(
                env.now,
                "service",
                "job_rejected",
                self.name,
                f"{self.name} rejected job {job.job_id}: {rejection}",
                {"job_id": job.job_id, "reason": rejection, "solver": job.solver_name},
            )
            return job
        state.admitted += 1
        self._active.append(job)
        try:
            wait_s = 0.0
            if params.queue_wait is not None:
                wait_s = params.queue_wait.sample_ms(self._rng) / 1000.0
            wait_s += sum(state.surges_s)
            if wait_s > 0.0:
                yield env.timeout(wait_s)
            with self._slots.request() as slot:
                yield slot
                job.queue_s = env.now - job.arrived_s
                job.phase = "executing"
                job.executing_since_s = env.now
                busy_s = self._execute(job, solve, problem)
                if busy_s > 0.0:
                    yield env.timeout(busy_s)
        except simpy.Interrupt as interrupt:
            self._abort(job, str(interrupt.cause))
        finally:
            state.admitted -= 1
            self._active.remove(job)
        job.phase = "done"
        return job

    def _execute(self, job: Job, solve: Callable[[], Any], problem: Any) -> float:
        """Solve, book usage, and return the busy time to wait. [s]"""
        params, state, env = self.params, self.state, self.env
        state.jobs_executed += 1
        if state.solver_error_count > 0:
            job.error, job.detail = "solver_error", "injected solver error"
        else:
            try:
                job.result = solve()
            except Exception as exc:  # a solver bug must not stop the twin
                logger.warning("solver %s raised at %s: %r", job.solver_name, self.name, exc)
                job.error, job.detail = "solver_error", f"{type(exc).__name__}: {exc}"
        if job.error is not None:
            job.cost_eur = params.cost_per_job_eur
            state.cost_eur += job.cost_eur
            self.events.emit(
                env.now,
                "service",
                "solver_error",
                self.name,
                f"{self.name}: solver {job.solver_name} failed on job {job.job_id}: "
                f"{job.detail}",
                {"job_id": job.job_id, "solver": job.solver_name, "detail": job.detail},
            )
            return 0.0
        busy_s = float(params.execution_for(job.solver_name).seconds(problem, job.result))
        if state.slowdowns:
            busy_s *= max(state.slowdowns)
        if params.max_execution_s is not None and busy_s > params.max_execution_s:
            busy_s = params.max_execution_s
            job.error, job.detail = "solver_timeout", (
                f"execution would exceed max_execution_s={params.max_execution_s:g} s"
            )
            job.result = None
            self.events.emit(
                env.now,
                "service",
                "solver_timeout",
                self.name,
                f"{self.name}: job {job.job_id} stopped after {busy_s:g} s",
                {"job_id": job.job_id, "solver": job.solver_name, "busy_s": busy_s},
            )
        job.execution_s = busy_s
        model = params.execution_for(job.solver_name)
        counter = getattr(model, "billed_shots", None)
        if job.result is None:
            job.shots = 0.0
        else:
            job.shots = counter(job.result) if callable(counter) else billed_shots(job.result)
        job.cost_eur = (
            params.cost_per_job_eur
            + params.cost_per_shot_eur * job.shots
            + params.cost_per_execution_s_eur * busy_s
        )
        job.energy_j = params.power_w * busy_s
        state.execution_s_used += busy_s
        state.cost_eur += job.cost_eur
        state.energy_j += job.energy_j
        return busy_s

    def _abort(self, job: Job, cause: str) -> None:
        if job.phase == "executing" and job.executing_since_s is not None:
            spent_s = self.env.now - job.executing_since_s
            energy_j = self.params.power_w * spent_s
            self.state.energy_j += energy_j - job.energy_j
            self.state.execution_s_used += spent_s - job.execution_s
            job.energy_j = energy_j
            job.execution_s = spent_s
        else:
            job.queue_s = self.env.now - job.arrived_s
        job.result = None
        job.error = "service_outage" if cause == "service_outage" else "withdrawn"
        if job.error == "service_outage":
            self.events.emit(
                self.env.now,
                "service",
                "job_aborted",
                self.name,
                f"{self.name}: job {job.job_id} aborted by the outage",
                {"job_id": job.job_id, "solver": job.solver_name, "phase": job.phase},
            )

    # ------------------------------------------------------------------ faults
    def outage_begin(self, *, reason: str = "fault", repair_s: float | None = None) -> None:
        """Take the service down now; admitted jobs are aborted (nesting like links)."""
        self.state.down_count += 1
        if self.state.down_count > 1:
            return
        self.events.emit(
            self.env.now,
            "fault",
            "service_outage_start",
            self.name,
            f"{self.name} outage begins ({reason})",
            {"reason": reason, "repair_s": repair_s, "jobs_aborted": len(self._active)},
        )
        for job in list(self._active):
            if job.process is not None and job.process.is_alive:
                job.process.interrupt("service_outage")

    def outage_end(self, *, reason: str = "fault") -> None:
        """End one outage; the service is up when none remains."""
        if self.state.down_count == 0:
            raise RuntimeError(f"service {self.name!r} is not down")
        self.state.down_count -= 1
        if self.state.down_count == 0:
            self.events.emit(
                self.env.now,
                "fault",
                "service_outage_end",
                self.name,
                f"{self.name} back in service ({reason})",
                {"reason": reason},
            )

    def schedule_outage(
        self, start_s: float, duration_s: float, *, reason: str = "scheduled"
    ) -> simpy.Process:
        """Fault: service outage from ``start_s`` for ``duration_s``. [s]"""
        return self.env.process(
            window_process(
                self.env,
                start_s,
                duration_s,
                lambda: self.outage_begin(reason=reason, repair_s=duration_s),
                lambda: self.outage_end(reason=reason),
            )
        )

    def start_stochastic_outage(
        self, mtbf_s: float, mttr_s: float, *, rng: np.random.Generator | None = None
    ) -> simpy.Process:
        """Fault: exponential outages (mean gap ``mtbf_s``, mean length ``mttr_s``). [s]"""
        return self.env.process(
            stochastic_process(
                self.env,
                rng if rng is not None else self._fault_rng,
                mtbf_s,
                mttr_s,
                lambda repair_s: self.outage_begin(reason="stochastic", repair_s=repair_s),
                lambda: self.outage_end(reason="stochastic"),
            )
        )

    def _toggle(self, kind: str, begin: bool, message: str, data: dict[str, Any]) -> None:
        self.events.emit(
            self.env.now,
            "fault",
            f"{kind}_{'start' if begin else 'end'}",
            self.name,
            f"{self.name}: {message}",
            data,
        )

    def surge_begin(self, extra_wait_s: float) -> None:
        """Add ``extra_wait_s`` to the queue wait of every job admitted from now. [s]"""
        self.state.surges_s.append(extra_wait_s)
        self._toggle("queue_surge", True, f"queue surge +{extra_wait_s:g} s",
                     {"extra_wait_s": extra_wait_s})

    def surge_end(self, extra_wait_s: float) -> None:
        """End a queue surge begun with the same ``extra_wait_s``."""
        self.state.surges_s.remove(extra_wait_s)
        self._toggle("queue_surge", False, "queue surge over", {"extra_wait_s": extra_wait_s})

    def solver_error_begin(self) -> None:
        """Every job that starts executing from now fails with ``solver_error``."""
        self.state.solver_error_count += 1
        self._toggle("solver_error", True, "solver errors begin", {})

    def solver_error_end(self) -> None:
        """End one solver-error fault."""
        self.state.solver_error_count -= 1
        self._toggle("solver_error", False, "solver errors over", {})

    def slowdown_begin(self, factor: float) -> None:
        """Multiply the execution time of jobs starting from now by ``factor``."""
        self.state.slowdowns.append(factor)
        self._toggle("solver_timeout", True, f"solver slowed down x{factor:g}",
                     {"slowdown_factor": factor})

    def slowdown_end(self, factor: float) -> None:
        """End a slowdown begun with the same ``factor``."""
        self.state.slowdowns.remove(factor)
        self._toggle("solver_timeout", False, "solver slowdown over",
                     {"slowdown_factor": factor})

    def schedule_queue_surge(
        self, start_s: float, duration_s: float, extra_wait_s: float
    ) -> simpy.Process:
        """Fault: ``+extra_wait_s`` queue wait for jobs admitted in a window. [s]"""
        _nonneg(f"service {self.name!r}", "extra_wait_s", extra_wait_s, positive=True)
        return self.env.process(
            window_process(self.env, start_s, duration_s,
                           lambda: self.surge_begin(extra_wait_s),
                           lambda: self.surge_end(extra_wait_s))
        )

    def schedule_solver_error(self, start_s: float, duration_s: float) -> simpy.Process:
        """Fault: every job starting execution in the window fails (``solver_error``)."""
        return self.env.process(
            window_process(self.env, start_s, duration_s,
                           self.solver_error_begin, self.solver_error_end)
        )

    def schedule_solver_timeout(
        self, start_s: float, duration_s: float, slowdown_factor: float
    ) -> simpy.Process:
        """Fault: execution ``slowdown_factor`` times slower in the window (a hung solver).

        The job then exceeds the caller's time-out or the service's ``max_execution_s``.
        """
        if not math.isfinite(slowdown_factor) or slowdown_factor <= 1.0:
            raise ValueError(f"slowdown_factor must be a finite number > 1, got {slowdown_factor!r}")
        return self.env.process(
            window_process(self.env, start_s, duration_s,
                           lambda: self.slowdown_begin(slowdown_factor),
                           lambda: self.slowdown_end(slowdown_factor))
        )
