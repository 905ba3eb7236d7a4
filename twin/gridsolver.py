"""The grid process: the power flow solved at every instant the network's state changes.

:class:`GridSolver` solves at each step's SOLVE (the profile boundary) and again at
every change of the network inside a step (faults, trips, the PCC opening and closing,
set points applied on an answer's arrival: :meth:`twin.clock.StepClock.notify_change`
and the model's change listeners), recording one interval of constant state each
(:class:`twin.recorder.Intervals`). :func:`grid_process` also opens and closes the PCC
at the times of ``pcc.outages``. Built by :func:`twin.engine.build`.

Public names: :class:`GridSolver`, :func:`grid_process`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from twin.clock import Phase

if TYPE_CHECKING:
    import simpy

    from twin.assets.base import InjectionBuffer, ProcessGen
    from twin.clock import StepClock
    from twin.grid import PowerFlowModel
    from twin.recorder import Recorder
    from twin.scenario import Scenario


def grid_process(
    env: simpy.Environment,
    clock: StepClock,
    model: PowerFlowModel,
    injections: InjectionBuffer,
    recorder: Recorder,
    scenario: Scenario,
) -> ProcessGen:
    """The grid process: a :class:`GridSolver` solving at SOLVE and at every change;
    the upstream outages of ``pcc.outages`` open and close the PCC at their times."""
    from twin.simtime import parse_duration_s

    for outage in scenario.pcc.outages:
        begin = parse_duration_s(outage.start)
        env.process(_pcc_outage(env, model, begin, parse_duration_s(outage.duration)))
    return GridSolver(env, clock, model, injections, recorder, scenario).process()


def _pcc_outage(env: simpy.Environment, model: PowerFlowModel, start_s: int,
                duration_s: int) -> ProcessGen:
    """An upstream outage: the PCC opens at ``start_s`` (the network islands) and closes
    (resynchronises) ``duration_s`` later. [s]"""
    yield env.timeout(max(start_s, 0))
    model.set_pcc_open(True)
    yield env.timeout(duration_s)
    model.set_pcc_open(False)


class GridSolver:
    """Solves the power flow at every instant the network's state changes.

    At SOLVE of each step (the profile boundary) it solves the gathered injections and
    records the step. Every change inside the step that reaches it (through
    :meth:`twin.clock.StepClock.notify_change` or the model's change listeners:
    branch faults, trips, the PCC opening or closing, setpoints applied on arrival)
    solves again at that instant and records one more interval (see
    :class:`twin.recorder.Intervals`). Several changes at one instant make one solve.
    Elements on buses cut off from every source are recorded at zero and their load
    as unserved.
    """

    def __init__(self, env: simpy.Environment, clock: StepClock, model: PowerFlowModel,
                 injections: InjectionBuffer, recorder: Recorder, scenario: Scenario) -> None:
        self.env = env
        self.clock = clock
        self.model = model
        self.injections = injections
        self.recorder = recorder
        self.stop_on_failure = scenario.grid.on_nonconvergence == "stop"
        self.solved_step = -1
        self._pending_at: float | None = None
        self._carrying = False
        self._load = np.zeros(model.n_injections, dtype=bool)
        self._load[model.element_slices["load"]] = True
        self._load_weight = np.where(self._load, -np.asarray(model.injection_weight, float), 0.0)
        clock.add_change_listener(self.changed)
        model.change_listeners.append(self.changed)

    def process(self) -> ProcessGen:
        """Each step at SOLVE: solve and record the step."""
        clock = self.clock
        while True:
            k = yield clock.wait(Phase.SOLVE)
            self._solve(k, step_start=True)

    def changed(self, reason: str) -> None:
        """The network's state changed now: solve again at this instant (once for all
        changes at it) if the current step's power flow already ran; a change before
        that, or at the next step's boundary, is taken by that step's own solve."""
        now = float(self.env.now)
        k = self.clock.step
        if self.solved_step != k or now >= (k + 1) * self.clock.step_s:
            return
        if self._pending_at == now:
            return
        self._pending_at = now
        self.env.timeout(0).callbacks.append(self._resolve)

    def _resolve(self, _event: simpy.Event) -> None:
        self._pending_at = None
        k = self.clock.step
        if self.solved_step == k and self.env.now < (k + 1) * self.clock.step_s:
            self._solve(k, step_start=False)

    def _solve(self, k: int, *, step_start: bool) -> None:
        model, injections, recorder = self.model, self.injections, self.recorder
        p, q = injections.p_mw, injections.q_mvar
        t0 = time.perf_counter()
        outcome = model.solve(p, q)
        recorder.solve_time_s += time.perf_counter() - t0
        supplied = model.element_supplied()
        unserved = 0.0
        if not supplied.all():  # dark buses: nothing flows, their load is not served
            dark = ~supplied
            unserved = float((self._load_weight[dark] * p[dark]).sum())
            p = np.where(dark, 0.0, p)
            q = np.where(dark, 0.0, q)
        if model.island_dp_mw is not None:  # islands: the forming units carry the slack
            p = p + model.island_dp_mw  # on their own element; shed load is unserved
            q = q + model.island_dq_mvar
            unserved += model.island_shed_mw
        if model.island_carriers and (model.island_dp_mw is not None or self._carrying):
            remaining_s = (k + 1) * self.clock.step_s - float(self.env.now)
            for carry in model.island_carriers:  # state of charge, fuel until step end
                carry(model.island_dp_mw, remaining_s)
            self._carrying = model.island_dp_mw is not None
        state = {"unserved_mw": unserved, "pcc_open": model.pcc_open,
                 "island_p_mw": model.island_p_mw if outcome.converged else 0.0}
        if step_start:
            recorder.record_step(k, outcome.converged, outcome.iterations, p, q, **state)
        else:
            recorder.record_interval(k, float(self.env.now), outcome.converged,
                                     outcome.iterations, p, q, **state)
        self.solved_step = k
        if not outcome.converged:
            stop = self.stop_on_failure
            where = f"at step {k}" if step_start else f"at t={self.env.now:g} s (step {k})"
            recorder.event(
                self.env.now,
                "grid",
                "powerflow_not_converged",
                "grid/total",
                f"Power flow did not converge {where} after {outcome.iterations} "
                f"iterations; the step has no grid results"
                + ("; the run stops here." if stop else "; the run goes on."),
                {"step": k, "iterations": outcome.iterations, "backend": model.backend},
            )
            if stop:
                self.clock.stop(f"power flow did not converge at step {k} (t={self.env.now} s)")
