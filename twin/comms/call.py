"""The caller: runs a control task's fallback chain over the network and services.

Public names
------------
HybridPlan
    Protocol of the controller's split/merge for :class:`~twin.comms.task.HybridStep`.
Caller
    Validates tasks against the network, services and solvers; ``call`` is a SimPy
    process body returning a :class:`~twin.comms.outcome.CallOutcome` (its records,
    :class:`~twin.comms.outcome.AttemptRecord` and the failure reasons, live in
    :mod:`twin.comms.outcome`).

Why one module of ~800 lines: :class:`Caller` is one state machine over a call's chain
whose steps run each other (a hedge runs solver steps, a hybrid step runs remote solver
steps, every solver step runs attempts) and share one call context; split across
modules they would reach into each other's private steps.

Notes
-----
**An attempt** on a :class:`~twin.comms.task.SolverStep`: open a session if needed
(``connect_s``), send the request along the route's active path (``serialisation_s``,
``network_s``), wait and execute at the service (``queue_s``, ``execution_s``), send the
response back (``return_s``). The caller holds a timer of ``min(timeout, time left to
the deadline)``. A message dropped on the way (``link_down``, ``packet_loss``) is only
noticed when the timer fires; a service refusal or error comes back at once (after the
return trip). When the timer fires first the attempt fails with ``timeout`` (or
``deadline`` if the deadline capped it) and the job is withdrawn.

**Solver seeds** come from ``twin.seeding.stream_seed(seed, n)`` with ``n`` the
0-based run-wide call number (as :class:`twin.control.gateway.DirectGateway` does), the
same for every attempt and step of a call: a call's solver answer does not depend on
how many network draws faults caused, so runs with and without faults, and with and
without the communication model, compare like for like.

**Deadline.** ``deadline_met`` is True when a *solver* answer was in hand at or before
the deadline; a call answered by ``last_good_schedule`` or ``rule_based`` never meets
it. ``deadline_elapsed`` is True when the deadline passed while solver steps were still
in play.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import simpy

from solvers.registry import Solver
from twin.comms.event import EventLog, EventRecord
from twin.comms.network import Network
from twin.comms.outcome import AttemptRecord, CallOutcome, is_answer, status_name
from twin.comms.service import Job, Service
from twin.comms.task import (
    ControlTask,
    FallbackStep,
    HedgeStep,
    HybridStep,
    SolverStep,
)
from twin.seeding import stream_seed

__all__ = ["Caller", "HybridPlan"]

logger = logging.getLogger(__name__)

_NOT_RETRIED = frozenset({"quota_exceeded", "deadline", "cancelled", "hybrid_error"})

ProcessGenerator = Generator[simpy.Event, Any, Any]


@runtime_checkable
class HybridPlan(Protocol):
    """The controller's decomposition for a hybrid step."""

    def split(self, problem: Any) -> Sequence[Any]:
        """Edge pre-processing: the sub-problems to send to the remote solver."""
        ...

    def merge(self, problem: Any, results: Sequence[Any]) -> Any:
        """Edge reconciliation: a Result for the whole problem from the sub-results."""
        ...


@dataclass(slots=True)
class _AttemptState:
    call_id: str
    attempt: int
    step: str
    solver: str
    route: str
    start_s: float
    path: tuple[str, ...] = ()
    connect_s: float = 0.0
    serialisation_s: float = 0.0
    network_s: float = 0.0
    return_s: float = 0.0
    retransmissions: int = 0
    lost: bool = False
    outcome: str | None = None
    job: Job | None = None
    result: Any = None
    service: Service | None = None


@dataclass(slots=True)
class _StepResult:
    ok: bool
    reason: str | None = None
    result: Any = None
    route: str | None = None
    solver: str | None = None
    step: str | None = None


@dataclass(slots=True)
class _ChainRun:
    """How a call's chain ended: which step answered, and how."""

    status: Literal["solved", "fallback", "failed"]
    used: _StepResult | None
    used_index: int | None
    fallback_value: Any = None
    deadline_met: bool = False


