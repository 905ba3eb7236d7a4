"""Benchmark: GridTwin's ``milp`` (HiGHS, arrays) against qiskit-optimization's ScipyMilpOptimizer.

The same 96-step (15 min) scheduling data (units with on/off and power, a battery,
EV charging groups; ``tests/solvers/field_instances.py::scheduling_data``) in two
formulations (``--instance``):

- ``loose``: ``scheduling_96``, on/off binaries only, minimum up time as
  ``u[t] - u[t-1] <= u[t+1]``;
- ``tight``: ``scheduling_96_tight``, the three-binary unit-commitment formulation
  (on / start-up / shut-down, ``u[t] - u[t-1] = v[t] - w[t]``, Rajan-Takriti
  minimum up time ``sum(v[t-UT+1..t]) <= u[t]``); same data, same optimum;
- ``dispatch``: the twin's own problem, captured from a real run (not timed): the
  EMS of ``--dispatch-scenario`` (default ``scenarios/ev_depot_week.yaml``) run for
  2 days with a 96-slot plan (15 min over 24 h, replanned hourly), its gateway
  wrapped by a recorder that keeps each dispatch ``Problem``; the largest, median
  and smallest captured problems are timed. Ours = ``twin.control.problems.
  build_dispatch`` on the captured inputs + solve; theirs = the QuadraticProgram of
  the Problem the EMS sent + ScipyMilpOptimizer.

Each synthetic instance is built

- as a :class:`solvers.Problem` with ``ProblemBuilder`` from numpy/scipy arrays and
  solved with ``get_solver("milp")``;
- as a ``QuadraticProgram`` the way a qiskit-optimization user writes it (one
  ``binary_var``/``continuous_var`` and one ``linear_constraint`` call per row, from
  the same data) and solved with ``ScipyMilpOptimizer()`` (scipy.optimize.milp,
  which also runs HiGHS).

End to end = build + solve. Both use HiGHS's default relative MIP gap (1e-4) so the
comparison is the modelling path, not the tolerance. Ours and theirs alternate per
seed (the machine is shared with other work); medians over ``--repeats`` seeds.
Their time is split into building the QuadraticProgram, ScipyMilpOptimizer's
conversion to arrays, and the ``scipy.optimize.milp`` call (HiGHS), timed by
wrapping that function.

``--relax`` solves the LP relaxation on both sides (binaries as continuous in
[0, 1]): there the modelling path, not the branch and bound, dominates.

Usage::

    python benchmarks/bench_milp.py [--units 10] [--evs 10] [--repeats 3] [--relax]
                                    [--instance loose|tight|dispatch|both|all]
                                    [--dispatch-scenario scenarios/ev_depot_week.yaml]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import field_instances as fi  # noqa: E402  (the solver tests' instances)

from solvers import get_solver  # noqa: E402


def build_quadratic_program(problem, relax: bool = False):
    """The model as a qiskit-optimization user builds it: a call per variable and row."""
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram(problem.name)
    for name, kind, lb, ub in zip(problem.names, problem.kinds, problem.lower, problem.upper,
                                  strict=True):
        if kind == 2 and not relax and lb == 0 and ub == 1:
            qp.binary_var(name)
        elif kind != 0 and not relax:
            # an integer, or a binary fixed by its bounds (binary_var would drop them)
            qp.integer_var(lowerbound=math.ceil(lb), upperbound=math.floor(ub),
                           name=name)
        else:
            qp.continuous_var(lowerbound=float(max(lb, -1e20)),
                              upperbound=float(min(ub, 1e20)), name=name)
    goal = qp.minimize if problem.sense.sign > 0 else qp.maximize
    goal(constant=float(problem.constant),
                linear={problem.names[i]: float(v) for i, v in
                        enumerate(problem.objective) if v})
    a = problem.constraints
    for r, rname in enumerate(problem.row_names):
        lo_, hi_ = a.indptr[r], a.indptr[r + 1]
        row = {problem.names[j]: float(v) for j, v in zip(a.indices[lo_:hi_],
                                                          a.data[lo_:hi_], strict=True)}
        lo, hi = problem.row_lower[r], problem.row_upper[r]
        if lo == hi:
            qp.linear_constraint(row, "==", float(lo), rname)
        else:
            if np.isfinite(lo):
                qp.linear_constraint(row, ">=", float(lo), rname + "_lo")
            if np.isfinite(hi):
                qp.linear_constraint(row, "<=", float(hi), rname + "_hi")
    return qp


BUILDERS = {"loose": "scheduling_96", "tight": "scheduling_96_tight",
            "dispatch": "twin dispatch MILP"}

DISPATCH_SCENARIO = "scenarios/ev_depot_week.yaml"
DISPATCH_OVERRIDES = {"time.duration": "2d", "control.ems.plan_step": "15min",
                      "control.ems.horizon": "24h", "control.ems.replan_every": "1h"}
"""The EV depot week, run for two days with a 96-slot plan (15 min over 24 h), replanned
hourly: the plan a planner would use for 15 min tariffs and grid steps."""

_DISPATCH: list = []  # (label, DispatchInputs, Problem as sent to the gateway)


class _RecordingGateway:
    """Thin recorder around the EMS's gateway: keeps each dispatch call's Problem."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.problems: list = []

    def call(self, env, task, problem, **kwargs):
        if task == "dispatch":
            self.problems.append((env.now, problem))
        return (yield from self.inner.call(env, task, problem, **kwargs))

    def __getattr__(self, name):  # log, ... as the wrapped gateway
        return getattr(self.inner, name)


