"""Benchmark: a SimBench LV year with 20 EVs, 5 buildings, one battery and an hourly
MILP plan over 24 h (the EMS), reporting total wall time, per-call solve time and the
twin's own overhead (everything but the solver).

Usage::

    python benchmarks/bench_smart_year.py            # the full year (8,784 plans)
    python benchmarks/bench_smart_year.py --days 7   # a quick look
    python benchmarks/bench_smart_year.py --compare  # depot week and campus week: EMS vs rule

Prints a markdown block for benchmarks/results/smart.md. The machine's CPU is shared
with other jobs: run it alone and say so when quoting numbers.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

logger = logging.getLogger("bench_smart_year")


def year_scenario(days: int, code: str = "1-LV-semiurb4--0-sw"):
    """The benchmark scenario, built in code."""
    from twin.scenario import scenario_from_dict

    assets = [
        {"kind": "ev_fleet", "name": "homes_evs", "bus": 12, "site": "home", "vehicles": 12,
         "charger_kw": 11, "capacity_kwh": 60, "early_departure_prob": 0.1},
        {"kind": "ev_fleet", "name": "work_evs", "bus": 20, "site": "workplace", "vehicles": 8,
         "charger_kw": 22, "capacity_kwh": 70},
        {"kind": "building", "name": "office", "bus": 5, "building_type": "office"},
        {"kind": "building", "name": "shop", "bus": 9, "building_type": "retail",
         "deferrable": [{"power_kw": 5, "duration": "2h", "earliest_h": 6, "latest_end_h": 22}]},
        {"kind": "building", "name": "home_a", "bus": 14, "building_type": "residential"},
        {"kind": "building", "name": "home_b", "bus": 25, "building_type": "residential",
         "deferrable": [{"power_kw": 2, "duration": "1h", "earliest_h": 18, "latest_end_h": 24}]},
        {"kind": "building", "name": "home_c", "bus": 30, "building_type": "residential"},
        {"kind": "battery", "name": "feeder_battery", "bus": 5, "capacity_kwh": 150,
         "power_kw": 60},
    ]
    return scenario_from_dict({
        "name": "bench_smart_year", "seed": 1,
        "time": {"start": "2016-01-01T00:00:00", "duration": f"{days}d", "step": "15min"},
        "grid": {"source": "simbench", "code": code},
        "assets": assets,
        "pcc": {"limit_kw": 400},
        "control": {"mode": "ems", "ems": {"plan_step": "1h", "horizon": "24h",
                                           "replan_every": "1h"}},
    })


def run_year(days: int) -> dict[str, float]:
    """Run the benchmark; return the measured numbers."""
    from twin.engine import build, simulate

    scenario = year_scenario(days)
    t0, c0 = time.perf_counter(), time.process_time()
    sim = build(scenario)
    t1, c1 = time.perf_counter(), time.process_time()
    out = simulate(sim)
    t2, c2 = time.perf_counter(), time.process_time()
    records = sim.controller.gateway.log.records
    solve = np.array([r.solve_wall_s for r in records])
    solve_cpu = np.array([r.extra.get("solve_cpu_s", np.nan) for r in records])
    total = t2 - t0
    return {
        "cpu_total_s": c2 - c0,
        "cpu_simulate_s": c2 - c1,
        "cpu_solver_s": float(solve_cpu.sum()),
        "cpu_overhead_frac": float((c2 - c0 - solve_cpu.sum()) / (c2 - c0)),
        "cpu_overhead_excl_build_frac": float((c2 - c1 - solve_cpu.sum()) / (c2 - c1)),
        "cpu_solve_mean_ms": float(solve_cpu.mean() * 1e3),
        "cpu_plan_build_s": float(sim.controller.plan_build_cpu_s),
        "days": days,
        "steps": out.recording.n_steps,
        "calls": len(records),
        "build_s": t1 - t0,
        "simulate_s": t2 - t1,
        "total_s": total,
        "solver_s": float(solve.sum()),
        "overhead_frac": float((total - solve.sum()) / total),
        "overhead_excl_build_frac": float((t2 - t1 - solve.sum()) / (t2 - t1)),
        "solve_mean_ms": float(solve.mean() * 1e3),
        "solve_p95_ms": float(np.percentile(solve, 95) * 1e3),
        "solve_max_ms": float(solve.max() * 1e3),
        "plan_build_s": float(getattr(sim.controller, "plan_build_s", float("nan"))),
        "powerflow_s": float(out.timings.get("solve_s", float("nan"))),
        "energy_cost_eur": out.kpis["energy_cost_eur"],
        "comfort_kh": out.kpis["building_comfort_violation_kh"],
        "ev_unmet_mwh": out.kpis["ev_unmet_at_departure_mwh"],
        "failed_plans": out.kpis["ems_failed_plans"],
    }


def compare() -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """EMS against rule-based on the shipped week scenarios."""
    from twin.engine import build, simulate
    from twin.scenario import apply_overrides, load_scenario

    rows = []
    for name in ("ev_depot_week", "building_campus_summer"):
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        ems = simulate(build(scenario)).kpis
        rule = simulate(build(apply_overrides(scenario, {"control.mode": "rule_based"}))).kpis
        rows.append((name, ems, rule))
    return rows


def solver_study() -> list[tuple[str, dict[str, float]]]:
    """qaoa_vs_milp_ev with milp, qaoa and tabu on the EV assignment task."""
    from twin.engine import build, simulate
    from twin.scenario import apply_overrides, load_scenario

    base = load_scenario(ROOT / "scenarios" / "qaoa_vs_milp_ev.yaml")
    out = []
    for solver in ("milp", "qaoa", "tabu"):
        options = base.control.ems.ev_assignment.options if solver == "qaoa" else {}
        scenario = apply_overrides(base, {"control.ems.ev_assignment.solver": solver,
                                          "control.ems.ev_assignment.options": options})
        sim = build(scenario)
        kpis = simulate(sim).kpis
        ev = [r for r in sim.controller.gateway.log.records if r.task == "ev_assignment"]
        kpis["ev_calls"] = len(ev)
        kpis["ev_solve_mean_ms"] = float(np.mean([r.solve_wall_s for r in ev]) * 1e3)
        ratios = [r.approximation_ratio for r in ev if r.approximation_ratio is not None]
        kpis["ev_ratio_mean"] = float(np.mean(ratios))
        kpis["ev_ratio_min"] = float(np.min(ratios))
        kpis["ev_optimal_share"] = float(np.mean(np.isclose(ratios, 1.0)))
        out.append((solver, kpis))
    return out


def machine() -> str:
    """One line on the machine and versions."""
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in
                         ("simpy", "pandapower", "highspy", "qiskit", "qiskit-aer", "numpy"))
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
            f"Python {platform.python_version()}; {versions}")


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--solvers", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}")
    if args.compare:
        for name, ems, rule in compare():
            print(f"\n{name}: KPI | rule_based | ems")
            for key in ("energy_cost_eur", "ev_unmet_at_departure_mwh",
                        "ev_sessions_fully_served_frac", "ev_peak_charging_mw",
                        "ev_energy_delivered_mwh", "building_comfort_violation_kh",
                        "building_hvac_energy_mwh", "building_peak_demand_mw",
                        "pcc_peak_import_kw", "pcc_limit_violation_kwh", "unserved_energy_kwh"):
                if key in ems:
                    print(f"| {key} | {rule[key]:.4g} | {ems[key]:.4g} |")
        return
    if args.solvers:
        for solver, k in solver_study():
            print(f"| {solver} | {k['energy_cost_eur']:.2f} | {k['ev_calls']} | "
                  f"{k['ev_ratio_mean']:.4f} | {k['ev_ratio_min']:.4f} | "
                  f"{k['ev_optimal_share']:.2f} | {k['ev_solve_mean_ms']:.1f} | "
                  f"{k['ev_unmet_at_departure_mwh'] * 1000:.2f} | "
                  f"{k['ev_sessions_fully_served_frac']:.3f} |")
        return
    result = run_year(args.days)
    for key, value in result.items():
        print(f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |")


if __name__ == "__main__":
    main()
