"""Benchmark: GridTwin's ``milp`` (HiGHS, arrays) against qiskit-optimization's ScipyMilpOptimizer.

The same 96-step (15 min) scheduling model (units with on/off and power, a battery,
EV charging groups; ``tests/solvers/field_instances.py::scheduling_96``) is built

- as a :class:`solvers.Problem` with ``ProblemBuilder`` from numpy/scipy arrays and
  solved with ``get_solver("milp")``;
- as a ``QuadraticProgram`` the way a qiskit-optimization user writes it (one
  ``binary_var``/``continuous_var`` and one ``linear_constraint`` call per row, from
  the same data) and solved with ``ScipyMilpOptimizer()`` (scipy.optimize.milp,
  which also runs HiGHS).

End to end = build + solve. Both use HiGHS's default relative MIP gap (1e-4) so the
comparison is the modelling path, not the tolerance. Median of ``--repeats`` runs
(the machine is shared with other work).

``--relax`` solves the LP relaxation on both sides (binaries as continuous in
[0, 1]): there the modelling path, not the branch and bound, dominates.

Usage::

    python benchmarks/bench_milp.py [--units 10] [--evs 10] [--repeats 3] [--relax]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solvers import get_solver  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "field_instances", ROOT / "tests" / "solvers" / "field_instances.py")
fi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fi)  # type: ignore[union-attr]


def build_quadratic_program(problem, relax: bool = False):
    """The model as a qiskit-optimization user builds it: a call per variable and row."""
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram(problem.name)
    for name, kind, lb, ub in zip(problem.names, problem.kinds, problem.lower, problem.upper,
                                  strict=True):
        if kind == 2 and not relax:
            qp.binary_var(name)
        else:
            qp.continuous_var(lowerbound=float(lb), upperbound=float(min(ub, 1e20)), name=name)
    qp.minimize(linear={problem.names[i]: float(v) for i, v in
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


def run_ours(units: int, evs: int, seed: int, relax: bool = False) -> dict:
    t0 = time.perf_counter()
    problem = fi.scheduling_96(units, evs, seed=seed)
    build = time.perf_counter() - t0
    res = get_solver("milp", mip_rel_gap=1e-4, relax=relax).solve(problem, seed=0)
    total = time.perf_counter() - t0
    return {"build_s": build, "total_s": total, "objective": res.objective,
            "status": res.status.value, "n": problem.num_variables,
            "m": problem.num_constraints}


def run_qiskit(units: int, evs: int, seed: int, relax: bool = False) -> dict:
    from qiskit_optimization.algorithms import ScipyMilpOptimizer

    problem = fi.scheduling_96(units, evs, seed=seed)  # the data, not timed
    t0 = time.perf_counter()
    qp = build_quadratic_program(problem, relax)
    build = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ScipyMilpOptimizer().solve(qp)
    total = time.perf_counter() - t0
    return {"build_s": build, "total_s": total, "objective": float(res.fval),
            "status": res.status.name.lower()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--evs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--relax", action="store_true",
                    help="both solve the LP relaxation (binaries as [0, 1] continuous)")
    args = ap.parse_args()
    from importlib.metadata import version

    print(f"nproc={os.cpu_count()}, load average at start {os.getloadavg()[0]:.1f} (shared); "
          + ", ".join(f"{p} {version(p)}" for p in ("highspy", "scipy", "qiskit-optimization")))
    run_ours(args.units, args.evs, 99)  # warm-up (imports)
    mine = [run_ours(args.units, args.evs, s, args.relax) for s in range(args.repeats)]
    theirs = [run_qiskit(args.units, args.evs, s, args.relax) for s in range(args.repeats)]
    print(f"instance: {mine[0]['n']} variables, {mine[0]['m']} rows, "
          f"{args.units} units, {args.evs} EV groups, 96 steps"
          + (" (LP relaxation)" if args.relax else ""))
    print("| seed | ours build ms | ours total s | ScipyMilpOptimizer build s | "
          "its total s | speed-up | objectives (ours / theirs) |")
    print("|---|---|---|---|---|---|---|")
    for s, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        print(f"| {s} | {1000 * a['build_s']:.1f} | {a['total_s']:.2f} | {b['build_s']:.2f} | "
              f"{b['total_s']:.2f} | {b['total_s'] / a['total_s']:.1f}x | "
              f"{a['objective']:.3f} ({a['status']}) / {b['objective']:.3f} ({b['status']}) |",
              flush=True)
    med = statistics.median(b["total_s"] / a["total_s"] for a, b in zip(mine, theirs,
                                                                          strict=True))
    print(f"median speed-up end to end: {med:.1f}x; median Problem build: "
          f"{1000 * statistics.median(a['build_s'] for a in mine):.1f} ms")


if __name__ == "__main__":
    main()
