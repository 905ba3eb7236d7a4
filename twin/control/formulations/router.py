"""Routing the twin's binary decisions to solvers: :class:`DecisionRouter`.

At every plan the router builds each configured decision type from the EMS's inputs,
splits it into sub-problems within the qubit budget (time windows, then asset
clusters; :meth:`~twin.control.formulations.base.Formulation.decompose`), and sends
each sub-problem through the solver gateway (task name = the decision type, so the
comms model, deadlines and fallbacks apply; the gateway's reference optimum by
``milp`` is on unless the scenario opts out). Every sub-problem is also solved by each
``compare`` solver on the same problem, outside the comms model (events of kind
``solver_compare``). The recombined decision is checked against the full problem
(feasible, objective) and its full ``milp`` optimum (gap; event ``decomposition``), and
the decided binaries are fixed in the dispatch problem. When the fixed dispatch has no
solution (a decision the continuous part cannot follow), that decision type's fixings
are dropped for this plan and counted (``decisions_overridden``).

The expected figure of a sampler (:func:`normalised_ratio`): the sub-problems' optima
are mostly negative (savings against doing nothing) while a sampler's mean penalised
objective is often positive, so :func:`solvers.metrics.approximation_ratio` of the
expected objective is 0 on most of them. Each ``solver_compare`` row therefore also
carries ``normalised_expected_ratio`` = :math:`(E_0 - E) / (E_0 - f^*)`: the share of
the way from uniform random guessing (:math:`E_0`, the mean penalised objective of
uniformly random QUBO bits, i.e. QAOA at zero angles) to the optimum :math:`f^*` that
the solver's expected objective :math:`E` covers. 1 is optimal, 0 no better than
guessing, negative worse; it does not depend on the sign or offset of the objective.

Counting: a call is counted under the solver that produced the answer used
(``solver_used``); fallback answers never count as QAOA's. A solver that raised is
counted in ``solver_errors`` (its Result is FAILED with the exception's name).

Public names: :class:`DecisionRouter`, :func:`solve_decomposed`, :func:`quality`,
:func:`normalised_ratio`, :func:`uniform_mean`, :func:`apply_decision`, :data:`ROW_KEYS`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.control.formulations.base import Formulation, PartQueue, PartSpec

if TYPE_CHECKING:
    import simpy

    from solvers import Problem, Result
    from twin.control.problems import DispatchInputs

__all__ = ["ROW_KEYS", "DecisionRouter", "apply_decision", "normalised_ratio", "quality",
           "solve_decomposed", "uniform_mean"]

logger = logging.getLogger(__name__)

ROW_KEYS: tuple[str, ...] = (
    "expected_objective", "expected_ratio", "best_ratio", "result_ratio", "best_is_optimal",
    "p_optimal", "p_within_1pct", "feasible_share", "p_success", "tts99_shots",
    "random_best_ratio", "random_expected_best_ratio", "random_p_optimal",
    "random_p_within_1pct", "random_feasible_share", "random_p_success", "random_tts99_shots",
    "random_method", "shots", "penalty", "inequality_penalty", "depth", "two_qubit_gates",
    "noise", "device", "expected_objective_source", "ideal_expected_objective",
    "qpu_jobs", "qpu_loop_time_s", "qpu_overhead_s", "qpu_billed_time_s", "qpu_cost",
    "modelled_qpu_time_s", "optimizer_iterations", "qubits", "two_qubit_error_scale",
    "two_qubit_error_mean",
)
"""Diagnostics keys copied into a ``solver_compare`` event (solvers.metrics' quality keys,
the QPU model's): all simulated or counted, none measured on this machine (``tts99_s``
and the reference's wall time go to ``wall_clock.json``)."""


def uniform_mean(problem: Problem, penalty: float | None = None) -> float:
    r"""Mean penalised objective of uniformly random QUBO bits (slacks included), in the
    problem's sense: the QUBO's Ising offset, :math:`c_0 + \sum_i l_i / 2 +
    \sum_{i<j} Q_{ij} / 4`. [objective unit]"""
    from solvers.qubo import to_qubo

    qubo = to_qubo(problem, penalty)
    return float(qubo.sign * qubo.to_ising()[2])


def normalised_ratio(value: float | None, optimum: float | None,
                     uniform: float | None, maximize: bool = False) -> float | None:
    r""":math:`(E_0 - E) / (E_0 - f^*)` (module notes): 1 at the optimum, 0 at random
    guessing's mean ``uniform``, negative below it; at most 1. None when an input is
    missing. When guessing already averages the optimum (:math:`E_0 \le f^*`) it is 1
    for a value at the optimum, else 0.

    Examples
    --------
    >>> normalised_ratio(0.5, -2.0, 1.25)  # a positive mean against a savings optimum
    0.23076923076923078
    >>> normalised_ratio(-2.0, -2.0, 1.25), normalised_ratio(1.25, -2.0, 1.25)
    (1.0, 0.0)
    """
    if value is None or optimum is None or uniform is None:
        return None
    e, f, e0 = float(value), float(optimum), float(uniform)
    if not (math.isfinite(e) and math.isfinite(f) and math.isfinite(e0)):
        return None
    if maximize:
        e, f, e0 = -e, -f, -e0
    tol = 1e-9 * max(1.0, abs(f))
    if e0 - f <= tol:
        return 1.0 if e <= f + tol else 0.0
    return float(min(1.0, (e0 - e) / (e0 - f)))


def quality(objective: float | None, optimum: float | None) -> float:
    """The project's approximation ratio (:func:`solvers.metrics.approximation_ratio`:
    1 optimal, 0 worst, in [0, 1]); 0 without an answer or optimum. Never None."""
    from solvers.metrics import approximation_ratio

    if objective is None or optimum is None or not math.isfinite(objective):
        return 0.0
    return float(approximation_ratio(objective, optimum))


@dataclass
class PartOutcome:
    """One sub-problem's answer as the router used it."""

    spec: PartSpec
    problem: Problem
    qubits: int
    x: np.ndarray | None
    solver_used: str | None


def solve_decomposed(
    formulation: Formulation,
    solve: Callable[[Problem], tuple[np.ndarray | None, str | None]],
    *,
    max_qubits: int,
    penalty: float | None = None,
    decompose: bool = True,
    max_window: int | None = None,
    min_qubits: int = 0,
) -> tuple[Any, list[PartOutcome]]:
    """Solve a formulation part by part (no SimPy): the decision and the parts.

    ``solve(problem) -> (x or None, solver name)``. A part without an answer keeps
    the formulation's safe default (nothing started, generators as forced, batteries
    idle). Without ``decompose`` the full problem is one part, whatever its size (the
    solver then refuses what does not fit).
    """
    specs = (formulation.decompose(max_qubits, penalty, max_window) if decompose
             else [PartSpec(0, formulation.n_slots, tuple(range(formulation.n_assets)), True)])
    queue = PartQueue(formulation, specs, max_qubits, penalty, split=decompose,
                      min_qubits=min_qubits)
    decided = formulation.empty_decision()
    parts = []
    while (item := queue.next(decided)) is not None:
        spec, sub, problem, qubits = item
        x, used = (None, None) if problem.num_variables == 0 else solve(problem)
        if x is None:
            x = _safe_x(sub, problem)
        decided = formulation.merge(decided, spec, sub.interpret(x))
        parts.append(PartOutcome(spec, problem, qubits, x, used))
    return _finish(formulation, decided), parts


def _finish(formulation: Formulation, decided: Any) -> Any:
    finish = getattr(formulation, "finish", None)
    return finish(decided) if finish is not None else decided


def _safe_x(sub: Formulation, problem: Problem) -> np.ndarray:
    """The do-nothing assignment of a part: "later/none" for starts, idle batteries,
    generators off (forced entries are constants, not variables)."""
    x = np.zeros(problem.num_variables)
    for i, name in enumerate(problem.names):
        if name.startswith("z_") or name.endswith("_i"):
            x[i] = 1.0
    return x


@dataclass
class _Counters:
    calls: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    overridden: int = 0
    infeasible_recombined: int = 0
    gaps: list[float] = field(default_factory=list)
    qubits: list[int] = field(default_factory=list)
    small_parts: int = 0


class DecisionRouter:
    """The EMS's hook for ``control.ems.decisions`` (see the module notes).

    Parameters
    ----------
    spec : twin.scenario.DecisionsSpec
        The scenario's settings.
    gateway : twin.control.gateway.SolverGateway
        The EMS's gateway.
    recorder : object
        The run's recorder (events).
    seed : int
        Run seed (comparison solvers' seeds derive from it and the call number).
    """

    def __init__(self, spec: Any, gateway: Any, recorder: Any, seed: int) -> None:
        self.spec = spec
        self.gateway = gateway
        self.recorder = recorder
        self.seed = int(seed)
        self.counters = _Counters()
        self._solvers: dict[str, Any] = {}
        self.timing_rows: list[dict[str, Any]] = []
        self._compared: dict[str, int] = {}
        self._n = 0
        self._uniform: float | None = None
        self._maximize = False

    # ---------------------------------------------------------------- building
    def formulations(self, inp: DispatchInputs) -> list[tuple[Formulation, np.ndarray]]:
        """The configured decision types that have assets in this plan."""
        from twin.control.formulations import (
            BatteryModeSelection,
            DeferrableLoadStarts,
            EvChargerAssignment,
            UnitCommitment,
        )

        spec = self.spec
        out = []
        for kind in spec.types:
            built: Any
            if kind == "unit_commitment":
                built = UnitCommitment.from_inputs(inp)
            elif kind == "ev_chargers":
                built = EvChargerAssignment.from_inputs(inp, chargers=spec.ev_chargers)
            elif kind == "deferrable_loads":
                built = DeferrableLoadStarts.from_inputs(inp, peak_kw=spec.deferrable_peak_kw)
            else:
                built = BatteryModeSelection.from_inputs(inp, switch_cost_eur=spec.switch_cost_eur)
            if built is not None:
                out.append(built)
        return out

    # ---------------------------------------------------------------- solving
    def _solver(self, name: str, options: Mapping[str, Any]) -> Any:
        import json

        from solvers import get_solver

        key = f"{name}:{json.dumps(dict(options), sort_keys=True, default=str)}"
        if key not in self._solvers:
            self._solvers[key] = get_solver(name, **dict(options))
        return self._solvers[key]

    def decide(self, env: simpy.Environment, k: int, inp: DispatchInputs, problem: Problem,
               layout: Any) -> Generator[Any, Any, Problem]:
        """Decide every configured type, record it, and return the dispatch problem with
        the decided binaries fixed (a SimPy process body)."""
        fixed = problem
        for formulation, idx in self.formulations(inp):
            decision = yield from self._decide_one(env, k, formulation)
            candidate = apply_decision(fixed, layout, inp, formulation, idx, decision)
            if candidate is not fixed and not self._dispatch_feasible(candidate):
                self.counters.overridden += 1
                self.recorder.event(env.now, "control", "decision_overridden",
                                    f"decision/{formulation.decision}",
                                    f"{formulation.decision} at step {k}: the dispatch cannot "
                                    "follow the decision; its binaries are left to the MILP",
                                    {"step": k, "decision": formulation.decision})
                continue
            fixed = candidate
        return fixed

    def _dispatch_feasible(self, problem: Problem) -> bool:
        result = self._solver("milp", {}).solve(problem, time_limit=30.0, seed=0)
        return bool(result.has_solution)

    def _decide_one(self, env: simpy.Environment, k: int,
                    formulation: Formulation) -> Generator[Any, Any, Any]:
        spec = self.spec
        kind = formulation.decision
        penalty = spec.penalty
        if spec.decompose:
            specs = formulation.decompose(spec.max_qubits, penalty, spec.window_slots)
        else:
            specs = [PartSpec(0, formulation.n_slots, tuple(range(formulation.n_assets)), True)]
        queue = PartQueue(formulation, specs, spec.max_qubits, penalty, split=spec.decompose,
                          min_qubits=spec.min_qubits)
        decided = formulation.empty_decision()
        while (item := queue.next(decided)) is not None:
            part_spec, sub, sub_problem, qubits = item
            if sub_problem.num_variables == 0:
                decided = formulation.merge(decided, part_spec, sub.interpret(np.zeros(0)))
                continue
            small = qubits < spec.min_qubits and spec.fallback is not None
            if small:  # too small to be the solver's workload: the fallback decides it
                self.counters.small_parts += 1
            else:
                self.counters.qubits.append(qubits)
            record = yield from self.gateway.call(
                env, kind, sub_problem, solver=spec.fallback if small else spec.solver,
                options=None if small else spec.options,
                reference=spec.reference and not small, time_limit_s=spec.time_limit_s,
                fallback=None if small else spec.fallback,
            )
            used = record.solver_used or record.fallback or "none"
            self.counters.calls[used] = self.counters.calls.get(used, 0) + 1
            if record.result is not None and record.result.x is not None:
                x = np.asarray(record.result.x, float)
            else:
                x = _safe_x(sub, sub_problem)
            if small:
                self.recorder.event(
                    env.now, "control", "decision_small_part", f"decision/{kind}",
                    f"{record.call_id}: {qubits} qubits, below min_qubits "
                    f"{spec.min_qubits}: decided by {spec.fallback}, not compared",
                    {"call_id": record.call_id, "decision": kind, "qubits": qubits,
                     "n_binary": sub_problem.num_variables, "solver": used})
            else:
                self._compare(env, record, sub_problem, qubits, kind)
            decided = formulation.merge(decided, part_spec, sub.interpret(x))
        specs = [None] * queue.count
        decided = _finish(formulation, decided)
        self._record_recombined(env, k, formulation, decided, len(specs))
        return decided

    def _compare(self, env: simpy.Environment, record: Any, problem: Problem, qubits: int,
                 kind: str) -> None:
        """Every ``compare`` solver on the same problem, with the same reference optimum
        (their quality keys, random baseline at equal shots included)."""
        import inspect

        from solvers import Result, Status
        from solvers.metrics import tts99
        from solvers.problem import Sense

        spec = self.spec
        ref = record.reference_objective
        if ref is None and spec.reference:
            result = self._solver("milp", {}).solve(problem, seed=0)
            ref = result.objective if result.has_solution else None
        self._n += 1
        self._uniform = uniform_mean(problem, spec.penalty)
        self._maximize = problem.sense is Sense.MAXIMIZE
        rows = [self._row("called", record.solver_used or "none", record.result, ref,
                          fallback=record.fallback)]
        for label, entry in spec.compare.items():
            done = self._compared.get(label, 0)
            if entry.max_calls is not None and done >= entry.max_calls:
                continue
            self._compared[label] = done + 1
            t0 = time.perf_counter()
            try:
                backend = self._solver(entry.solver, entry.options)
                kwargs: dict[str, Any] = {"seed": _seed(self.seed, self._n, len(label))}
                if ref is not None and "reference_objective" in inspect.signature(
                        backend.solve).parameters:
                    kwargs["reference_objective"] = ref
                reason = backend.supports(problem)
                result = (Result(Status.UNSUPPORTED, entry.solver, message=reason,
                                 problem=problem) if reason is not None
                          else backend.solve(problem, **kwargs))
            except Exception as exc:  # a solver that raises is counted, never hidden
                logger.warning("compare solver %s raised %s: %s", label, type(exc).__name__, exc)
                self.counters.errors += 1
                result = Result(Status.FAILED, entry.solver, problem=problem,
                                message=f"{type(exc).__name__}: {exc}")
            wall = time.perf_counter() - t0
            row = self._row(label, entry.solver, result, ref)
            rows.append(row)
            p_success = row.get("p_success")
            if p_success is None and row["status"] == "optimal":
                p_success = 1.0  # a proven optimum: one run succeeds
            self.timing_rows.append({
                "call_id": record.call_id, "decision": kind, "solver": label, "wall_s": wall,
                "tts99_wall_s": tts99(wall, float(p_success)) if p_success is not None
                else None,
            })
        for row in rows:
            data = {"call_id": record.call_id, "decision": kind, "qubits": qubits,
                    "n_binary": problem.num_variables, "n_constraints": problem.num_constraints,
                    "reference_objective": ref, **row}
            billed, p_success = row.get("qpu_billed_time_s"), row.get("p_success")
            if billed is not None and p_success is not None:
                data["tts99_qpu_s"] = tts99(float(billed), float(p_success))
            self.recorder.event(
                env.now, "control", "solver_compare", f"decision/{kind}",
                f"{record.call_id}: {row['solver']} ratio {row['ratio']:.4f} on {qubits} qubits",
                {k: _scalar(v) for k, v in data.items()},
            )

    def _row(self, label: str, name: str, result: Result | None, ref: float | None,
             fallback: str | None = None) -> dict[str, Any]:
        diag = dict(result.diagnostics or {}) if result is not None else {}
        obj = result.objective if (result is not None and result.has_solution) else None
        row: dict[str, Any] = {
            "solver": label, "solver_name": name,
            "status": result.status.value if result is not None else "failed",
            "message": (result.message[:200] if result is not None and result.message
                        else None),
            "objective": obj, "ratio": quality(obj, ref), "fallback": fallback,
        }
        for key in ROW_KEYS:
            value = diag.get(key)
            if value is not None and not isinstance(value, dict | list | tuple):
                row[key] = value
        expected = row.get("expected_objective")
        if expected is not None:
            row["uniform_expected_objective"] = self._uniform
            row["normalised_expected_ratio"] = normalised_ratio(
                float(expected), ref, self._uniform, maximize=self._maximize)
        return row

    def _record_recombined(self, env: simpy.Environment, k: int, formulation: Formulation,
                           decided: Any, n_parts: int) -> None:
        full = formulation.to_problem()
        x = formulation.decision_x(decided)
        feasible = bool(full.is_feasible(x)) if full.num_variables else True
        objective = float(full.evaluate(x)) if full.num_variables else 0.0
        optimum = None
        if self.spec.reference and full.num_variables:
            result = self._solver("milp", {}).solve(full, seed=0)
            optimum = result.objective if result.has_solution else None
        gap = None
        if optimum is not None:
            gap = (objective - optimum) / max(1.0, abs(optimum))
            self.counters.gaps.append(gap)
        if not feasible:
            self.counters.infeasible_recombined += 1
        self.recorder.event(
            env.now, "control", "decomposition", f"decision/{formulation.decision}",
            f"{formulation.decision} at step {k}: {n_parts} sub-problems, recombined "
            f"{'feasible' if feasible else 'INFEASIBLE'}"
            + (f", gap {gap:.4f} to the full milp optimum" if gap is not None else ""),
            {"step": k, "decision": formulation.decision, "parts": n_parts,
             "n_binary_full": full.num_variables, "feasible": feasible,
             "objective": objective, "full_optimum": optimum, "gap": gap},
        )

    # ---------------------------------------------------------------- KPIs
    def kpis(self) -> dict[str, float | None]:
        """Decision KPIs: calls per answering solver, errors, overrides, gaps, qubits."""
        c = self.counters
        out: dict[str, float | None] = {
            "decision_calls": float(sum(c.calls.values())),
            "decisions_overridden": float(c.overridden),
            "decision_recombined_infeasible": float(c.infeasible_recombined),
            "decision_gap_mean": float(np.mean(c.gaps)) if c.gaps else None,
            "decision_gap_max": float(np.max(c.gaps)) if c.gaps else None,
            "decision_qubits_max": float(max(c.qubits)) if c.qubits else None,
            "decision_qubits_min": float(min(c.qubits)) if c.qubits else None,
            "decision_parts_below_min": float(c.small_parts),
            "decision_compare_errors": float(c.errors),
        }
        for name, n in sorted(c.calls.items()):
            out[f"decision_calls.{name}"] = float(n)
        return out


def _seed(seed: int, n: int, salt: int) -> int:
    seq = np.random.SeedSequence(seed, spawn_key=(n, salt))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# ------------------------------------------------------------------ applying


def apply_decision(problem: Problem, layout: Any, inp: DispatchInputs,
                   formulation: Formulation, idx: np.ndarray, decision: Any) -> Problem:
    """The dispatch problem with a decision's binaries (or power directions) fixed."""
    lower = problem.lower.copy()
    upper = problem.upper.copy()
    t_len = inp.n_slots
    kind = formulation.decision
    blocks = layout.blocks
    if kind == "unit_commitment" and "gen_on" in blocks:
        ng = decision.shape[1]
        cols = blocks["gen_on"].indices.reshape(t_len, ng)
        on = decision == 1
        off = decision == 0
        lower[cols[on]] = 1.0
        upper[cols[on]] = 1.0
        lower[cols[off]] = 0.0
        upper[cols[off]] = 0.0
    elif kind == "ev_chargers" and "ev_charge" in blocks:
        nv = inp.ev.p_max_kw.size
        cols = blocks["ev_charge"].indices.reshape(t_len, nv)
        duration = formulation.duration  # type: ignore[attr-defined]
        for j, v in enumerate(idx):
            keep = np.zeros(t_len, bool)
            if decision[j] >= 0:
                keep[decision[j]:decision[j] + int(duration[j])] = True
            upper[cols[~keep, v]] = 0.0
    elif kind == "deferrable_loads" and "run_start" in blocks:
        nr = inp.runs.p_kw.size
        cols = blocks["run_start"].indices.reshape(nr, t_len)
        for j, r in enumerate(idx):
            if decision[j] >= 0:
                upper[cols[r]] = 0.0
                lower[cols[r, decision[j]]] = 1.0
                upper[cols[r, decision[j]]] = 1.0
            elif not inp.runs.must[r]:
                upper[cols[r]] = 0.0
    elif kind == "battery_mode" and "bat_charge" in blocks:
        nb = inp.battery.p_max_kw.size
        ch = blocks["bat_charge"].indices.reshape(t_len, nb)
        dis = blocks["bat_discharge"].indices.reshape(t_len, nb)
        for t in range(t_len):
            if decision[t] in (0, -1):
                upper[ch[t]] = 0.0
            if decision[t] in (0, 1):
                upper[dis[t]] = 0.0
    else:
        return problem
    lower = np.minimum(lower, upper)
    return problem.replace(lower=lower, upper=upper)
