"""Benchmark: GridTwin's ``qaoa`` against qiskit-optimization as a knowledgeable user runs it.

Baseline: ``MinimumEigenOptimizer(QAOA(qiskit_aer.primitives.SamplerV2(seed), COBYLA(),
reps, pass_manager))`` on the same problem as a ``QuadraticProgram`` (the QP is built
before the clock starts, which favours the baseline); at small sizes also the
tutorials' ``qiskit.primitives.StatevectorSampler``. Ours: ``get_solver("qaoa",
reps=...).solve(problem, seed=...)`` from the ``Problem`` (conversion included).

Instances: EV charging slots (2 EVs x T slots, soft energy target, shared-transformer
overlap penalty; ``tests/solvers/field_instances.py``) with 8, 12, 16, 20 binaries.
Reported, per size and reps (median of ``--repeats`` runs, the machine is shared):
wall time, speed ratio, and two approximation ratios against ``milp``'s optimum
``f*`` (all objectives positive, minimisation: ratio = f* / value):
the *expected* objective of the final QAOA state (exact, from
``solvers.qaoa.expectation`` at each method's final angles) and the *best sampled*
solution.

Usage::

    python benchmarks/bench_qaoa.py [--sizes 8 12 16 20] [--reps 1 2] [--repeats 3]
        [--statevector-sizes 8 12] [--largest 26]
"""

from __future__ import annotations

import argparse
import logging
import platform
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
from solvers.qaoa import expectation  # noqa: E402

#: Name prefix of qiskit's QAOA gamma parameters (Greek small gamma).
_GAMMA = "\u03b3"


def instance(n: int):
    """EV charging, 2 EVs x n/2 slots, soft target (unconstrained QUBO)."""
    return fi.ev_charging(2, n // 2, soft=True, seed=n)


def baseline(problem, reps: int, seed: int, sampler_kind: str) -> dict:
    """qiskit-optimization's MinimumEigenOptimizer(QAOA(sampler, COBYLA()))."""
    from qiskit.primitives import StatevectorSampler
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2
    from qiskit_optimization.algorithms import MinimumEigenOptimizer
    from qiskit_optimization.minimum_eigensolvers import QAOA
    from qiskit_optimization.optimizers import COBYLA

    qp = problem.to_quadratic_program()
    if sampler_kind == "aer":
        sampler = SamplerV2(seed=seed)
        pm = generate_preset_pass_manager(optimization_level=1, backend=AerSimulator(),
                                          seed_transpiler=seed)
    else:
        sampler = StatevectorSampler(seed=seed)
        pm = generate_preset_pass_manager(optimization_level=1,
                                          basis_gates=["rz", "sx", "x", "cx"],
                                          seed_transpiler=seed)
    rng = np.random.default_rng(seed)
    qaoa = QAOA(sampler, COBYLA(), reps=reps, pass_manager=pm,
                initial_point=rng.uniform(-np.pi / 4, np.pi / 4, 2 * reps))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MinimumEigenOptimizer(qaoa).solve(qp)
    wall = time.perf_counter() - t0
    params = res.min_eigen_solver_result.optimal_parameters
    g = np.zeros(reps)
    b = np.zeros(reps)
    for prm, val in params.items():
        k = int(prm.name[prm.name.index("[") + 1 : -1])
        (g if prm.name.startswith(_GAMMA) else b)[k] = val
    return {"wall_s": wall, "best": float(res.fval), "expected": expectation(problem, g, b),
            "evaluations": int(res.min_eigen_solver_result.cost_function_evals)}


def ours(problem, reps: int, seed: int) -> dict:
    solver = get_solver("qaoa", reps=reps)
    t0 = time.perf_counter()
    res = solver.solve(problem, seed=seed)
    wall = time.perf_counter() - t0
    d = res.diagnostics
    return {"wall_s": wall, "best": float(res.objective), "expected": d["expected_objective"],
            "evaluations": d["circuit_evaluations"], "status": res.status.value}


def median_runs(fn, repeats: int) -> dict:
    runs = [fn(seed) for seed in range(repeats)]
    out = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "best", "expected",
                                                             "evaluations")}
    out["wall_all"] = [round(r["wall_s"], 3) for r in runs]
    return out


def machine() -> str:
    import os

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    pkgs = ", ".join(f"{p} {version(p)}" for p in ("qiskit", "qiskit-aer", "qiskit-optimization",
                                                    "numpy", "scipy", "highspy"))
    load = os.getloadavg()
    return (f"nproc={os.cpu_count()}, CPU: {cpu}, Python {platform.python_version()}, "
            f"load average at start {load[0]:.1f} (shared machine); {pkgs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[8, 12, 16, 20])
    ap.add_argument("--reps", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--statevector-sizes", type=int, nargs="*", default=[8, 12])
    ap.add_argument("--largest", type=int, nargs="*", default=[])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(machine())
    # warm-up: imports and first-call costs out of the measurements
    ours(instance(8), 1, 0)
    baseline(instance(8), 1, 0, "aer")
    print("| n | reps | method | wall s (median; runs) | speed-up | expected ratio | "
          "best-sample ratio | evaluations |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        problem = instance(n)
        opt = get_solver("milp").solve(problem).objective
        for reps in args.reps:
            mine = median_runs(lambda s, p=problem, r=reps: ours(p, r, s), args.repeats)
            base = median_runs(lambda s, p=problem, r=reps: baseline(p, r, s, "aer"),
                               args.repeats)
            rows = [("qaoa (ours)", mine), ("MEO+QAOA Aer SamplerV2", base)]
            if n in args.statevector_sizes:
                sv = median_runs(lambda s, p=problem, r=reps: baseline(p, r, s, "sv"), 1)
                rows.append(("MEO+QAOA StatevectorSampler", sv))
            for label, m in rows:
                speed = base["wall_s"] / m["wall_s"]
                print(f"| {n} | {reps} | {label} | {m['wall_s']:.3f} ({m['wall_all']}) | "
                      f"{speed:.1f}x | {opt / m['expected']:.3f} | {opt / m['best']:.3f} | "
                      f"{m['evaluations']:.0f} |", flush=True)
    for n in args.largest:
        if n % 2:
            ap.error(f"--largest {n}: the instances have 2 EVs x n/2 slots, n must be even")
        problem = instance(n)
        t0 = time.perf_counter()
        res = get_solver("qaoa", reps=1, max_qubits=n).solve(problem, seed=0)
        wall = time.perf_counter() - t0
        opt = get_solver("milp").solve(problem).objective
        ratio = f"{opt / res.objective:.3f}" if res.objective else "-"
        print(f"largest: n={n} qubits={res.diagnostics.get('qubits')} reps=1 "
              f"status={res.status.value} wall={wall:.1f} s "
              f"best-sample ratio={ratio} message={res.message!r}", flush=True)


if __name__ == "__main__":
    main()
