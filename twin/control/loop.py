"""The decision loop: decisions that take simulated time, and what runs meanwhile.

A controller that plans through a gateway whose calls take simulated time (the comms
model) does not stop the grid while it waits. :class:`DecisionLoop` keeps the books of
that loop for it:

- a decision is *requested* at time ``t`` from a snapshot of that instant
  (:meth:`DecisionLoop.request`); its call runs as its own SimPy process
  (:meth:`DecisionLoop.start`), so the controller keeps running every step;
- meanwhile the last valid schedule runs (its time-indexed set points); when it expires,
  or while there is none, the fallback chain acts (the families' rule-based defaults);
- the answer *arrives* at ``t + latency`` (:meth:`DecisionLoop.arrive`); past its
  deadline it is recorded as late and not applied, unless the scenario says
  ``late_answers: apply_if_valid`` and its schedule still covers the present;
- it is *applied* on arrival: inside a step the families that take set points inside
  a step (:data:`twin.assets.base.PARTIAL_STEP_KINDS`) run the old set points up to
  the arrival instant and the new ones from there, and the power flow starts a new
  interval (:meth:`DecisionLoop.apply_pending`); an answer arriving at the instant of
  its request (calls whose every hop takes zero time) is applied in that same step:
  the controller holds its phase until the instant settles
  (:meth:`twin.clock.StepClock.settle`), so zero latency is the fixed-step loop, bit
  for bit; an answer arriving while the network is islanded (the island balancer
  works per step) is applied at the controller's next step
  (:meth:`DecisionLoop.control_step`). Request,
  arrival and application times and the time the schedule in force meanwhile was
  applied go into a ``control/decision_applied`` event.

With a gateway whose calls take no simulated time the request, arrival and application
coincide: the fixed-step loop is the special case.

Public names: :class:`Decision`, :class:`DecisionLoop`, :func:`decision_loop_problems`,
:func:`latency_problems`, :func:`latency_bound_ms`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import simpy


@dataclass
class Decision:
    """One request of a schedule and what became of it (times in simulated s)."""

    number: int
    request_s: float
    step: int
    arrival_s: float | None = None
    applied_s: float | None = None
    late: bool = False
    adopted: bool = False
    done: bool = False


class DecisionLoop:
    """Books of a controller's decisions (see the module notes).

    Parameters
    ----------
    recorder
        Where the ``control`` events go.
    step_s : int
        Grid step. [s]
    deadline_s : float or None
        Time after its request by which an answer must arrive to be applied; None:
        no deadline. [s]
    apply_late : bool
        Apply a late answer anyway when its schedule still covers the present.
    fallback : bool
        Whether the fallback chain ends in the families' rule-based defaults (a valid
        set point with no schedule); without it, time with no valid schedule is
        uncontrolled.
    """

    def __init__(self, recorder: Any, step_s: int, *, deadline_s: float | None = None,
                 apply_late: bool = False, fallback: bool = True) -> None:
        self.recorder = recorder
        self.step_s = int(step_s)
        self.deadline_s = deadline_s
        self.apply_late = bool(apply_late)
        self.fallback = bool(fallback)
        self.decisions: list[Decision] = []
        self.pending: Decision | None = None
        self._to_apply: list[Decision] = []
        self.schedule_since_s: float | None = None
        self._controlled_steps = 0
        self.uncontrolled_s = 0.0
        self.stale_s = 0.0
        self.late_answers = 0
        self.applied_answers = 0

    # ---- the process ----------------------------------------------------------------
    def start(self, env: simpy.Environment, body: Generator[Any, Any, None]) -> None:
        """Run a decision's body: at once up to its first wait, then as its own SimPy
        process, so the controller's step goes on while the call takes time."""
        try:
            first = next(body)
        except StopIteration:
            return
        env.process(self._resume(body, first))

    @staticmethod
    def _resume(body: Generator[Any, Any, None], first: Any) -> Generator[Any, Any, None]:
        event = first
        while True:
            value = yield event
            try:
                event = body.send(value)
            except StopIteration:
                return

    # ---- bookkeeping ----------------------------------------------------------------
    def request(self, now: float, step: int) -> Decision:
        """A decision is requested now, from the snapshot of step ``step``."""
        decision = Decision(len(self.decisions), float(now), int(step))
        self.decisions.append(decision)
        self.pending = decision
        return decision

    def arrive(self, decision: Decision, now: float, *, valid: bool = True) -> bool:
        """Its answer arrived now; return whether to adopt it (False: late, not
        applied). ``valid``: its schedule still covers the present."""
        decision.arrival_s = float(now)
        age = decision.arrival_s - decision.request_s
        if self.deadline_s is not None and age > self.deadline_s:
            decision.late = True
            self.late_answers += 1
            applied = self.apply_late and valid
            self.recorder.event(
                now, "control", "answer_late", "task/dispatch",
                f"decision #{decision.number} requested at t={decision.request_s:g} s arrived "
                f"{age:g} s later, past its {self.deadline_s:g} s deadline; "
                + ("applied: its schedule is still valid" if applied else "not applied"),
                {"decision": decision.number, "request_s": decision.request_s,
                 "arrival_s": decision.arrival_s, "deadline_s": self.deadline_s,
                 "applied": applied},
            )
            if not applied:
                return False
        decision.adopted = True
        self._to_apply.append(decision)
        return True

    def finish(self, decision: Decision, now: float | None = None) -> None:
        """Its body ended (every call of it answered or failed) at ``now``."""
        decision.done = True
        if not decision.adopted and now is not None:  # the old schedule ran meanwhile
            self.stale_s += float(now) - decision.request_s
        if self.pending is decision:
            self.pending = None

    def apply_pending(self, now: float, step: int) -> bool:
        """Adopted answers are applied now (at the controller's step, or on arrival
        inside a step: :meth:`twin.control.ems.EmsController.apply_on_arrival`); each
        gets a ``decision_applied`` event unless it took no time. Returns whether any
        was applied."""
        applied = bool(self._to_apply)
        for decision in self._to_apply:
            decision.applied_s = float(now)
            self.applied_answers += 1
            self.stale_s += decision.applied_s - decision.request_s
            if decision.applied_s == decision.request_s:  # zero-time: nothing to audit
                self.schedule_since_s = float(now)
                continue
            self.recorder.event(
                now, "control", "decision_applied", "task/dispatch",
                f"decision #{decision.number} requested at t={decision.request_s:g} s, "
                f"arrived at t={decision.arrival_s:g} s, applied at t={now:g} s",
                {"decision": decision.number, "request_s": decision.request_s,
                 "arrival_s": decision.arrival_s, "applied_s": float(now),
                 "age_s": float(now) - decision.request_s,
                 "in_force_since_s": self.schedule_since_s, "step": int(step)},
            )
            self.schedule_since_s = float(now)
        self._to_apply = []
        return applied

    def control_step(self, now: float, step: int, *, has_schedule: bool) -> None:
        """The controller's step ``step`` at ``now``: adopted answers not yet applied
        are applied now; the step's time counts as stale (an answer pending) or
        uncontrolled (no valid schedule and no fallback)."""
        self.apply_pending(now, step)
        self._controlled_steps += 1
        if not has_schedule and not self.fallback:
            self.uncontrolled_s += self.step_s

    def kpis(self, n_steps: int) -> dict[str, float | None]:
        """``uncontrolled_s`` (steps the controller did not run, or ran with no valid
        schedule and no fallback), ``late_answers``, ``applied_answers``,
        ``decision_age_p50|p95|p99_s`` (application minus request; None without one)
        and ``stale_schedule_share`` (share of the run on a schedule older than the latest
        request: from each request to its application, or to its end when it was not
        applied)."""
        missed = max(int(n_steps) - self._controlled_steps, 0) * self.step_s
        ages = [d.applied_s - d.request_s for d in self.decisions if d.applied_s is not None]
        total = max(int(n_steps), 1) * self.step_s
        out: dict[str, float | None] = {
            "uncontrolled_s": float(self.uncontrolled_s + missed),
            "late_answers": float(self.late_answers),
            "applied_answers": float(self.applied_answers),
            "stale_schedule_share": self.stale_s / total,
        }
        for q in (50, 95, 99):
            out[f"decision_age_p{q}_s"] = float(np.percentile(ages, q)) if ages else None
        return out


