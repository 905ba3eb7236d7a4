"""Benchmark: one SimBench year, the twin against pandapower's fastest set-up and the
lightsim2grid batch ceiling, all in the same run.

For each grid (default: ``1-LV-rural1--0-sw`` and ``1-MV-rural--0-sw``), with control
off and the network's own loads and generators on SimBench's 2016 profiles (35,136
quarter hours), these sides run, each in its own Python process (so peak RSS is its
own; the SimBench net comes from the twin's disk cache and its loading is not timed):

- ``twin``: ``twin.engine.build`` + ``simulate`` (SimPy step by step, lightsim2grid's
  Newton-Raphson called directly, results derived at the end), then the run folder
  written (timed apart);
- ``pp_fast``: pandapower's ``run_timeseries`` as its documentation sets it up
  (``simbench.apply_const_controllers`` with ``DFData``), with the logged variables
  passed to the ``OutputWriter`` constructor. That keeps pandapower's fast path
  (``recycle`` with ``only_v_results`` and the end-of-run batch read of branch results;
  it picks lightsim2grid when installed);
- ``pp_numpy``: the same, with a small NumPy ``DataSource`` instead of ``DFData`` (one
  row slice a step instead of a pandas lookup): the fastest set-up a pandapower user
  can write without leaving ``run_timeseries``;
- ``pp_log_variable`` (only with ``--with-slow-writer``): the set-up this benchmark
  used before, ``OutputWriter.log_variable(...)`` after construction. In pandapower
  3.5 that stores 5-tuples, so ``_check_output_writer_recyclability`` turns the fast
  read off and every ``res_*`` table is extracted each step. It is kept only to show
  how large that handicap was; no ratio is quoted against it;
- ``ls_batch``: the ceiling, lightsim2grid's batch ``TimeSeriesCPP`` (NR-KLU, one
  thread, each step warm-started from the previous one) over the same injections on a
  ``LSGrid`` converted from the same net (closed bus-bus switches fused, open line
  switches given an auxiliary bus, as pandapower models them); ``ls_sweep2``:
  lightsim2grid's ``InjectionSweepCPP`` on both cores (independent steps, two threads),
  the batch limit of this 2-core machine.

The results of every side are compared with pandapower's (max abs difference of bus
voltages and line loadings; trafo loadings too for the pandapower sides).
``--profile-days N`` also profiles ``pp_fast`` over N days with cProfile and prints the
top functions, to check where its time goes.

Usage::

    python benchmarks/bench_twin_year.py                       # both grids, full year
    python benchmarks/bench_twin_year.py --codes 1-LV-rural1--0-sw --days 30
    python benchmarks/bench_twin_year.py --json out.json --profile-days 30
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
PP_SIDES = ("pp_fast", "pp_numpy", "pp_log_variable")
LS_SIDES = ("ls_batch", "ls_sweep2")
LOGGED = [("res_bus", "vm_pu"), ("res_line", "loading_percent"), ("res_trafo", "loading_percent")]


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


def _net(code: str):
    from twin.grid import build_network
    from twin.scenario import SimbenchGridSpec

    return build_network(SimbenchGridSpec(code=code))  # = simbench.get_simbench_net(code)


def side_twin(code: str, days: int, out_dir: Path) -> dict[str, float]:
    """One twin run in this process; saves its results to ``out_dir``."""
    from twin.engine import build, simulate, timeseries_series
    from twin.recorder import events_table, write_timeseries
    from twin.store import write_run

    scenario = _scenario(code, days)
    # warm the process caches (net and profiles), as the other sides have their net loaded
    _net(code)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    sim = build(scenario)
    out = simulate(sim)
    engine_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    blocks = timeseries_series(sim, out)
    rows = []

    def streamed(path: Path) -> None:  # as twin.engine.run writes it
        rows.append(write_timeseries(path, out.recording.time_s, blocks))

    write_run(
        out_dir / "store", "bench", manifest={"run_id": "bench"}, kpis=out.kpis,
        timeseries=streamed, events=events_table(out.recording.events),
    )
    write_s = time.perf_counter() - t1
    n = out.recording.n_steps
    np.save(out_dir / "twin_vm.npy", out.derived.vm_pu)
    np.save(out_dir / "twin_line.npy", out.derived.line_loading_percent)
    np.save(out_dir / "twin_trafo.npy", out.derived.trafo_loading_percent)
    t = out.timings
    return {
        "n_steps": n,
        "total_s": engine_s,
        "build_s": t["build_s"],
        "simulate_s": t["simulate_s"],
        "solve_s": t["solve_s"],
        "derive_s": t["derive_s"],
        "write_s": write_s,
        "rows": rows[0],
        "overhead_us_per_step": (t["simulate_s"] - t["solve_s"]) / n * 1e6,
        "solve_us_per_step": t["solve_s"] / n * 1e6,
        "us_per_step": engine_s / n * 1e6,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_run_mb": rss_before,
        "converged_steps": int(out.recording.converged.sum()),
    }


class NumpyData:
    """A pandapower ``DataSource`` over one (time step x element) NumPy array."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float64)

    def get_time_step_value(self, time_step, profile_name, scale_factor=1.0):
        return self.values[time_step, profile_name] * scale_factor