def _check_chain_inputs(task: ControlTask, fallbacks: Mapping[str, Any],
                        hybrid: HybridPlan | None) -> None:
    """Refuse a call whose chain needs a fallback callable or hybrid plan not given."""
    for i, step in enumerate(task.chain):
        if isinstance(step, FallbackStep) and step.name not in fallbacks:
            raise ValueError(
                f"tasks[{task.name!r}].chain[{i}].name: no callable given for "
                f"fallback {step.name!r} (pass fallbacks={{{step.name!r}: ...}})"
            )
        if isinstance(step, HybridStep) and hybrid is None:
            raise ValueError(
                f"tasks[{task.name!r}].chain[{i}]: hybrid step needs hybrid= (a plan "
                "with split and merge)"
            )


@dataclass(slots=True)
class _CallContext:
    call_id: str
    task: ControlTask
    start_s: float
    deadline_at_s: float
    solver_seed: int
    events: list[EventRecord] = field(default_factory=list)
    attempts: list[AttemptRecord] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)
    next_attempt: int = 0
    deadline_elapsed: bool = False
    extra_energy_j: float = 0.0

    @property
    def cost_eur(self) -> float:
        """Cost of all attempts so far. [EUR]"""
        return sum(a.cost_eur for a in self.attempts)

    @property
    def energy_j(self) -> float:
        """Compute energy of all attempts so far. [J]"""
        return sum(a.energy_j for a in self.attempts)


