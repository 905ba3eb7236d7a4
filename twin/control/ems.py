"""The rolling-horizon energy-management controller (``control.mode: ems``) and the
rule-based reference it is compared with (``control.mode: rule_based``).

Every ``replan_every`` the EMS reads the families' public snapshots and forecasts
(:mod:`twin.control.plan_inputs`: perfect forecasts of profiles, weather and
occupancy; plugged vehicles' announced departures, no knowledge of future arrivals),
builds the joint dispatch problem over ``horizon`` at ``plan_step`` resolution
(:mod:`twin.control.problems`), and sends it through the
solver gateway (:mod:`twin.control.gateway`). Between plans, every grid step, it
applies the current slot's setpoints and runs a fast balancing step: the batteries take
the difference between the actual and the planned uncontrolled demand, so the PCC
exchange follows the plan. With ``ev_charging: slot_assignment`` the plan's EV power of
the coming slot is turned into on/off decisions per vehicle by the ``ev_assignment``
task, one small binary problem per group of at most ``max_binaries`` vehicles
(decomposition for QAOA's qubit budget), each recorded as its own call.

Families apply every setpoint within their own limits, so a bad schedule can never
break physics. When no solver answers, the last good plan is kept (shifted), and
without one the families' rule-based defaults run; both are recorded as events.

The buildings' comfort guard between plans (:class:`twin.control.comfort.ComfortGuard`)
calls the buildings' own ideal-thermostat decision
(:func:`twin.assets.building.thermostat.ideal_hvac_kw`).

Imports: numpy, the asset families' public interfaces (:mod:`twin.assets.base`),
:mod:`twin.control` (gateway, problems, plan inputs), :mod:`twin.microgrid`, solvers
through the gateway; never the engine.

Public names: :class:`EmsController`, :class:`RuleBasedController`,
:func:`uncontrolled_forecast_kw` (from :mod:`twin.control.plan_inputs`).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.assets.base import PARTIAL_STEP_KINDS
from twin.clock import Phase
from twin.control.calls import SolverGateway
from twin.control.comfort import ComfortGuard
from twin.control.gateway import DirectGateway
from twin.control.loop import DecisionLoop
from twin.control.plan_inputs import (
    PlanGrid,
    battery_inputs,
    building_inputs,
    ev_inputs,
    generator_inputs,
    pcc_limit_kw,
    run_inputs,
    slot_mean,
    uncontrolled_forecast_kw,
)
from twin.control.problems import (
    DispatchInputs,
    DispatchPlan,
    build_dispatch,
    build_ev_assignment,
    interpret_dispatch,
    interpret_ev_assignment,
    split_vehicles,
)
from twin.microgrid import Microgrid
from twin.simtime import parse_duration_s

if TYPE_CHECKING:
    import simpy

    from solvers import Problem
    from twin.assets.base import ProcessGen
    from twin.clock import StepClock
    from twin.control import ControlContext

logger = logging.getLogger(__name__)

PCC_LOSS_RESERVE = 0.03
"""Share of the PCC limit the plan leaves for network losses (not in the plan). [-]"""

MAX_STORED_PROBLEMS = 50
"""Quantum solver calls of a run whose problems are stored as ``problems/<call_id>.lp``
(the first ones; later calls are only in the call table). [-]"""

MAX_STORED_CIRCUITS = 500
"""Quantum solver calls of a run whose OpenQASM 3 is stored as ``circuits/<call_id>.qasm``
(the first ones). [-]"""

QAOA_DEFAULT_MAX_QUBITS = 24
"""``solvers.qaoa``'s default qubit budget, used when the task does not set one. [-]"""


def _loop_settings(scenario: Any) -> dict[str, Any]:
    """Deadline, late-answer rule and fallback of the dispatch decisions: the comms
    model's ``dispatch`` task (or its default deadline); no deadline without comms."""
    comms = getattr(scenario, "comms", None)
    ems = scenario.control.ems
    out: dict[str, Any] = {"apply_late": ems.late_answers == "apply_if_valid"}
    if comms is None or not comms.enabled:
        return out
    task = comms.tasks.get("dispatch")
    out["deadline_s"] = float(task.deadline_s if task is not None else comms.deadline_s)
    if task is not None:
        out["fallback"] = any(step.fallback == "rule_based" for step in task.chain)
    return out