def _numpy_const_controllers(net, values) -> None:
    """One ConstControl per (element, variable) reading a NumPy array (no pandas)."""
    from pandapower.control import ConstControl
    from pandapower.timeseries.data_source import DataSource

    class _Source(NumpyData, DataSource):
        pass

    for (element, variable), frame in values.items():
        if frame.shape[1] == 0:
            continue
        ConstControl(
            net, element=element, variable=variable, element_index=frame.columns.to_numpy(),
            data_source=_Source(frame.to_numpy()), profile_name=np.arange(frame.shape[1]),
            recycle=True,
        )


def side_pandapower(kind: str, code: str, days: int, out_dir: Path) -> dict[str, float]:
    """pandapower's run_timeseries in one of its set-ups; saves its results."""
    import simbench
    from pandapower.timeseries import OutputWriter, run_timeseries

    n = days * 96
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _net(code)
        rss_before = _peak_rss_mb()
        t0 = time.perf_counter()
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        if kind == "pp_numpy":
            _numpy_const_controllers(net, values)
        else:
            simbench.apply_const_controllers(net, values)
        if kind == "pp_log_variable":
            writer = OutputWriter(net, range(n), output_path=None)
            for table, variable in LOGGED:
                writer.log_variable(table, variable)
        else:
            writer = OutputWriter(net, range(n), output_path=None, log_variables=list(LOGGED))
        setup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        run_timeseries(net, time_steps=range(n), verbose=False)
        run_s = time.perf_counter() - t1
    out = writer.output
    np.save(out_dir / f"{kind}_vm.npy", out["res_bus.vm_pu"].to_numpy())
    np.save(out_dir / f"{kind}_line.npy", out["res_line.loading_percent"].to_numpy())
    np.save(out_dir / f"{kind}_trafo.npy", out["res_trafo.loading_percent"].to_numpy())
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


def lightsim_ready_net(net):
    """A copy of ``net`` that lightsim2grid's converter takes, electrically the same.

    Closed bus-bus switches fuse their buses; an open line switch moves that line end to
    a new auxiliary bus (pandapower's own model of it: the line stays energised from the
    other end); closed line and trafo switches are dropped. Returns the copy and, per
    original bus index, its position in the copy's (continuous) bus index.
    """
    import pandapower as pp

    net = pp.toolbox.copy.deepcopy(net) if hasattr(pp.toolbox, "copy") else __import__(
        "copy").deepcopy(net)
    original = net.bus.index.to_numpy()
    net.bus["orig_index"] = original
    sw = net.switch
    for _, row in sw[(sw.et == "l") & ~sw.closed].iterrows():
        line = int(row.element)
        aux = pp.create_bus(net, vn_kv=net.bus.at[int(row.bus), "vn_kv"], name="aux open switch")
        net.bus.at[aux, "orig_index"] = -1
        column = "from_bus" if net.line.at[line, "from_bus"] == row.bus else "to_bus"
        net.line.at[line, column] = aux
    bb = sw[(sw.et == "b") & sw.closed]
    for _, row in bb.iterrows():
        keep, drop = int(row.bus), int(row.element)
        if keep != drop and drop in net.bus.index and keep in net.bus.index:
            pp.toolbox.fuse_buses(net, keep, drop)
    net.switch.drop(net.switch.index, inplace=True)
    for table in ("sgen", "load", "gen", "storage", "ext_grid"):
        for column in ("min_p_mw", "max_p_mw", "min_q_mvar", "max_q_mvar"):
            if column in net[table]:
                net[table][column] = net[table][column].astype(float)
    mapping = pp.toolbox.create_continuous_bus_index(net, start=0, store_old_index=True)
    position = {}
    for new, orig in zip(net.bus.index, net.bus["orig_index"], strict=True):
        if orig >= 0:
            position[int(orig)] = int(new)
    # fused buses share the kept bus's voltage
    for _, row in bb.iterrows():
        position[int(row.element)] = position.get(int(row.bus), -1)
    del mapping
    return net, np.array([position[int(b)] for b in original])


