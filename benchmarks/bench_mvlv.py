"""Benchmark: real grid size. ``1-MVLV-urban-all-0-sw`` (10,458 buses, 11,542 loads,
806 sgens) with the twin, a year and a week, against pandapower on a sample.

Sides, each in its own Python process (peak RSS is its own, ``ru_maxrss``; the SimBench
net comes from the twin's disk cache):

- ``twin_year``: a full year at 15 minutes (2016, 35,136 steps), control off, through
  ``twin.engine.run`` (run folder written). A run whose estimated memory exceeds what
  the machine has available is refused before it allocates (exit 2 in the CLI); the
  side then reports the refusal and its estimate instead of a time;
- ``twin_week``: the same for one week (672 steps), timed by phase;
- ``pp_sample``: pandapower's ``run_timeseries`` in its fastest set-up (the NumPy
  ``DataSource`` of ``bench_twin_year.py``, logged variables passed to the
  ``OutputWriter`` constructor) over the first ``--pp-steps`` steps (500), extrapolated
  to the year; its element values are the twin's window of SimBench's absolute
  profiles (identical to ``simbench.get_absolute_values``, without building the year);
- ``ems_week``: one week with the EMS (HiGHS MILP, plan step 1 h, horizon 12 h,
  re-planned every 4 h) controlling ``--assets`` added assets (default 200: PV, batteries
  and EV fleets in equal thirds, on LV load buses spread over the grid).

The twin's ms/step (year, or the week when the year is refused) against pandapower's
sample gives the ratio. Results: JSON (``--json``) and a Markdown block on stdout.

Usage::

    python benchmarks/bench_mvlv.py --json benchmarks/results/mvlv.json
    python benchmarks/bench_mvlv.py --sides twin_week,pp_sample
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

CODE = "1-MVLV-urban-all-0-sw"
SIDES = ("twin_year", "twin_week", "pp_sample", "ems_week")
YEAR_STEPS = 35_136


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _scenario(days: int, start: str = "2016-01-01T00:00:00", assets=(), control=None):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "bench-mvlv",
        "time": {"start": start, "duration": f"{days}d", "step": "15min"},
        "grid": {"source": "simbench", "code": CODE, "backend": "lightsim2grid"},
        "assets": list(assets),
        "control": control or {"mode": "off"},
    })


def _twin(scenario) -> dict:
    from twin import engine
    from twin.errors import ScenarioError

    t0 = time.perf_counter()
    try:
        sim = engine.build(scenario)
    except ScenarioError as exc:
        return {"refused": str(exc), "refused_after_s": time.perf_counter() - t0,
                "peak_rss_mb": _peak_rss_mb()}
    estimate = engine.memory_estimate(scenario, sim.model, sim.families["network"])
    out = engine.simulate(sim)
    run_s = time.perf_counter() - t0
    from twin.recorder import write_timeseries

    with tempfile.TemporaryDirectory() as store:
        t1 = time.perf_counter()
        rows = write_timeseries(Path(store) / "t.parquet", out.recording.time_s,
                                engine.timeseries_series(sim, out))
        write_s = time.perf_counter() - t1
    n = out.recording.n_steps
    t = out.timings
    return {
        "n_steps": n, "total_s": run_s + write_s, "build_s": t["build_s"],
        "simulate_s": t["simulate_s"], "solve_s": t["solve_s"], "derive_s": t["derive_s"],
        "write_s": write_s, "rows": rows, "ms_per_step": (t["simulate_s"] + t["derive_s"]) / n * 1e3,
        "solve_ms_per_step": t["solve_s"] / n * 1e3, "peak_rss_mb": _peak_rss_mb(),
        "estimate_gib": estimate.total_bytes / 2**30,
        "converged_steps": int(out.recording.converged.sum()),
        "kpis": {k: out.kpis.get(k) for k in ("energy_import_mwh", "losses_mwh",
                                               "max_line_loading_percent", "n_steps")},
        "controller": {k: v for k, v in t.items() if k not in
                       ("build_s", "simulate_s", "solve_s", "derive_s")},
    }


def side_twin_year(args) -> dict:
    return _twin(_scenario(366))


def side_twin_week(args) -> dict:
    return _twin(_scenario(7, start="2016-03-07T00:00:00"))


def _added_assets(n: int) -> list[dict]:
    from twin.networks import cached_network

    net = cached_network(("simbench", CODE))
    lv = net.bus.index[net.bus.vn_kv < 1.0]
    buses = np.array(sorted(set(net.load.bus.to_numpy()) & set(lv.to_numpy())))
    picks = buses[np.linspace(0, len(buses) - 1, n).astype(int)]
    assets = []
    for i, bus in enumerate(picks):
        kind = ("pv", "battery", "ev_fleet")[i % 3]
        if kind == "pv":
            assets.append({"kind": "pv", "name": f"pv{i}", "bus": int(bus), "peak_kw": 10,
                           "profile": "PV5"})
        elif kind == "battery":
            assets.append({"kind": "battery", "name": f"bat{i}", "bus": int(bus),
                           "capacity_kwh": 13.5, "power_kw": 5})
        else:
            assets.append({"kind": "ev_fleet", "name": f"ev{i}", "bus": int(bus),
                           "site": "home", "vehicles": 2, "charger_kw": 11,
                           "capacity_kwh": 60})
    return assets


def side_ems_week(args) -> dict:
    control = {"mode": "ems", "ems": {"plan_step": "1h", "horizon": "12h",
                                      "replan_every": "4h"}}
    out = _twin(_scenario(7, start="2016-03-07T00:00:00", assets=_added_assets(args.assets),
                          control=control))
    out["assets"] = args.assets
    return out


def side_pp_sample(args) -> dict:
    """pandapower run_timeseries, NumPy DataSource, on the first ``--pp-steps`` steps."""
    import pandas as pd
    from pandapower.timeseries import OutputWriter, run_timeseries

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_twin_year import LOGGED, _numpy_const_controllers

    from twin.grid import build_network
    from twin.profiles import ELEMENT_PROFILE_COLUMNS, simbench_element_window
    from twin.scenario import SimbenchGridSpec

    n = args.pp_steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = build_network(SimbenchGridSpec(code=CODE))
        t0 = time.perf_counter()
        values = {}
        for table, column in ELEMENT_PROFILE_COLUMNS:
            window = simbench_element_window(CODE, table, column, 0, n, 900)
            if window is not None and window.shape[1]:
                values[(table, column)] = pd.DataFrame(window, columns=net[table].index)
        _numpy_const_controllers(net, values)
        writer = OutputWriter(net, range(n), output_path=None, log_variables=list(LOGGED))
        setup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        run_timeseries(net, time_steps=range(n), verbose=False)
        run_s = time.perf_counter() - t1
    vm = writer.output["res_bus.vm_pu"].to_numpy()
    return {"n_steps": n, "setup_s": setup_s, "run_s": run_s, "ms_per_step": run_s / n * 1e3,
            "year_extrapolated_s": run_s / n * YEAR_STEPS, "peak_rss_mb": _peak_rss_mb(),
            "converged_steps": int(np.isfinite(vm).all(axis=1).sum())}


def _child(side: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--pp-steps", str(args.pp_steps),
           "--assets", str(args.assets)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["exit"], "rc": done.returncode}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _versions() -> dict:
    import lightsim2grid
    import pandapower
    import simbench

    return {"python": platform.python_version(), "pandapower": pandapower.__version__,
            "lightsim2grid": lightsim2grid.__version__, "simbench": simbench.__version__,
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "mem_total_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30}


def _markdown(res: dict) -> str:
    lines = [f"`1-MVLV-urban-all-0-sw`, load {res['load_before']} -> {res['load_after']}, "
             f"{res['versions']['machine']}, {res['versions']['mem_total_gib']:.0f} GiB:", ""]
    year, week, pp, ems = (res["sides"].get(s, {}) for s in SIDES)
    if "refused" in year:
        lines.append(f"- year, control off: **refused** after {year['refused_after_s']:.1f} s "
                     f"(peak {year['peak_rss_mb']:.0f} MB): {year['refused']}")
    elif "total_s" in year:
        lines.append(f"- year, control off: {year['total_s']:.0f} s, {year['ms_per_step']:.1f} "
                     f"ms/step, peak RSS {year['peak_rss_mb'] / 1024:.1f} GiB")
    if "total_s" in week:
        lines.append(
            f"- week, control off: {week['total_s']:.1f} s (build {week['build_s']:.1f}, "
            f"simulate {week['simulate_s']:.1f} of which solve {week['solve_s']:.1f}, derive "
            f"{week['derive_s']:.1f}, write {week['write_s']:.1f}), {week['ms_per_step']:.1f} "
            f"ms/step, peak RSS {week['peak_rss_mb'] / 1024:.2f} GiB (the refusal's estimate "
            f"{week['estimate_gib']:.2f} GiB on top of the process's base); a year at this rate: "
            f"{week['ms_per_step'] * YEAR_STEPS / 60e3:.1f} min")
    if "ms_per_step" in pp:
        twin = year if "ms_per_step" in year else week
        ratio = pp["ms_per_step"] / twin["ms_per_step"] if "ms_per_step" in twin else float("nan")
        lines.append(f"- pandapower (NumPy DataSource, {pp['n_steps']} steps): "
                     f"{pp['ms_per_step']:.1f} ms/step, a year extrapolated "
                     f"{pp['year_extrapolated_s'] / 60:.1f} min; twin/pandapower ratio "
                     f"**{ratio:.1f}x** (twin from the {'year' if twin is year else 'week'})")
    if "total_s" in ems:
        lines.append(f"- week with EMS over {ems['assets']} added assets: {ems['total_s']:.0f} s "
                     f"({ems['ms_per_step']:.1f} ms/step), peak RSS "
                     f"{ems['peak_rss_mb'] / 1024:.2f} GiB; controller {ems['controller']}")
    for side in SIDES:
        if "error" in res["sides"].get(side, {}):
            lines.append(f"- {side}: failed: {res['sides'][side]['error']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--pp-steps", type=int, default=500)
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = globals()[f"side_{args.child}"](args)
        print(json.dumps(result, default=float))
        return
    res = {"load_before": os.getloadavg()[0], "versions": _versions(), "sides": {}}
    for side in args.sides.split(","):
        started = time.perf_counter()
        res["sides"][side] = _child(side, args)
        print(f"{side}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    res["load_after"] = os.getloadavg()[0]
    text = _markdown(res)
    res["markdown"] = text
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=float) + "\n")
    print(text)


if __name__ == "__main__":
    main()
