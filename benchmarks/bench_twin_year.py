"""Benchmark: one SimBench year, the twin against pandapower's ``run_timeseries``.

For each grid (default: ``1-LV-rural1--0-sw`` and ``1-MV-rural--0-sw``), with control
off and the network's own loads and generators on SimBench's 2016 profiles (35,136
quarter hours):

- **twin**: ``twin.engine.build`` + ``simulate`` (SimPy step by step, lightsim2grid
  solved directly, results derived at the end), then writing the run folder;
- **pandapower**: ``run_timeseries`` with its defaults (it uses lightsim2grid when
  installed) over the same net, fed the same absolute profiles through
  ``simbench.apply_const_controllers``, logging bus voltages and line/trafo loadings.

Each side runs in its own Python process (so peak RSS is its own; the SimBench net comes
from the twin's disk cache on both sides and its loading is not timed). The results of
both are compared (max abs difference of vm_pu and loading_percent). pandapower runs once
per grid (about 70 s a year); the twin ``--repeat`` times (the best is reported, the
machine is shared).

Usage::

    python benchmarks/bench_twin_year.py                       # both grids, full year
    python benchmarks/bench_twin_year.py --codes 1-LV-rural1--0-sw --days 30
    python benchmarks/bench_twin_year.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

DEFAULT_CODES = ("1-LV-rural1--0-sw", "1-MV-rural--0-sw")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _scenario(code: str, days: int):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict(
        {
            "name": "bench-year",
            "time": {"start": "2016-01-01T00:00:00", "duration": f"{days}d", "step": "15min"},
            "grid": {"source": "simbench", "code": code, "backend": "lightsim2grid"},
            "control": {"mode": "off"},
        }
    )


def side_twin(code: str, days: int, out_dir: Path) -> dict[str, float]:
    """One twin run in this process; saves its results to ``out_dir``."""
    from twin.engine import build, simulate, timeseries_series
    from twin.grid import build_network, simbench_element_profiles
    from twin.recorder import events_table, timeseries_table
    from twin.scenario import SimbenchGridSpec
    from twin.store import write_run

    scenario = _scenario(code, days)
    # warm the process caches (net and profiles), as pandapower's side has its net loaded
    build_network(SimbenchGridSpec(code=code))
    simbench_element_profiles(code)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    sim = build(scenario)
    out = simulate(sim)
    engine_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    table = timeseries_table(out.recording.time_s, timeseries_series(sim, out))
    write_run(
        out_dir / "store", "bench", manifest={"run_id": "bench"}, kpis=out.kpis,
        timeseries=table, events=events_table(out.recording.events),
    )
    write_s = time.perf_counter() - t1
    n = out.recording.n_steps
    np.save(out_dir / "twin_vm.npy", out.derived.vm_pu)
    np.save(out_dir / "twin_line.npy", out.derived.line_loading_percent)
    np.save(out_dir / "twin_trafo.npy", out.derived.trafo_loading_percent)
    t = out.timings
    return {
        "n_steps": n,
        "engine_s": engine_s,
        "build_s": t["build_s"],
        "simulate_s": t["simulate_s"],
        "solve_s": t["solve_s"],
        "derive_s": t["derive_s"],
        "write_s": write_s,
        "rows": table.num_rows,
        "overhead_us_per_step": (t["simulate_s"] - t["solve_s"]) / n * 1e6,
        "solve_us_per_step": t["solve_s"] / n * 1e6,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_run_mb": rss_before,
        "converged_steps": int(out.recording.converged.sum()),
    }


def side_pandapower(code: str, days: int, out_dir: Path) -> dict[str, float]:
    """pandapower's run_timeseries (defaults) in this process; saves its results."""
    import simbench
    from pandapower.timeseries import OutputWriter, run_timeseries

    from twin.grid import build_network
    from twin.scenario import SimbenchGridSpec

    n = days * 96
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = build_network(SimbenchGridSpec(code=code))  # = simbench.get_simbench_net(code)
        rss_before = _peak_rss_mb()
        t0 = time.perf_counter()
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        simbench.apply_const_controllers(net, values)
        writer = OutputWriter(net, range(n), output_path=None)
        writer.log_variable("res_bus", "vm_pu")
        writer.log_variable("res_line", "loading_percent")
        writer.log_variable("res_trafo", "loading_percent")
        setup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        run_timeseries(net, time_steps=range(n), verbose=False)
        run_s = time.perf_counter() - t1
    out = writer.output
    np.save(out_dir / "pp_vm.npy", out["res_bus.vm_pu"].to_numpy())
    np.save(out_dir / "pp_line.npy", out["res_line.loading_percent"].to_numpy())
    np.save(out_dir / "pp_trafo.npy", out["res_trafo.loading_percent"].to_numpy())
    return {
        "n_steps": n,
        "setup_s": setup_s,
        "run_s": run_s,
        "total_s": setup_s + run_s,
        "us_per_step": run_s / n * 1e6,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_run_mb": rss_before,
        "lightsim2grid_used": bool(net._options.get("lightsim2grid", False)),
    }


