"""The controller's solver calls over the modelled network: :class:`CommsGateway`.

With ``comms.approval.enabled`` the gateway is also the human-in-the-loop gate: an
answer that changes a decision variable by more than the configured amount against
the last adopted answer waits for a modelled operator, who approves or rejects it (see
:class:`twin.comms.spec.ApprovalSpec`).

It implements :class:`twin.control.calls.SolverGateway` (the controller's solver-call
interface; this module imports only :mod:`twin.control.calls` of the controller), and
the engine gives it to the controller instead of the direct gateway when
``comms.enabled``: every solver call then runs
the task's fallback chain (pattern default or the scenario's own) over links, routes
and services, in simulated time, and comes back as a
:class:`~twin.control.calls.CallRecord` whose ``extra`` carries the latency split,
cost, energy and deadline outcome (``x_*`` columns of the per-call table).

Public names
------------
CommsGateway
    The gateway.
EdgeReconcilePlan
    Default split/merge of a hybrid step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import simpy

from twin.comms.event import EventLog, EventRecord
from twin.comms.kpi import LATENCY_PARTS, call_kpis, call_row
from twin.comms.model import CommsModel, build_comms
from twin.comms.outcome import CallOutcome, is_answer
from twin.comms.spec import CommsSpec, latency_model
from twin.comms.task import ControlTask
from twin.control.calls import CallLog, CallRecord, SolverPool
from twin.seeding import stream

if TYPE_CHECKING:
    from solvers import Problem, Result

__all__ = ["CommsGateway", "EdgeReconcilePlan"]


def _values(result: Any) -> dict[str, float]:
    """A result's decision values by name (empty if it has none)."""
    values = getattr(result, "values", None)
    if values is None or not hasattr(values, "items"):
        return {}
    try:
        return {str(k): float(v) for k, v in values.items()}
    except (TypeError, ValueError):
        return {}

logger = logging.getLogger(__name__)


class _RegistrySolver:
    """A registered solver as the caller sees it (a :class:`solvers.registry.Solver`);
    refusals and errors become Results (:meth:`SolverPool.solve`)."""

    def __init__(self, pool: SolverPool, name: str, options: Mapping[str, Any] | None):
        self._pool = pool
        self.name = name
        self.options = dict(options or {})
        self.wall_s = 0.0

    def supports(self, problem: Any) -> str | None:
        """The registered solver's own answer (None when it accepts ``problem``)."""
        return self._pool.get(self.name, self.options).supports(problem)

    def solve(self, problem: Any, *, time_limit: float | None = None,
              seed: int | None = None) -> Any:
        """Solve with the registered solver (see :meth:`SolverPool.solve`)."""
        result, wall = self._pool.solve(problem, self.name, self.options, seed or 0,
                                        time_limit)
        self.wall_s += wall
        return result


class EdgeReconcilePlan:
    """Default hybrid plan: target the cloud only with what fits, reconcile at the edge.

    ``split`` (edge pre-processing) sends the whole problem to the remote quantum
    solver when it is binary with at most ``max_binaries`` variables, and nothing
    otherwise. ``merge`` (edge reconciliation) solves the problem with the edge solver
    and keeps the better of that answer and the remote ones, so the hybrid answer is
    never worse than the edge's own.

    Parameters
    ----------
    edge
        The edge solver.
    max_binaries
        Largest problem sent to the remote solver (the qubit budget). [-]
    seed
        Seed for the edge solve.
    """

    def __init__(self, edge: Any, max_binaries: int = 12, seed: int = 0) -> None:
        self.edge = edge
        self.max_binaries = int(max_binaries)
        self.seed = int(seed)

    def split(self, problem: Any) -> Sequence[Any]:
        """The problem itself if it fits the qubit budget, else nothing."""
        binary = bool(getattr(problem, "is_binary", False))
        n = int(getattr(problem, "num_variables", 0))
        return [problem] if binary and 0 < n <= self.max_binaries else []

    def merge(self, problem: Any, results: Sequence[Any]) -> Any:
        """The best answer among the remote results and the edge solver's."""
        candidates = [r for r in results if is_answer(r)]
        edge = self.edge.solve(problem, time_limit=None, seed=self.seed)
        if is_answer(edge):
            candidates.append(edge)
        if not candidates:
            return edge
        sense = getattr(getattr(problem, "sense", None), "name", "MINIMIZE")
        sign = -1.0 if str(sense).upper().startswith("MAX") else 1.0
        return min(candidates, key=lambda r: sign * float(r.objective))


