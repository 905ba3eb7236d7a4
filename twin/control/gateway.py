"""The direct solver gateway: solve at once, in zero simulated time (no comms model).

:class:`DirectGateway` implements :class:`twin.control.calls.SolverGateway`, the
solver-call interface of :mod:`twin.control.calls`; the engine gives it to the
controller unless ``comms.enabled`` (then the comms package's gateway, with the same
interface, carries every call over the modelled network). Each call is logged as a
:class:`~twin.control.calls.CallRecord` (see :mod:`twin.control.calls`).

Public names: :class:`DirectGateway`.

Examples
--------
>>> import simpy
>>> from solvers import Problem
>>> env = simpy.Environment()
>>> gw = DirectGateway(seed=1)
>>> problem = Problem(objective=[1.0, 2.0], kinds="binary", upper=1.0,
...                   constraints=[[1.0, 1.0]],
...                   row_lower=[1.0])
>>> proc = env.process(gw.call(env, "dispatch", problem, solver="milp", reference=False))
>>> env.run()
>>> proc.value.status, proc.value.objective
('optimal', 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from twin.control.calls import CallLog, CallProcess, CallRecord, SolverPool
from twin.seeding import stream_seed

if TYPE_CHECKING:
    import simpy

    from solvers import Problem

__all__ = ["DirectGateway"]


class DirectGateway:
    """Solve at once, in zero simulated time, with no communication model.

    Parameters
    ----------
    seed : int
        Run seed; call ``n`` (0-based, run-wide) solves with
        ``twin.seeding.stream_seed(seed, n)`` so calls are reproducible and independent
        of each other.
    recorder : object, optional
        Passed to the :class:`CallLog`.
    reference_solver : str
        Solver used for reference optima (default ``"milp"``).
    """

    def __init__(
        self, seed: int = 0, recorder: Any | None = None, reference_solver: str = "milp"
    ) -> None:
        self.seed = int(seed)
        self.log = CallLog(recorder)
        self.reference_solver = reference_solver
        self.pool = SolverPool(reference_solver)

    @property
    def solver_errors(self) -> int:
        """Solves in which a solver raised (FAILED results, then the fallback). [-]"""
        return int(self.pool.solver_errors)

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
        """See :meth:`SolverGateway.call`. Takes zero simulated time."""
        call_id, number = self.log.next_id(task)
        seed = stream_seed(self.seed, number)
        start_s = float(env.now)
        ref_obj: float | None = None
        ref_wall = 0.0
        known = reference and solver != self.reference_solver
        if known:  # solved first, so a sampling solver need not solve it again
            ref_obj, ref_wall = self.pool.reference(problem, seed)
        result, wall = self.pool.solve(problem, solver, options, seed, time_limit_s,
                                       reference_objective=ref_obj)
        used: str | None = solver
        fallback_used: str | None = None
        reason: str | None = None
        extra: dict[str, Any] = {"solve_cpu_s": self.pool.last_cpu_s}
        if not result.has_solution:
            reason = f"{solver} {result.status.value}: {result.message}".strip(": ")
            used = None
            if fallback is not None and fallback != solver:
                first_wall = wall
                first_cpu = self.pool.last_cpu_s
                result, wall = self.pool.solve(problem, fallback, None, seed, time_limit_s)
                extra["first_wall_s"] = first_wall
                extra["solve_cpu_s"] = first_cpu + self.pool.last_cpu_s
                fallback_used = fallback
                used = fallback if result.has_solution else None
        if reference and not known:
            if used == self.reference_solver and result.has_solution and result.status.value == "optimal":
                ref_obj, ref_wall = result.objective, 0.0
            else:
                ref_obj, ref_wall = self.pool.reference(problem, seed)
        for key in ("qubits", "num_qubits", "depth", "gap", "mip_gap", "evaluations"):
            value = result.diagnostics.get(key) if result.diagnostics else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                extra[key] = value
        record = CallRecord(
            call_id=call_id,
            task=task,
            start_s=start_s,
            end_s=float(env.now),
            solver_requested=solver,
            solver_used=used,
            status=result.status.value if used is not None else "failed",
            objective=result.objective if result.has_solution else None,
            reference_objective=ref_obj,
            reference_solver=self.reference_solver if reference else None,
            n_variables=problem.num_variables,
            n_binary=problem.num_binary,
            n_constraints=problem.num_constraints,
            solve_wall_s=wall,
            reference_wall_s=ref_wall,
            fallback=fallback_used,
            fallback_reason=reason,
            result=result if result.has_solution else None,
            extra=extra,
        )
        self.log.add(record)
        return record
        yield  # a process body for ``yield from``; a zero-time call never waits (not even
        # a zero timeout, which let the clock run the step's ACT before later calls)