def capture_dispatch(picks: int = 3) -> list:
    """Run the twin and keep ``picks`` of its dispatch problems (not timed).

    ``twin.control.ems.build_dispatch`` is wrapped (here, not in twin/) to keep the
    builder's inputs, so ours can be timed as build_dispatch(inputs) + solve; the
    gateway recorder keeps the Problem the EMS actually sent, checked equal to the
    rebuilt one. Picks: the largest, the median and the smallest captured problem.
    """
    if _DISPATCH:
        return _DISPATCH
    import copy

    import twin.control.ems as ems
    from twin import engine
    from twin.scenario import apply_overrides, load_scenario

    inputs: list = []
    original = ems.build_dispatch

    def keep(inp):
        inputs.append(copy.deepcopy(inp))
        return original(inp)

    ems.build_dispatch = keep
    try:
        scenario = apply_overrides(load_scenario(ROOT / DISPATCH_SCENARIO), DISPATCH_OVERRIDES)
        sim = engine.build(scenario, seed=scenario.seed)
        recorder = _RecordingGateway(sim.controller.gateway)
        sim.controller.gateway = recorder
        engine.simulate(sim)
    finally:
        ems.build_dispatch = original
    assert len(inputs) == len(recorder.problems), (len(inputs), len(recorder.problems))
    order = sorted(range(len(inputs)), key=lambda i: (-recorder.problems[i][1].num_variables, i))
    chosen = sorted({order[0], order[len(order) // 2], order[-1]})[:picks]
    for i in chosen:
        t_s, sent = recorder.problems[i]
        rebuilt, _ = original(inputs[i])
        assert rebuilt.num_variables == sent.num_variables
        assert np.array_equal(rebuilt.objective, sent.objective)
        assert (rebuilt.constraints != sent.constraints).nnz == 0
        _DISPATCH.append((f"t={t_s / 3600:.0f}h", inputs[i], sent))
    print(f"captured {len(inputs)} dispatch problems from {DISPATCH_SCENARIO} with "
          f"{DISPATCH_OVERRIDES}; sizes (variables) "
          f"{sorted(p.num_variables for _, p in recorder.problems)}", flush=True)
    return _DISPATCH


def build_instance(instance: str, units: int, evs: int, seed: int):
    """The ``Problem`` of ``instance``; for ``dispatch``, seed picks the captured problem."""
    if instance == "dispatch":
        from twin.control.problems import build_dispatch

        return build_dispatch(capture_dispatch()[seed][1])[0]
    return getattr(fi, BUILDERS[instance])(units, evs, seed=seed)


def run_ours(instance: str, units: int, evs: int, seed: int, relax: bool = False) -> dict:
    t0 = time.perf_counter()
    problem = build_instance(instance, units, evs, seed)
    build = time.perf_counter() - t0
    res = get_solver("milp", mip_rel_gap=1e-4, relax=relax).solve(problem, seed=0)
    total = time.perf_counter() - t0
    return {"build_s": build, "total_s": total, "objective": res.objective,
            "solve_s": res.diagnostics.get("solve_time_s", float("nan")),
            "nodes": res.diagnostics.get("mip_node_count"),
            "status": res.status.value, "n": problem.num_variables,
            "m": problem.num_constraints, "binaries": int((problem.kinds == 2).sum())}


class _TimedMilp:
    """Wraps ``scipy.optimize.milp`` to time the HiGHS call inside ScipyMilpOptimizer."""

    def __init__(self) -> None:
        import scipy.optimize

        self.module = scipy.optimize
        self.inner = scipy.optimize.milp
        self.seconds = 0.0

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def __enter__(self) -> _TimedMilp:
        self.module.milp = self
        return self

    def __exit__(self, *exc) -> None:
        self.module.milp = self.inner


def run_qiskit(instance: str, units: int, evs: int, seed: int, relax: bool = False) -> dict:
    from qiskit_optimization.algorithms import ScipyMilpOptimizer

    # the data, not timed (dispatch: the Problem exactly as the EMS sent it)
    problem = (capture_dispatch()[seed][2] if instance == "dispatch"
               else build_instance(instance, units, evs, seed))
    t0 = time.perf_counter()
    qp = build_quadratic_program(problem, relax)
    build = time.perf_counter() - t0
    with warnings.catch_warnings(), _TimedMilp() as timed:
        warnings.simplefilter("ignore")
        res = ScipyMilpOptimizer().solve(qp)
    total = time.perf_counter() - t0
    return {"build_s": build, "total_s": total, "objective": float(res.fval),
            "solve_s": timed.seconds, "convert_s": total - build - timed.seconds,
            "nodes": res.raw_results.mip_node_count if res.raw_results is not None else None,
            "status": res.status.name.lower()}


def bench_instance(instance: str, args: argparse.Namespace) -> float:
    """Run and print one instance's table; returns the median end-to-end speed-up."""
    if instance == "dispatch":
        return bench_dispatch(args)
    mine, theirs = [], []
    for s in range(args.repeats):  # alternate: both sides see the same machine load
        mine.append(run_ours(instance, args.units, args.evs, s, args.relax))
        theirs.append(run_qiskit(instance, args.units, args.evs, s, args.relax))
    print(f"\ninstance {instance} ({BUILDERS[instance]}): {mine[0]['n']} variables "
          f"({mine[0]['binaries']} binary), {mine[0]['m']} rows, {args.units} units, "
          f"{args.evs} EV groups, 96 steps" + (" (LP relaxation)" if args.relax else ""))
    _table(mine, theirs, [str(s) for s in range(args.repeats)])
    return _medians(mine, theirs)


def bench_dispatch(args: argparse.Namespace) -> float:
    """The twin's own dispatch problems: each captured problem, ``--repeats`` alternations."""
    picks = capture_dispatch()
    mine, theirs, labels = [], [], []
    for r in range(args.repeats):
        for i, (label, _, problem) in enumerate(picks):
            mine.append(run_ours("dispatch", 0, 0, i, args.relax))
            theirs.append(run_qiskit("dispatch", 0, 0, i, args.relax))
            labels.append(f"{label} ({problem.num_variables} var, "
                          f"{int((problem.kinds == 2).sum())} bin, {problem.num_constraints} rows)"
                          f" #{r}")
    print(f"\ninstance dispatch (the EMS's build_dispatch + milp; {DISPATCH_SCENARIO}, "
          f"{DISPATCH_OVERRIDES})" + (" (LP relaxation)" if args.relax else ""))
    order = sorted(range(len(labels)), key=lambda j: labels[j])
    _table([mine[j] for j in order], [theirs[j] for j in order], [labels[j] for j in order])
    meds = []
    for i, (label, _, _) in enumerate(picks):
        sel = [j for j in range(len(labels)) if j % len(picks) == i]
        print(f"{label}: ", end="")
        meds.append(_medians([mine[j] for j in sel], [theirs[j] for j in sel]))
    return statistics.median(meds)


def _table(mine: list, theirs: list, labels: list) -> None:
    print("| seed | ours: build ms | ours: HiGHS s | ours: total s | theirs: build s | "
          "theirs: convert s | theirs: HiGHS s | theirs: total s | speed-up | "
          "nodes ours / theirs | objective ours / theirs (status) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s, a, b in zip(labels, mine, theirs, strict=True):
        gap = abs(a["objective"] - b["objective"]) / max(1.0, abs(b["objective"]))
        if gap > 2e-4:
            print(f"WARNING: objectives differ by {gap:.1e} (relative) at {s}")
        print(f"| {s} | {1000 * a['build_s']:.1f} | {a['solve_s']:.2f} | {a['total_s']:.2f} | "
              f"{b['build_s']:.2f} | {b['convert_s']:.2f} | {b['solve_s']:.2f} | "
              f"{b['total_s']:.2f} | {b['total_s'] / a['total_s']:.1f}x | "
              f"{a['nodes']} / {b['nodes']} | "
              f"{a['objective']:.3f} ({a['status']}) / {b['objective']:.3f} ({b['status']}) |",
              flush=True)


def _medians(mine: list, theirs: list) -> float:
    med = statistics.median(b["total_s"] / a["total_s"] for a, b in zip(mine, theirs,
                                                                          strict=True))
    print(f"medians: ours total {statistics.median(a['total_s'] for a in mine):.2f} s "
          f"(HiGHS {statistics.median(a['solve_s'] for a in mine):.2f} s, build "
          f"{1000 * statistics.median(a['build_s'] for a in mine):.1f} ms); theirs total "
          f"{statistics.median(b['total_s'] for b in theirs):.2f} s (build "
          f"{statistics.median(b['build_s'] for b in theirs):.2f} s, convert "
          f"{statistics.median(b['convert_s'] for b in theirs):.2f} s, HiGHS "
          f"{statistics.median(b['solve_s'] for b in theirs):.2f} s); "
          f"median speed-up end to end: {med:.1f}x", flush=True)
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--evs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--relax", action="store_true",
                    help="both solve the LP relaxation (binaries as [0, 1] continuous)")
    ap.add_argument("--dispatch-scenario", default=DISPATCH_SCENARIO,
                    help="scenario whose EMS dispatch problems --instance dispatch captures "
                    "(run for 2 days with a 15 min / 24 h plan)")
    ap.add_argument("--instance", choices=("loose", "tight", "dispatch", "both", "all"),
                    default="loose",
                    help="scheduling_96 (loose), scheduling_96_tight, the twin's own dispatch "
                    "problems captured from a run (dispatch), or several (both = all three)")
    args = ap.parse_args()
    from importlib.metadata import version

    print(f"nproc={os.cpu_count()}, load average at start {os.getloadavg()[0]:.1f} (shared); "
          + ", ".join(f"{p} {version(p)}" for p in ("highspy", "scipy", "qiskit-optimization")))
    run_ours("loose", args.units, args.evs, 99)  # warm-up (imports)
    globals()["DISPATCH_SCENARIO"] = args.dispatch_scenario
    instances = (("loose", "tight", "dispatch") if args.instance in ("both", "all")
                 else (args.instance,))
    if "dispatch" in instances:
        capture_dispatch()  # the run that produces the problems, before any timing
    for instance in instances:
        bench_instance(instance, args)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
