"""The step clock: one SimPy process that walks the grid steps through fixed phases.

Every grid step ``k`` (simulated time ``k * step_s``) runs the phases of :class:`Phase`
in order. A process waits for the next occurrence of a phase with
``k = yield clock.wait(Phase.ACT)``; the clock fires a phase only when someone waits
for it, and resumes after every process woken by that phase has yielded again, so the
phases of one step never interleave.

Event-driven stepping: the power flow of step ``k`` is solved at SOLVE, at the step's
profile boundary. Anything that changes the network's state later inside the step (a
branch fault, an asset trip, the PCC opening or closing, a setpoint applied on arrival)
calls :meth:`StepClock.notify_change`; the listeners (the engine's grid solver) solve
again at that instant, so the step is split into intervals of constant state. With no
change inside a step there is one interval per step: fixed-step QSTS is the special
case, bit for bit.

Same-instant answers: a process that starts something which may finish at this very
instant (a solver call over the comms model whose every hop takes zero time) can hold
the phase with :meth:`StepClock.settle`: the clock goes on to the next phase only after
every other event scheduled at the present instant has run.

Public names: :class:`Phase`, :class:`StepClock`, :data:`SETTLE_PRIORITY`.

Examples
--------
>>> import simpy
>>> env = simpy.Environment()
>>> clock = StepClock(env, n_steps=3, step_s=900)
>>> seen = []
>>> def asset(env, clock):
...     while True:
...         k = yield clock.wait(Phase.ACT)
...         seen.append((k, env.now))
>>> _ = env.process(asset(env, clock))
>>> clock.run()
3
>>> seen
[(0, 0), (1, 900), (2, 1800)]
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Generator
from typing import Any

import simpy

logger = logging.getLogger(__name__)


class Phase(enum.IntEnum):
    """Phases of one grid step, in the order they run.

    SENSE
        Uncontrolled quantities of the step are set: profiles, weather, arrivals. Families
        write their uncontrolled injections and their snapshots become valid.
    CONTROL
        Controllers read snapshots and the injection buffer and issue commands.
    ACT
        Controllable families apply the commands within their limits and write their
        injections.
    SOLVE
        The grid process runs the power flow and records the step.
    AFTER
        Anything that must see the solved step (faults reacting to voltages, ...).
    """

    SENSE = 0
    CONTROL = 1
    ACT = 2
    SOLVE = 3
    AFTER = 4


_N_PHASES = len(Phase)

SETTLE_PRIORITY = 2
"""SimPy scheduling priority of :meth:`StepClock.settle` events: after SimPy's URGENT
(0) and NORMAL (1), so such an event runs after everything else at its instant."""


class StepClock:
    """Drive ``n_steps`` grid steps of ``step_s`` seconds through the phases.

    Parameters
    ----------
    env : simpy.Environment
        The run's environment.
    n_steps : int
        Number of grid steps.
    step_s : int
        Length of a step. [s]
    progress : callable, optional
        ``progress(done_steps, total_steps)``, called about 200 times per run and at the
        end.
    cancel : callable, optional
        ``cancel() -> bool``, polled every few steps; True stops the run after the current
        step and sets :attr:`cancelled`.
    """

    def __init__(
        self,
        env: simpy.Environment,
        n_steps: int,
        step_s: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        self.env = env
        self.n_steps = int(n_steps)
        self.step_s = int(step_s)
        self.step = 0
        """Index of the current step."""
        self.steps_done = 0
        """Steps whose phases all ran."""
        self.cancelled = False
        self.stop_reason: str | None = None
        self._progress = progress
        self._cancel = cancel
        self._pending: list[simpy.Event | None] = [None] * _N_PHASES
        self._listeners: list[Callable[[str], None]] = []
        self._holds: list[simpy.Event] = []

    @property
    def step_start_s(self) -> int:
        """Simulated start of the current step. [s]"""
        return self.step * self.step_s

    @property
    def end_s(self) -> int:
        """End of the steps done so far (the run's end once it finished). [s]"""
        return self.steps_done * self.step_s

    def add_change_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` whenever :meth:`notify_change` is called."""
        self._listeners.append(listener)

    def notify_change(self, reason: str) -> None:
        """The network's state changed at ``env.now`` (fault start or end, switching,
        islanding, resynchronisation, a setpoint applied): tell the listeners, which
        solve the power flow again at this instant when it falls inside a step whose
        power flow already ran."""
        for listener in self._listeners:
            listener(reason)

    def wait(self, phase: Phase) -> simpy.Event:
        """Event of the next occurrence of ``phase``; its value is the step index."""
        event = self._pending[phase]
        if event is None:
            event = self.env.event()
            self._pending[phase] = event
        return event

    def settle(self) -> simpy.Event:
        """An event that fires at the present instant once every other event scheduled
        at it has run; the current phase is held until it has (the next phase waits).
        Yield it from a process woken by the phase."""
        event = self.env.event()
        event._ok = True  # succeed() without its NORMAL priority: scheduled as below
        event._value = None
        self.env.schedule(event, SETTLE_PRIORITY)
        self._holds.append(event)
        return event

    def stop(self, reason: str) -> None:
        """End the run after the current step (e.g. a power flow failed and the scenario
        says stop)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def _process(self) -> Generator[Any, Any, None]:
        env = self.env
        pending = self._pending
        progress = self._progress
        cancel = self._cancel
        report_every = max(1, self.n_steps // 200)
        for k in range(self.n_steps):
            self.step = k
            for phase in range(_N_PHASES):
                event = pending[phase]
                if event is not None:
                    pending[phase] = None
                    event.succeed(k)
                    yield event
                    while self._holds:  # a process waits for the instant to settle
                        holds, self._holds = self._holds, []
                        yield env.all_of(holds)
            self.steps_done = k + 1
            if self.stop_reason is not None:
                break
            if (k + 1) % report_every == 0:
                if progress is not None:
                    progress(k + 1, self.n_steps)
                if cancel is not None and cancel():
                    self.cancelled = True
                    break
            # the step lasts step_s (the last one too): changes inside it are solved
            yield env.timeout(self.step_s)
        if progress is not None and not self.cancelled:
            progress(self.steps_done, self.n_steps)

    def run(self) -> int:
        """Run the environment until the last step is done; return the steps done."""
        process = self.env.process(self._process())
        self.env.run(until=process)
        return self.steps_done
