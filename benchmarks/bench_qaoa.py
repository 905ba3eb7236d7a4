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

Kernel mode (``--kernel``): one QAOA expectation evaluation on 4-regular MaxCut
(``networkx.random_regular_graph(4, n, seed=n)``, cost = minus the cut) at p layers,
at equal precision and equal threads (numba's thread count, 2 here), side by side:
ours = ``solvers.statevector.QaoaKernel(cost).expectation`` (the compiled kernel;
``precise=True`` is float64, the default float32) against QOKit's C simulator
(``qokit.fur.choose_simulator("c")`` built with the precomputed cost diagonal
``costs=``, its fastest documented CPU set-up, float64 only, ``OMP_NUM_THREADS`` =
ours; run in a persistent worker process of the separate virtual environment
``--qokit-python``, default ``/work/venvs/qokit/bin/python``, because its pins clash
with ours: skipped with a message when absent) and against qiskit-aer's statevector
simulator (the transpiled ``qaoa_ansatz`` circuit, parameters bound,
``save_statevector``; ``precision="double"`` against our float64 and ``"single"``
against our float32, fusion on, ``max_parallel_threads`` = ours). The pairs run
interleaved (ours, QOKit, ours, Aer, ...) with the same angles, so each comparison
sees the same load. The floor is the memory traffic the evaluation must make over
the bandwidth of a STREAM-style copy measured at the start (see
:func:`kernel_bytes` and :func:`copy_bandwidth_bytes_per_s`).

Usage::

    python benchmarks/bench_qaoa.py [--sizes 8 12 16 20] [--reps 1 2] [--repeats 3]
        [--statevector-sizes 8 12] [--largest 26]
    python benchmarks/bench_qaoa.py --kernel [--kernel-sizes 16 20 22 24] [--layers 6]
        [--aer-sizes 16 20 22 24] [--repeats 3] [--aer-repeats 1]
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
from solvers.qubo import problem_to_quadratic_program  # noqa: E402

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

    qp = problem_to_quadratic_program(problem)
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


def ours(problem, reps: int, seed: int, reference: float | None = None) -> dict:
    # the reference optimum is given (as the twin does): the quality figures'
    # own milp solve is not QAOA's work and MEO computes none
    solver = get_solver("qaoa", reps=reps)
    t0 = time.perf_counter()
    res = solver.solve(problem, seed=seed, reference_objective=reference)
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


# ------------------------------------------------------------------ kernel mode
_QOKIT_WORKER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from qokit.fur import choose_simulator, get_available_simulator_names
out = sys.stdout
print(json.dumps({"simulators": get_available_simulator_names("x")}), file=out, flush=True)
sim = None
for line in sys.stdin:
    msg = json.loads(line)
    if "edges" in msg:
        n = msg["n"]
        idx = np.arange(1 << n, dtype=np.int64)
        cost = np.zeros(1 << n)
        for u, v in msg["edges"]:
            cost -= ((idx >> u) ^ (idx >> v)) & 1
        del idx
        sim = choose_simulator(name="c")(n, costs=cost)
        del cost
        print(json.dumps({"ok": True}), file=out, flush=True)
    else:
        t0 = time.perf_counter()
        res = sim.simulate_qaoa(msg["gammas"], msg["betas"])
        e = float(sim.get_expectation(res))
        wall = time.perf_counter() - t0
        del res
        print(json.dumps({"wall_s": wall, "expectation": e}), file=out, flush=True)
"""


class QokitWorker:
    """QOKit's C simulator in a persistent process of its own virtual environment."""

    def __init__(self, python: str, threads: int) -> None:
        import json
        import os
        import subprocess

        self._json = json
        # its C kernels are ``#pragma omp parallel for`` loops: OpenMP's thread count
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.proc = subprocess.Popen([python, "-c", _QOKIT_WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.simulators = self._read()["simulators"]
        if "c" not in self.simulators:
            raise RuntimeError(f"QOKit's C simulator is not available ({self.simulators}); "
                               "link simulator.*.so to qokit/fur/c/csim/libcsim.so")

    def _read(self) -> dict:
        return self._json.loads(self.proc.stdout.readline())

    def _send(self, msg: dict) -> dict:
        self.proc.stdin.write(self._json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def load(self, n: int, edges: list) -> None:
        self._send({"n": n, "edges": [list(map(int, e)) for e in edges]})

    def evaluate(self, gammas, betas) -> dict:
        # QOKit's layer is exp(-i gamma/2 C) then exp(-i beta X_j): gamma_QOKit = 2 gamma_ours
        return self._send({"gammas": [2.0 * float(g) for g in gammas],
                           "betas": [float(b) for b in betas]})

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def maxcut_graph(n: int):
    import networkx as nx

    return nx.random_regular_graph(4, n, seed=n)


def maxcut_cost(n: int, edges) -> np.ndarray:
    """Minus the cut of every assignment (bit i = node i), float64."""
    idx = np.arange(1 << n, dtype=np.int64)
    cost = np.zeros(1 << n)
    for u, v in edges:
        cost -= ((idx >> u) ^ (idx >> v)) & 1
    return cost


def copy_bandwidth_bytes_per_s(mib: int = 256, repeats: int = 5) -> dict:
    """STREAM-style copy of ``mib`` MiB of float64: bytes read + written per second.

    Best of ``repeats``, measured twice: ``numpy.copyto`` (one thread) and a numba
    ``prange`` copy on numba's threads (2 here, as the kernel uses); the floor uses
    the larger, i.e. the stricter.
    """
    a = np.ones(mib * 2**20 // 8)
    b = np.empty_like(a)
    out = {}
    copies = [("numpy", lambda: np.copyto(b, a))]
    try:
        import numba

        @numba.njit(parallel=True, cache=True)
        def _copy(src, dst):
            for i in numba.prange(src.size):
                dst[i] = src[i]

        _copy(a, b)
        copies.append((f"numba x{numba.get_num_threads()}", lambda: _copy(a, b)))
    except ImportError:
        pass
    for name, fn in copies:
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[name] = 2 * a.nbytes / best
    return out


def kernel_bytes(n: int, layers: int, amp_bytes: int) -> dict:
    """Memory traffic an evaluation must make, in bytes: the floor's numerator.

    ``amp_bytes`` is 16 (float64 real + imaginary) or 8 (float32). The passes are
    those of the compiled kernel's plan (``solvers.statevector_jit``), which is
    also the fewest passes a kernel can make that keeps the state in memory and
    works in the cache: a pass applies the phase and the mixer of the qubits whose
    amplitudes fit one cache block together (16 qubits in the 2 MiB L2) or, for the
    higher qubits, of up to 8 qubits through a buffer; so 1 pass a layer up to 16
    qubits and 2 from 17 to 24. Each pass reads and writes the state, except the
    first layer's, which only writes it (the initial state is uniform); each layer
    reads the 1-byte cost index (MaxCut: integer levels) once; the expectation reads
    the state and the index once. Per amplitude:
    ``p * (passes * 2 * amp_bytes + 1) - amp_bytes + (amp_bytes + 1)``.
    """
    from solvers.statevector_jit import plan

    passes = 1 + len(plan(n, 1)[1])
    total = (1 << n) * (layers * (passes * 2 * amp_bytes + 1) + 1)
    return {"bytes": total, "passes_per_layer": passes}


def aer_setup(n: int, edges, layers: int, precision: str, threads: int):
    """Aer statevector simulator and the transpiled parametric QAOA circuit."""
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    # -cut = sum_edges (Z_u Z_v - 1) / 2: the ZZ part with weight 1/2 (constant is a phase)
    op = SparsePauliOp.from_sparse_list([("ZZ", [int(u), int(v)], 0.5) for u, v in edges],
                                        num_qubits=n)
    circ = qaoa_ansatz(op, reps=layers)
    circ.save_statevector()
    # the documented fast set-up: statevector method, gate fusion on (default, from 14
    # qubits), OpenMP threads = ours, parallel from statevector_parallel_threshold=14
    sim = AerSimulator(method="statevector", precision=precision, fusion_enable=True,
                       max_parallel_threads=threads)
    pm = generate_preset_pass_manager(optimization_level=1, backend=sim, seed_transpiler=0)
    return sim, pm.run(circ)


def aer_evaluate(sim, circ, cost: np.ndarray, gammas, betas) -> dict:
    values = {}
    for prm in circ.parameters:
        k = int(prm.name[prm.name.index("[") + 1 : -1])
        values[prm] = float(gammas[k]) if prm.name.startswith(_GAMMA) else float(betas[k])
    t0 = time.perf_counter()
    bound = circ.assign_parameters(values)
    state = np.asarray(sim.run(bound).result().get_statevector())
    e = float(cost @ (state.real**2 + state.imag**2))
    return {"wall_s": time.perf_counter() - t0, "expectation": e}


def kernel_main(args) -> None:
    import os

    import numba

    from solvers.statevector import QaoaKernel

    threads = numba.get_num_threads()
    print(machine())
    print(f"uptime load at start: {os.getloadavg()}; threads: ours (numba) {threads}, "
          f"Aer max_parallel_threads {threads}, QOKit OMP_NUM_THREADS {threads}")
    bw_all = copy_bandwidth_bytes_per_s()
    bw = max(bw_all.values())
    print("STREAM-style copy, 256 MiB, best of 5 (bytes read + written per second): "
          + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bw_all.items())
          + f"; floor uses {bw / 1e9:.1f} GB/s")
    worker = None
    if Path(args.qokit_python).exists():
        try:
            worker = QokitWorker(args.qokit_python, threads)
        except Exception as exc:  # benchmark-only optional comparison: report and go on
            print(f"QOKit skipped: {exc}")
    else:
        print(f"QOKit skipped: no virtual environment at {args.qokit_python} (benchmark-only; "
              "python -m venv /work/venvs/qokit && /work/venvs/qokit/bin/pip install qokit, "
              "then link simulator.*.so to qokit/fur/c/csim/libcsim.so)")
    rng = np.random.default_rng(0)
    print("| n | p | ours f64 s | QOKit c f64 s | Aer double s | QOKit / ours (f64) | "
          "Aer / ours (f64) | floor f64 s | ours / floor (f64) | ours f32 s | Aer single s | "
          "Aer / ours (f32) | QOKit / ours f32 | floor f32 s | ours / floor (f32) | "
          "max abs dE vs QOKit / Aer (f64) | load |")
    print("|" + "---|" * 17)
    for n in args.kernel_sizes:
        layers = args.layers
        edges = list(maxcut_graph(n).edges())
        cost = maxcut_cost(n, edges)
        kernel = QaoaKernel(cost)
        if worker is not None:
            worker.load(n, edges)
        aer = ({prec: aer_setup(n, edges, layers, prec, threads) for prec in ("double", "single")}
               if n in args.aer_sizes else {})
        gammas = rng.uniform(0.05, 0.5, layers)
        betas = rng.uniform(-0.6, 0.6, layers)
        # warm-up: buffers, compilation (cached), thread pools
        kernel.expectation(gammas, betas)
        kernel.expectation(gammas, betas, precise=True)
        if worker is not None:
            worker.evaluate(gammas, betas)
        runs: dict[str, list] = {"f64": [], "f32": [], "qokit": [], "aer_double": [],
                                 "aer_single": []}
        e64 = kernel.expectation(gammas, betas, precise=True)
        de = {"qokit": float("nan"), "aer": float("nan")}
        for r in range(args.repeats):
            t0 = time.perf_counter()
            kernel.expectation(gammas, betas, precise=True)
            runs["f64"].append(time.perf_counter() - t0)
            if worker is not None:
                q = worker.evaluate(gammas, betas)
                runs["qokit"].append(q["wall_s"])
                de["qokit"] = abs(q["expectation"] - e64)
            t0 = time.perf_counter()
            kernel.expectation(gammas, betas)
            runs["f32"].append(time.perf_counter() - t0)
            if aer and r < args.aer_repeats:
                a = aer_evaluate(*aer["double"], cost, gammas, betas)
                runs["aer_double"].append(a["wall_s"])
                de["aer"] = abs(a["expectation"] - e64)
                runs["aer_single"].append(aer_evaluate(*aer["single"], cost, gammas,
                                                       betas)["wall_s"])
        kernel.release()
        nan = float("nan")
        med = {k: (statistics.median(v) if v else nan) for k, v in runs.items()}
        f64 = kernel_bytes(n, layers, 16)
        f32 = kernel_bytes(n, layers, 8)
        fl64, fl32 = f64["bytes"] / bw, f32["bytes"] / bw
        print(f"| {n} | {layers} | {med['f64']:.4f} | {med['qokit']:.4f} | "
              f"{med['aer_double']:.3f} | {med['qokit'] / med['f64']:.1f}x | "
              f"{med['aer_double'] / med['f64']:.1f}x | {fl64:.4f} | "
              f"{med['f64'] / fl64:.2f}x | {med['f32']:.4f} | {med['aer_single']:.3f} | "
              f"{med['aer_single'] / med['f32']:.1f}x | {med['qokit'] / med['f32']:.1f}x | "
              f"{fl32:.4f} | {med['f32'] / fl32:.2f}x | "
              f"{de['qokit']:.1e} / {de['aer']:.1e} | {os.getloadavg()[0]:.1f} |", flush=True)
        print(f"  runs: {({k: [round(x, 4) for x in v] for k, v in runs.items()})}; "
              f"passes a layer {f64['passes_per_layer']}", flush=True)
        del kernel, cost, aer
    if worker is not None:
        worker.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="store_true",
                    help="expectation-evaluation benchmark against QOKit and Aer")
    ap.add_argument("--kernel-sizes", type=int, nargs="*", default=[16, 20, 22, 24])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--aer-sizes", type=int, nargs="*", default=[16, 20, 22, 24])
    ap.add_argument("--aer-repeats", type=int, default=1)
    ap.add_argument("--qokit-python", default="/work/venvs/qokit/bin/python")
    ap.add_argument("--sizes", type=int, nargs="*", default=[8, 12, 16, 20])
    ap.add_argument("--reps", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--statevector-sizes", type=int, nargs="*", default=[8, 12])
    ap.add_argument("--largest", type=int, nargs="*", default=[])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.kernel:
        kernel_main(args)
        return
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
            mine = median_runs(lambda s, p=problem, r=reps, o=opt: ours(p, r, s, o),
                               args.repeats)
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