def decision_loop_problems(scenario: Any) -> list[tuple[str, str]]:
    """Settings of a scenario under which the decision loop cannot keep every step under
    a valid set point, as ``(field path, message)``:

    - a ``dispatch`` chain of ``comms.tasks`` without a ``rule_based`` fallback (when
      every solver fails before a first schedule exists, nothing would set the units);
    - a deadline (``comms.deadline_s`` or a task's) longer than the run: an answer
      could be awaited past the horizon (zero deadlines the schema refuses already);
    - a latency distribution that reaches past the horizon (:func:`latency_problems`).
    """
    comms = getattr(scenario, "comms", None)
    if comms is None or not comms.enabled:
        return []
    out: list[tuple[str, str]] = []
    horizon_s = float(scenario.time.duration_s)
    task = comms.tasks.get("dispatch")
    if task is not None and scenario.control.mode == "ems" and not any(
            step.fallback == "rule_based" for step in task.chain):
        out.append(("comms.tasks.dispatch.chain", "the chain can leave no schedule (no "
                    "'rule_based' fallback: when every solver fails before a first plan, no "
                    "step would have a set point); expected a last step {fallback: rule_based}"))
    deadlines = [("comms.deadline_s", comms.deadline_s)]
    deadlines += [(f"comms.tasks.{name}.deadline_s", t.deadline_s) for name, t in
                  comms.tasks.items()]
    for path, value in deadlines:
        if float(value) > horizon_s:
            out.append((path, f"a deadline of {value:g} s is longer than the run "
                        f"({horizon_s:g} s): an answer could be awaited past the horizon; "
                        "expected at most the run's duration"))
    out.extend(latency_problems(comms, horizon_s, _base_dir(scenario)))
    return out


