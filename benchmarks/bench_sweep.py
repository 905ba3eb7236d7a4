"""Benchmark: an 8-run what-if sweep, serial against 2 workers, and the per-run overhead.

Every run is a real twin run (the default scenario's SimBench LV feeder, PV and battery
under self-consumption, ``--duration`` simulated at 15 min), written into a fresh
temporary results store. Measured, each ``--repeat`` times (median reported):

- ``direct``: ``twin.run`` called in a loop in this process: the runs' own cost;
- ``serial``: ``run_sweep`` with one local worker process;
- ``local2``: ``run_sweep`` with two local worker processes;
- ``dask2``: ``run_sweep`` on a Dask LocalCluster with two single-threaded workers
  (cluster start and shutdown included);
- ``overhead``: a sweep of 8 one-step runs with one worker, minus the runs' own
  wall time, per run: what the sweep machinery costs a run (validation, scheduling,
  hand-over to the worker, bookkeeping);
- ``ceiling``: two processes against one on a pure-Python CPU burn, the speed-up the
  machine itself gives two workers at that moment (it is shared: when other processes
  hold the CPUs, no sweep can beat this).

Usage::

    python benchmarks/bench_sweep.py [--duration 2d] [--repeat 3]

Before timing, ``preflight`` loads the network into this process (used by ``direct``)
and a throwaway sweep starts the fork server that local workers fork from (it imports
the twin once per sweep process). Each timed sweep starts fresh workers, which load the
network themselves (from the on-disk pickle cache): that warm-up is part of
``serial``, ``local2`` and ``dask2``, not of ``direct``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import twin
from twin.scenario import scenario_from_dict
from twin.study import (
    DaskExecutor,
    LocalExecutor,
    connect_dask,
    load_sweep,
    preflight,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[1]


def _sweep_file(folder: Path, duration: str, seeds: int) -> Path:
    path = folder / "bench.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: bench
        scenario: {ROOT / "scenarios" / "default.yaml"}
        set: {{time.duration: {duration}}}
        vary:
          grid:
            seed: {list(range(1, seeds + 1))}
        """))
    return path


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def _parallel_ceiling(n: int = 6_000_000) -> float:
    """Speed-up of two processes over one on a pure-Python CPU burn: what this machine
    gives two workers right now (about 2 on an idle 2-CPU machine, less when other
    processes hold the CPUs)."""
    import multiprocessing

    t0 = time.perf_counter()
    _burn(n)
    _burn(n)
    serial = time.perf_counter() - t0
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # start both processes before timing
        t0 = time.perf_counter()
        pool.map(_burn, [n, n])
        parallel = time.perf_counter() - t0
    return serial / parallel


def _time_sweep(sweep, executor_factory) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        executor = executor_factory()
        t0 = time.perf_counter()
        try:
            report = run_sweep(sweep, store=Path(tmp) / "runs", sweep_dir=Path(tmp) / "sw",
                               executor=executor)
        finally:
            executor.close()
        wall = time.perf_counter() - t0
        if report.count("done") != len(sweep.runs):
            raise RuntimeError(f"not every run finished: {report.outcomes}")
        return wall, sum(o.wall_time_s for o in report.outcomes)


def _time_direct(sweep) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for run in sweep.runs:
            twin.run(scenario_from_dict(run.scenario, run.source), store=tmp, seed=run.seed)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="2d", help="simulated time per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sweep = load_sweep(_sweep_file(Path(tmp), args.duration, 8))
        tiny_dir = Path(tmp) / "tiny"
        tiny_dir.mkdir()
        tiny = load_sweep(_sweep_file(tiny_dir, "15min", 8))
        preflight(sweep)  # validates; loads the network into this process (for direct)
        _time_sweep(tiny, lambda: LocalExecutor(1))  # starts the fork server (once)

        results: dict[str, list[float]] = {"direct": [], "serial": [], "local2": [],
                                           "dask2": [], "overhead": [], "ceiling": []}
        load_before = os.getloadavg()
        for _ in range(args.repeat):
            results["ceiling"].append(_parallel_ceiling())
            results["direct"].append(_time_direct(sweep))
            results["serial"].append(_time_sweep(sweep, lambda: LocalExecutor(1))[0])
            results["local2"].append(_time_sweep(sweep, lambda: LocalExecutor(2))[0])
            if not args.skip_dask:
                results["dask2"].append(
                    _time_sweep(sweep, lambda: DaskExecutor(*connect_dask(None, workers=2)))[0]
                )
            wall, runs_wall = _time_sweep(tiny, lambda: LocalExecutor(1))
            results["overhead"].append((wall - runs_wall) / len(tiny.runs))
        load_after = os.getloadavg()

    med = {k: statistics.median(v) for k, v in results.items() if v}
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "duration": args.duration,
        "repeat": args.repeat,
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "all_s": {k: [round(x, 3) for x in v] for k, v in results.items() if v},
        "speedup_local2_vs_serial": round(med["serial"] / med["local2"], 2),
        "speedup_local2_vs_serial_per_repeat": [
            round(a / b, 2) for a, b in zip(results["serial"], results["local2"], strict=True)
        ],
        "parallel_ceiling_2_procs_cpu_burn": round(med["ceiling"], 2),
        "speedup_dask2_vs_serial": round(med["serial"] / med["dask2"], 2) if "dask2" in med else None,
        "sweep_cost_per_run_s (serial - direct)/8": round((med["serial"] - med["direct"]) / 8, 3),
        "overhead_per_run_s (1-step runs)": round(med["overhead"], 3),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