class RuleBasedController:
    """The reference: plug-and-charge EVs, thermostats, deferrable runs at once,
    batteries on grid-wide self-consumption, generators only as island backup; with
    PCC metering and islanding (:class:`twin.microgrid.Microgrid`)."""

    def __init__(self, ctx: ControlContext) -> None:
        self.ctx = ctx
        self.microgrid = Microgrid(ctx)
        self._weight = -np.asarray(ctx.model.injection_weight, float)
        bat = ctx.families.get("battery")
        if bat is not None:
            base = ctx.model.element_slices["storage"].start
            self._weight[base + bat.rows[0] : base + bat.rows[1]] = 0.0

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """CONTROL: battery self-consumption, generators off; islands (the PCC is billed
        from the run's power flows, :meth:`twin.microgrid.Microgrid.meter_intervals`)."""
        fams = self.ctx.families
        bat = fams.get("battery")
        gen = fams.get("generator")
        while True:
            k = yield clock.wait(Phase.CONTROL)
            if gen is not None:
                gen.command(np.zeros(len(gen.names), bool), gen.p_min_kw)
            if bat is not None:
                net_mw = float((self._weight * self.ctx.injections.p_mw).sum())
                snap = bat.snapshot()
                share = snap.power_mw / snap.power_mw.sum()
                bat.command(np.clip(-net_mw * share, -snap.p_discharge_max_mw, snap.p_charge_max_mw))
            self.microgrid.balance(k, env.now)
            yield clock.wait(Phase.AFTER)

    def kpis(self) -> dict[str, float]:
        """PCC, cost and islanding KPIs."""
        return self.microgrid.kpis()