class Caller:
    """Runs control tasks over the network and services, in simulated time.

    Parameters
    ----------
    env
        The simulation environment.
    network
        The communication network.
    services
        The services; each sits at a distinct node.
    solvers
        Solver name -> solver (a :class:`solvers.registry.Solver`: ``supports`` and
        ``solve``). Its Result needs ``status`` (an Enum or string;
        ``optimal``/``feasible`` count as an answer), ``objective``, ``diagnostics`` (a
        mapping) and ``wall_time_s``.
    tasks
        The control tasks, validated against the above.
    events
        Where call events go (each call's events are also in its outcome).
    seed
        Base of the per-call solver seeds.

    Raises
    ------
    ValueError
        A task names an unknown route or solver, a route's target hosts no service, or
        the service there does not host the solver; the message names the field
        (``tasks['dispatch'].chain[1].route``).
    """

    def __init__(
        self,
        env: simpy.Environment,
        network: Network,
        services: Sequence[Service],
        solvers: Mapping[str, Solver],
        tasks: Sequence[ControlTask],
        events: EventLog,
        seed: int,
    ) -> None:
        self.env = env
        self.network = network
        self.events = events
        self.solvers = dict(solvers)
        self._seed = int(seed)
        self.services: dict[str, Service] = {}
        self._service_at: dict[str, Service] = {}
        for i, service in enumerate(services):
            if service.name in self.services:
                raise ValueError(f"services[{i}].name: duplicate service {service.name!r}")
            if service.params.node in self._service_at:
                raise ValueError(
                    f"services[{i}].node: node {service.params.node!r} already hosts "
                    f"service {self._service_at[service.params.node].name!r}"
                )
            if service.params.node not in network.graph:
                raise ValueError(
                    f"services[{i}].node: unknown node {service.params.node!r}; known "
                    f"nodes: {sorted(network.graph.nodes)}"
                )
            self.services[service.name] = service
            self._service_at[service.params.node] = service
        for name, solver in self.solvers.items():
            if not isinstance(solver, Solver):
                raise ValueError(f"solvers[{name!r}]: not a solver (needs supports() and "
                                 "solve(), see solvers.registry.Solver)")
        self.tasks: dict[str, ControlTask] = {}
        for task in tasks:
            if task.name in self.tasks:
                raise ValueError(f"tasks: duplicate task name {task.name!r}")
            self.validate_task(task)
            self.tasks[task.name] = task
        self._calls = 0

    # ------------------------------------------------------------------ validation
    def validate_task(self, task: ControlTask) -> None:
        """Check a task's routes and solvers exist and fit together.

        Raises
        ------
        ValueError
            Naming the field, e.g. ``tasks['dispatch'].chain[0].solver``.
        """
        prefix = f"tasks[{task.name!r}]"
        for path, step in task.solver_steps():
            where = f"{prefix}.{path}"
            step.validate(f"{where}.")
            if step.route not in self.network.routes:
                raise ValueError(
                    f"{where}.route: unknown route {step.route!r}; known routes: "
                    f"{sorted(self.network.routes)}"
                )
            if step.solver not in self.solvers:
                raise ValueError(
                    f"{where}.solver: unknown solver {step.solver!r}; known solvers: "
                    f"{sorted(self.solvers)}"
                )
            target = self.network.routes[step.route].target
            service = self._service_at.get(target)
            if service is None:
                raise ValueError(
                    f"{where}.route: route {step.route!r} ends at node {target!r}, "
                    "which hosts no service"
                )
            if not service.params.hosts(step.solver):
                raise ValueError(
                    f"{where}.solver: service {service.name!r} at the end of route "
                    f"{step.route!r} does not host solver {step.solver!r}; it hosts "
                    f"{sorted(service.params.solvers or [])}"
                )

    def service_for_route(self, route: str) -> Service:
        """The service at the end of a route."""
        return self._service_at[self.network.route_state(route).paths[0][-1]]

    # ------------------------------------------------------------------ the call
    def call(
        self,
        task: str | ControlTask,
        problem: Any,
        *,
        fallbacks: Mapping[str, Callable[[Any], Any]] | None = None,
        hybrid: HybridPlan | None = None,
    ) -> Generator[simpy.Event, Any, CallOutcome]:
        """SimPy process body: run one call of a task; returns a :class:`CallOutcome`.

        Use ``outcome = yield from caller.call(...)`` inside a process, or
        ``outcome = yield env.process(caller.call(...))``.

        Parameters
        ----------
        task
            Task name (or a task, validated now).
        problem
            The problem, handed unchanged to ``solver.solve``.
        fallbacks
            ``{"last_good_schedule": f, "rule_based": g}`` for the fallback steps of
            the chain; ``f(problem)`` returns the fallback's answer, or ``None`` when it
            has none (e.g. no good schedule yet).
        hybrid
            Split/merge plan, required when the chain has a hybrid step.

        Raises
        ------
        ValueError
            Unknown task, or a fallback or hybrid plan the chain needs is missing.
        """
        task = self._resolve_task(task)
        fallbacks = dict(fallbacks or {})
        _check_chain_inputs(task, fallbacks, hybrid)
        ctx = self._open_call(task)
        run = yield from self._run_chain(ctx, problem, fallbacks, hybrid)
        self._close_call(ctx, run)
        return self._outcome(ctx, run)

    def _open_call(self, task: ControlTask) -> _CallContext:
        """A new call of ``task``: its id (1-based per caller), deadline and solver seed
        (``stream_seed(seed, n)``, ``n`` 0-based)."""
        solver_seed = stream_seed(self._seed, self._calls)
        self._calls += 1
        return _CallContext(
            call_id=f"{task.name}#{self._calls}",
            task=task,
            start_s=self.env.now,
            deadline_at_s=self.env.now + task.deadline_s,
            solver_seed=solver_seed,
        )

    def _run_chain(
        self,
        ctx: _CallContext,
        problem: Any,
        fallbacks: Mapping[str, Callable[[Any], Any]],
        hybrid: HybridPlan | None,
    ) -> Generator[simpy.Event, Any, _ChainRun]:
        """Try the chain's steps in order until one answers (or none is left)."""
        for index, step in enumerate(ctx.task.chain):
            if isinstance(step, FallbackStep):
                value = self._fallback_step(ctx, index, step, problem, fallbacks)
                if value is None:
                    continue
                return _ChainRun("fallback", _StepResult(ok=True, step=step.label), index,
                                 fallback_value=value)
            if self.env.now >= ctx.deadline_at_s:
                ctx.deadline_elapsed = True
                self._give_up(ctx, index, step.label, "deadline")
                continue
            if isinstance(step, SolverStep):
                outcome = yield from self._solver_step(ctx, step, problem)
            elif isinstance(step, HedgeStep):
                outcome = yield from self._hedge(ctx, step, problem)
            else:
                assert hybrid is not None
                outcome = yield from self._hybrid(ctx, step, problem, hybrid)
            if outcome.ok:
                return _ChainRun("solved", outcome, index,
                                 deadline_met=self.env.now <= ctx.deadline_at_s)
            self._give_up(ctx, index, step.label, outcome.reason or "unknown")
        return _ChainRun("failed", None, None)

    def _fallback_step(
        self,
        ctx: _CallContext,
        index: int,
        step: FallbackStep,
        problem: Any,
        fallbacks: Mapping[str, Callable[[Any], Any]],
    ) -> Any:
        """The controller's fallback's answer, or None (then the chain goes on)."""
        try:
            value = fallbacks[step.name](problem)
        except Exception as exc:  # the controller's fallback must not stop the twin
            logger.warning("fallback %s raised: %r", step.name, exc)
            value, reason = None, "error"
        else:
            reason = "unavailable"
        if value is None:
            self._give_up(ctx, index, step.label, reason)
        return value

    def _close_call(self, ctx: _CallContext, run: _ChainRun) -> None:
        """Settle the deadline and emit ``deadline_missed`` (if so) and ``call``."""
        task = ctx.task
        used = run.used
        if self.env.now >= ctx.deadline_at_s and run.status != "solved":
            ctx.deadline_elapsed = ctx.deadline_elapsed or any(
                reason in ("deadline",) for _, reason in ctx.reasons
            )
        if ctx.deadline_elapsed:
            self._emit(
                ctx,
                "deadline_missed",
                f"{ctx.call_id}: no solver answer by the deadline "
                f"({task.deadline_s:g} s)",
                {"deadline_at_s": ctx.deadline_at_s},
            )
        self._emit(
            ctx,
            "call",
            f"{ctx.call_id}: {run.status} by {used.step if used else 'nothing'} after "
            f"{self.env.now - ctx.start_s:.3f} s",
            {
                "status": run.status,
                "used_step": used.step if used else None,
                "latency_s": self.env.now - ctx.start_s,
                "attempts": len(ctx.attempts),
                "cost_eur": ctx.cost_eur,
                "energy_j": ctx.energy_j,
                "deadline_met": run.deadline_met,
                "pattern": task.pattern,
                "objective": getattr(used.result, "objective", None) if used else None,
            },
        )

    def _outcome(self, ctx: _CallContext, run: _ChainRun) -> CallOutcome:
        """The call's :class:`CallOutcome` (answer in hand now)."""
        used = run.used
        return CallOutcome(
            call_id=ctx.call_id,
            task=ctx.task.name,
            pattern=ctx.task.pattern,
            start_s=ctx.start_s,
            end_s=self.env.now,
            deadline_at_s=ctx.deadline_at_s,
            status=run.status,
            used_step=used.step if used else None,
            used_index=run.used_index,
            solver=used.solver if used else None,
            route=used.route if used else None,
            result=used.result if used and run.status == "solved" else None,
            fallback_value=run.fallback_value,
            attempts=tuple(ctx.attempts),
            fallback_reasons=tuple(ctx.reasons),
            cost_eur=ctx.cost_eur,
            energy_j=ctx.energy_j,
            deadline_met=run.deadline_met,
            deadline_elapsed=ctx.deadline_elapsed,
            events=tuple(ctx.events),
        )

    def _resolve_task(self, task: str | ControlTask) -> ControlTask:
        if isinstance(task, ControlTask):
            if task.name not in self.tasks:
                self.validate_task(task)
            return task
        try:
            return self.tasks[task]
        except KeyError:
            raise ValueError(
                f"task: unknown task {task!r}; known tasks: {sorted(self.tasks)}"
            ) from None

    # ------------------------------------------------------------------ events
    def _emit(
        self,
        ctx: _CallContext,
        kind: str,
        message: str,
        data: dict[str, Any],
        *,
        time_s: float | None = None,
    ) -> None:
        record = self.events.emit(
            self.env.now if time_s is None else time_s,
            "call",
            kind,
            ctx.task.name,
            message,
            {"call_id": ctx.call_id, **data},
        )
        ctx.events.append(record)

    def _give_up(self, ctx: _CallContext, index: int, label: str, reason: str) -> None:
        ctx.reasons.append((label, reason))
        chain = ctx.task.chain
        next_label = chain[index + 1].label if index + 1 < len(chain) else None
        self._emit(
            ctx,
            "fallback",
            f"{ctx.call_id}: {label} gave no answer ({reason}); "
            + (f"next: {next_label}" if next_label else "no step left"),
            {"from_step": label, "to_step": next_label, "reason": reason},
        )

    # ------------------------------------------------------------------ steps
    def _solver_step(
        self, ctx: _CallContext, step: SolverStep, problem: Any
    ) -> Generator[simpy.Event, Any, _StepResult]:
        task = ctx.task
        retries = task.retries if step.retries is None else step.retries
        timeout_s = task.timeout_s if step.timeout_s is None else step.timeout_s
        reason = "deadline"
        try:
            for k in range(retries + 1):
                remaining_s = ctx.deadline_at_s - self.env.now
                if remaining_s <= 0.0:
                    ctx.deadline_elapsed = True
                    reason = "deadline"
                    break
                limit_s = min(timeout_s, remaining_s)
                record, result = yield from self._attempt(
                    ctx, step, problem, limit_s, capped=remaining_s < timeout_s
                )
                if record.outcome == "ok":
                    return _StepResult(
                        ok=True, result=result, route=step.route, solver=step.solver,
                        step=step.label,
                    )
                reason = record.outcome
                if reason in _NOT_RETRIED or (reason.startswith("solver_") and reason not in (
                    "solver_error",
                    "solver_timeout",
                )):
                    break
                if k == retries:
                    break
                wait_s = task.backoff_s * task.backoff_factor**k
                if self.env.now + wait_s >= ctx.deadline_at_s:
                    break
                self._emit(
                    ctx,
                    "retry",
                    f"{ctx.call_id}: retry {k + 1} of {step.label} in {wait_s:g} s "
                    f"after {reason}",
                    {"step": step.label, "retry": k + 1, "backoff_s": wait_s, "reason": reason},
                )
                if wait_s > 0.0:
                    yield self.env.timeout(wait_s)
        except simpy.Interrupt:
            reason = "cancelled"
        return _StepResult(ok=False, reason=reason, route=step.route, solver=step.solver,
                           step=step.label)

    def _attempt(
        self,
        ctx: _CallContext,
        step: SolverStep,
        problem: Any,
        limit_s: float,
        *,
        capped: bool,
    ) -> Generator[simpy.Event, Any, tuple[AttemptRecord, Any]]:
        service = self.service_for_route(step.route)
        state = _AttemptState(
            call_id=ctx.call_id,
            attempt=ctx.next_attempt,
            step=step.label,
            solver=step.solver,
            route=step.route,
            start_s=self.env.now,
            service=service,
        )
        ctx.next_attempt += 1
        body = self.env.process(self._attempt_body(ctx, state, step, problem))
        timer = self.env.timeout(limit_s)
        try:
            yield body | timer
            if body.is_alive:
                body.interrupt("timeout")
                state.outcome = "deadline" if capped else "timeout"
                if capped:
                    ctx.deadline_elapsed = True
            elif state.lost:
                if not timer.processed:
                    yield timer
                state.outcome = state.outcome or "timeout"
        except simpy.Interrupt:
            if body.is_alive:
                body.interrupt("cancelled")
            state.outcome = "cancelled"
            record = self._freeze(ctx, state)
            raise
        record = self._freeze(ctx, state)
        return record, state.result if record.outcome == "ok" else None

    def _attempt_body(
        self, ctx: _CallContext, state: _AttemptState, step: SolverStep, problem: Any
    ) -> Generator[simpy.Event, Any, None]:
        service = state.service
        assert service is not None
        try:
            overhead_s = service.session_overhead_s()
            if overhead_s > 0.0:
                state.connect_s = overhead_s
                yield self.env.timeout(overhead_s)
            request_bytes = ctx.task.request_bytes + service.params.request_overhead_bytes
            forward = yield from self.network.transfer(step.route, request_bytes)
            state.path = forward.path
            state.serialisation_s = forward.serialisation_s
            state.network_s = forward.network_s
            state.retransmissions = forward.retransmissions
            if not forward.delivered:
                state.lost, state.outcome = True, forward.drop_reason
                return
            solver = self.solvers[step.solver]
            seed = ctx.solver_seed

            def solve() -> Any:
                return solver.solve(problem, time_limit=step.time_limit_s, seed=seed)

            job = service.submit(f"{ctx.call_id}/{state.attempt}", step.solver, solve, problem)
            state.job = job
            assert job.process is not None
            yield job.process
            back = yield from self.network.transfer(
                step.route, ctx.task.response_bytes, reverse=True
            )
            state.return_s = back.serialisation_s + back.network_s
            state.retransmissions += back.retransmissions
            if not back.delivered:
                state.lost, state.outcome = True, back.drop_reason
                return
            if job.error is not None:
                state.outcome = job.error
            elif is_answer(job.result):
                state.outcome, state.result = "ok", job.result
            else:
                state.outcome = f"solver_{status_name(job.result)}"
                state.result = job.result
        except simpy.Interrupt:
            if state.job is not None:
                service.withdraw(state.job)

    def _freeze(self, ctx: _CallContext, state: _AttemptState) -> AttemptRecord:
        now = self.env.now
        job = state.job
        queue_s = execution_s = cost = energy = 0.0
        if job is not None:
            if job.phase == "queued":
                queue_s = now - job.arrived_s
            else:
                queue_s, execution_s = job.queue_s, job.execution_s
                cost, energy = job.cost_eur, job.energy_j
        result = state.result
        objective = getattr(result, "objective", None) if result is not None else None
        record = AttemptRecord(
            call_id=state.call_id,
            attempt=state.attempt,
            step=state.step,
            solver=state.solver,
            route=state.route,
            path="-".join(state.path),
            start_s=state.start_s,
            end_s=now,
            connect_s=state.connect_s,
            serialisation_s=state.serialisation_s,
            network_s=state.network_s,
            queue_s=queue_s,
            execution_s=execution_s,
            return_s=state.return_s,
            retransmissions=state.retransmissions,
            outcome=state.outcome or "timeout",
            cost_eur=cost,
            energy_j=energy,
            objective=float(objective) if isinstance(objective, int | float) else None,
            status=status_name(result) if result is not None else None,
        )
        ctx.attempts.append(record)
        self._emit(
            ctx,
            "attempt",
            f"{ctx.call_id}: attempt {record.attempt} {record.step} -> {record.outcome} "
            f"in {record.latency_s:.3f} s",
            {
                key: value
                for key, value in record.as_dict().items()
                if key not in ("call_id",)
            },
        )
        return record

    def _hedge(
        self, ctx: _CallContext, step: HedgeStep, problem: Any
    ) -> Generator[simpy.Event, Any, _StepResult]:
        branches = [
            self.env.process(self._solver_step(ctx, branch, problem)) for branch in step.branches
        ]
        try:
            if step.take == "best":
                yield self.env.all_of(branches)
            else:
                pending = list(branches)
                while pending:
                    yield self.env.any_of(pending)
                    done = [p for p in pending if not p.is_alive]
                    pending = [p for p in pending if p.is_alive]
                    if any(p.value.ok for p in done):
                        for p in pending:
                            p.interrupt("cancelled")
                        if pending:
                            yield self.env.all_of(pending)
                        break
        except simpy.Interrupt:
            for p in branches:
                if p.is_alive:
                    p.interrupt("cancelled")
            return _StepResult(ok=False, reason="cancelled", step=step.label)
        outcomes: list[_StepResult] = [p.value for p in branches]
        answers = [o for o in outcomes if o.ok]
        for outcome in outcomes:
            if not outcome.ok and outcome.step is not None:
                ctx.reasons.append((outcome.step, outcome.reason or "unknown"))
        if not answers:
            reasons = sorted({o.reason or "unknown" for o in outcomes})
            return _StepResult(ok=False, reason="+".join(reasons), step=step.label)
        sign = 1.0 if ctx.task.sense == "min" else -1.0
        if step.take == "best":
            best = min(answers, key=lambda o: sign * float(o.result.objective))
        else:
            best = answers[0]
        self._emit(
            ctx,
            "hedge_winner",
            f"{ctx.call_id}: hedge answered by {best.step} "
            f"(objective {float(best.result.objective):.6g})",
            {
                "branch": best.step,
                "objective": float(best.result.objective),
                "answers": len(answers),
                "branches": len(outcomes),
            },
        )
        return _StepResult(
            ok=True, result=best.result, route=best.route, solver=best.solver, step=step.label
        )

    def _hybrid(
        self, ctx: _CallContext, step: HybridStep, problem: Any, plan: HybridPlan
    ) -> Generator[simpy.Event, Any, _StepResult]:
        fail = _StepResult(ok=False, reason="hybrid_error", step=step.label)
        edge_start_s = self.env.now
        try:
            subproblems = list(plan.split(problem))
        except Exception as exc:  # the controller's plan must not stop the twin
            logger.warning("hybrid split raised: %r", exc)
            return fail
        if step.preprocess_s > 0.0:
            yield self.env.timeout(step.preprocess_s)
        self._edge_attempt(ctx, step, "preprocess", edge_start_s, step.preprocess_s)
        subcalls = [
            self.env.process(self._solver_step(ctx, step.remote, sub)) for sub in subproblems
        ]
        if subcalls:
            yield self.env.all_of(subcalls)
        outcomes: list[_StepResult] = [p.value for p in subcalls]
        failed = [o for o in outcomes if not o.ok]
        if failed:
            return _StepResult(ok=False, reason=failed[0].reason, step=step.label)
        reconcile_start_s = self.env.now
        if step.reconcile_s > 0.0:
            yield self.env.timeout(step.reconcile_s)
        try:
            merged = plan.merge(problem, [o.result for o in outcomes])
        except Exception as exc:  # the controller's plan must not stop the twin
            logger.warning("hybrid merge raised: %r", exc)
            return fail
        self._edge_attempt(ctx, step, "reconcile", reconcile_start_s, step.reconcile_s,
                           result=merged)
        if not is_answer(merged):
            return _StepResult(
                ok=False, reason=f"solver_{status_name(merged)}", step=step.label
            )
        return _StepResult(
            ok=True,
            result=merged,
            route=step.remote.route,
            solver=f"hybrid:{step.remote.solver}",
            step=step.label,
        )

    def _edge_attempt(
        self,
        ctx: _CallContext,
        step: HybridStep,
        what: str,
        start_s: float,
        busy_s: float,
        *,
        result: Any = None,
    ) -> None:
        state = _AttemptState(
            call_id=ctx.call_id,
            attempt=ctx.next_attempt,
            step=f"{step.label}:{what}",
            solver="<hybrid-edge>",
            route=step.remote.route,
            start_s=start_s,
            path=(self.network.routes[step.remote.route].source,),
            outcome="ok",
            result=result,
        )
        ctx.next_attempt += 1
        record = self._freeze(ctx, state)
        # the edge work is booked as execution on the edge device
        ctx.attempts[-1] = _replace_record(
            record, execution_s=busy_s, energy_j=step.edge_power_w * busy_s
        )


def _replace_record(record: AttemptRecord, **changes: Any) -> AttemptRecord:
    data = {name: getattr(record, name) for name in record.__dataclass_fields__}
    data.update(changes)
    return AttemptRecord(**data)