def side_lightsim(kind: str, code: str, days: int, out_dir: Path) -> dict[str, float]:
    """lightsim2grid's batch classes over the same injections; saves its results."""
    import simbench
    from lightsim2grid.lightsim2grid_cpp import InjectionSweepCPP, TimeSeriesCPP
    from lightsim2grid.network import init_from_pandapower

    n = days * 96
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _net(code)
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        rss_before = _peak_rss_mb()
        t0 = time.perf_counter()
        ls_net, bus_pos = lightsim_ready_net(net)
        grid = init_from_pandapower(ls_net)

        def block(element: str, variable: str, index) -> np.ndarray:
            frame = values.get((element, variable))
            out = np.empty((n, len(index)))
            if frame is None or frame.shape[1] == 0:
                out[:] = ls_net[element][variable].to_numpy() if len(index) else 0.0
                return out
            return np.ascontiguousarray(frame.loc[:, index].to_numpy()[:n], dtype=np.float64)

        # lightsim2grid models the external grid as one more generator (the slack), after
        # pandapower's gens; its active power is the slack's unknown, so 0 is given
        n_gen = len(grid.get_generators())
        gen_p = np.zeros((n, n_gen))
        gen_p[:, : len(ls_net.gen)] = block("gen", "p_mw", ls_net.gen.index)
        sgen_p = block("sgen", "p_mw", ls_net.sgen.index)
        load_p = block("load", "p_mw", ls_net.load.index)
        load_q = block("load", "q_mvar", ls_net.load.index)
        slack_vm = float(ls_net.ext_grid.vm_pu.iloc[0])
        v0 = np.full(len(ls_net.bus), slack_vm, dtype=complex)
        v_init = grid.ac_pf(v0, 30, 1e-8)
        if v_init.size == 0:
            v_init = grid.dc_pf(v0, 30, 1e-8)
        setup_s = time.perf_counter() - t0
        computer = TimeSeriesCPP(grid) if kind == "ls_batch" else InjectionSweepCPP(grid)
        if kind == "ls_sweep2":
            computer.nb_thread = 2
        t1 = time.perf_counter()
        status = computer.compute_Vs(gen_p, sgen_p, load_p, load_q, v_init, 30, 1e-8)
        solve_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        amps_ka = computer.compute_flows()
        flows_s = time.perf_counter() - t2
        vs = computer.get_voltages()
    vm = np.abs(vs)[:, bus_pos]
    n_line = len(ls_net.line)
    line_loading = amps_ka[:, :n_line] / (
        ls_net.line.max_i_ka.to_numpy() * ls_net.line.df.to_numpy() * ls_net.line.parallel.to_numpy()
    ) * 100.0
    line_loading[:, ~ls_net.line.in_service.to_numpy()] = np.nan
    np.save(out_dir / f"{kind}_vm.npy", vm)
    np.save(out_dir / f"{kind}_line.npy", line_loading)
    return {
        "n_steps": n,
        "status": int(status),
        "converged_steps": int(computer.nb_converged()),
        "setup_s": setup_s,
        "solve_s": solve_s,
        "flows_s": flows_s,
        "total_s": solve_s + flows_s,
        "us_per_step": (solve_s + flows_s) / n * 1e6,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_run_mb": rss_before,
    }


def profile_pandapower(code: str, days: int, top: int = 12) -> list[str]:
    """cProfile of ``pp_fast`` over ``days``: the ``top`` functions by own time."""
    import cProfile
    import io
    import pstats

    import simbench
    from pandapower.timeseries import OutputWriter, run_timeseries

    n = days * 96
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _net(code)
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        simbench.apply_const_controllers(net, values)
        OutputWriter(net, range(n), output_path=None, log_variables=list(LOGGED))
        profiler = cProfile.Profile()
        profiler.enable()
        run_timeseries(net, time_steps=range(n), verbose=False)
        profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in stream.getvalue().splitlines() if ln.strip()]
    return lines


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