def _base_dir(scenario: Any) -> Any:
    from pathlib import Path

    source = getattr(scenario, "source", None)
    return Path(source).parent if source and not str(source).startswith("<") else None


def latency_bound_ms(spec: Any, base_dir: Any = None) -> tuple[float, str]:
    """The delay a latency distribution (a comms ``LatencySpec``) reaches in practice,
    and how it is read: a constant its value; a normal ``mean + z99 std`` and a
    lognormal its ``p99_ms`` (their 99th percentiles); a trace its longest sample. [ms]"""
    from twin.comms.latency import Z_99

    kind = spec.kind
    if kind == "constant":
        return float(spec.value_ms), "its value"
    if kind == "normal":
        return float(spec.mean_ms + Z_99 * spec.std_ms), "its 99th percentile"
    if kind == "lognormal":
        return float(spec.p99_ms), "its 99th percentile"
    from pathlib import Path

    from twin.comms.latency import load_trace

    path = Path(spec.path)  # resolved as the comms model resolves it
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    model = load_trace(path, column=spec.column, unit=spec.unit)
    return float(max(model.samples_ms)), "its longest sample"


def latency_problems(comms: Any, horizon_s: float, base_dir: Any = None
                     ) -> list[tuple[str, str]]:
    """Latency distributions of the comms model that reach past the run's horizon, as
    ``(field path, message)``: each link's ``latency`` (plus three ``jitter_ms`` scales,
    the half-normal's 99.7th percentile), each service's explicit ``queue`` and, with
    approval on, the operator's ``approval.delay``. A message or an answer delayed that
    long would arrive after the run ends. Trace files that cannot be read are left to
    the file checks."""
    items: list[tuple[str, Any, float, str]] = []
    for i, link in enumerate(comms.links):
        items.append((f"comms.links.{i}.latency", link.latency, 3.0 * float(link.jitter_ms),
                      f"link '{link.name}'"))
    for i, service in enumerate(comms.services):
        if service.queue is not None:
            items.append((f"comms.services.{i}.queue", service.queue, 0.0,
                          f"service '{service.name}'"))
    if comms.approval.enabled:
        items.append(("comms.approval.delay", comms.approval.delay, 0.0, "the operator"))
    out: list[tuple[str, str]] = []
    for path, spec, extra_ms, what in items:
        try:
            bound_ms, how = latency_bound_ms(spec, base_dir)
        except (OSError, ValueError):
            continue
        if (bound_ms + extra_ms) / 1000.0 > horizon_s:
            jitter = f" plus {extra_ms / 1000.0:g} s of jitter" if extra_ms else ""
            out.append((path, f"the {spec.kind} delay of {what} reaches "
                        f"{bound_ms / 1000.0:g} s ({how}){jitter}, longer than the run "
                        f"({horizon_s:g} s): its messages could arrive after the horizon; "
                        "expected a distribution well inside the run's duration"))
    return out