def _side(kind: str, code: str, days: int, out_dir: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--side", kind, "--codes", code, "--days", str(days),
           "--out-dir", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _versions() -> dict[str, str]:
    import importlib.metadata

    names = ("pandapower", "lightsim2grid", "simbench", "simpy", "numpy", "pandas", "pyarrow")
    return {n: importlib.metadata.version(n) for n in names}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", nargs="+", default=list(DEFAULT_CODES))
    parser.add_argument("--days", type=int, default=366, help="366 = the full SimBench year")
    parser.add_argument("--repeat", type=int, default=3, help="twin runs per grid (best kept)")
    parser.add_argument("--json", type=Path, help="write all numbers here")
    parser.add_argument("--side", choices=["twin", "pandapower"], help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:
        fn = side_twin if args.side == "twin" else side_pandapower
        print(json.dumps(fn(args.codes[0], args.days, args.out_dir)))
        return

    report: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu(),
                    "load_avg_at_start": os.getloadavg()[0], "python": platform.python_version()},
        "versions": _versions(),
        "grids": {},
    }
    for code in args.codes:
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = Path(tmp)
            twin_runs = [_side("twin", code, args.days, out_dir) for _ in range(args.repeat)]
            best = min(twin_runs, key=lambda r: r["engine_s"])
            pp = _side("pandapower", code, args.days, out_dir)
            diffs = {}
            for name in ("vm", "line", "trafo"):
                a = np.load(out_dir / f"twin_{name}.npy")
                b = np.load(out_dir / f"pp_{name}.npy")
                diffs[f"max_abs_diff_{name}"] = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
                diffs[f"nan_mismatch_{name}"] = int((np.isnan(a) != np.isnan(b)).sum())
        entry = {
            "twin": best,
            "twin_all_engine_s": [r["engine_s"] for r in twin_runs],
            "pandapower": pp,
            "speedup_engine": pp["total_s"] / best["engine_s"],
            "speedup_with_write": pp["total_s"] / (best["engine_s"] + best["write_s"]),
            **diffs,
        }
        report["grids"][code] = entry
        print(
            f"{code}: {best['n_steps']} steps | twin {best['engine_s']:.2f} s "
            f"(solve {best['solve_us_per_step']:.1f} us/step, overhead "
            f"{best['overhead_us_per_step']:.1f} us/step, write {best['write_s']:.2f} s, "
            f"peak RSS {best['peak_rss_mb']:.0f} MB) | pandapower {pp['total_s']:.1f} s "
            f"({pp['us_per_step']:.0f} us/step, peak RSS {pp['peak_rss_mb']:.0f} MB) | "
            f"speed-up {entry['speedup_engine']:.1f}x ({entry['speedup_with_write']:.1f}x with "
            f"the run folder written) | max |dvm| {diffs['max_abs_diff_vm']:.2e} pu, "
            f"max |dloading| {diffs['max_abs_diff_line']:.2e} %",
            flush=True,
        )
        report["machine"]["load_avg_at_end"] = os.getloadavg()[0]
        if args.json:  # after each grid, so a long run keeps what it measured
            args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
