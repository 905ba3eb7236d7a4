"""Benchmark: a run with the full communication model against the same run without it.

Two workloads on the islanding microgrid day (scenarios/patterns_qpu_outage_evening_peak.yaml
without its fault, one simulated day, 96 steps, EMS re-planning hourly):

- ``milp``: the EMS dispatch MILP only (``ev_charging: joint``); with comms it goes to
  the cloud classical service over fibre/ISP/backbone (``milp@to_hpc``).
- ``qaoa``: as the shipped scenario: dispatch MILP at the edge and the per-slot EV
  assignment as QAOA on the cloud quantum service (``qaoa@to_qpu``).

With comms the deadline and time-out are long (1 h), so no call falls back and both
runs solve the same kinds of problems with the same solvers; what the comms run adds
is the network, queue and service model, the caller, the per-call KPIs and events.
The runs alternate (direct, comms, direct, ...) to spread the noise of a shared
machine; we report the median wall and CPU (process) time of build + simulate.

    python benchmarks/bench_comms.py --repeats 3
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "patterns_qpu_outage_evening_peak.yaml"

LONG = {"deadline_s": 3600, "timeout_s": 3000, "retries": 0}


def scenarios(workload: str) -> tuple[Any, Any]:
    """The direct and the comms scenario of a workload."""
    from twin.scenario import apply_overrides, load_scenario

    base = load_scenario(SCENARIO)
    common: dict[str, Any] = {"faults": []}
    if workload == "milp":
        common["control.ems.ev_charging"] = "joint"
        tasks = {"dispatch": {"pattern": "cloud", **LONG, "chain": [
            {"solver": "milp", "route": "to_hpc"}, {"solver": "milp", "route": "local"},
            {"fallback": "last_good_schedule"}, {"fallback": "rule_based"}]}}
    else:
        tasks = {
            "dispatch": {"pattern": "edge", **LONG, "chain": [
                {"solver": "milp", "route": "local"}, {"fallback": "last_good_schedule"}]},
            "ev_assignment": {"pattern": "cloud", **LONG, "chain": [
                {"solver": "qaoa", "route": "to_qpu"}, {"solver": "milp", "route": "local"},
                {"fallback": "last_good_schedule"}, {"fallback": "rule_based"}]},
        }
    with_comms = apply_overrides(base, {**common, "comms.tasks": tasks})
    direct_data = with_comms.model_dump(mode="json")
    direct_data["comms"] = None
    from twin.scenario import scenario_from_dict

    direct = scenario_from_dict(direct_data, str(SCENARIO))
    return direct, with_comms


def timed(scenario: Any) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU time of build + simulate, and the KPIs. [s]"""
    from twin import engine

    w0, c0 = time.perf_counter(), time.process_time()
    sim = engine.build(scenario)
    out = engine.simulate(sim)
    return time.perf_counter() - w0, time.process_time() - c0, out.kpis


def micro(n_calls: int = 2000) -> float:
    """Wall time of the comms model alone per call, with a solver that takes no time:
    the default topology, pattern cloud (QPU over fibre, edge MILP fallback),
    lognormal queue and links, one call a minute. [s]"""
    import simpy

    from twin.comms.model import build_comms
    from twin.comms.spec import CommsSpec

    class Instant:
        def solve(self, problem: Any, *, time_limit: float | None = None,
                  seed: int | None = None) -> Any:
            from types import SimpleNamespace

            return SimpleNamespace(status="optimal", objective=1.0, wall_time_s=0.0,
                                   diagnostics={"shots": 1000, "qpu_time_s": 1.0})

    env = simpy.Environment()
    model = build_comms(env, CommsSpec(enabled=True), 1)
    task = model.task("dispatch", "qaoa")
    caller = model.caller({"qaoa": Instant(), "milp": Instant()}, [task])
    fallbacks = {"last_good_schedule": lambda p: "l", "rule_based": lambda p: "r"}

    def proc() -> Any:
        for _ in range(n_calls):
            yield from caller.call("dispatch", None, fallbacks=fallbacks)
            yield env.timeout(60.0)

    env.process(proc())
    w0 = time.perf_counter()
    env.run()
    return (time.perf_counter() - w0) / n_calls


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", default=["milp", "qaoa"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import numpy
    import simpy

    print(f"python {platform.python_version()}, simpy {simpy.__version__}, numpy "
          f"{numpy.__version__}, {platform.machine()}, {platform.processor() or '?'}")
    per_call = statistics.median(micro() for _ in range(3))
    print(f"comms model alone (instant solver, 2000 calls, median of 3): "
          f"{per_call * 1e6:.0f} us per call")
    print("| workload | variant | wall median [s] | CPU median [s] | calls | fallbacks |")
    print("|---|---|---|---|---|---|")
    for workload in args.workloads:
        direct, comms = scenarios(workload)
        timed(direct)  # warm caches (SimBench net, profiles, imports)
        results: dict[str, list[tuple[float, float]]] = {"direct": [], "comms": []}
        kpis: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeats):
            for name, scenario in (("direct", direct), ("comms", comms)):
                wall, cpu, k = timed(scenario)
                results[name].append((wall, cpu))
                kpis[name] = k
        med = {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
               for name, r in results.items()}
        for name in ("direct", "comms"):
            k = kpis[name]
            print(f"| {workload} | {name} | {med[name][0]:.2f} | {med[name][1]:.2f} | "
                  f"{k.get('ems_calls', 0):.0f} | {k.get('ems_fallback_calls', 0):.0f} |")
        wall_ratio = med["comms"][0] / med["direct"][0] - 1.0
        cpu_ratio = med["comms"][1] / med["direct"][1] - 1.0
        print(f"| {workload} | overhead | {100 * wall_ratio:+.1f} % | {100 * cpu_ratio:+.1f} % "
              f"| | |")
        print(f"<!-- {workload} raw (wall, cpu): {results} -->")


if __name__ == "__main__":
    main()