def _diff(out_dir: Path, side: str, reference: str, name: str) -> tuple[float, int] | None:
    a_path, b_path = out_dir / f"{side}_{name}.npy", out_dir / f"{reference}_{name}.npy"
    if not (a_path.exists() and b_path.exists()):
        return None
    a, b = np.load(a_path), np.load(b_path)
    if a.shape != b.shape:
        raise RuntimeError(f"{side} {name}: shape {a.shape} != {reference} {b.shape}")
    both = ~(np.isnan(a) | np.isnan(b))
    worst = float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0
    return worst, int((np.isnan(a) != np.isnan(b)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", nargs="+", default=list(DEFAULT_CODES))
    parser.add_argument("--days", type=int, default=366, help="366 = the full SimBench year")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the twin and of the lightsim2grid sides (best kept)")
    parser.add_argument("--with-slow-writer", action="store_true",
                        help="also run the old log_variable set-up (for the record)")
    parser.add_argument("--profile-days", type=int, default=0,
                        help="profile pp_fast over this many days (0: off)")
    parser.add_argument("--json", type=Path, help="write all numbers here")
    parser.add_argument("--side", choices=["twin", *PP_SIDES, *LS_SIDES], help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:
        if args.side == "twin":
            result = side_twin(args.codes[0], args.days, args.out_dir)
        elif args.side in PP_SIDES:
            result = side_pandapower(args.side, args.codes[0], args.days, args.out_dir)
        else:
            result = side_lightsim(args.side, args.codes[0], args.days, args.out_dir)
        print(json.dumps(result))
        return

    report: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu(),
                    "load_avg_at_start": os.getloadavg()[0], "python": platform.python_version()},
        "versions": _versions(),
        "grids": {},
    }
    pp_sides = ["pp_fast", "pp_numpy"] + (["pp_log_variable"] if args.with_slow_writer else [])
    for code in args.codes:
        entry: dict[str, object] = {}
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = Path(tmp)
            for kind in ("twin", *LS_SIDES):
                runs = [_side(kind, code, args.days, out_dir) for _ in range(args.repeat)]
                entry[kind] = min(runs, key=lambda r: r["total_s"])
                entry[f"{kind}_all_total_s"] = [r["total_s"] for r in runs]
            for kind in pp_sides:
                entry[kind] = _side(kind, code, args.days, out_dir)
            checks = {}
            for side in ("twin", "pp_numpy", "pp_log_variable", *LS_SIDES):
                for name in ("vm", "line", "trafo"):
                    d = _diff(out_dir, side, "pp_fast", name)
                    if d is not None:
                        checks[f"{side}_vs_pp_fast_{name}"] = {"max_abs": d[0], "nan_mismatch": d[1]}
            entry["differences"] = checks
        best_pp = min(("pp_fast", "pp_numpy"), key=lambda k: entry[k]["total_s"])
        twin_s = entry["twin"]["total_s"]
        entry["best_pandapower"] = best_pp
        entry["speedup_vs_best_pandapower"] = entry[best_pp]["total_s"] / twin_s
        entry["speedup_vs_best_pandapower_run_only"] = entry[best_pp]["run_s"] / twin_s
        entry["twin_over_ls_batch"] = twin_s / entry["ls_batch"]["total_s"]
        entry["twin_over_ls_sweep2"] = twin_s / entry["ls_sweep2"]["total_s"]
        report["grids"][code] = entry
        worst_vm = max(v["max_abs"] for k, v in checks.items() if k.endswith("_vm"))
        print(
            f"{code}: {entry['twin']['n_steps']} steps | twin {twin_s:.2f} s "
            f"({entry['twin']['us_per_step']:.1f} us/step) | pp_fast "
            f"{entry['pp_fast']['total_s']:.1f} s ({entry['pp_fast']['us_per_step']:.0f} us/step run)"
            f" | pp_numpy {entry['pp_numpy']['total_s']:.1f} s "
            f"({entry['pp_numpy']['us_per_step']:.0f} us/step run) | ls_batch "
            f"{entry['ls_batch']['total_s']:.2f} s | ls_sweep2 {entry['ls_sweep2']['total_s']:.2f} s"
            f" | twin vs best pandapower ({best_pp}) {entry['speedup_vs_best_pandapower']:.1f}x"
            f" | twin / ceiling {entry['twin_over_ls_batch']:.2f} (1 thread), "
            f"{entry['twin_over_ls_sweep2']:.2f} (2 threads) | worst |dvm| {worst_vm:.1e} pu",
            flush=True,
        )
        if args.profile_days:
            entry["pp_fast_profile"] = profile_pandapower(code, args.profile_days)
            print("\n".join(entry["pp_fast_profile"][:25]), flush=True)
        report["machine"]["load_avg_at_end"] = os.getloadavg()[0]
        if args.json:  # after each grid, so a long run keeps what it measured
            args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