class CommsGateway:
    """Solver calls over the communication model (see the module docstring).

    Parameters
    ----------
    env
        The run's environment; the network's and services' outages start in it now.
    spec
        The scenario's ``comms:`` section.
    seed
        Run seed (links, services and solver seeds derive from it by name).
    recorder
        Anything with ``event(time_s, category, kind, entity, message, data)``; gets
        every comms event and one ``solver_call`` event per call.
    reference_solver
        Solver of the reference optimum when a call asks for it.
    max_binaries
        Qubit budget of the default hybrid plan. [-]
    solvers
        Solver objects by name to use instead of the registry (tests, custom back
        ends); each a :class:`solvers.registry.Solver` (``supports`` and ``solve``).
    base_dir
        Folder of the scenario file, for relative trace paths.
    start
        Start the model's declared outages now; with False the owner calls
        :meth:`start` once every other process of the run exists (the engine does, so
        the order of processes at time 0 is: families, controller, grid, comms, faults).
    """

    def __init__(
        self,
        env: simpy.Environment,
        spec: CommsSpec,
        seed: int = 0,
        recorder: Any | None = None,
        *,
        reference_solver: str = "milp",
        max_binaries: int = 12,
        solvers: Mapping[str, Any] | None = None,
        base_dir: Path | None = None,
        start: bool = True,
    ) -> None:
        self.env = env
        self.spec = spec
        self.seed = int(seed)
        self.recorder = recorder
        self.log = CallLog(recorder)
        self.events = EventLog(self._sink if recorder is not None else None)
        self.model: CommsModel = build_comms(env, spec, self.seed, self.events,
                                             start=start, base_dir=base_dir)
        self._pool = SolverPool(reference_solver)
        self.reference_solver = reference_solver
        self.max_binaries = int(max_binaries)
        self.caller = self.model.caller({}, [])
        self.outcomes: list[CallOutcome] = []
        self.rows: list[dict[str, Any]] = []
        self._tasks: dict[tuple[str, str], ControlTask] = {}
        self._given = dict(solvers or {})
        self._adopted: dict[str, dict[str, float]] = {}
        approval = spec.approval
        self._approval_delay = latency_model(approval.delay, base_dir) if approval.enabled else None
        self._approval_rng = stream(self.seed, "comms", "approval")

    def start(self) -> None:
        """Start the communication model's declared outages (see ``start`` above)."""
        self.model.start()

    def _sink(self, record: EventRecord) -> None:
        data = {k: v for k, v in record["data"].items()
                if v is None or isinstance(v, bool | int | float | str)}
        self.recorder.event(record["time_s"], record["category"], record["kind"],
                            record["entity"], record["message"], data)

    # ------------------------------------------------------------------ tasks
    def task(self, name: str, solver: str) -> ControlTask:
        """The control task a call of ``name`` asking for ``solver`` runs (cached)."""
        key = (name, solver)
        if key not in self._tasks:
            task = self.model.task(name, solver)
            for _path, step in task.solver_steps():
                self._ensure_solver(step.solver, None)
            self.caller.validate_task(task)
            self._tasks[key] = task
        return self._tasks[key]

    def _ensure_solver(self, name: str, options: Mapping[str, Any] | None) -> None:
        if name in self._given:
            self.caller.solvers[name] = self._given[name]
            return
        current = self.caller.solvers.get(name)
        if current is None or (options is not None and current.options != dict(options)):
            self.caller.solvers[name] = _RegistrySolver(self._pool, name, options)

    # ------------------------------------------------------------------ the call
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
    ) -> Generator[simpy.Event, Any, CallRecord]:
        """See :meth:`twin.control.calls.SolverGateway.call`.

        ``fallback`` is not used: the chain (the pattern's default, with
        ``comms.edge_solver`` at the edge, or the scenario's own) says what comes after
        the requested solver. When the chain reaches ``last_good_schedule`` or
        ``rule_based`` the record has no answer and names that fallback; the controller
        applies it.
        """
        if env is not self.env:
            raise ValueError("CommsGateway.call: env is not the environment it was built in")
        control = self.task(task, solver)
        self._ensure_solver(solver, options or {})
        edge = self.caller.solvers.get(self.spec.edge_solver or "", None)
        plan = None
        if edge is not None:
            plan = EdgeReconcilePlan(edge, self.max_binaries, self.seed)
        names = {"last_good_schedule", "rule_based"}
        fallbacks: dict[str, Callable[[Any], Any]] = {n: (lambda p, n=n: n) for n in names}
        outcome: CallOutcome = yield from self.caller.call(
            control, problem, fallbacks=fallbacks, hybrid=plan
        )
        approval: dict[str, Any] = {}
        if outcome.status == "solved" and self._approval_delay is not None:
            approval = yield from self._approve(task, outcome)
        self.outcomes.append(outcome)
        row = call_row(outcome)
        self.rows.append(row)
        record = self._record(outcome, row, control, problem, solver, reference)
        if approval:
            record = self._with_approval(record, approval)
        elif record.result is not None:
            self._adopted[task] = _values(record.result)
        self.log.add(record)
        return record

    # ------------------------------------------------------------------ approval
    def _approve(self, task: str, outcome: CallOutcome) -> Generator[simpy.Event, Any, dict]:
        """Hold a large change for the operator; return the decision ({} if not held)."""
        spec = self.spec.approval
        if spec.tasks is not None and task not in spec.tasks:
            return {}
        new = _values(outcome.result)
        old = self._adopted.get(task)
        if old is None or not new:
            return {}
        common = [name for name in new if name in old]
        if not common:
            return {}
        name = max(common, key=lambda n: abs(new[n] - old[n]))
        change = abs(new[name] - old[name])
        if change <= spec.hold_above_change:
            return {}
        assert self._approval_delay is not None
        delay_s = self._approval_delay.sample_ms(self._approval_rng) / 1000.0
        approve = bool(self._approval_rng.random() < spec.approve_prob)
        self.events.emit(self.env.now, "control", "approval_requested", f"task/{task}",
                         f"{outcome.call_id}: change of {change:.4g} in {name} is above "
                         f"{spec.hold_above_change:g}; held for the operator",
                         {"call_id": outcome.call_id, "variable": name, "change": change})
        waited_s = min(delay_s, spec.timeout_s)
        yield self.env.timeout(waited_s)
        if delay_s > spec.timeout_s:
            decision = "timed_out"
        else:
            decision = "approved" if approve else "rejected"
        self.events.emit(self.env.now, "control", f"approval_{decision}", f"task/{task}",
                         f"{outcome.call_id}: operator {decision.replace('_', ' ')} the change "
                         f"after {waited_s:.1f} s",
                         {"call_id": outcome.call_id, "decision": decision,
                          "waited_s": waited_s, "change": change})
        return {"decision": decision, "waited_s": waited_s, "change": change,
                "variable": name, "end_s": float(self.env.now)}

    def _with_approval(self, record: CallRecord, approval: dict[str, Any]) -> CallRecord:
        from dataclasses import replace

        extra = {**record.extra, "approval": approval["decision"],
                 "approval_wait_s": approval["waited_s"], "approval_change": approval["change"]}
        if approval["decision"] == "approved":
            if record.result is not None:
                self._adopted[record.task] = _values(record.result)
            return replace(record, end_s=approval["end_s"], extra=extra)
        reason = f"operator {approval['decision']} a change of {approval['change']:.4g}"
        return replace(record, end_s=approval["end_s"], solver_used=None, status="failed",
                       objective=None, result=None, fallback="last_good_schedule",
                       fallback_reason=reason, extra=extra)

    def _record(
        self, outcome: CallOutcome, row: Mapping[str, Any], control: ControlTask,
        problem: Any, solver: str, reference: bool,
    ) -> CallRecord:
        result: Result | None = outcome.result if outcome.status == "solved" else None
        used = outcome.solver if result is not None else None
        fallback: str | None = None
        reason: str | None = None
        if outcome.fallback_reasons:
            reason = "; ".join(f"{s}: {r}" for s, r in outcome.fallback_reasons)
        if outcome.status == "solved" and outcome.used_index not in (0, None):
            fallback = used
        elif outcome.status == "fallback":
            fallback = str(outcome.fallback_value)
        ref_obj: float | None = None
        ref_wall = 0.0
        if reference:
            if (result is not None and used == self.reference_solver
                    and getattr(result.status, "value", "") == "optimal"):
                ref_obj = result.objective
            else:
                ref_obj, ref_wall = self._pool.reference(problem, self.seed)
        extra: dict[str, Any] = {
            "pattern": outcome.pattern,
            "route": outcome.route,
            "used_step": outcome.used_step,
            "attempts": len(outcome.attempts),
            "deadline_met": outcome.deadline_met,
            "cost_eur": outcome.cost_eur,
            "energy_j": outcome.energy_j,
            "fell_back": row["fell_back"],
            "first_failure": row["fallback_reason"],
        }
        for part in LATENCY_PARTS:
            extra[part] = row[part]
        if result is not None:
            for key in ("qubits", "num_qubits", "depth", "gap", "mip_gap", "qpu_time_s"):
                value = (result.diagnostics or {}).get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    extra[key] = value
        wall = float(getattr(result, "wall_time_s", 0.0) or 0.0) if result is not None else 0.0
        return CallRecord(
            call_id=outcome.call_id,
            task=control.name,
            start_s=outcome.start_s,
            end_s=outcome.end_s,
            solver_requested=solver,
            solver_used=used,
            status=result.status.value if result is not None else "failed",
            objective=result.objective if result is not None else None,
            reference_objective=ref_obj,
            reference_solver=self.reference_solver if reference else None,
            n_variables=int(getattr(problem, "num_variables", 0)),
            n_binary=int(getattr(problem, "num_binary", 0)),
            n_constraints=int(getattr(problem, "num_constraints", 0)),
            solve_wall_s=wall,
            reference_wall_s=ref_wall,
            fallback=fallback,
            fallback_reason=reason,
            result=result,
            extra=extra,
        )

    # ------------------------------------------------------------------ KPIs
    @property
    def solver_errors(self) -> int:
        """Solves in which a registry solver raised (FAILED results). [-]"""
        return int(self._pool.solver_errors)

    def kpis(self) -> dict[str, float | None]:
        """Per-call KPIs (``comms.`` prefix) and service totals of the run so far."""
        out = {f"comms.{k}": v for k, v in call_kpis(self.rows).items()}
        for name, service in self.model.services.items():
            state = service.state
            out[f"comms.service.{name}.jobs_executed"] = float(state.jobs_executed)
            out[f"comms.service.{name}.cost_eur"] = state.cost_eur
            out[f"comms.service.{name}.energy_j"] = state.energy_j
            out[f"comms.service.{name}.rejected"] = float(sum(state.rejected.values()))
        return out

    def rows_json(self) -> str:
        """The per-call rows as JSON (for a results file)."""
        return json.dumps(self.rows, sort_keys=True, default=str)