class EmsController:
    """Rolling-horizon optimising controller (see the module notes).

    Parameters
    ----------
    ctx : twin.control.ControlContext
        The run's control context.
    gateway : SolverGateway, optional
        How solver calls travel; default ``ctx.gateway``, else a
        :class:`DirectGateway` (no comms model).
    """

    def __init__(self, ctx: ControlContext, gateway: SolverGateway | None = None) -> None:
        self.ctx = ctx
        spec = ctx.scenario.control.ems
        self.spec = spec
        self.step_s = int(ctx.step_s)
        self.comfort = ComfortGuard(self.step_s)
        """The buildings' comfort guard between plans."""
        plan_s = parse_duration_s(spec.plan_step)
        if plan_s % self.step_s:
            plan_s = max(self.step_s, (plan_s // self.step_s) * self.step_s)
        self.per = plan_s // self.step_s
        self.dt_h = plan_s / 3600.0
        self.n_slots = max(1, parse_duration_s(spec.horizon) // plan_s)
        self.replan_steps = max(1, parse_duration_s(spec.replan_every) // self.step_s)
        self._ev_margin_s = parse_duration_s(spec.ev_departure_margin)
        self._check_solvers()
        self.microgrid = Microgrid(ctx)
        self.gateway: SolverGateway = gateway or ctx.gateway or DirectGateway(
            seed=ctx.scenario.seed, recorder=ctx.recorder
        )
        self.plan: DispatchPlan | None = None
        self.plan_k0 = 0
        self.failed_plans = 0
        self.plan_build_s = 0.0
        self.plan_build_cpu_s = 0.0
        self.ev_choice: np.ndarray | None = None
        self._ev_plugged_idx = np.zeros(0, np.int64)
        self.plan_ev_idx = np.zeros(0, np.int64)
        self.plan_run_idx = np.zeros(0, np.int64)
        self.plan_ev_avail: np.ndarray | None = None
        self._run_idx = np.zeros(0, np.int64)
        self._bat_weight = -np.asarray(ctx.model.injection_weight, float)
        self.stored_problems: dict[str, Problem] = {}
        self.timed = not isinstance(self.gateway, DirectGateway)
        """Calls take simulated time (the comms model): decisions run as their own
        process while the last schedule runs (:class:`twin.control.loop.DecisionLoop`)."""
        self.loop = DecisionLoop(ctx.recorder, self.step_s, **_loop_settings(ctx.scenario))
        self._expired_told = False
        self._clock: StepClock | None = None
        self._controlled_k = -1
        """Last step whose CONTROL ran (set points of that step are in force)."""
        # binary decisions routed to a solver before each dispatch (twin.control.formulations)
        self.decisions = None
        if spec.decisions.types:
            from twin.control.formulations import DecisionRouter

            self.decisions = DecisionRouter(spec.decisions, self.gateway, ctx.recorder,
                                            ctx.scenario.seed)

    def _check_solvers(self) -> None:
        """Refuse unknown solvers and options up front, naming the field.

        Raises
        ------
        twin.errors.ScenarioError
            For ``control.ems.<task>.solver``, ``.options`` or ``.fallback``
            (:func:`twin.checks.check_solvers`, which ``twin validate`` runs too).
        """
        from twin import checks

        checks.raise_if(checks.check_solvers(self.ctx.scenario))

    # ----------------------------------------------------------------- inputs
    def _inputs(self, k: int) -> DispatchInputs:
        """The plan inputs at step ``k`` (:mod:`twin.control.plan_inputs`); remembers
        which vehicles and runs the plan is about."""
        fams = self.ctx.families
        grid = PlanGrid(k, self.step_s, self.per, self.n_slots, self.dt_h)
        per, dt, n = self.per, self.dt_h, grid.n
        steps_kw = uncontrolled_forecast_kw(self.ctx, k, n)
        base = slot_mean(steps_kw, per)
        price = slot_mean(self.microgrid.price(k, n), per)
        lim: float | np.ndarray = math.inf
        if self.microgrid.limit_kw is not None:
            lim = pcc_limit_kw(steps_kw, base, per, self.microgrid.limit_kw, PCC_LOSS_RESERVE)
        battery = generator = ev = building = runs = None
        bat = fams.get("battery")
        if bat is not None:
            battery = battery_inputs(bat)
        gen = fams.get("generator")
        if gen is not None:
            generator = generator_inputs(gen, grid)
        evf = fams.get("ev_fleet")
        if evf is not None:
            ev, self._ev_plugged_idx = ev_inputs(evf, grid, self._ev_margin_s)
        bld = fams.get("building")
        if bld is not None:
            building = building_inputs(bld, grid, self.spec.comfort_margin_k)
            if bld.loads.n:
                runs, self._run_idx = run_inputs(bld.loads, bld.loads_state, grid)
        spec = self.spec
        return DispatchInputs(
            dt_h=dt, base_kw=base, import_eur_per_kwh=price,
            export_eur_per_kwh=self.microgrid.export_price, pcc_limit_kw=lim,
            comfort_penalty_eur_per_kh=spec.comfort_penalty_eur_per_kh,
            unmet_ev_penalty_eur_per_kwh=spec.unmet_ev_penalty_eur_per_kwh,
            cycle_cost_eur_per_kwh=spec.battery_cycle_cost_eur_per_kwh,
            battery=battery, generator=generator, ev=ev, building=building, runs=runs,
        )

    # ----------------------------------------------------------------- planning
    def replan(self, env: simpy.Environment, k: int) -> ProcessGen:
        """Build (from the snapshot of step ``k``), solve (through the gateway) and adopt
        a plan; an answer past its deadline is recorded late and not adopted."""
        decision = self.loop.request(env.now, k)
        try:
            yield from self._replan(env, k, decision)
        finally:
            self.loop.finish(decision, env.now)

    def _replan(self, env: simpy.Environment, k: int, decision: Any) -> ProcessGen:
        t0, c0 = time.perf_counter(), time.process_time()
        inputs = self._inputs(k)
        problem, layout = build_dispatch(inputs)
        self.plan_build_s += time.perf_counter() - t0
        self.plan_build_cpu_s += time.process_time() - c0
        task = self.spec.dispatch
        if self.decisions is not None:  # fix the routed decisions' binaries first
            problem = yield from self.decisions.decide(env, k, inputs, problem, layout)
        record = yield from self.gateway.call(
            env, "dispatch", problem, solver=task.solver, options=task.options,
            reference=task.reference, time_limit_s=task.time_limit_s, fallback=task.fallback,
        )
        self._keep_problem(record, problem, task.solver, task.options)
        now_k = int(env.now // self.step_s)
        still_valid = now_k < k + self.n_slots * self.per
        if record.ok and not self.loop.arrive(decision, env.now, valid=still_valid):
            return  # late: the schedule in force keeps running
        if record.ok:
            t0, c0 = time.perf_counter(), time.process_time()
            self.plan = interpret_dispatch(record.result, layout, inputs)
            self.plan_build_s += time.perf_counter() - t0
            self.plan_build_cpu_s += time.process_time() - c0
            self.plan_k0 = k
            self.plan_ev_idx = self._ev_plugged_idx.copy()
            self.plan_ev_avail = inputs.ev.available if inputs.ev is not None else None
            self.plan_run_idx = self._run_idx.copy()
            self.apply_on_arrival(env)
        else:
            self.failed_plans += 1
            kept = "keeps the last good plan" if self.plan is not None else "uses rule-based defaults"
            self.ctx.recorder.event(env.now, "control", "plan_failed", "task/dispatch",
                                    f"dispatch at step {k} got no solution; the EMS {kept}",
                                    {"step": k, "status": record.status})
        if self.plan is not None and self.spec.ev_charging == "slot_assignment":
            yield from self._assign_evs(env, k)
            self.apply_on_arrival(env)  # the vehicles' assignment, on its arrival

    def _assign_evs(self, env: simpy.Environment, k: int) -> ProcessGen:
        evf = self.ctx.families.get("ev_fleet")
        if evf is None or self.plan is None:
            return
        s = evf.snapshot()
        idx = self.plan_ev_idx
        slot = (k - self.plan_k0) // self.per
        planned = self.plan.ev_kw[slot] if slot < len(self.plan.ev_kw) else np.zeros(idx.size)
        planned = np.clip(planned, 0.0, None)
        p_full = s.charger_kw[idx]
        need = np.maximum(s.target_kwh[idx] - s.e_kwh[idx], 0.0)
        live = need > 1e-6
        hours_left = np.maximum((s.departure_s[idx] - k * self.step_s) / 3600.0, 1e-3)
        urgency = np.clip(need / (p_full * s.efficiency[idx] * hours_left), 0.0, 2.0)
        weight = np.where(live, planned / np.maximum(p_full, 1e-9) + 0.5 * urgency, 0.0)
        # vehicles that cannot reach their target unless they charge now are forced on
        # (edge pre-processing); they leave the binary problem and use up its target power
        slack_h = np.maximum(hours_left - self.dt_h, 0.0)
        forced = live & (need > p_full * s.efficiency[idx] * slack_h)
        choice = forced.copy()
        planned = planned.copy()
        spare = max(float(planned.sum()) - float(p_full[forced].sum()), 0.0)
        free_idx = np.flatnonzero(~forced)
        planned[forced] = 0.0
        if planned[free_idx].sum() > 0:
            planned[free_idx] *= spare / planned[free_idx].sum()
        weight = np.where(forced, 0.0, weight)
        order = np.argsort(-weight, kind="stable")
        order = order[weight[order] > 0]
        task = self.spec.ev_assignment
        groups = split_vehicles(order, task.max_binaries)
        for group in groups:
            target = float(planned[group].sum())
            scale = max(float(p_full[group].max()), 1.0)
            problem = build_ev_assignment(p_full[group] / scale, weight[group], target / scale, 1.0)
            record = yield from self.gateway.call(
                env, "ev_assignment", problem, solver=task.solver, options=task.options,
                reference=task.reference, time_limit_s=task.time_limit_s, fallback=task.fallback,
            )
            self._keep_problem(record, problem, task.solver, task.options)
            if record.ok:
                choice[group] = interpret_ev_assignment(record.result)
            else:
                choice[group] = planned[group] > 0.5 * p_full[group]
        self.ev_choice = choice
        self.ev_choice_idx = idx
        if len(groups) > 1:
            self.ctx.recorder.event(env.now, "control", "decomposed", "task/ev_assignment",
                                    f"{int(order.size)} vehicles split into {len(groups)} "
                                    f"sub-problems of at most {task.max_binaries} binaries",
                                    {"step": k, "vehicles": int(order.size), "groups": len(groups)})

    def _keep_problem(self, record: Any, problem: Problem, solver: str,
                      options: Any) -> None:
        """Keep the problem of a quantum solver call for ``problems/<call_id>.lp``.

        Kept: calls whose task asks for QAOA, or whose problem is all-binary and fits
        QAOA's qubit budget (the task's ``max_qubits`` option, else the solver's
        default), the first :data:`MAX_STORED_PROBLEMS` of a run.
        """
        if len(self.stored_problems) >= MAX_STORED_PROBLEMS:
            return
        quantum = solver == "qaoa" or record.solver_used == "qaoa"
        if not quantum:
            budget = int(dict(options or {}).get("max_qubits", QAOA_DEFAULT_MAX_QUBITS))
            # the size first: it rules out the dispatch plans without a pass over kinds
            quantum = problem.num_variables <= budget and problem.is_binary
        if quantum:
            self.stored_problems[record.call_id] = problem

    def timings(self) -> dict[str, float]:
        """Wall-clock figures of the run's solver calls and plan building, for the
        manifest's ``timings_s`` (machine-dependent, never KPIs). [s]"""
        out = {f"ems_{k}": v for k, v in self.gateway.log.timings().items()}
        out["ems_plan_build_s"] = float(self.plan_build_s)
        return out

    def extra_files(self) -> dict[str, bytes]:
        """Files for the run folder.

        - ``problems/<call_id>.lp`` (CPLEX-LP) of the kept quantum solver calls (see
          :meth:`_keep_problem`), for the app's QAOA landscape; a problem that cannot be
          written as LP is skipped with a warning;
        - ``circuits/<call_id>.qasm``: the OpenQASM 3 of every call a quantum solver
          answered (``diagnostics["qasm3"]``), the first :data:`MAX_STORED_CIRCUITS`;
        - ``wall_clock.json``: every call's wall-clock figures
          (:meth:`twin.control.calls.CallRecord.timing_row`), kept out of
          ``events.parquet`` and ``kpis.json`` so those repeat bit for bit.
        """
        import json
        import tempfile
        from pathlib import Path

        from solvers.lpfile import write_lp

        files: dict[str, bytes] = {}
        records = self.gateway.log.records
        stored = 0
        for record in records:
            qasm = (record.result.diagnostics or {}).get("qasm3") if record.result else None
            if isinstance(qasm, str) and qasm and stored < MAX_STORED_CIRCUITS:
                files[f"circuits/{record.call_id}.qasm"] = qasm.encode()
                stored += 1
        wall = {"note": "wall-clock figures of this machine's solves; not results: they "
                        "differ run to run (events.parquet and kpis.json do not)",
                "totals_s": self.timings(),
                "calls": self.gateway.log.timing_rows()}
        if self.decisions is not None:
            wall["compare_solves"] = self.decisions.timing_rows
        files["wall_clock.json"] = (json.dumps(wall, indent=1, sort_keys=True) + "\n").encode()
        if not self.stored_problems:
            return files
        with tempfile.TemporaryDirectory() as folder:
            for call_id, problem in self.stored_problems.items():
                path = Path(folder) / "problem.lp"
                try:
                    write_lp(problem, path)
                except ValueError as exc:  # solvers.ProblemError: names, HiGHS refusal
                    logger.warning("problem of call %s not stored: %s", call_id, exc)
                    continue
                files[f"problems/{call_id}.lp"] = path.read_bytes()
        return files

    # ----------------------------------------------------------------- applying
    def apply_on_arrival(self, env: simpy.Environment) -> None:
        """An answer arrived now: inside a step whose CONTROL ran, apply it at once.

        Adopted decisions are booked applied now; the current slot's set points go to
        the families that take set points inside a step
        (:data:`twin.assets.base.PARTIAL_STEP_KINDS`: old set points up to now, new ones
        to the step end, through their ``act_from``), the recorder copies their channels
        again and the power flow starts a new interval now. At the instant of the
        step's CONTROL (zero-time calls: the controller waited for the instant to
        settle and applies it in this step), or while the network is islanded (the
        island balancer works per step), nothing happens here: the controller's step
        applies it."""
        clock = self._clock
        if clock is None or self._controlled_k != clock.step:
            return
        offset = float(env.now) - clock.step_start_s
        if not 0.0 < offset < self.step_s or self.ctx.model.pcc_open:
            return
        k = clock.step
        self.loop.apply_pending(env.now, k)
        self.apply(k, rest_s=self.step_s - offset)
        fams = self.ctx.families
        for kind in sorted(PARTIAL_STEP_KINDS):
            family = fams.get(kind)
            if family is not None:
                family.act_from(offset)
        self.ctx.recorder.refresh_channels(k)
        clock.notify_change("setpoints")

    def apply(self, k: int, *, rest_s: float | None = None) -> None:
        """Setpoints of the current slot, then the fast balancing step.

        ``rest_s``: applied inside step ``k`` with that much of it left (on an answer's
        arrival); only the families of :data:`twin.assets.base.PARTIAL_STEP_KINDS` are
        commanded then (buildings take the slot's set points at the next step). [s]"""
        fams = self.ctx.families
        plan = self.plan
        if plan is None:
            return
        if not self._valid_plan(k):  # expired: the fallback chain (rule-based defaults)
            if not self._expired_told:
                self._expired_told = True
                self.ctx.recorder.event(k * self.step_s, "control", "schedule_expired",
                                        "task/dispatch", f"the schedule of step {self.plan_k0} "
                                        "ends; the families' rule-based defaults run",
                                        {"step": k, "plan_step": self.plan_k0})
            return
        self._expired_told = False
        slot = min((k - self.plan_k0) // self.per, len(plan.import_kw) - 1)
        evf = fams.get("ev_fleet")
        if evf is not None:
            request = np.zeros(evf.n_vehicles)
            if self.spec.ev_charging == "slot_assignment" and self.ev_choice is not None:
                snap = evf.snapshot()
                sel = self.ev_choice_idx
                need = np.maximum(snap.target_kwh[sel] - snap.e_kwh[sel], 0.0)
                dt_s = self.step_s if rest_s is None else rest_s
                top_up = need / (snap.efficiency[sel] * dt_s / 3600.0)
                request[sel] = np.where(self.ev_choice, np.minimum(snap.charger_kw[sel], top_up), 0.0)
            elif self.plan_ev_idx.size:
                # a slot's energy is delivered in the part of the slot the vehicle is
                # planned to be there (the fast step below lets the battery take the
                # extra power so the PCC exchange follows the plan)
                avail = self.plan_ev_avail[slot]
                request[self.plan_ev_idx] = np.where(
                    avail > 1e-9, plan.ev_kw[slot] / np.maximum(avail, 1e-9), 0.0)
            # vehicles that arrived after the plan: plug and charge until the next plan
            # (the plugged flags of the snapshot, without copying the rest of it)
            new = evf.state.plugged.copy()
            new[self.plan_ev_idx] = False
            if new.any():
                request = np.where(new, evf.default_request_kw(), request)
            evf.command(request)
            ev_extra_kw = float(evf.expected_p_kw().sum() - plan.ev_kw[slot].sum())
        else:
            ev_extra_kw = 0.0
        bld = fams.get("building") if rest_s is None else None
        if bld is not None:
            starts = None
            if self.plan_run_idx.size:
                starts = np.zeros(bld.loads.n, bool)
                starts[self.plan_run_idx] = plan.run_start[:, slot]
            heat, cool = self.comfort.guard(bld, k, plan.heat_kw[slot], plan.cool_kw[slot])
            bld.command(heat, cool, starts)
        gen = fams.get("generator")
        if gen is not None:
            gen.command(plan.generator_on[slot], plan.generator_kw[slot])
        bat = fams.get("battery")
        if bat is not None:
            planned_kw = plan.battery_kw[slot]
            # fast balancing: batteries absorb the deviation of uncontrolled demand and
            # of EV charging from the plan
            actual = float(uncontrolled_forecast_kw(self.ctx, k, 1)[0])
            deviation = plan.base_kw[slot] - actual - ev_extra_kw
            snap = bat.snapshot()
            share = snap.power_mw / snap.power_mw.sum()
            p_mw = (planned_kw + deviation * share) / 1000.0
            bat.command(p_mw.clip(-snap.p_discharge_max_mw, snap.p_charge_max_mw))

    def _valid_plan(self, k: int) -> bool:
        """Whether a schedule covers step ``k``."""
        return self.plan is not None and k < self.plan_k0 + self.n_slots * self.per

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """CONTROL, every step: re-plan every ``replan_every``, apply the schedule in
        force (or the fallback), balance islands.

        With calls that take simulated time the re-plan runs as its own process
        (:class:`~twin.control.loop.DecisionLoop`) and this loop never waits for it, so
        no step is left without set points; with zero-time calls it runs inline (the
        fixed-step special case)."""
        loop = self.loop
        self._clock = clock
        while True:
            k = yield clock.wait(Phase.CONTROL)
            due = k % self.replan_steps == 0 or (self.plan is None and k % self.per == 0)
            if due and loop.pending is None:
                if self.timed:
                    loop.start(env, self.replan(env, k))
                    if loop.pending is not None:  # an answer at this very instant (calls
                        yield clock.settle()      # whose hops take no time) applies now
                else:
                    yield from self.replan(env, k)
            loop.control_step(env.now, k, has_schedule=self._valid_plan(k))
            self.apply(k)
            self._controlled_k = k
            self.microgrid.balance(k, env.now)
            if not self.timed:
                yield clock.wait(Phase.AFTER)

    def kpis(self) -> dict[str, float | None]:
        """PCC, cost and islanding KPIs plus the solver calls' summary.

        ``ems_approximation_ratio_mean|min`` (mean and worst call, the convention of
        :func:`solvers.metrics.approximation_ratio`: 1 optimal, in ``[0, 1]``) are always
        present: None (null in ``kpis.json``) when no call has a reference optimum to
        compare with. No
        wall-clock figure is a KPI (they would differ run to run): the solve times are
        in :meth:`timings` (the manifest's ``timings_s``) and ``wall_clock.json``.
        """
        out = self.microgrid.kpis()
        records = self.gateway.log.records
        out["ems_calls"] = float(len(records))
        out["ems_failed_plans"] = float(self.failed_plans)
        ratios = [r.approximation_ratio for r in records if r.approximation_ratio is not None]
        # always present (null without a reference optimum) so sweeps can gate on them
        out["ems_approximation_ratio_mean"] = float(np.mean(ratios)) if ratios else None
        out["ems_approximation_ratio_min"] = float(np.min(ratios)) if ratios else None
        out["ems_fallback_calls"] = float(sum(r.fallback is not None for r in records))
        out.update(self.loop.kpis(self.ctx.n_steps))
        # solvers that raised (their answers were FAILED results, then the fallback)
        errors = float(getattr(self.gateway, "solver_errors", 0))
        if self.decisions is not None:
            out.update(self.decisions.kpis())
            errors += out["decision_compare_errors"] or 0.0
        out["solver_errors"] = errors
        return out
